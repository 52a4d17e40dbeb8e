package conv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/convkit/convkit/golden"
	"github.com/convkit/convkit/kernels"
	"github.com/convkit/convkit/winograd"
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
	p.Padding, p.PaddingMode = randPadding(r, 2)
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

// randPadding draws a padding of dims dims (same, full, or explicit of 0
// to 2 per side) and, one time in three, a padding mode other than the
// default.
func randPadding(r *rand.Rand, dims int) (Padding, PaddingMode) {
	var pad Padding
	switch r.IntN(4) {
	case 0:
		pad = Padding{Kind: Same}
	case 1:
		pad = Padding{Kind: Full}
	default:
		b, a := make([]int, dims), make([]int, dims)
		for d := range b {
			b[d] = r.IntN(3)
		}
		for d := range a {
			a[d] = r.IntN(3)
		}
		pad = Padding{Kind: Explicit, Before: b, After: a}
	}
	var mode PaddingMode
	if r.IntN(3) == 0 {
		mode = PaddingMode(r.IntN(4))
	}
	return pad, mode
}

// winogradEngineOf returns the winograd engine of the plan's pass.
func winogradEngineOf(t *testing.T, pl *Plan, pass Pass) *winoEngine {
	t.Helper()
	wp, ok := pl.engines[pass].(*winogradPlan)
	if !ok {
		t.Fatalf("%s runs %s, want winograd", pass, pl.Algorithm(pass))
	}
	return wp.pass(pass).e
}

// winogradTransformsOf returns the transforms the plan's pass runs.
func winogradTransformsOf(t *testing.T, pl *Plan, pass Pass) []*winograd.Transform {
	t.Helper()
	wp, ok := pl.engines[pass].(*winogradPlan)
	if !ok {
		t.Fatalf("%s runs %s, want winograd", pass, pl.Algorithm(pass))
	}
	if g := wp.pass(pass).g; g != nil {
		return []*winograd.Transform{g.in, g.gdy, g.gdw}
	}
	e := wp.pass(pass).e
	return []*winograd.Transform{e.in, e.out, e.filter}
}

// checkWinograd runs the plan's passes against the float64 reference
// (checkPlanWithin), the forward pass with bias, residual and ReLU,
// within 6 times variant m's documented bound for the channel sum (the
// filter gradient: for the images' positions), relative to the magnitude
// |x|*|w|.
func checkWinograd(t *testing.T, p Problem, opt Options, m int) {
	t.Helper()
	checkPlanWithin(t, p, opt, func(pass Pass, n int) float64 {
		if pass == PassBackwardFilter {
			return 6 * winogradGradBound(m, n)
		}
		return 6 * winogradBound(m, n/9)
	})
}

// winogradPasses is the passes winograd computes of p.
func winogradPasses(t *testing.T, p Problem) []Pass {
	s, err := p.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	var ps []Pass
	for _, pass := range []Pass{PassForward, PassBackwardData, PassBackwardFilter} {
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
				p = winogradProblemFor(r, directLanes())
				if _, err := p.Resolve(); err != nil {
					continue
				}
				passes = winogradPasses(t, p)
			}
			for _, m := range []int{2, 4, 6} {
				t.Run(fmt.Sprintf("%s/%d/F%d", isa, i, m), func(t *testing.T) {
					passes := passes
					if m == 6 { // no weight-gradient form F(3x3, 6x6)
						passes = slices.DeleteFunc(slices.Clone(passes), func(p Pass) bool { return p == PassBackwardFilter })
					}
					opt := Options{Algorithm: fmt.Sprintf("winograd%d", m), Passes: PassSet(passes...), Threads: 1 + i%3}
					checkWinograd(t, p, opt, m)
					pl, _ := NewPlan(p, opt)
					for _, pass := range passes {
						for _, tr := range winogradTransformsOf(t, pl, pass) {
							if want := isa != kernels.Generic; (tr.Source == "asm") != want || (want && tr.ISA != isa) {
								t.Errorf("%s: transform %s on path %s", pass, tr.Name(), isa)
							}
						}
						seen[pass.String()] = true
						seen[fmt.Sprintf("transposed %v", p.Transposed)] = true
						seen[p.Layout.String()] = true
						seen[fmt.Sprintf("padding %s", p.PaddingMode)] = true
					}
				})
			}
		}
		requireSeen(t, seen, isa.String()+": no problem", "fwd", "bwd-data", "bwd-filter", "transposed true", "transposed false", "nchw", "nhwc", "padding zeros", "padding reflect", "padding replicate", "padding circular")
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

// TestWinogradErrorBound measures every variant's max|y - ref| / max|ref|
// against the float64 reference on the public 3x3 stride-1 shapes (N = 1)
// and on few channels, with inputs like the golden sets' (normal data,
// weights scaled by 1/sqrt(fan_in)), forward and backward-data, and wants
// each within its documented bound (winogradBound) and the default
// choice within winogradBoundLimit.
func TestWinogradErrorBound(t *testing.T) {
	if testing.Short() {
		t.Skip("float64 references of the public shapes; -short skips them")
	}
	shapes := []struct{ c, hw int }{{4, 20}, {16, 30}, {64, 56}, {128, 28}, {256, 14}, {512, 7}}
	for _, sh := range shapes {
		p := Problem{N: 1, C: sh.c, K: sh.c, In: []int{sh.hw, sh.hw}, Kernel: []int{3, 3}, Padding: Pad(1, 1)}
		s, err := p.Resolve()
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(uint64(sh.c), 3))
		x, w, dy := randF32(r, s.XLen), randF32(r, s.WLen), randF32(r, s.YLen)
		scale := float32(1 / math.Sqrt(float64(9*sh.c)))
		for i := range w {
			w[i] *= scale
		}
		ref := NewReference(s)
		wantY := ref.Forward(golden.F64(x), golden.F64(w), nil)
		wantDX := ref.BackwardData(golden.F64(dy), golden.F64(w))
		line := fmt.Sprintf("c%-3d %dx%d:", sh.c, sh.hw, sh.hw)
		for _, algo := range []string{"winograd2", "winograd4", "winograd6", "winograd", "direct"} {
			pl, err := NewPlan(p, Options{Algorithm: algo, Threads: 1, Passes: PassSet(PassForward, PassBackwardData)})
			if err != nil {
				t.Fatal(err)
			}
			y, dx := make([]float32, s.YLen), make([]float32, s.XLen)
			pl.Forward(y, x, w, nil, nil)
			pl.BackwardData(dx, dy, w)
			ey, edx := relErr(y, wantY), relErr(dx, wantDX)
			line += fmt.Sprintf("  %s %.2g/%.2g", algo, ey, edx)
			bound, ok := algoBound(algo, func(m int) float64 { return winogradBound(m, sh.c) })
			if ok && (ey > bound || edx > bound) {
				t.Errorf("%s %s: errors %.3g (y), %.3g (dx) > bound %.3g", line, algo, ey, edx, bound)
			}
		}
		// The filter gradient: a sum over the positions.
		wantDW, _ := ref.BackwardFilter(golden.F64(x), golden.F64(dy))
		line += "  dW:"
		for _, algo := range []string{"winograd2", "winograd4", "winograd", "direct"} {
			pl, err := NewPlan(p, Options{Algorithm: algo, Threads: 1, Passes: PassSet(PassBackwardFilter)})
			if err != nil {
				t.Fatal(err)
			}
			dw := make([]float32, s.WLen)
			pl.BackwardFilter(dw, nil, x, dy, false)
			e := relErr(dw, wantDW)
			line += fmt.Sprintf(" %s %.2g", algo, e)
			bound, ok := algoBound(algo, func(m int) float64 { return winogradGradBound(m, s.N*s.OutLen) })
			if ok && e > bound {
				t.Errorf("%s %s: error %.3g (dW) > bound %.3g", line, algo, e, bound)
			}
		}
		t.Log(line)
	}
}

// algoBound is the error bound TestWinogradErrorBound holds algo to:
// variant m's (bound) for a forced variant, the default limit for
// winograd, none (false) for direct.
func algoBound(algo string, bound func(m int) float64) (float64, bool) {
	switch algo {
	case "direct":
		return 0, false
	case "winograd":
		return winogradBoundLimit, true
	}
	return bound(int(algo[len(algo)-1] - '0')), true
}

// relErr is max|got - want| / max|want|.
func relErr(got []float32, want []float64) float64 {
	var num, den float64
	for i, v := range want {
		num = max(num, math.Abs(float64(got[i])-v))
		den = max(den, math.Abs(v))
	}
	return num / den
}

// TestWinogradAdmission checks auto's rules: Exact admits no Winograd
// variant, the default precision drops the variants whose bound exceeds
// 1e-4 for the channel sum, and under a workspace limit winograd takes a
// smaller variant, then auto another algorithm.
func TestWinogradAdmission(t *testing.T) {
	p := Problem{N: 1, C: 64, K: 64, In: []int{56, 56}, Kernel: []int{3, 3}, Padding: Pad(1, 1)}
	if _, err := NewPlan(p, Options{Algorithm: "winograd", Precision: Exact}); err == nil {
		t.Error("winograd under Exact: no error")
	}
	pl, err := NewPlan(p, Options{Precision: Exact, Passes: PassSet(PassForward)})
	if err != nil || pl.Algorithm(PassForward) == "winograd" {
		t.Errorf("auto under Exact: %v, %v", pl.Algorithm(PassForward), err)
	}
	pl, err = NewPlan(p, Options{Passes: PassSet(PassForward), Threads: 1})
	// On arm64 (CI runs it under qemu, where every instruction costs about the same)
	// the measured rates favour the FFT's vector kernels: either
	// transform is admitted; on amd64 winograd alone.
	emulated := runtime.GOARCH == "arm64" && pl != nil && pl.Algorithm(PassForward) == "fft"
	if err != nil || pl.Algorithm(PassForward) != "winograd" && !emulated {
		t.Errorf("auto on %v: %v, %v; want winograd", p.In, pl.Algorithm(PassForward), err)
	}
	if v := pl.Variant(PassForward); !emulated && (!strings.HasPrefix(v, "winograd") || len(v) != len("winograd4")) {
		t.Errorf("auto's variant: %q, want winograd<m>", v)
	}

	wide, _ := Problem{N: 1, C: 4096, K: 64, In: []int{8, 8}, Kernel: []int{3, 3}}.Resolve()
	for _, v := range (winogradAlgo{}).variants(wide) {
		if winogradBound(v.M, wide.CPerG) > winogradBoundLimit {
			t.Errorf("F%d admitted for %d channels (bound %.3g)", v.M, wide.CPerG, winogradBound(v.M, wide.CPerG))
		}
	}
	if err := (winogradAlgo{m: 6}).Supports(wide, PassBackwardFilter); err == nil || !strings.Contains(err.Error(), "F(3x3, 6x6)") {
		t.Errorf("winograd6's backward-filter: %v, want it declined", err)
	}
	if n := len((winogradAlgo{}).variants(wide)); n == 0 || n == 3 {
		t.Errorf("%d variants for %d channels, want some but not all", n, wide.CPerG)
	}

	s, _ := p.Resolve()
	f2, _ := (winogradAlgo{m: 2}).choose(s, PassForward, 1, 0)
	best, _ := (winogradAlgo{}).choose(s, PassForward, 1, 0)
	if best.v.M == 2 {
		t.Fatalf("the model takes F(2x2) unlimited: the test wants a larger one")
	}
	// Under the least that the model's variant needs at any cut, it must
	// give way.
	lim := newWinoLayout(s, best.v, 1, 1).bytes() - 1
	l, err := (winogradAlgo{}).choose(s, PassForward, 1, lim)
	if err != nil || l.v.M == best.v.M || l.bytes() > lim {
		t.Errorf("limit %d: %v; want a variant smaller than F(%d)", lim, err, best.v.M)
	}
	small := int64(f2.packLen()) // the packed filters of F(2x2) alone take 4x this
	pl, err = NewPlan(p, Options{Passes: PassSet(PassForward), WorkspaceLimit: small})
	if err != nil || pl.Algorithm(PassForward) == "winograd" {
		t.Errorf("auto at limit %d: %v, %v; want another algorithm", small, pl.Algorithm(PassForward), err)
	}
}

// TestWinogradAllocs checks that steady-state passes allocate nothing.
func TestWinogradAllocs(t *testing.T) {
	checkPassAllocs(t, Problem{N: 2, C: 24, K: 40, In: []int{19, 23}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true}, "winograd")
}

// TestWinogradWorkspaceLimit checks the workspace accounting under
// limits around what a plan of the three passes needs: a plan
// that fits on three threads fits on one, a plan made reports at most
// the limit, and a refusal names the limit.
func TestWinogradWorkspaceLimit(t *testing.T) {
	p := Problem{N: 2, C: 64, K: 64, In: []int{40, 40}, Kernel: []int{3, 3}, Padding: Pad(1, 1)}
	opt := Options{Algorithm: "winograd4", Passes: PassSet(PassForward, PassBackwardData, PassBackwardFilter)}
	full, err := NewPlan(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, frac := range []float64{0.3, 0.5, 0.7, 0.8, 0.9, 1.0} {
		lim := int64(frac * float64(full.Workspace()))
		var fits [4]bool
		for _, threads := range []int{1, 3} {
			o := opt
			o.Threads, o.WorkspaceLimit = threads, lim
			pl, err := NewPlan(p, o)
			fits[threads] = err == nil
			if err == nil && pl.Workspace() > lim {
				t.Errorf("limit %d, %d threads: a plan of %d bytes", lim, threads, pl.Workspace())
			}
			if err != nil && !strings.Contains(err.Error(), "limit") {
				t.Errorf("limit %d: %v, want the limit named", lim, err)
			}
		}
		if fits[3] && !fits[1] {
			t.Errorf("limit %d: fits on 3 threads, not on 1", lim)
		}
	}
}

// TestWinogradSplitBlocks checks the split-block path (few tiles for the
// threads: each block's input shared out, then its output parts) against
// the reference and bitwise against one thread, asserting it ran.
func TestWinogradSplitBlocks(t *testing.T) {
	for _, p := range []Problem{
		{N: 1, C: 256, K: 256, In: []int{7, 7}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true},
		{N: 1, C: 200, K: 300, In: []int{6, 9}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Layout: ChannelsLast},
	} {
		opt := Options{Algorithm: "winograd", Passes: PassSet(PassForward, PassBackwardData), Threads: 2}
		pl, err := NewPlan(p, opt)
		if err != nil {
			t.Fatal(err)
		}
		if e := winogradEngineOf(t, pl, PassForward); e.ks < 2 {
			t.Fatalf("%v: ks %d on 2 threads, want a split", p.In, e.ks)
		}
		checkWinograd(t, p, opt, winogradEngineOf(t, pl, PassForward).m)
		checkDeterministic(t, fmt.Sprint(p.In), p, opt)
	}
}

// TestWinogradGradCuts checks the weight-gradient form cut into bands of
// one and two tile rows and chunks of one and two images against the
// reference, and bitwise on 1, 2 and 3 threads at each cut.
func TestWinogradGradCuts(t *testing.T) {
	defer func() { testGradCut = [2]int{} }()
	r := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 4; i++ {
		p := winogradProblemFor(r, directLanes())
		p.N, p.In = 3, []int{9 + r.IntN(9), 5 + r.IntN(9)}
		if _, err := p.Resolve(); err != nil || len(winogradPasses(t, p)) < 3 {
			i--
			continue
		}
		for _, cut := range [][2]int{{1, 1}, {2, 2}} {
			testGradCut = cut
			for _, m := range []int{2, 4} {
				opt := Options{Algorithm: fmt.Sprintf("winograd%d", m), Passes: PassSet(PassBackwardFilter)}
				t.Run(fmt.Sprintf("%d/%v/F%d", i, cut, m), func(t *testing.T) {
					pl, err := NewPlan(p, opt)
					if err != nil {
						t.Fatal(err)
					}
					g := pl.engines[PassBackwardFilter].(*winogradPlan).pass(PassBackwardFilter).g
					if g.R != min(cut[0], g.th) || g.imgs != cut[1] {
						t.Fatalf("cut R %d, images %d; want %v", g.R, g.imgs, cut)
					}
					checkWinograd(t, p, opt, m)
					checkDeterministic(t, fmt.Sprint(cut), p, opt)
				})
			}
		}
	}
}

// TestWinogradReason checks that a plan records why each pass runs its
// algorithm: auto's cost model with winograd's estimate beside the
// others' where it competes (the filter gradient too), winograd's reason
// where it declines, and a named algorithm as named.
func TestWinogradReason(t *testing.T) {
	p := Problem{N: 1, C: 64, K: 64, In: []int{20, 20}, Kernel: []int{3, 3}, Padding: Pad(1, 1)}
	pl, err := NewPlan(p, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, pass := range []Pass{PassForward, PassBackwardData, PassBackwardFilter} {
		if r := pl.Reason(pass); !strings.Contains(r, "cost model") || !strings.Contains(r, "winograd ") || !strings.Contains(r, "direct ") {
			t.Errorf("%s: reason %q, want the model's estimates of winograd and direct", pass, r)
		}
	}
	p.Stride = []int{2, 2}
	pl, err = NewPlan(p, Options{Threads: 1, Passes: PassSet(PassBackwardFilter)})
	if err != nil {
		t.Fatal(err)
	}
	if r := pl.Reason(PassBackwardFilter); !strings.Contains(r, "winograd: stride [2 2]") {
		t.Errorf("stride 2: reason %q, want winograd's", r)
	}
	if r := pl.Reason(PassForward); r != "" {
		t.Errorf("a pass not planned: reason %q", r)
	}
	pl, _ = NewPlan(p, Options{Algorithm: "direct", Threads: 1})
	if r := pl.Reason(PassForward); !strings.Contains(r, "named") {
		t.Errorf("named: reason %q", r)
	}
}
