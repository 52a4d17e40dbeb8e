package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/convkit/convkit/kernels"
)

// fast keeps the tests short: they check behaviour, not speed.
var fast = Timing{MinTime: time.Millisecond, MinRuns: 3, MaxTime: 50 * time.Millisecond}

func fastPeaks() *PeakMeter { return &PeakMeter{Duration: 5 * time.Millisecond, Repeats: 1} }

func TestTimingMeasure(t *testing.T) {
	n := 0
	med, runs, err := Timing{MinTime: 0, MinRuns: 7}.Measure(func() error { n++; return nil })
	if err != nil || runs != 7 || n != 8 || med < 0 {
		t.Errorf("Measure: med %v runs %d calls %d err %v; want 7 timed runs after 1 warm-up", med, runs, n, err)
	}
	// A warm-up call longer than MaxTime is the only measurement.
	n = 0
	med, runs, _ = Timing{MinTime: time.Second, MinRuns: 5, MaxTime: time.Millisecond}.Measure(func() error {
		n++
		time.Sleep(2 * time.Millisecond)
		return nil
	})
	if runs != 1 || n != 1 || med < 2*time.Millisecond {
		t.Errorf("slow warm-up: med %v runs %d calls %d, want one call", med, runs, n)
	}
	// MaxTime stops a long series before MinRuns.
	n = 0
	_, runs, _ = Timing{MinTime: time.Hour, MinRuns: 1000, MaxTime: 20 * time.Millisecond}.Measure(func() error {
		n++
		time.Sleep(time.Millisecond)
		return nil
	})
	if runs >= 1000 || runs < 1 {
		t.Errorf("MaxTime: %d runs", runs)
	}
	boom := errors.New("boom")
	if _, _, err := fast.Measure(func() error { return boom }); err != boom {
		t.Errorf("error not returned: %v", err)
	}
}

func TestMeasurePeak(t *testing.T) {
	m := fastPeaks()
	for _, isa := range kernels.Available() {
		for _, th := range []int{1, 2} {
			for range 2 {
				g, err := m.Probe(isa, th)
				if err != nil || !(g > 0) {
					t.Errorf("Probe(%s, %d) = %v, %v", isa, th, g, err)
				}
			}
		}
	}
	res := m.Results()
	if len(res) != 2*len(kernels.Available()) {
		t.Errorf("Results: %d entries, want %d", len(res), 2*len(kernels.Available()))
	}
	for _, r := range res {
		if r.Probes != 2 || !(r.MinGFLOPS > 0 && r.MinGFLOPS <= r.GFLOPS) || r.Error != "" {
			t.Errorf("Results: %+v, want 2 probes with 0 < min <= max", r)
		}
	}
	if _, err := m.Probe(kernels.Generic, 0); err == nil {
		t.Error("Probe with 0 threads: no error")
	}
}

func TestRunGemm(t *testing.T) {
	shapes := []GemmShape{
		{Name: "a", M: 7, N: 5, K: 3},
		{Name: "tA", M: 13, N: 9, K: 17, TransA: true},
		{Name: "tB", M: 4, N: 33, K: 8, TransB: true},
		{Name: "tAtB", M: 2, N: 3, K: 31, TransA: true, TransB: true},
		// Larger than fullVerifyMACs: verified on samples.
		{Name: "sampled", M: 300, N: 260, K: 256},
	}
	before := kernels.Current()
	rows := RunGemm(shapes, GemmOptions{ISAs: kernels.Available(), Threads: []int{1, 2}, Peers: true, Timing: fast, Peaks: fastPeaks()})
	perShape := 2 * (len(kernels.Available()) + 1)
	if len(rows) != len(shapes)*perShape {
		t.Fatalf("%d rows, want %d", len(rows), len(shapes)*perShape)
	}
	for i, r := range rows {
		s := shapes[i/perShape]
		if r.Name != s.Name || r.Kind != "gemm" || r.FLOPs != s.FLOPs() {
			t.Errorf("row %d: %+v for shape %+v", i, r, s)
		}
		if r.Status != StatusOK {
			t.Errorf("row %d %s %s t=%d: status %q", i, r.Name, r.ISA, r.Threads, r.Status)
			continue
		}
		if !(r.GFLOPS > 0) || !(r.MedianMs > 0) || r.Runs < 1 || !(r.PctPeak > 0) || !(r.MaxRelErr <= GemmTolerance(s.K)) {
			t.Errorf("row %d: bad numbers %+v", i, r)
		}
		if r.ISA == PeerGonum && !math.IsNaN(r.VsGonum) || r.ISA != PeerGonum && !(r.VsGonum > 0) {
			t.Errorf("row %d %s: vs_gonum = %v", i, r.ISA, r.VsGonum)
		}
	}
	if kernels.Current() != before {
		t.Errorf("bound ISA %s after RunGemm, was %s", kernels.Current(), before)
	}
}

func TestGemmVerifier(t *testing.T) {
	s := GemmShape{M: 5, N: 6, K: 7, TransA: true}
	a := make([]float32, s.K*s.M)
	b := make([]float32, s.K*s.N)
	for i := range a {
		a[i] = float32(i%5) - 1.5
	}
	for i := range b {
		b[i] = float32(i%3) + 0.5
	}
	v := newGemmVerifier(s, a, s.M, b, s.N)
	c := make([]float32, s.M*s.N)
	for i := 0; i < s.M; i++ {
		for j := 0; j < s.N; j++ {
			c[i*s.N+j] = float32(v.ref(i, j))
		}
	}
	if e := v.relErr(c, s.N); e > 1e-7 {
		t.Errorf("exact C: rel err %v", e)
	}
	c[17] += 1
	if e := v.relErr(c, s.N); !(e > 1e-3) {
		t.Errorf("wrong C: rel err %v", e)
	}
	c[3] = float32(math.NaN())
	if e := v.relErr(c, s.N); !math.IsNaN(e) {
		t.Errorf("NaN in C: rel err %v", e)
	}
	big := GemmShape{M: 1000, N: 1000, K: 100}
	if v := newGemmVerifier(big, nil, 100, nil, 1000); len(v.idx) != verifySamples {
		t.Errorf("large shape: %d samples", len(v.idx))
	}
}

func TestRunConvNotImplemented(t *testing.T) {
	shapes := DefaultConvShapes()[:2]
	peaks := fastPeaks()
	rows := RunConv(shapes, ConvOptions{Engine: notImplementedEngine{}, Algos: []string{"auto", "fft"}, Threads: []int{1}, Timing: fast, Peaks: peaks})
	if len(rows) != 2*3*2 {
		t.Fatalf("%d rows, want 12", len(rows))
	}
	if res := peaks.Results(); len(res) != 0 {
		t.Errorf("peaks probed for rows that time nothing: %+v", res)
	}
	for _, r := range rows {
		want := "not implemented: conv engine (algo " + r.Algo + ")"
		if !math.IsNaN(r.PctPeak) {
			t.Errorf("%+v: pct_peak of a row that did not run", r)
		}
		if r.Status != want || !math.IsNaN(r.GFLOPS) || !math.IsNaN(r.MedianMs) {
			t.Errorf("%+v: want status %q and no numbers", r, want)
		}
	}
	if rows[0].Pass != "fwd" || rows[2].Pass != "bwd-data" || rows[1].Algo != "fft" {
		t.Errorf("row order: %+v", rows[:3])
	}
}

// fakeEngine checks that an engine plugs in through the interfaces.
type fakeEngine struct{ prepared, released int }

type fakeWork struct{ e *fakeEngine }

type fakeRunner struct {
	algo string
	err  float64
}

func (e *fakeEngine) Prepare(s ConvShape) (ConvWorkload, error) {
	if s.Transposed {
		return nil, fmt.Errorf("transposed: %w", ErrNotImplemented)
	}
	e.prepared++
	return fakeWork{e}, nil
}

func (w fakeWork) Runner(p Pass, algo string, threads int) (ConvRunner, error) {
	switch {
	case algo == "fft":
		return nil, fmt.Errorf("%w: fft for %s", ErrNotImplemented, p)
	case algo == "winograd":
		panic("winograd exploded")
	case algo == "direct":
		return fakeRunner{"direct", 1}, nil // a wrong result
	}
	return fakeRunner{"im2col", 1e-7}, nil
}

func (w fakeWork) Release() { w.e.released++ }

func (r fakeRunner) Run() error {
	time.Sleep(10 * time.Microsecond)
	return nil
}
func (r fakeRunner) Algo() string                { return r.algo }
func (r fakeRunner) MaxRelErr() (float64, error) { return r.err, nil }

// TestConvEngineRuns runs the real engine (package conv) on small shapes:
// every pass with auto and im2col has numbers, auto names its choice, the
// result matches the reference, winograd runs the 3x3 stride-1 shape's
// passes and declines the others with its reason, and fft runs the stride-1 convolutions and declines the
// transposed one.
func TestConvEngineRuns(t *testing.T) {
	shapes := []ConvShape{
		{Name: "c2", N: 2, C: 4, K: 6, Spatial: []int{9, 8}, Filter: []int{3, 3}, Stride: 1, Pad: 1, Dilation: 1, Groups: 2},
		{Name: "t1", N: 1, C: 3, K: 2, Spatial: []int{7}, Filter: []int{3}, Stride: 2, Pad: 1, Dilation: 1, Groups: 1, Transposed: true},
		{Name: "w", N: 1, C: 8, K: 9, Spatial: []int{11, 7}, Filter: []int{3, 3}, Stride: 1, Pad: 1, Dilation: 1, Groups: 1},
	}
	rows := RunConv(shapes, ConvOptions{Algos: []string{"auto", "im2col", "winograd", "fft"}, Threads: []int{1, 2}, Verify: true, Timing: fast, Peaks: fastPeaks()})
	if len(rows) != 3*3*4*2 {
		t.Fatalf("%d rows, want 72", len(rows))
	}
	for _, r := range rows {
		switch {
		case r.Algo == "fft" && r.Name == "t1":
			if !strings.HasPrefix(r.Status, "unsupported") {
				t.Errorf("%+v: want unsupported (transposed)", r)
			}
			continue
		case strings.HasPrefix(r.Algo, "winograd") && r.Name != "w":
			if !strings.HasPrefix(r.Status, "unsupported") {
				t.Errorf("%+v: want unsupported", r)
			}
			continue
		}
		if r.Status != "ok" || math.IsNaN(r.GFLOPS) || !(r.MaxRelErr < 1e-5) {
			t.Errorf("%+v: want numbers and a small error", r)
		}
		if strings.HasPrefix(r.Algo, "auto") && r.Algo != "auto:im2col" && r.Algo != "auto:direct" && r.Algo != "auto:fft" && !strings.HasPrefix(r.Algo, "auto:winograd") {
			t.Errorf("%+v: auto must name its choice", r)
		}
	}
}

func TestRunConvEngine(t *testing.T) {
	shapes := []ConvShape{
		{Name: "c", N: 1, C: 2, K: 3, Spatial: []int{5, 6}, Filter: []int{3, 3}, Stride: 1, Pad: 1, Dilation: 1, Groups: 1},
		{Name: "t", N: 1, C: 2, K: 3, Spatial: []int{5}, Filter: []int{3}, Stride: 2, Pad: 0, Dilation: 1, Groups: 1, Transposed: true},
	}
	e := &fakeEngine{}
	rows := RunConv(shapes, ConvOptions{
		Algos: []string{"auto", "fft", "winograd", "direct"}, Passes: []Pass{Fwd}, Threads: []int{1},
		Verify: true, Timing: fast, Peaks: fastPeaks(), Engine: e,
	})
	if e.prepared != 1 || e.released != 1 {
		t.Errorf("prepared %d released %d, want 1 and 1", e.prepared, e.released)
	}
	want := []struct{ algo, status string }{
		{"auto:im2col", "ok"},
		{"fft", "not implemented: fft for fwd"},
		{"winograd", "error: panic: winograd exploded"},
		{"direct", "error: max_rel_err 1 exceeds the tolerance"},
		{"auto", "not implemented: transposed: not implemented"},
	}
	if len(rows) != 8 {
		t.Fatalf("%d rows, want 8", len(rows))
	}
	for i, w := range want {
		r := rows[i]
		if r.Algo != w.algo || !strings.HasPrefix(r.Status, w.status) {
			t.Errorf("row %d: algo %q status %q, want %q %q...", i, r.Algo, r.Status, w.algo, w.status)
		}
	}
	if r := rows[0]; !(r.GFLOPS > 0) || !(r.PctPeak > 0) || r.MaxRelErr != 1e-7 {
		t.Errorf("ok row numbers: %+v", r)
	}
}

// TestRunConvMemmove: a depthwise shape's forward rows come with a
// memmove of the same bytes per thread count, and every timed row has its
// GB/s.
func TestRunConvMemmove(t *testing.T) {
	s := ConvShape{Name: "dw", N: 1, C: 4, K: 4, Spatial: []int{9, 9}, Filter: []int{3, 3}, Stride: 1, Pad: 1, Dilation: 1, Groups: 4}
	if !s.Depthwise() || s.Bytes() != 4*(4*81+4*81+4*9) {
		t.Fatalf("depthwise %v, bytes %v", s.Depthwise(), s.Bytes())
	}
	rows := RunConv([]ConvShape{s}, ConvOptions{Algos: []string{"auto"}, Passes: []Pass{Fwd, BwdData}, Threads: []int{1, 2}, Timing: fast, Peaks: fastPeaks(), Engine: &fakeEngine{}})
	var moves int
	for _, r := range rows {
		if strings.HasPrefix(r.Algo, "memmove:") {
			moves++
			if r.Pass != "fwd" || r.Algo != fmt.Sprintf("memmove:%.0fB", s.Bytes()/2) || !(r.GBps > 0) || !math.IsNaN(r.GFLOPS) || r.Status != StatusOK {
				t.Errorf("memmove row %+v", r)
			}
			continue
		}
		if r.Status == StatusOK && !(math.Abs(r.GBps/r.GFLOPS-s.Bytes()/s.FLOPs()) < 1e-9*r.GBps/r.GFLOPS) {
			t.Errorf("row %+v: gbps %v for gflops %v", r, r.GBps, r.GFLOPS)
		}
	}
	if moves != 2 {
		t.Errorf("%d memmove rows, want one per thread count", moves)
	}
}

func sampleReport() *Report {
	ok := newResult("gemm", "sq")
	ok.ISA, ok.Threads, ok.Runs, ok.MedianMs, ok.GFLOPS, ok.PctPeak, ok.MaxRelErr, ok.VsGonum, ok.Status = "avx2", 1, 5, 1.5, 100.25, 50, 1.5e-7, 8, StatusOK
	c := newResult("conv", "cv")
	c.Pass, c.Layout, c.Algo, c.ISA, c.Threads, c.Status = "fwd", "nchw", "auto", "avx2", 2, "not implemented: conv engine (algo auto)"
	return &Report{
		Peaks:   []PeakResult{{ISA: "avx2", Threads: 1, GFLOPS: 200, MinGFLOPS: 190.5, Probes: 3}},
		Gemm:    []Result{ok},
		Conv:    []Result{c},
		RanGemm: true, RanConv: true,
	}
}

func TestWriteTSV(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().Write(&b, "tsv"); err != nil {
		t.Fatal(err)
	}
	want := "name\tisa\tthreads\truns\tmedian_ms\tgflops\tpct_peak\tmax_rel_err\tvs_gonum\tstatus\n" +
		"sq\tavx2\t1\t5\t1.5000\t100.25\t50.0\t1.50e-07\t8.00\tok\n" +
		"\n" +
		"name\tpass\tlayout\talgo\tisa\tthreads\truns\tmedian_ms\tgflops\tpct_peak\tgbps\tstatus\n" +
		"cv\tfwd\tnchw\tauto\tavx2\t2\t\t\t\t\t\tnot implemented: conv engine (algo auto)\n"
	if b.String() != want {
		t.Errorf("tsv:\n%s\nwant:\n%s", b.String(), want)
	}
	rep := sampleReport()
	rep.RanGemm, rep.ConvVerify = false, true
	b.Reset()
	rep.Write(&b, "tsv")
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "\tmax_rel_err\tstatus") || strings.Count(lines[1], "\t") != strings.Count(lines[0], "\t") {
		t.Errorf("conv-only tsv with verify:\n%s", b.String())
	}
}

func TestWriteJSONAndTable(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().Write(&b, "json"); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Peaks []PeakResult
		Gemm  []map[string]any
		Conv  []map[string]any
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(got.Gemm) != 1 || got.Gemm[0]["gflops"] != 100.25 || got.Gemm[0]["status"] != "ok" || got.Gemm[0]["kind"] != "gemm" {
		t.Errorf("gemm json: %v", got.Gemm)
	}
	if v, ok := got.Conv[0]["gflops"]; !ok || v != nil {
		t.Errorf("conv json gflops = %v (present %v), want null", v, ok)
	}
	if got.Conv[0]["pass"] != "fwd" || len(got.Peaks) != 1 {
		t.Errorf("conv json: %v, peaks %v", got.Conv, got.Peaks)
	}
	b.Reset()
	if err := sampleReport().Write(&b, "table"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"SGEMM", "Convolution", "Measured FMA peak", "vs_gonum", "100.25", "not implemented: conv engine (algo auto)", "min_gflops", "200.0   190.5       3"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, b.String())
		}
	}
	if err := sampleReport().Write(&b, "xml"); err == nil {
		t.Error("format xml: no error")
	}
}
