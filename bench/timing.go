package bench

import (
	"runtime"
	"slices"
	"time"
)

// Timing says how long to measure one benchmark cell. The machines are
// shared and noisy, so a cell reports the median of several runs, never the
// mean or the best.
type Timing struct {
	// MinTime and MinRuns: after one untimed warm-up call, keep timing
	// calls until both are reached...
	MinTime time.Duration
	MinRuns int
	// ...or until MaxTime has been spent in timed calls (at least one call).
	// A warm-up call that alone takes MaxTime or more is used as the only
	// measurement, so that a very slow cell (a slow peer on a large shape)
	// costs one call, not MinRuns.
	MaxTime time.Duration
}

// DefaultTiming is what the command uses unless told otherwise.
var DefaultTiming = Timing{MinTime: 300 * time.Millisecond, MinRuns: 5, MaxTime: 3 * time.Second}

// Measure calls run repeatedly as t says and returns the median duration
// of one call and the number of timed calls. It stops at the first error.
func (t Timing) Measure(run func() error) (median time.Duration, runs int, err error) {
	start := time.Now()
	if err := run(); err != nil {
		return 0, 0, err
	}
	warm := time.Since(start)
	if t.MaxTime > 0 && warm >= t.MaxTime {
		return warm, 1, nil
	}
	// The garbage of earlier cells (their tensors and plans) is collected
	// now, not by a GC cycle that would take a core from the timed calls
	// (on a 2-core host, half of a 2-thread cell's).
	runtime.GC()
	times := make([]time.Duration, 0, 256)
	var total time.Duration
	for {
		s := time.Now()
		if err := run(); err != nil {
			return 0, 0, err
		}
		d := time.Since(s)
		times = append(times, d)
		total += d
		if total >= t.MinTime && len(times) >= t.MinRuns {
			break
		}
		if t.MaxTime > 0 && total >= t.MaxTime {
			break
		}
	}
	slices.Sort(times)
	n := len(times)
	if n%2 == 1 {
		return times[n/2], n, nil
	}
	return (times[n/2-1] + times[n/2]) / 2, n, nil
}
