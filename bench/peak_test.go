package bench

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/convkit/convkit/kernels"
)

// scriptedPeaks is a PeakMeter whose j-th probe of a key returns
// script[key][j] (or the key's last value, or an error, past its end), and
// logs every probe.
type scriptedPeaks struct {
	script map[peakKey][]float64
	count  map[peakKey]int
	log    []string
}

func (s *scriptedPeaks) meter() *PeakMeter {
	s.count = map[peakKey]int{}
	return &PeakMeter{measure: func(_ *PeakMeter, k peakKey) (float64, error) {
		j := s.count[k]
		s.count[k]++
		s.log = append(s.log, fmt.Sprintf("%v/%d#%d", k.isa, k.threads, j))
		v := s.script[k]
		if len(v) == 0 {
			return 0, errors.New("no peak")
		}
		return v[min(j, len(v)-1)], nil
	}}
}

// TestPeakBlocks checks the bracketing: a key's first row in a block opens
// it with a probe (carried over from the previous block's close when that
// block timed the key), its rows are divided by the higher of the opening
// and closing probes, and a block that times nothing probes nothing, so
// that a later block never reuses a probe from before it.
func TestPeakBlocks(t *testing.T) {
	a, b := peakKey{kernels.Generic, 1}, peakKey{kernels.Generic, 2}
	sp := &scriptedPeaks{script: map[peakKey][]float64{
		a: {50, 100, 90, 120, 110},
		b: {80, 60, 70},
	}}
	m := sp.meter()
	blk := newPeakBlocks(m)
	check := func(step string, got map[peakKey]peakVal, want map[peakKey]float64, log ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: peaks of %d keys, want %d: %v", step, len(got), len(want), got)
		}
		for k, w := range want {
			if got[k].err != nil || got[k].gflops != w {
				t.Errorf("%s: peak of %v = %+v, want %v", step, k, got[k], w)
			}
		}
		if !slices.Equal(sp.log, log) {
			t.Errorf("%s: probes %v, want %v", step, sp.log, log)
		}
		sp.log = nil
	}

	// Block 1: a's and b's opening probes come before their first rows; a
	// second row of a probes nothing.
	blk.before(a)
	blk.before(a)
	if !slices.Equal(sp.log, []string{"generic/1#0"}) {
		t.Errorf("block 1, before the rows of a: probes %v", sp.log)
	}
	blk.before(b)
	check("block 1", blk.end(), map[peakKey]float64{a: 100, b: 80},
		"generic/1#0", "generic/2#0", "generic/1#1", "generic/2#1")
	// Block 2 opens on block 1's closing probes and divides a by 100, not
	// by the stale 50 of the first probe; it closes in order of first use.
	blk.before(b)
	blk.before(a)
	check("block 2", blk.end(), map[peakKey]float64{a: 100, b: 70}, "generic/2#2", "generic/1#2")
	// Block 3 times nothing and probes nothing.
	check("block 3", blk.end(), map[peakKey]float64{})
	// Block 4: the close of block 2 (90) is too old to open it.
	blk.before(a)
	check("block 4", blk.end(), map[peakKey]float64{a: 120}, "generic/1#3", "generic/1#4")

	want := []PeakResult{
		{ISA: "generic", Threads: 1, GFLOPS: 120, MinGFLOPS: 50, Probes: 5},
		{ISA: "generic", Threads: 2, GFLOPS: 80, MinGFLOPS: 60, Probes: 3},
	}
	if got := m.Results(); !slices.Equal(got, want) {
		t.Errorf("Results = %+v, want %+v", got, want)
	}
}

func TestPeakBlocksErrors(t *testing.T) {
	k := peakKey{kernels.Generic, 1}
	if got := higher(peakVal{err: errors.New("x")}, peakVal{gflops: 3}); got.err != nil || got.gflops != 3 {
		t.Errorf("higher(error, 3) = %+v", got)
	}
	if got := higher(peakVal{gflops: 4}, peakVal{err: errors.New("x")}); got.err != nil || got.gflops != 4 {
		t.Errorf("higher(4, error) = %+v", got)
	}
	sp := &scriptedPeaks{script: map[peakKey][]float64{}}
	m := sp.meter()
	blk := newPeakBlocks(m)
	blk.before(k)
	p := blk.end()[k]
	if p.err == nil || !math.IsNaN(pctPeak(10, p)) {
		t.Errorf("failed probes: peak %+v, pct %v; want an error and NaN", p, pctPeak(10, p))
	}
	if r := m.Results(); len(r) != 1 || r[0].Error != "no peak" || r[0].Probes != 0 {
		t.Errorf("Results after failed probes: %+v", r)
	}
}

// TestRunGemmPeakBeside runs RunGemm on a scripted peak whose first probe
// is low (a slow clock at the start) and checks that every row's pct_peak
// divides by the higher of the probes just before and after its shape,
// never by the stale first one, with one probe per key and shape plus one.
func TestRunGemmPeakBeside(t *testing.T) {
	shapes := []GemmShape{{Name: "s0", M: 9, N: 7, K: 5}, {Name: "s1", M: 4, N: 12, K: 3}, {Name: "s2", M: 16, N: 16, K: 16}}
	probes := []float64{50, 400, 300, 500}
	denominators := []float64{400, 400, 500} // shape i: max(probes[i], probes[i+1])
	threads := []int{1, 2}
	sp := &scriptedPeaks{script: map[peakKey][]float64{}}
	for _, isa := range kernels.Available() {
		for _, th := range threads {
			sp.script[peakKey{isa, th}] = probes
		}
	}
	m := sp.meter()
	var progress []Result
	rows := RunGemm(shapes, GemmOptions{
		ISAs: kernels.Available(), Threads: threads, Peers: true, Timing: fast, Peaks: m,
		Progress: func(r Result) { progress = append(progress, r) },
	})
	perShape := len(threads) * (len(kernels.Available()) + 1)
	if len(rows) != len(shapes)*perShape {
		t.Fatalf("%d rows, want %d", len(rows), len(shapes)*perShape)
	}
	for i, r := range rows {
		want := 100 * r.GFLOPS / denominators[i/perShape]
		if r.Status != StatusOK || !(math.Abs(r.PctPeak-want) <= 1e-9*want) {
			t.Errorf("row %d (%s %s t=%d): pct_peak %v, want %v (status %q)", i, r.Name, r.ISA, r.Threads, r.PctPeak, want, r.Status)
		}
	}
	if !slices.EqualFunc(progress, rows, func(a, b Result) bool { return a.Name == b.Name && a.PctPeak == b.PctPeak }) {
		t.Errorf("Progress did not see the final rows in order")
	}
	for k, n := range sp.count {
		if n != len(shapes)+1 {
			t.Errorf("%v: %d probes, want %d (one before the first shape, one after each)", k, n, len(shapes)+1)
		}
	}
	if len(sp.count) != len(sp.script) {
		t.Errorf("probed %d keys, want %d", len(sp.count), len(sp.script))
	}
}
