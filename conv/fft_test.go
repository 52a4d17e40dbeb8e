package conv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convkit/convkit/golden"
)

// fftProblemFor draws a stride-1 problem of 1 to 3 dims with filters of
// 2 to 7 taps, dilation, every padding kind and mode, groups, both
// layouts and bias.
func fftProblemFor(r *rand.Rand) Problem {
	dims := 1 + r.IntN(3)
	p := Problem{N: 1 + r.IntN(2), C: 1 + r.IntN(5), K: 1 + r.IntN(5), Bias: r.IntN(2) == 0, Layout: Layout(r.IntN(2))}
	maxIn := []int{40, 14, 7}[dims-1]
	for d := 0; d < dims; d++ {
		p.Kernel = append(p.Kernel, 2+r.IntN(6-2*(dims-1)))
		p.Dilation = append(p.Dilation, 1+r.IntN(2))
		p.In = append(p.In, 3+r.IntN(maxIn))
	}
	p.Padding, p.PaddingMode = randPadding(r, dims)
	if r.IntN(4) == 0 {
		p.Groups = 2
		p.C, p.K = 2*p.C, 2*p.K
	}
	return p
}

// checkFFT runs every pass of p on fft against the reference within 6
// times the documented bound.
func checkFFT(t *testing.T, p Problem, threads int) {
	t.Helper()
	s, _ := p.Resolve()
	cells := newFFTLayout(s, 1).cells
	opt := Options{Algorithm: "fft", Passes: PassSet(PassForward, PassBackwardData, PassBackwardFilter), Threads: threads}
	checkPlanWithin(t, p, opt, func(pass Pass, _ int) float64 { return 6 * fftBound(cells, fftChans(s, pass)) })
}

// fftChans is the length of pass's per-frequency sums.
func fftChans(s *Shape, pass Pass) int {
	switch pass {
	case PassForward:
		return s.CPerG
	case PassBackwardData:
		return s.KPerG
	}
	return s.N
}

// TestFFTErrorBound measures max|y - ref| / max|ref| of every pass against
// the float64 reference on large filters in 1D, 2D and 3D and small ones,
// with inputs like the golden sets' (normal data, weights scaled by
// 1/sqrt(fan_in)), beside direct's, and wants each within fftBound.
func TestFFTErrorBound(t *testing.T) {
	if testing.Short() {
		t.Skip("float64 references of large filters; -short skips them")
	}
	for _, p := range []Problem{
		{N: 1, C: 16, K: 16, In: []int{48, 48}, Kernel: []int{15, 15}, Padding: Pad(7, 7)},
		{N: 1, C: 4, K: 4, In: []int{4000}, Kernel: []int{255}, Padding: Pad(127)},
		{N: 2, C: 3, K: 5, In: []int{20, 20}, Kernel: []int{5, 5}, Padding: Pad(2, 2)},
		{N: 1, C: 64, K: 8, In: []int{24, 24}, Kernel: []int{7, 7}, Padding: Pad(3, 3)},
		{N: 1, C: 4, K: 4, In: []int{12, 12, 12}, Kernel: []int{5, 5, 5}, Padding: Pad(2, 2, 2)},
	} {
		s, _ := p.Resolve()
		r := rand.New(rand.NewPCG(1, 2))
		x, w, dy := randF32(r, s.XLen), randF32(r, s.WLen), randF32(r, s.YLen)
		scale := float32(1 / math.Sqrt(float64(s.CPerG*s.KernelSize)))
		for i := range w {
			w[i] *= scale
		}
		ref := NewReference(s)
		want := [3][]float64{ref.Forward(golden.F64(x), golden.F64(w), nil), ref.BackwardData(golden.F64(dy), golden.F64(w))}
		want[2], _ = ref.BackwardFilter(golden.F64(x), golden.F64(dy))
		cells := newFFTLayout(s, 1).cells
		line := fmt.Sprintf("C%d K%d in %v kernel %v (grid %d):", s.C, s.K, s.In, s.Kernel, cells)
		for _, algo := range []string{"fft", "direct"} {
			pl, err := NewPlan(p, Options{Algorithm: algo, Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			got := [3][]float32{make([]float32, s.YLen), make([]float32, s.XLen), make([]float32, s.WLen)}
			pl.Forward(got[0], x, w, nil, nil)
			pl.BackwardData(got[1], dy, w)
			pl.BackwardFilter(got[2], nil, x, dy, false)
			line += " " + algo
			for i, pass := range []Pass{PassForward, PassBackwardData, PassBackwardFilter} {
				e := relErr(got[i], want[i])
				line += fmt.Sprintf(" %.2g", e)
				if b := fftBound(cells, fftChans(s, pass)); algo == "fft" && e > b {
					t.Errorf("%s %s: error %.3g > bound %.3g", line, pass, e, b)
				}
			}
		}
		t.Log(line)
	}
}

// TestFFTRandomProblems checks the three passes against the float64
// reference on random problems, and that they ran on fft.
func TestFFTRandomProblems(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	seen := map[string]bool{}
	for i := 0; i < 60; i++ {
		p := fftProblemFor(r)
		s, err := p.Resolve()
		if err != nil {
			i--
			continue
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkFFT(t, p, 1+i%3)
			pl, _ := NewPlan(p, Options{Algorithm: "fft", Threads: 1})
			for _, pass := range []Pass{PassForward, PassBackwardData, PassBackwardFilter} {
				if _, ok := pl.engines[pass].(*fftPlan); !ok {
					t.Fatalf("%s ran %s", pass, pl.Algorithm(pass))
				}
			}
		})
		seen[fmt.Sprintf("%dd", s.Dims)] = true
		seen[p.Layout.String()] = true
		seen[fmt.Sprintf("padding %s", p.PaddingMode)] = true
		if p.Groups > 1 {
			seen["groups"] = true
		}
	}
	requireSeen(t, seen, "no problem", "1d", "2d", "3d", "nchw", "nhwc", "padding zeros", "padding reflect", "padding replicate", "padding circular", "groups")
}

// TestFFTDeterministic checks that the passes are bitwise the same on 1,
// 2 and 3 threads.
func TestFFTDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for i := 0; i < 6; i++ {
		p := fftProblemFor(r)
		if _, err := p.Resolve(); err != nil {
			i--
			continue
		}
		checkDeterministic(t, fmt.Sprint(i), p, Options{Algorithm: "fft", Passes: PassSet(PassForward, PassBackwardData, PassBackwardFilter)})
	}
}

// TestFFTDeclines checks the reasons fft gives: strides, transposed
// problems and single taps.
func TestFFTDeclines(t *testing.T) {
	for _, p := range []Problem{
		{N: 1, C: 2, K: 2, In: []int{16, 16}, Kernel: []int{5, 5}, Stride: []int{2, 2}},
		{N: 1, C: 2, K: 2, In: []int{16}, Kernel: []int{5}, Transposed: true},
		{N: 1, C: 2, K: 2, In: []int{16, 16}, Kernel: []int{1, 1}},
	} {
		s, err := p.Resolve()
		if err != nil {
			t.Fatal(err)
		}
		if err := (fftAlgo{}).Supports(s, PassForward); err == nil {
			t.Errorf("%+v: admitted", p)
		}
	}
}

// TestFFTAllocs checks that steady-state passes allocate nothing.
func TestFFTAllocs(t *testing.T) {
	checkPassAllocs(t, Problem{N: 2, C: 3, K: 4, In: []int{30, 20}, Kernel: []int{7, 5}, Padding: Pad(3, 2), Bias: true}, "fft")
}

// TestFFTTiles checks the overlap-save tiles of long 1D forward passes
// (asserting that they run) in every padding mode, with dilation, groups,
// both layouts, the bias and on two threads, beside the whole grid of
// the other passes.
func TestFFTTiles(t *testing.T) {
	problems := []Problem{
		{N: 2, C: 3, K: 2, In: []int{3000}, Kernel: []int{7}, Dilation: []int{2}, Padding: Pad(5), PaddingMode: Reflect, Bias: true},
		{N: 1, C: 4, K: 4, Groups: 2, In: []int{2000}, Kernel: []int{9}, Padding: Pad(4), PaddingMode: Circular, Layout: ChannelsLast, Bias: true},
		{N: 1, C: 2, K: 3, In: []int{1500}, Kernel: []int{3}, PaddingMode: Replicate, Padding: Pad(7)},
		{N: 1, C: 1, K: 1, In: []int{5000}, Kernel: []int{31}},
	}
	for i, p := range problems {
		s, err := p.Resolve()
		if err != nil {
			t.Fatal(err)
		}
		l := newFFTLayout(s, 1)
		if l.tiles == nil {
			t.Fatalf("problem %d: no tiles (grid %v)", i, l.grid)
		}
		t.Run(fmt.Sprintf("%d/T%d_tiles%d", i, l.tiles.T, l.tiles.nt), func(t *testing.T) {
			checkFFT(t, p, 1+i%2)
		})
	}
}

// TestFFTCostFarFilters checks that the cost model takes the products at
// the far rate (CMACsFarPerSec) exactly where the filter spectra outgrow
// L2 and the transform is not tiled: volume_3d_3x3x3_c16's 101 MB of
// spectra, not lenet_5x5_c1's few or the tiles of audio_1d_k255_c4.
func TestFFTCostFarFilters(t *testing.T) {
	near := Host{PeakGFLOPS: 100, StreamGBs: 80, FFTGFLOPS: 30, FFTGFLOPSL: 30, CMACsPerSec: 3e9, L1: 32 << 10, L2: 1 << 20, L3: 32 << 20}
	far := near
	far.CMACsFarPerSec = near.CMACsPerSec / 2
	for _, c := range []struct {
		name  string
		slows bool
	}{{"volume_3d_3x3x3_c16", true}, {"lenet_5x5_c1", false}, {"audio_1d_k255_c4", false}} {
		s, err := benchProblems[c.name].Resolve()
		if err != nil {
			t.Fatal(err)
		}
		a, b := fftAlgo{}.Cost(s, PassForward, near, 1), fftAlgo{}.Cost(s, PassForward, far, 1)
		if slows := b > a; slows != c.slows || b < a {
			t.Errorf("%s: cost %.3g ms with the far rate, %.3g ms without; want slower: %v", c.name, 1e3*b, 1e3*a, c.slows)
		}
	}
}
