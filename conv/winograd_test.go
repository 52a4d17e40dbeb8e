package conv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convkit/convkit/golden"
	"github.com/convkit/convkit/kernels"
)

// winogradProblemFor draws a 2D 3x3 stride-1 problem with channel counts
// around the block L: sizes under a tile and between tiles, every
// padding kind and mode, groups, both layouts, bias, transposed ones.
func winogradProblemFor(r *rand.Rand, L int) Problem {
	chans := []int{4, 7, L, 2*L + 3, 3 * L}
	p := Problem{
		N: 1 + r.IntN(2), C: chans[r.IntN(len(chans))], K: chans[r.IntN(len(chans))],
		In: []int{1 + r.IntN(17), 1 + r.IntN(23)}, Kernel: []int{3, 3},
		Bias: r.IntN(2) == 0, Layout: Layout(r.IntN(2)),
	}
	switch r.IntN(4) {
	case 0:
		p.Padding = Padding{Kind: Same}
	case 1:
		p.Padding = Padding{Kind: Full}
	default:
		p.Padding = Padding{Kind: Explicit, Before: []int{r.IntN(3), r.IntN(3)}, After: []int{r.IntN(3), r.IntN(3)}}
	}
	if r.IntN(3) == 0 {
		p.PaddingMode = PaddingMode(r.IntN(4))
	}
	if r.IntN(4) == 0 {
		p.Groups = 2
		p.C, p.K = 2*chans[r.IntN(len(chans))], 2*chans[r.IntN(len(chans))]
	}
	if r.IntN(5) == 0 {
		p.Transposed, p.PaddingMode = true, Zeros
		p.Padding = Pad(r.IntN(3), r.IntN(3))
	}
	return p
}

// winogradPlanOf returns the winograd engine of the plan's pass.
func winogradEngineOf(t *testing.T, pl *Plan, pass Pass) *winoEngine {
	t.Helper()
	wp, ok := pl.engines[pass].(*winogradPlan)
	if !ok {
		t.Fatalf("%s runs %s, want winograd", pass, pl.Algorithm(pass))
	}
	return wp.pass(pass).e
}

// checkWinograd runs the plan's passes against the float64 reference,
// the forward pass with bias, residual and ReLU, within a few times the
// variant's documented bound (relative to the magnitude |x|*|w|).
func checkWinograd(t *testing.T, p Problem, opt Options, m int) {
	t.Helper()
	pl, err := NewPlan(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	s := pl.Shape()
	ref := NewReference(s)
	r := rand.New(rand.NewPCG(uint64(s.XLen), uint64(s.WLen)))
	x, w, dy, res := randF32(r, s.XLen), randF32(r, s.WLen), randF32(r, s.YLen), randF32(r, s.YLen)
	var b []float32
	var bw, babs []float64
	if s.Bias {
		b = randF32(r, s.K)
		bw, babs = golden.F64(b), abs64(b)
	}
	chans := s.CPerG
	if s.Transposed {
		chans = s.KPerG
	}
	if opt.Passes.Has(PassForward) {
		y := make([]float32, s.YLen)
		pl.Forward(y, x, w, b, &Epilogue{Residual: res, ReLU: true})
		want := ref.Forward(golden.F64(x), golden.F64(w), bw)
		mag := ref.Forward(abs64(x), abs64(w), babs)
		for i := range want {
			want[i] = max(0, want[i]+float64(res[i]))
			mag[i] += math.Abs(float64(res[i]))
		}
		winogradWithin(t, "y", y, want, mag, 4*winogradBound(m, chans))
	}
	if opt.Passes.Has(PassBackwardData) {
		dx := make([]float32, s.XLen)
		pl.BackwardData(dx, dy, w)
		want := ref.BackwardData(golden.F64(dy), golden.F64(w))
		winogradWithin(t, "dx", dx, want, ref.BackwardData(abs64(dy), abs64(w)), 4*winogradBound(m, s.KPerG+s.CPerG))
	}
}

func winogradWithin(t *testing.T, what string, got []float32, want, mag []float64, bound float64) {
	t.Helper()
	var num, den float64
	for i := range want {
		num = max(num, math.Abs(float64(got[i])-want[i]))
		den = max(den, mag[i])
	}
	if e := num / max(den, 1e-30); e > bound || math.IsNaN(e) {
		t.Errorf("%s: max rel err %.3g > %.3g", what, e, bound)
	}
}

// winogradPasses is the passes winograd computes of p.
func winogradPasses(t *testing.T, p Problem) []Pass {
	s, err := p.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	var ps []Pass
	for _, pass := range []Pass{PassForward, PassBackwardData} {
		if (winogradAlgo{}).Supports(s, pass) == nil {
			ps = append(ps, pass)
		}
	}
	return ps
}

// TestWinogradRandomProblems checks every variant's forward (with the
// epilogue) and backward-data passes against the reference on random
// problems on every ISA path, and that the transforms ran on the path's
// generated kernels.
func TestWinogradRandomProblems(t *testing.T) {
	eachISA(t, func(isa kernels.ISA) {
		r := rand.New(rand.NewPCG(uint64(isa), 97))
		seen := map[string]bool{}
		for i := 0; i < 30; i++ {
			var p Problem
			var passes []Pass
			for len(passes) == 0 {
				if _, err := p.Resolve(); err == nil && false {
					break
				}
				p = winogradProblemFor(r, directLanes())
				if _, err := p.Resolve(); err != nil {
					continue
				}
				passes = winogradPasses(t, p)
			}
			for _, m := range []int{2, 4, 6} {
				t.Run(fmt.Sprintf("%s/%d/F%d", isa, i, m), func(t *testing.T) {
					opt := Options{Algorithm: fmt.Sprintf("winograd%d", m), Passes: PassSet(passes...), Threads: 1 + i%3}
					checkWinograd(t, p, opt, m)
					pl, _ := NewPlan(p, opt)
					for _, pass := range passes {
						e := winogradEngineOf(t, pl, pass)
						if want := isa != kernels.Generic; (e.in.Source == "asm") != want || (want && e.in.ISA != isa) {
							t.Errorf("%s: input transform %s on path %s", pass, e.in.Name(), isa)
						}
						seen[pass.String()] = true
						seen[fmt.Sprintf("transposed %v", p.Transposed)] = true
						seen[p.Layout.String()] = true
						seen[fmt.Sprintf("padding %s", p.PaddingMode)] = true
					}
				})
			}
		}
		requireSeen(t, seen, isa.String()+": no problem", "fwd", "bwd-data", "transposed true", "transposed false", "nchw", "nhwc", "padding zeros", "padding reflect", "padding replicate", "padding circular")
	})
}

// TestWinogradDeterministic checks that the passes are bitwise the same
// on 1, 2 and 3 threads.
func TestWinogradDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 8))
	for i := 0; i < 6; i++ {
		p := winogradProblemFor(r, directLanes())
		p.N, p.In = 2, []int{13 + r.IntN(9), 17 + r.IntN(9)}
		if _, err := p.Resolve(); err != nil {
			continue
		}
		opt := Options{Algorithm: "winograd", Passes: PassSet(winogradPasses(t, p)...)}
		checkDeterministic(t, fmt.Sprintf("problem %d", i), p, opt)
	}
}
