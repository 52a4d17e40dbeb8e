package bench

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/convkit/convkit/kernels"
)

// PeakMeter measures the FMA peak of an ISA path by running its
// kernels.PeakKernel (a register-only loop of independent FMAs) on several
// threads at once, and remembers each (ISA, threads) result so that a
// report measures every peak once and divides all its rows by the same
// number.
type PeakMeter struct {
	// Duration is how long each thread runs the kernel in one repeat.
	Duration time.Duration
	// Repeats is how many times the measurement is repeated; the best is
	// kept, since interference from other work only ever lowers it.
	Repeats int

	mu    sync.Mutex
	cache map[peakKey]peakVal
}

type peakKey struct {
	isa     kernels.ISA
	threads int
}

type peakVal struct {
	gflops float64
	err    error
}

// Default peak measurement: ~150 ms per repeat, best of 3.
const (
	DefaultPeakDuration = 150 * time.Millisecond
	DefaultPeakRepeats  = 3
)

// NewPeakMeter returns a meter with the given duration per repeat (<= 0:
// DefaultPeakDuration) and DefaultPeakRepeats.
func NewPeakMeter(d time.Duration) *PeakMeter {
	if d <= 0 {
		d = DefaultPeakDuration
	}
	return &PeakMeter{Duration: d, Repeats: DefaultPeakRepeats}
}

// MeasurePeak measures the FMA peak of isa on threads threads, in GFLOPS,
// with the default duration and repeats (no caching).
func MeasurePeak(isa kernels.ISA, threads int) (gflops float64, err error) {
	return NewPeakMeter(0).measure(isa, threads)
}

// Peak returns the measured peak of isa on threads threads in GFLOPS,
// measuring it on first use.
func (m *PeakMeter) Peak(isa kernels.ISA, threads int) (float64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := peakKey{isa, threads}
	if v, ok := m.cache[k]; ok {
		return v.gflops, v.err
	}
	g, err := m.measure(isa, threads)
	if m.cache == nil {
		m.cache = map[peakKey]peakVal{}
	}
	m.cache[k] = peakVal{g, err}
	return g, err
}

// PeakResult is one measured peak, for reports.
type PeakResult struct {
	ISA     string  `json:"isa"`
	Threads int     `json:"threads"`
	GFLOPS  float64 `json:"gflops"`
	Error   string  `json:"error,omitempty"`
}

// Results lists the peaks measured so far, sorted by ISA then threads.
func (m *PeakMeter) Results() []PeakResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]peakKey, 0, len(m.cache))
	for k := range m.cache {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b peakKey) int {
		if a.isa != b.isa {
			return cmp.Compare(a.isa, b.isa)
		}
		return cmp.Compare(a.threads, b.threads)
	})
	out := make([]PeakResult, 0, len(keys))
	for _, k := range keys {
		v := m.cache[k]
		r := PeakResult{ISA: k.isa.String(), Threads: k.threads, GFLOPS: v.gflops}
		if v.err != nil {
			r.Error = v.err.Error()
		}
		out = append(out, r)
	}
	return out
}

func (m *PeakMeter) measure(isa kernels.ISA, threads int) (float64, error) {
	if threads < 1 {
		return 0, fmt.Errorf("bench: peak: threads = %d < 1", threads)
	}
	t, err := kernels.TableFor(isa)
	if err != nil {
		return 0, err
	}
	if t.Peak == nil {
		return 0, fmt.Errorf("bench: peak: the %s table has no Peak kernel", isa)
	}
	iters := calibrate(t.Peak, m.Duration)
	best := 0.0
	for r := 0; r < max(1, m.Repeats); r++ {
		best = max(best, runPeak(t.Peak, iters, threads))
	}
	return best, nil
}

// calibrate returns the iteration count that makes one call of peak last
// about d on one thread.
func calibrate(peak kernels.PeakKernel, d time.Duration) int {
	iters := 1 << 12
	for {
		s := time.Now()
		peak(iters)
		el := time.Since(s)
		if el >= d/8 || iters >= 1<<40 {
			n := float64(iters) * float64(d) / float64(max(el, time.Microsecond))
			return max(1, int(n))
		}
		iters *= 4
	}
}

// runPeak starts threads goroutines, each locked to its own OS thread and
// released together, runs peak(iters) on each and returns the total
// GFLOPS over the wall time of the slowest.
func runPeak(peak kernels.PeakKernel, iters, threads int) float64 {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	flops := make([]int, threads)
	ready.Add(threads)
	done.Add(threads)
	for i := 0; i < threads; i++ {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			defer done.Done()
			peak(1) // touch the code before the start
			ready.Done()
			<-start
			flops[i] = peak(iters)
		}()
	}
	ready.Wait()
	s := time.Now()
	close(start)
	done.Wait()
	el := time.Since(s)
	total := 0.0
	for _, f := range flops {
		total += float64(f)
	}
	return total / el.Seconds() / 1e9
}
