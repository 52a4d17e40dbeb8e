package conv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/convkit/convkit/golden"
	"github.com/convkit/convkit/kernels"
)

// enginePlans are problems that cover every parameter: 1D/2D/3D, groups
// and depthwise, stride, dilation, every padding kind and mode, transposed
// with output_padding, both layouts, odd sizes and batch > 1.
var enginePlans = []Problem{
	{N: 2, C: 3, K: 5, In: []int{9, 7}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true},
	{N: 1, C: 4, K: 6, In: []int{11, 10}, Kernel: []int{3, 2}, Stride: []int{2, 1}, Dilation: []int{1, 2}, Padding: Pad(2, 0), Groups: 2, Bias: true, PaddingMode: Reflect},
	{N: 2, C: 4, K: 4, In: []int{8, 6}, Kernel: []int{3, 3}, Groups: 4, Padding: Padding{Kind: Same}, PaddingMode: Replicate},
	{N: 1, C: 2, K: 3, In: []int{13}, Kernel: []int{5}, Stride: []int{3}, Padding: Pad(4), PaddingMode: Circular, Bias: true},
	{N: 1, C: 3, K: 2, In: []int{17}, Kernel: []int{4}, Dilation: []int{3}, Padding: Padding{Kind: Full}},
	{N: 2, C: 2, K: 4, In: []int{5, 6, 4}, Kernel: []int{3, 2, 3}, Stride: []int{1, 2, 1}, Padding: Pad(1, 0, 1), Groups: 2, Bias: true},
	{N: 1, C: 16, K: 8, In: []int{7, 7}, Kernel: []int{1, 1}, Bias: true},
	{N: 2, C: 6, K: 4, In: []int{9}, Kernel: []int{1}, Groups: 2, Transposed: true, Bias: true},
	{N: 1, C: 8, K: 8, In: []int{6, 5}, Kernel: []int{1, 1}, Stride: []int{2, 1}, PaddingMode: Replicate, Padding: Pad(0, 1)},
	{N: 2, C: 4, K: 6, In: []int{5, 4}, Kernel: []int{3, 3}, Stride: []int{2, 2}, Padding: Pad(1, 1), Transposed: true, OutputPadding: []int{1, 0}, Groups: 2, Bias: true},
	{N: 1, C: 3, K: 2, In: []int{7}, Kernel: []int{3}, Stride: []int{2}, Dilation: []int{2}, Transposed: true, OutputPadding: []int{1}},
	{N: 1, C: 2, K: 3, In: []int{3, 3, 2}, Kernel: []int{2, 2, 2}, Stride: []int{2, 1, 2}, Transposed: true, Bias: true},
	{N: 1, C: 64, K: 32, In: []int{23, 29}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true},
	// One tile and one block of every pass where L2 holds 1600 columns of
	// its 72 rows (TestPlanSplitsLowering pins the tile): the passes run
	// on the all-thread GEMM, the lowering and the lift split by channels
	// across the team.
	{N: 1, C: 8, K: 16, In: []int{40, 40}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true},
}

func randF32(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// within checks max|got-want| / max(mag) against 1e-6*sqrt(fan-in), the
// engine's bound, where mag is the same computation on the inputs'
// magnitudes (the sums of |terms|): a sum that cancels to near zero is
// held to the size of its terms, not to its own.
func within(t *testing.T, what string, got []float32, want, mag []float64, fanIn int) {
	t.Helper()
	withinBound(t, what, got, want, mag, exactBound(fanIn))
}

// exactBound is the exact algorithms' error bound for a sum of fanIn
// products.
func exactBound(fanIn int) float64 { return 1e-6 * math.Sqrt(float64(fanIn)) }

// withinBound is within against a given bound.
func withinBound(t *testing.T, what string, got []float32, want, mag []float64, bound float64) {
	t.Helper()
	var num, den float64
	for i := range want {
		num = max(num, math.Abs(float64(got[i])-want[i]))
		den = max(den, mag[i])
	}
	if den == 0 {
		den = 1
	}
	if e := num / den; e > bound || math.IsNaN(e) {
		t.Errorf("%s: max rel err %.3g > %.3g", what, e, bound)
	}
}

// abs64 is v widened, element by element made non-negative.
func abs64(v []float32) []float64 {
	out := golden.F64(v)
	for i := range out {
		out[i] = math.Abs(out[i])
	}
	return out
}

// TestPlanMatchesReference runs every pass of the im2col plan on every ISA
// path against the float64 reference, in both layouts, with the
// epilogue.
func TestPlanMatchesReference(t *testing.T) {
	orig := kernels.Current()
	defer kernels.Use(orig)
	for _, isa := range kernels.Available() {
		if err := kernels.Use(isa); err != nil {
			t.Fatal(err)
		}
		for pi, base := range enginePlans {
			for _, layout := range []Layout{ChannelsFirst, ChannelsLast} {
				p := base
				p.Layout = layout
				t.Run(fmt.Sprintf("%s/%d/%s", isa, pi, layout), func(t *testing.T) { checkPlan(t, p, Options{Threads: 2}) })
			}
		}
	}
}

func checkPlan(t *testing.T, p Problem, opt Options) {
	checkPlanWithin(t, p, opt, func(_ Pass, n int) float64 { return exactBound(n) })
}

// checkPlanWithin is checkPlan with the error bound of pass's sums of n
// products given (n: the fan-in, or for the filter gradient the images
// times the output positions).
func checkPlanWithin(t *testing.T, p Problem, opt Options, bound func(pass Pass, n int) float64) {
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
	var bw []float64
	if s.Bias {
		b = randF32(r, s.K)
		bw = golden.F64(b)
	}
	fanIn := s.CPerG * s.KernelSize
	if s.Transposed {
		fanIn = s.KPerG * s.KernelSize
	}
	var babs []float64
	if s.Bias {
		babs = abs64(b)
	}
	// The outputs start as NaN, so that a pass that leaves any of them
	// unwritten (a skipped clear, a missed tile) fails.
	y := nanF32(s.YLen)
	if !opt.Passes.Has(PassForward) {
		y = nil
	} else {
		pl.Forward(y, x, w, b, &Epilogue{Residual: res, ReLU: true})
	}
	want := ref.Forward(golden.F64(x), golden.F64(w), bw)
	mag := ref.Forward(abs64(x), abs64(w), babs)
	for i := range want {
		want[i] = max(0, want[i]+float64(res[i]))
		mag[i] += math.Abs(float64(res[i]))
	}
	if y != nil {
		withinBound(t, "y", y, want, mag, bound(PassForward, fanIn))
	}

	if opt.Passes.Has(PassBackwardData) {
		dx := nanF32(s.XLen)
		pl.BackwardData(dx, dy, w)
		withinBound(t, "dx", dx, ref.BackwardData(golden.F64(dy), golden.F64(w)), ref.BackwardData(abs64(dy), abs64(w)), bound(PassBackwardData, s.KPerG*s.KernelSize))
	}
	if !opt.Passes.Has(PassBackwardFilter) {
		return
	}

	dw := nanF32(s.WLen)
	var db []float32
	if s.Bias {
		db = nanF32(s.K)
	}
	pl.BackwardFilter(dw, db, x, dy, false)
	wdw, wdb := ref.BackwardFilter(golden.F64(x), golden.F64(dy))
	mdw, mdb := ref.BackwardFilter(abs64(x), abs64(dy))
	withinBound(t, "dw", dw, wdw, mdw, bound(PassBackwardFilter, s.N*s.OutLen))
	if s.Bias {
		within(t, "db", db, wdb, mdb, s.N*s.OutLen)
	}
	// accumulate adds a second gradient on top.
	pl.BackwardFilter(dw, db, x, dy, true)
	for i := range wdw {
		wdw[i], mdw[i] = 2*wdw[i], 2*mdw[i]
	}
	within(t, "dw accumulated", dw, wdw, mdw, s.N*s.OutLen)
	if s.Bias {
		for i := range wdb {
			wdb[i], mdb[i] = 2*wdb[i], 2*mdb[i]
		}
		within(t, "db accumulated", db, wdb, mdb, s.N*s.OutLen)
	}
}

// TestPlanTiles reruns every pass with narrow column tiles (1, 5 and 16
// short positions), so that every problem spans many tiles: the tile
// offsets of im2col and col2im, and the accumulation across tiles.
func TestPlanTiles(t *testing.T) {
	extra := []Problem{
		{N: 2, C: 3, K: 4, In: []int{13, 11}, Kernel: []int{3, 3}, Padding: Pad(2, 1), PaddingMode: Circular, Bias: true},
		{N: 1, C: 2, K: 2, In: []int{3}, Kernel: []int{5}, Padding: Pad(2), PaddingMode: Reflect},
		{N: 1, C: 2, K: 2, In: []int{3}, Kernel: []int{3}, Padding: Pad(3), PaddingMode: Circular},
		{N: 1, C: 2, K: 3, In: []int{4}, Kernel: []int{3}, Padding: Pad(5), PaddingMode: Replicate},
		{N: 1, C: 2, K: 2, In: []int{4}, Kernel: []int{3}, Dilation: []int{3}, Transposed: true, OutputPadding: []int{2}, Bias: true},
		{N: 1, C: 2, K: 2, In: []int{5}, Kernel: []int{3}, Padding: Pad(3), Transposed: true},
	}
	for pi, base := range append(append([]Problem(nil), enginePlans...), extra...) {
		for _, tile := range []int{1, 5, 16} {
			for _, layout := range []Layout{ChannelsFirst, ChannelsLast} {
				p := base
				p.Layout = layout
				chans := tile % 3 // 1 and 2 channels per block, and all of them
				t.Run(fmt.Sprintf("%d/tile%d/chans%d/%s", pi, tile, chans, layout), func(t *testing.T) {
					checkPlan(t, p, Options{Algorithm: "im2col", Threads: 1 + tile%2, tile: tile, chans: chans})
				})
			}
		}
	}
}

// TestPlanDeterministic checks that every pass gives bitwise the same
// result on 1, 2 and 3 threads: the engine problems and random ones, both
// layouts, with the epilogue and with accumulation, on the default tiles,
// on 5-column tiles of one channel per block, and under a workspace limit
// (which narrows the tiles as for one thread, whatever the count).
func TestPlanDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	problems := append([]Problem(nil), enginePlans...)
	for range 20 {
		problems = append(problems, validRandomProblem(r))
	}
	for pi, base := range problems {
		for _, layout := range []Layout{ChannelsFirst, ChannelsLast} {
			p := base
			p.Layout = layout
			checkDeterministic(t, fmt.Sprintf("problem %d %s", pi, layout), p, Options{})
			checkDeterministic(t, fmt.Sprintf("problem %d %s, tile 5 by 1 channel", pi, layout), p, Options{Algorithm: "im2col", tile: 5, chans: 1})
		}
	}
	wide := enginePlans[len(enginePlans)-2] // 64 channels, 23x29
	one, err := NewPlan(wide, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkDeterministic(t, "under a workspace limit", wide, Options{WorkspaceLimit: one.Workspace() / 3})
}

// checkDeterministic runs every pass of p under opt on 1, 2 and 3 threads
// and compares the results bit for bit.
func checkDeterministic(t *testing.T, name string, p Problem, opt Options) {
	t.Helper()
	var first [4][]float32
	for threads := 1; threads <= 3; threads++ {
		opt.Threads = threads
		got := runPasses(t, name, p, opt)
		if threads == 1 {
			first = got
			continue
		}
		for i, what := range []string{"y", "dx", "dw", "db"} {
			for j := range got[i] {
				if math.Float32bits(got[i][j]) != math.Float32bits(first[i][j]) {
					t.Fatalf("%s: %s[%d] = %v on %d threads, %v on 1", name, what, j, got[i][j], threads, first[i][j])
				}
			}
		}
	}
}

// runPasses runs the passes of opt on a plan of p under opt, on inputs
// drawn from the problem's sizes, and returns y, dx, dw and db (the
// forward pass with the epilogue, backward-filter accumulating onto
// random dw and db).
func runPasses(t *testing.T, name string, p Problem, opt Options) [4][]float32 {
	t.Helper()
	pl, err := NewPlan(p, opt)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	s := pl.Shape()
	r := rand.New(rand.NewPCG(7, uint64(s.XLen)))
	x, w, dy, res := randF32(r, s.XLen), randF32(r, s.WLen), randF32(r, s.YLen), randF32(r, s.YLen)
	var b, db []float32
	if s.Bias {
		b, db = randF32(r, s.K), randF32(r, s.K)
	}
	y, dx, dw := nanF32(s.YLen), nanF32(s.XLen), randF32(r, s.WLen) // NaN: see checkPlanWithin
	if opt.Passes.Has(PassForward) {
		pl.Forward(y, x, w, b, &Epilogue{Residual: res, ReLU: true})
	}
	if opt.Passes.Has(PassBackwardData) {
		pl.BackwardData(dx, dy, w)
	}
	if opt.Passes.Has(PassBackwardFilter) {
		pl.BackwardFilter(dw, db, x, dy, true) // on top of random dw and db
	}
	return [4][]float32{y, dx, dw, db}
}

// steadyAllocs is the fewest allocations per call of f over three
// rounds of AllocsPerRun(runs, f). AllocsPerRun counts the whole
// process's allocations, and the cleanups of the teams of plans that
// earlier tests dropped run on a goroutine of their own, now and then
// inside a round; an allocation of f's own shows in every round.
func steadyAllocs(runs int, f func()) float64 {
	n := testing.AllocsPerRun(runs, f)
	for i := 0; i < 2 && n != 0; i++ {
		n = min(n, testing.AllocsPerRun(runs, f))
	}
	return n
}

// TestPlanAllocs checks that steady-state calls allocate nothing: every
// engine problem, both layouts, 1 to 3 threads, with the epilogue.
func TestPlanAllocs(t *testing.T) {
	for pi, base := range enginePlans {
		for _, layout := range []Layout{ChannelsFirst, ChannelsLast} {
			for threads := 1; threads <= 3; threads++ {
				p := base
				p.Layout = layout
				pl, err := NewPlan(p, Options{Threads: threads})
				if err != nil {
					t.Fatal(err)
				}
				s := pl.Shape()
				x, w, dy := make([]float32, s.XLen), make([]float32, s.WLen), make([]float32, s.YLen)
				y, dx, dw := make([]float32, s.YLen), make([]float32, s.XLen), make([]float32, s.WLen)
				var b, db []float32
				if s.Bias {
					b, db = make([]float32, s.K), make([]float32, s.K)
				}
				ep := &Epilogue{Residual: make([]float32, s.YLen), ReLU: true}
				pl.PackWeights(w)
				if n := steadyAllocs(3, func() {
					pl.Forward(y, x, nil, b, ep)
					pl.BackwardData(dx, dy, w)
					pl.BackwardFilter(dw, db, x, dy, true)
				}); n != 0 {
					t.Errorf("problem %d %s, %d threads: %v allocations per call", pi, layout, threads, n)
				}
			}
		}
	}
}

// TestPlanLengths checks that a wrong slice length panics before any
// kernel runs, naming the argument and the length it needs.
func TestPlanLengths(t *testing.T) {
	pl, err := NewPlan(enginePlans[0], Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := pl.Shape()
	x, w, y, b := make([]float32, s.XLen), make([]float32, s.WLen), make([]float32, s.YLen), make([]float32, s.K)
	for _, c := range []struct {
		name string
		call func()
		want string
	}{
		{"x", func() { pl.Forward(y, x[1:], w, b, nil) }, fmt.Sprintf("len(x) = %d, want %d", s.XLen-1, s.XLen)},
		{"w", func() { pl.BackwardData(x, y, w[:3]) }, fmt.Sprintf("len(w) = 3, want %d", s.WLen)},
		{"b", func() { pl.Forward(y, x, w, nil, nil) }, "len(b) = 0"},
		{"residual", func() { pl.Forward(y, x, w, b, &Epilogue{Residual: x}) }, "len(residual)"},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), c.want) {
					t.Errorf("%s: panic %v, want %q", c.name, r, c.want)
				}
			}()
			c.call()
		}()
	}
}

// TestPlanIdentity checks that exactly the 1x1, stride-1, unpadded
// problems skip the lowering (and so need no column tile).
func TestPlanIdentity(t *testing.T) {
	for i, p := range enginePlans {
		pl, err := NewPlan(p, Options{Algorithm: "im2col"})
		if err != nil {
			t.Fatal(err)
		}
		s := pl.Shape()
		notOne := func(v int) bool { return v != 1 }
		nonZero := func(v int) bool { return v != 0 }
		want := s.KernelSize == 1 && !slices.ContainsFunc(s.Stride, notOne) &&
			!slices.ContainsFunc(s.PadBefore, nonZero) && !slices.ContainsFunc(s.PadAfter, nonZero)
		e := pl.engines[PassForward].(*im2colEngine)
		if e.low.Identity() != want || (want && e.cols[0] != nil) {
			t.Errorf("problem %d: identity %v (col %d), want %v", i, e.low.Identity(), len(e.cols[0]), want)
		}
		p.Layout = ChannelsLast
		if pl, err = NewPlan(p, Options{Algorithm: "im2col"}); err != nil {
			t.Fatal(err)
		}
		// Channels-last, the identity runs on the activations as laid out:
		// no copies to channels-first.
		e = pl.engines[PassForward].(*im2colEngine)
		if e.channelsLastGEMM != want || want && e.xcf != nil {
			t.Errorf("problem %d channels-last: GEMM on the activations %v (copies %d), want %v", i, e.channelsLastGEMM, len(e.xcf), want)
		}
	}
}

// validRandomProblem draws random problems (reference_test.go's
// randomProblem: every parameter) until one is valid.
func validRandomProblem(r *rand.Rand) Problem {
	for {
		if p := randomProblem(r); func() bool { _, err := p.Resolve(); return err == nil }() {
			return p
		}
	}
}

// TestPlanRandomProblems checks every pass of random problems against
// the reference on every ISA path, with the epilogue.
func TestPlanRandomProblems(t *testing.T) {
	orig := kernels.Current()
	defer kernels.Use(orig)
	r := rand.New(rand.NewPCG(11, 12))
	var problems []Problem
	for range 60 {
		problems = append(problems, validRandomProblem(r))
	}
	for _, isa := range kernels.Available() {
		if err := kernels.Use(isa); err != nil {
			t.Fatal(err)
		}
		for i, p := range problems {
			t.Run(fmt.Sprintf("%s/%d", isa, i), func(t *testing.T) {
				checkPlan(t, p, Options{Algorithm: "im2col", Threads: 1 + i%3, tile: []int{0, 7}[i%2], chans: i % 3})
			})
		}
	}
}

// TestPlanSplitsLowering checks that the last engine problem, on one
// 1600-column tile, takes the path its comment claims (one item per pass,
// a tile big enough for lowerAll to split across the team) and is
// deterministic there.
func TestPlanSplitsLowering(t *testing.T) {
	p := enginePlans[len(enginePlans)-1]
	opt := Options{Algorithm: "im2col", Threads: 2, tile: 1600} // pinned: the default tile follows L2
	checkDeterministic(t, "one tile and block", p, opt)
	pl, err := NewPlan(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	e := pl.engines[PassForward].(*im2colEngine)
	if e.tiles() != 1 || e.splitBlocks != 1 || e.blocks != 1 || e.rows*e.tile < minSplitLowering {
		t.Errorf("tiles %d, blocks %d/%d, tile of %d elements: want one tile and block of at least %d", e.tiles(), e.blocks, e.splitBlocks, e.rows*e.tile, minSplitLowering)
	}
}

// checkPassAllocs wants the three passes of p on algo, on two threads,
// to allocate nothing in steady state: Forward with the packed weights
// and the whole epilogue, and with explicit weights (the filter
// transform per call), BackwardData, BackwardFilter accumulating.
func checkPassAllocs(t *testing.T, p Problem, algo string) {
	t.Helper()
	pl, err := NewPlan(p, Options{Algorithm: algo, Passes: PassSet(PassForward, PassBackwardData, PassBackwardFilter), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	s := pl.Shape()
	r := rand.New(rand.NewPCG(1, 1))
	x, w, b, y := randF32(r, s.XLen), randF32(r, s.WLen), randF32(r, s.K), make([]float32, s.YLen)
	dw, db := make([]float32, s.WLen), make([]float32, s.K)
	pl.PackWeights(w)
	ep := &Epilogue{Residual: randF32(r, s.YLen), ReLU: true}
	for _, c := range []struct {
		name string
		call func()
	}{
		{"Forward", func() { pl.Forward(y, x, nil, b, ep) }},
		{"Forward with w", func() { pl.Forward(y, x, w, b, nil) }},
		{"BackwardData", func() { pl.BackwardData(x, y, nil) }},
		{"BackwardFilter", func() { pl.BackwardFilter(dw, db, x, y, true) }},
	} {
		if n := steadyAllocs(20, c.call); n != 0 {
			t.Errorf("%s %s: %v allocations", algo, c.name, n)
		}
	}
}

// TestWorkspaceLimitHuge: a limit near the int64 range is no limit (the
// engines' shares do not overflow).
func TestWorkspaceLimitHuge(t *testing.T) {
	p := Problem{N: 1, C: 64, K: 64, In: []int{56, 56}, Kernel: []int{3, 3}, Padding: Pad(1, 1)}
	for _, l := range []int64{math.MaxInt64, math.MaxInt64 / 2, 1 << 40} {
		if _, err := NewPlan(p, Options{WorkspaceLimit: l}); err != nil {
			t.Errorf("limit %d: %v", l, err)
		}
	}
}

// TestPlanPhasedLowering checks the phased lowering (a last-dim stride
// of 3 or more) against the reference, and bit for bit against the
// unphased one, on every pass: convolutions and transposed ones (whose
// backward-data pass gathers), 1D to 3D, groups and batches, and asserts
// that the phased path ran.
func TestPlanPhasedLowering(t *testing.T) {
	problems := []Problem{
		{N: 2, C: 3, K: 4, In: []int{27, 23}, Kernel: []int{5, 5}, Stride: []int{2, 4}, Padding: Pad(2, 1), Bias: true},
		{N: 1, C: 4, K: 6, Groups: 2, In: []int{40}, Kernel: []int{7}, Stride: []int{3}, Padding: Pad(3), Dilation: []int{2}},
		{N: 1, C: 2, K: 3, In: []int{5, 6, 17}, Kernel: []int{2, 3, 4}, Stride: []int{1, 2, 3}, Padding: Pad(1, 0, 2), Bias: true},
		{N: 2, C: 3, K: 2, In: []int{6, 7}, Kernel: []int{3, 5}, Stride: []int{3, 3}, Transposed: true, OutputPadding: []int{1, 2}, Bias: true},
	}
	for i, p := range problems {
		name := fmt.Sprint("problem ", i)
		checkPlan(t, p, Options{Algorithm: "im2col", Threads: 2})
		for _, noPhase := range []bool{false, true} {
			pl, err := NewPlan(p, Options{Algorithm: "im2col", Threads: 1, noPhase: noPhase})
			if err != nil {
				t.Fatal(err)
			}
			e := pl.engines[PassBackwardFilter].(*im2colEngine)
			if phased := e.phasedLong != nil; phased == noPhase {
				t.Fatalf("%s: phased %v with noPhase %v", name, phased, noPhase)
			}
		}
		phased := runPasses(t, name, p, Options{Algorithm: "im2col", Threads: 2})
		plain := runPasses(t, name, p, Options{Algorithm: "im2col", Threads: 2, noPhase: true})
		for k, what := range []string{"y", "dx", "dw", "db"} {
			for j := range phased[k] {
				if math.Float32bits(phased[k][j]) != math.Float32bits(plain[k][j]) {
					t.Fatalf("%s: %s[%d] = %v phased, %v not", name, what, j, phased[k][j], plain[k][j])
				}
			}
		}
	}
}

// TestPlanDisjointScatter checks the scatter passes of disjoint lowerings
// (every stride the kernel size: the columns placed, not added) against
// the reference and across thread counts: 2x2 stride-2 transposed
// convolutions (zipped on Interleave2) with and without output padding
// (which Place does not cover), 1D and 3D ones, and the backward-data
// pass of a 3x3 stride-3 convolution, with groups, batches and the bias.
func TestPlanDisjointScatter(t *testing.T) {
	problems := []Problem{
		{N: 2, C: 6, K: 4, In: []int{7, 9}, Kernel: []int{2, 2}, Stride: []int{2, 2}, Transposed: true, Bias: true},
		{N: 1, C: 4, K: 6, Groups: 2, In: []int{5, 6}, Kernel: []int{2, 2}, Stride: []int{2, 2}, Transposed: true, OutputPadding: []int{1, 1}, Bias: true},
		{N: 1, C: 3, K: 5, In: []int{37}, Kernel: []int{2}, Stride: []int{2}, Transposed: true},
		{N: 1, C: 2, K: 3, In: []int{3, 4, 5}, Kernel: []int{1, 2, 2}, Stride: []int{1, 2, 2}, Transposed: true, Bias: true},
		{N: 2, C: 3, K: 4, In: []int{9, 12}, Kernel: []int{3, 3}, Stride: []int{3, 3}, Bias: true},
	}
	for i, p := range problems {
		checkPlan(t, p, Options{Algorithm: "im2col", Threads: 1 + i%2})
		checkDeterministic(t, fmt.Sprint("disjoint problem ", i), p, Options{Algorithm: "im2col"})
		pl, err := NewPlan(p, Options{Algorithm: "im2col"})
		if err != nil {
			t.Fatal(err)
		}
		if !pl.engines[PassForward].(*im2colEngine).low.Disjoint() {
			t.Errorf("problem %d: the lowering is not disjoint", i)
		}
	}
}

// TestPlanDisjointPaddedAfter: a stride-equals-kernel convolution padded
// only after its input has taps past the input's edge, so its lowering is
// not disjoint and backward-data adds (it once placed, out of the row).
func TestPlanDisjointPaddedAfter(t *testing.T) {
	for _, p := range []Problem{
		{N: 1, C: 2, K: 3, In: []int{5}, Kernel: []int{2}, Stride: []int{2}, Padding: Padding{Kind: Explicit, Before: []int{0}, After: []int{1}}},
		{N: 1, C: 2, K: 2, In: []int{5, 5}, Kernel: []int{2, 2}, Stride: []int{2, 2}, Padding: Padding{Kind: Explicit, Before: []int{0, 0}, After: []int{1, 1}}},
	} {
		checkPlan(t, p, Options{Algorithm: "im2col", Threads: 1})
	}
}

// TestPlanBiasRow checks the forward pass that sums the bias in the GEMM
// as one more row of ones (biasRow) against the reference, with the
// epilogue and across thread counts: groups, a batch, channels last, 1D
// and 3D, several channel blocks (the row goes with the first), and a
// problem whose weights outweigh its output plane, which keeps the pass
// over y. Each asserts which of the two it ran.
func TestPlanBiasRow(t *testing.T) {
	cases := []struct {
		p     Problem
		chans int // channels per block (0: the blocking's own)
		row   bool
	}{
		{p: Problem{N: 2, C: 3, K: 5, In: []int{17, 19}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true}, row: true},
		{p: Problem{N: 1, C: 6, K: 4, Groups: 2, In: []int{23, 9}, Kernel: []int{3, 2}, Stride: []int{2, 1}, Bias: true}, row: true},
		{p: Problem{N: 1, C: 3, K: 7, In: []int{13, 11}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true, Layout: ChannelsLast}, row: true},
		{p: Problem{N: 1, C: 2, K: 3, In: []int{301}, Kernel: []int{5}, Dilation: []int{3}, Bias: true}, row: true},
		{p: Problem{N: 1, C: 2, K: 4, In: []int{6, 7, 8}, Kernel: []int{3, 3, 3}, Padding: Pad(1, 1, 1), Bias: true}, row: true},
		{p: Problem{N: 1, C: 9, K: 6, In: []int{16, 16}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true}, chans: 4, row: true},
		{p: Problem{N: 2, C: 8, K: 6, Groups: 2, In: []int{12, 10}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true}, chans: 2, row: true},
		{p: Problem{N: 1, C: 32, K: 8, In: []int{4, 4}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true}, row: false},
		{p: Problem{N: 1, C: 3, K: 4, In: []int{15, 15}, Kernel: []int{3, 3}, Transposed: true, Bias: true}, row: false},
	}
	for i, c := range cases {
		name := fmt.Sprint("bias-row problem ", i)
		opt := Options{Algorithm: "im2col", Passes: PassSet(PassForward), chans: c.chans}
		pl, err := NewPlan(c.p, opt)
		if err != nil {
			t.Fatal(err)
		}
		e := pl.engines[PassForward].(*im2colEngine)
		if e.biasRow != c.row {
			t.Errorf("%s: biasRow %v, want %v", name, e.biasRow, c.row)
		}
		if c.chans > 0 && e.blocks < 2 {
			t.Errorf("%s: %d channel blocks, want several", name, e.blocks)
		}
		for threads := 1; threads <= 2; threads++ {
			opt.Threads = threads
			checkPlan(t, c.p, opt)
		}
		checkDeterministic(t, name, c.p, opt)
	}
	// A plan that runs only the backward passes on im2col holds no row.
	p := cases[0].p
	if pl, err := NewPlan(p, Options{Algorithm: "im2col", Passes: PassSet(PassBackwardData, PassBackwardFilter)}); err != nil {
		t.Fatal(err)
	} else if e := pl.engines[PassBackwardData].(*im2colEngine); e.biasRow || e.wBias != nil {
		t.Errorf("backward-only plan: biasRow %v", e.biasRow)
	}
	// Under a workspace limit the row is decided as for one thread: every
	// thread count makes the same choice, and the workspace it reports
	// holds the row's buffers.
	p.Layout = ChannelsLast
	base, err := NewPlan(p, Options{Algorithm: "im2col", Threads: 1, Passes: PassSet(PassForward)})
	if err != nil {
		t.Fatal(err)
	}
	for _, lim := range []int64{base.Workspace(), base.Workspace() - 1} {
		var rows [3]bool
		for threads := 1; threads <= 3; threads++ {
			pl, err := NewPlan(p, Options{Algorithm: "im2col", Threads: threads, WorkspaceLimit: lim, Passes: PassSet(PassForward)})
			if err != nil {
				t.Fatalf("limit %d, %d threads: %v", lim, threads, err)
			}
			e := pl.engines[PassForward].(*im2colEngine)
			rows[threads-1] = e.biasRow
			if held := 4 * int64(len(e.wBias)+len(e.ones)+len(e.xcf)+len(e.ycf)+len(e.cols)*len(e.cols[0])); e.Workspace() < held {
				t.Errorf("limit %d, %d threads: workspace %d, buffers %d bytes", lim, threads, e.Workspace(), held)
			}
		}
		if rows[0] != rows[1] || rows[0] != rows[2] {
			t.Errorf("limit %d: biasRow by thread count %v", lim, rows)
		}
		if want := lim == base.Workspace(); rows[0] != want {
			t.Errorf("limit %d (unlimited %d): biasRow %v, want %v", lim, base.Workspace(), rows[0], want)
		}
	}
}

// nanF32 returns n NaNs: an output buffer whose every unwritten element
// shows.
func nanF32(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(math.NaN())
	}
	return v
}
