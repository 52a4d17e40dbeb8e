package bench

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/convkit/convkit/kernels"
)

// PeakMeter measures the FMA peak of an ISA path by running its
// kernels.PeakKernel (a register-only loop of independent FMAs) on several
// threads at once.
//
// The clock of a shared VM drifts (by ±10% from minute to minute on the
// project's machines), so one measurement at the start of a report is not
// a fair denominator for rows timed later: a row that ran while the clock
// was faster than at the probe would exceed 100% of peak. RunGemm and
// RunConv therefore probe the peak beside the rows, before and after each
// block of rows (see peakBlocks), and the meter keeps every probe for the
// report (Results).
type PeakMeter struct {
	// Duration is how long each thread runs the kernel in one repeat.
	Duration time.Duration
	// Repeats is how many times a probe runs the kernel; the best is kept,
	// since interference from other work only ever lowers it.
	Repeats int

	// measure replaces the measurement in tests (nil: measurePeak).
	measure func(m *PeakMeter, k peakKey) (float64, error)

	mu    sync.Mutex
	iters map[kernels.ISA]int // calibrated once per ISA
	stats map[peakKey]*peakStats
}

// peakKey names one peak: an ISA path on a thread count.
type peakKey struct {
	isa     kernels.ISA
	threads int
}

// peakVal is the outcome of one probe.
type peakVal struct {
	gflops float64
	err    error
}

// peakStats summarizes the probes of one key.
type peakStats struct {
	max, min float64
	probes   int
	err      error // the last failure, if every probe failed
}

// Default peak probe: best of 4 repeats of ~25 ms. A report takes two
// probes per (ISA, threads) pair and shape, plus one, so each is kept
// short; a few tens of milliseconds of a register-only loop are already
// far longer than timer resolution and frequency transitions.
const (
	DefaultPeakDuration = 25 * time.Millisecond
	DefaultPeakRepeats  = 4
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
// with the default duration and repeats.
func MeasurePeak(isa kernels.ISA, threads int) (gflops float64, err error) {
	return NewPeakMeter(0).Probe(isa, threads)
}

// Probe measures the peak of isa on threads threads now, in GFLOPS, and
// records it for Results.
func (m *PeakMeter) Probe(isa kernels.ISA, threads int) (float64, error) {
	v := m.probe(peakKey{isa, threads})
	return v.gflops, v.err
}

// probe measures k and records the outcome.
func (m *PeakMeter) probe(k peakKey) peakVal {
	measure := m.measure
	if measure == nil {
		measure = (*PeakMeter).measurePeak
	}
	g, err := measure(m, k)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stats == nil {
		m.stats = map[peakKey]*peakStats{}
	}
	s := m.stats[k]
	if s == nil {
		s = &peakStats{max: math.Inf(-1), min: math.Inf(1)}
		m.stats[k] = s
	}
	if err != nil {
		s.err = err
		return peakVal{err: err}
	}
	s.max, s.min, s.probes = max(s.max, g), min(s.min, g), s.probes+1
	return peakVal{gflops: g}
}

// PeakResult is the summary of one peak's probes, for reports.
type PeakResult struct {
	ISA     string `json:"isa"`
	Threads int    `json:"threads"`
	// GFLOPS is the highest probe and MinGFLOPS the lowest: their spread
	// is the clock drift over the run (and any interference).
	GFLOPS    float64 `json:"gflops"`
	MinGFLOPS float64 `json:"min_gflops"`
	// Probes counts the successful probes.
	Probes int    `json:"probes"`
	Error  string `json:"error,omitempty"`
}

// Results summarizes the probes so far, sorted by ISA then threads.
func (m *PeakMeter) Results() []PeakResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]peakKey, 0, len(m.stats))
	for k := range m.stats {
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
		s := m.stats[k]
		r := PeakResult{ISA: k.isa.String(), Threads: k.threads, Probes: s.probes}
		if s.probes > 0 {
			r.GFLOPS, r.MinGFLOPS = s.max, s.min
		} else {
			r.Error = s.err.Error()
		}
		out = append(out, r)
	}
	return out
}

// measurePeak runs the peak kernel of k.isa on k.threads threads, best of
// Repeats.
func (m *PeakMeter) measurePeak(k peakKey) (float64, error) {
	if k.threads < 1 {
		return 0, fmt.Errorf("bench: peak: threads = %d < 1", k.threads)
	}
	t, err := kernels.TableFor(k.isa)
	if err != nil {
		return 0, err
	}
	if t.Peak == nil {
		return 0, fmt.Errorf("bench: peak: the %s table has no Peak kernel", k.isa)
	}
	iters := m.calibrated(k.isa, t.Peak)
	best := 0.0
	for r := 0; r < max(1, m.Repeats); r++ {
		best = max(best, runPeak(t.Peak, iters, k.threads))
	}
	return best, nil
}

// calibrated returns the iteration count of isa's probe, calibrating it
// on first use: the count does not need to follow the clock, only to make
// a probe last about Duration.
func (m *PeakMeter) calibrated(isa kernels.ISA, peak kernels.PeakKernel) int {
	m.mu.Lock()
	n, ok := m.iters[isa]
	m.mu.Unlock()
	if ok {
		return n
	}
	n = calibrate(peak, m.Duration)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.iters == nil {
		m.iters = map[kernels.ISA]int{}
	}
	m.iters[isa] = n
	return n
}

// maxCalibrateIters bounds calibration (it fits a 32-bit int) in case a
// kernel returns without doing the work.
const maxCalibrateIters = 1 << 30

// calibrate returns the iteration count that makes one call of peak last
// about d on one thread.
func calibrate(peak kernels.PeakKernel, d time.Duration) int {
	iters := 1 << 12
	for {
		s := time.Now()
		peak(iters)
		el := time.Since(s)
		if el >= d/8 || iters >= maxCalibrateIters {
			n := float64(iters) * float64(d) / float64(max(el, time.Microsecond))
			return int(max(1, min(n, maxCalibrateIters)))
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

// peakBlocks gives the rows of a report a fair % of peak on a machine
// whose clock drifts. The rows come in blocks (one shape's rows, a few
// seconds); for every (ISA, threads) key a block times, the peak is probed
// before the block's first row of that key and again after its last row,
// and the block's rows of that key are divided by the higher of the two
// probes. A row thus never meets a probe taken long before or after it,
// and with probes on both sides a clock that rose or fell during the block
// still leaves the denominator at the faster end.
//
// The probe that closes a block also opens the next block's rows of the
// same key, so a series of blocks costs one probe per key and block, plus
// one. A block that times nothing (every row failed or is not
// implemented) probes nothing.
type peakBlocks struct {
	m *PeakMeter
	// open lists the keys the current block has timed, in order of first
	// use, with the probe taken before their first row.
	open []keyedPeak
	// closed holds the probes that closed the previous block.
	closed map[peakKey]peakVal
}

type keyedPeak struct {
	key peakKey
	val peakVal
}

func newPeakBlocks(m *PeakMeter) *peakBlocks { return &peakBlocks{m: m} }

// before is called just before a row of key k is timed: the first time in
// a block it takes (or carries over from the previous block's end) the
// probe that opens k.
func (b *peakBlocks) before(k peakKey) {
	for _, o := range b.open {
		if o.key == k {
			return
		}
	}
	v, ok := b.closed[k]
	if !ok {
		v = b.m.probe(k)
	}
	b.open = append(b.open, keyedPeak{k, v})
}

// end closes the block after its last row: it probes every key the block
// timed and returns the peak its rows are divided by, the higher of each
// key's opening and closing probes.
func (b *peakBlocks) end() map[peakKey]peakVal {
	peaks := make(map[peakKey]peakVal, len(b.open))
	closed := make(map[peakKey]peakVal, len(b.open))
	for _, o := range b.open {
		after := b.m.probe(o.key)
		closed[o.key] = after
		peaks[o.key] = higher(o.val, after)
	}
	b.open, b.closed = b.open[:0], closed
	return peaks
}

// higher is the better of two probes; an error only if both failed.
func higher(a, b peakVal) peakVal {
	switch {
	case a.err != nil:
		return b
	case b.err != nil:
		return a
	}
	return peakVal{gflops: max(a.gflops, b.gflops)}
}

// pctPeak is 100*gflops/p, NaN when the peak is unknown.
func pctPeak(gflops float64, p peakVal) float64 {
	if p.err != nil || !(p.gflops > 0) {
		return math.NaN()
	}
	return 100 * gflops / p.gflops
}
