package conv

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/convkit/convkit/direct"
	"github.com/convkit/convkit/kernels"
)

// forwardOnly is the options of a direct plan: its forward pass alone.
func forwardOnly(threads int) Options {
	return Options{Algorithm: "direct", Passes: PassSet(PassForward), Threads: threads}
}

// directPasses is the options of a direct plan for every pass direct
// computes of p (nil passes: none).
func directPasses(t *testing.T, p Problem, threads int) (Options, []Pass) {
	s, err := p.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	var ps []Pass
	for _, pass := range []Pass{PassForward, PassBackwardData, PassBackwardFilter} {
		if (directAlgo{}).Supports(s, pass) == nil {
			ps = append(ps, pass)
		}
	}
	return Options{Algorithm: "direct", Passes: PassSet(ps...), Threads: threads}, ps
}

// directProblem draws a problem direct supports in some pass, with channel counts
// around the host's block L so that both input forms, several and partial
// output-channel groups, in-place and copied inputs and outputs all come
// up: 1D to 3D, strides, dilations, every padding mode, groups whose
// output channels are whole blocks, both layouts.
func directProblem(r *rand.Rand, L int) Problem {
	for {
		p := randomProblem(r)
		p.Transposed, p.OutputPadding = false, nil
		p.Groups = 1
		chans := []int{1, 3, L, 2 * L, 3*L + 5, 4*L + L/2}
		p.C, p.K = chans[r.IntN(len(chans))], chans[1+r.IntN(len(chans)-1)]
		if r.IntN(4) == 0 { // grouped, whole output blocks per group
			p.Groups = 2
			p.C, p.K = 2*[]int{3, L}[r.IntN(2)], 2*L*(1+r.IntN(2))
		}
		if r.IntN(3) == 0 {
			p.Padding = Padding{}
		}
		if r.IntN(4) == 0 { // transposed: forward at stride 1, backward-data at any
			p.Transposed, p.PaddingMode = true, Zeros
			if p.Padding.Kind != Explicit {
				p.Padding = Padding{}
			}
			p.Padding.After = nil
			if r.IntN(2) == 0 {
				p.Stride = nil
			}
		}
		s, err := p.Resolve()
		if err != nil {
			continue
		}
		for _, pass := range []Pass{PassForward, PassBackwardData} {
			if (directAlgo{}).Supports(s, pass) == nil {
				return p
			}
		}
	}
}

// eachISA runs fn with each ISA path the host runs bound in turn, the
// bound path restored after.
func eachISA(t *testing.T, fn func(isa kernels.ISA)) {
	t.Helper()
	orig := kernels.Current()
	defer kernels.Use(orig)
	for _, isa := range kernels.Available() {
		if err := kernels.Use(isa); err != nil {
			t.Fatal(err)
		}
		fn(isa)
	}
}

// requireSeen fails t for each of wants that seen lacks: a variant that
// the test's problems never ran ("<what> ran with <want>").
func requireSeen(t *testing.T, seen map[string]bool, what string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !seen[want] {
			t.Errorf("%s ran with %s", what, want)
		}
	}
}

// directEngineOf returns the plan's forward engine, which must be direct.
func directEngineOf(t *testing.T, pl *Plan) *directEngine {
	t.Helper()
	dp, ok := pl.engines[PassForward].(*directPlan)
	if !ok {
		t.Fatalf("forward runs %s, want direct", pl.Algorithm(PassForward))
	}
	e, ok := dp.pass(PassForward).e.(*directEngine)
	if !ok {
		t.Fatalf("forward runs the depthwise engine, want the tile engine")
	}
	return e
}

// TestDirectRandomProblems checks direct's forward pass (with the
// epilogue), backward-data and backward-filter (accumulating too) passes,
// of convolutions and transposed ones,
// against the reference on random problems, on every ISA path,
// and that every variant of its layout ran: both input forms, the input
// read in place and copied, the output written in place and buffered.
func TestDirectRandomProblems(t *testing.T) {
	eachISA(t, func(isa kernels.ISA) {
		L := directLanes()
		r := rand.New(rand.NewPCG(uint64(isa), 41))
		seen := map[string]bool{}
		for i := 0; i < 60; i++ {
			p := directProblem(r, L)
			t.Run(fmt.Sprintf("%s/%d", isa, i), func(t *testing.T) {
				opt, passes := directPasses(t, p, 1+i%3)
				checkPlan(t, p, opt)
				pl, err := NewPlan(p, opt)
				if err != nil {
					t.Fatal(err)
				}
				for _, pass := range passes {
					seen[fmt.Sprintf("%s transposed %v", pass, p.Transposed)] = true
					if pass == PassBackwardData {
						_, ok := pl.engines[pass].(*directPlan).pass(pass).e.(*phasedEngine)
						seen[fmt.Sprintf("stride phases %v", ok)] = true
					}
				}
				var e *directEngine // the tile engine of the first pass that has one
				for _, pass := range passes {
					switch dp := pl.engines[pass].(*directPlan).pass(pass); f := dp.f.(type) {
					case *directFilter:
						e = f.in
					case nil:
						e, _ = dp.e.(*directEngine)
					}
					if e != nil {
						break
					}
				}
				if e == nil { // depthwise alone: TestDirectDepthwise's
					return
				}
				if e.fam.ISA != isa && isa != kernels.Generic {
					t.Errorf("family %s on path %s", e.fam.Name(), isa)
				}
				seen[fmt.Sprintf("form %c", e.form)] = true
				seen[fmt.Sprintf("copied input %v", e.copyX)] = true
				seen[fmt.Sprintf("buffered output %v", e.bufY)] = true

			})
		}
		requireSeen(t, seen, isa.String()+": no problem", "fwd transposed false", "fwd transposed true", "bwd-data transposed false", "bwd-data transposed true", "bwd-filter transposed false", "bwd-filter transposed true", "form B", "form P", "copied input true", "copied input false", "buffered output true", "buffered output false", "stride phases true", "stride phases false")
	})
}

// TestDirectDeterministic checks that direct's passes are bitwise the
// same on 1, 2 and 3 threads.
func TestDirectDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for i := 0; i < 12; i++ {
		p := directProblem(r, directLanes())
		opt, _ := directPasses(t, p, 0)
		checkDeterministic(t, fmt.Sprintf("problem %d", i), p, opt)
	}
}

// TestDirectPackWeights checks that Forward and BackwardData with
// w == nil after PackWeights give what they give with w (backward-data
// on the flipped weights), and that a second PackWeights replaces the
// first.
func TestDirectPackWeights(t *testing.T) {
	p := Problem{N: 1, C: 20, K: 40, In: []int{9, 8}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true}
	pl, err := NewPlan(p, Options{Algorithm: "direct", Passes: PassSet(PassForward, PassBackwardData), Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	s := pl.Shape()
	r := rand.New(rand.NewPCG(1, 2))
	x, dy, b := randF32(r, s.XLen), randF32(r, s.YLen), randF32(r, s.K)
	same := func(what string, got, want []float32) {
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: packed [%d] = %v, want %v", what, i, got[i], want[i])
			}
		}
	}
	for round := 0; round < 2; round++ {
		w := randF32(r, s.WLen)
		y, dx := make([]float32, s.YLen), make([]float32, s.XLen)
		py, pdx := make([]float32, s.YLen), make([]float32, s.XLen)
		pl.Forward(y, x, w, b, nil)
		pl.BackwardData(dx, dy, w)
		pl.PackWeights(w)
		pl.Forward(py, x, nil, b, nil)
		pl.BackwardData(pdx, dy, nil)
		same(fmt.Sprintf("round %d y", round), py, y)
		same(fmt.Sprintf("round %d dx", round), pdx, dx)
		// A call with other weights in between leaves the packed ones
		// in force for w == nil.
		pl.Forward(make([]float32, s.YLen), x, randF32(r, s.WLen), b, nil)
		pl.BackwardData(make([]float32, s.XLen), dy, randF32(r, s.WLen))
		pl.Forward(py, x, nil, b, nil)
		pl.BackwardData(pdx, dy, nil)
		same(fmt.Sprintf("round %d y after other weights", round), py, y)
		same(fmt.Sprintf("round %d dx after other weights", round), pdx, dx)
	}
}

// TestDirectAllocs checks that steady-state direct calls (forward with
// the epilogue, backward-data, backward-filter) allocate nothing, on 1
// to 3 threads, depthwise ones too.
func TestDirectAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 12; i++ {
		p := directProblem(r, directLanes())
		if i >= 8 {
			p = depthwiseProblem(r, directLanes())
		}
		opt, passes := directPasses(t, p, 1+i%3)
		if len(passes) == 0 {
			continue
		}
		pl, err := NewPlan(p, opt)
		if err != nil {
			t.Fatal(err)
		}
		s := pl.Shape()
		x, w, y, res := make([]float32, s.XLen), make([]float32, s.WLen), make([]float32, s.YLen), make([]float32, s.YLen)
		var b []float32
		if s.Bias {
			b = make([]float32, s.K)
		}
		ep := &Epilogue{Residual: res, ReLU: true}
		for _, pass := range passes {
			call := func() { pl.Forward(y, x, w, b, ep) }
			switch pass {
			case PassBackwardData:
				call = func() { pl.BackwardData(x, y, w) }
			case PassBackwardFilter:
				db := b
				if db != nil {
					db = make([]float32, s.K)
				}
				call = func() { pl.BackwardFilter(w, db, x, y, true) }
			}
			call()
			if n := steadyAllocs(5, call); n != 0 {
				t.Errorf("problem %d: %v allocations per %s", i, n, pass)
			}
		}
	}
}

// TestDirectDeclines checks that direct refuses, with its reason, what it
// does not compute, and that auto then runs another algorithm.
func TestDirectDeclines(t *testing.T) {
	L := directLanes()
	for _, c := range []struct {
		p    Problem
		pass Pass
		want string
	}{
		{Problem{N: 1, C: 8, K: 8, In: []int{6, 6}, Kernel: []int{3, 3}, Stride: []int{2, 1}, Padding: Pad(3, 0)}, PassBackwardData, "stride phase"},
		{Problem{N: 1, C: 8, K: 8, In: []int{6, 6}, Kernel: []int{3, 3}, Padding: Pad(1, 1), PaddingMode: Reflect}, PassBackwardData, "padding_mode"},
		{Problem{N: 1, C: 8, K: 8, In: []int{6, 6}, Kernel: []int{3, 3}, Padding: Pad(3, 0)}, PassBackwardData, "span"},
		{Problem{N: 1, C: 8, K: 16, In: []int{6, 6}, Kernel: []int{3, 3}, Groups: 8, Layout: ChannelsLast}, PassBackwardFilter, "pair"},
		{Problem{N: 1, C: 8, K: 8, In: []int{6, 6}, Kernel: []int{3, 3}, Stride: []int{2, 2}, Transposed: true}, PassForward, "stride"},
		{Problem{N: 1, C: 8, K: 8, In: []int{6, 6}, Kernel: []int{3, 3}, Stride: []int{2, 2}, Dilation: []int{3, 3}, OutputPadding: []int{2, 2}, Transposed: true}, PassBackwardData, "output_padding"},
		{Problem{N: 1, C: 8, K: 16, In: []int{6, 6}, Kernel: []int{3, 3}, Groups: 8, Layout: ChannelsLast}, PassForward, "pair"},
		{Problem{N: 1, C: 4, K: 2 * (L + 1), In: []int{6, 6}, Kernel: []int{3, 3}, Groups: 2}, PassForward, "block"},
	} {
		s, err := c.p.Resolve()
		if err != nil {
			t.Fatal(err)
		}
		err = (directAlgo{}).Supports(s, c.pass)
		var ue *UnsupportedError
		if !errors.As(err, &ue) || ue.Algorithm != "direct" || ue.Pass != c.pass || !strings.Contains(ue.Reason, c.want) {
			t.Errorf("%+v %s: %v, want a reason with %q", c.p, c.pass, err, c.want)
		}
		pl, err := NewPlan(c.p, Options{Passes: PassSet(c.pass)})
		if err != nil || pl.Algorithm(c.pass) == "direct" || pl.Algorithm(c.pass) == "" {
			t.Errorf("%+v %s: auto: %v, %v, want another algorithm than direct", c.p, c.pass, pl, err)
		}
	}
}

// TestDirectFamilyChoice checks the model's choice on a row that one
// family tiles exactly and another would end with a sliver.
func TestDirectFamilyChoice(t *testing.T) {
	fs := direct.Families(kernels.Current())
	L := fs[0].Lanes
	s, err := Problem{N: 1, C: 2 * L, K: 4 * L, In: []int{4, 56}, Kernel: []int{3, 3}, Padding: Pad(1, 1)}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	l := newDirectLayout(s, 1)
	for _, f := range fs {
		if f.Form != l.form {
			continue
		}
		alt := *l
		alt.setFamily(fs, f)
		if alt.cycles() < l.cycles() {
			t.Errorf("chose %s (%.0f cycles), but %s models %.0f", l.fam.Name(), l.cycles(), f.Name(), alt.cycles())
		}
	}
}

// TestDirectChunks checks a 1D problem whose one row is cut into column
// chunks for the threads: right, and bitwise the same on 1 to 3 threads.
func TestDirectChunks(t *testing.T) {
	L := directLanes()
	for _, layout := range []Layout{ChannelsFirst, ChannelsLast} {
		p := Problem{N: 1, C: L, K: 2*L + 3, In: []int{700}, Kernel: []int{5}, Dilation: []int{2}, Padding: Pad(4), Bias: true, Layout: layout}
		pl, err := NewPlan(p, forwardOnly(2))
		if err != nil {
			t.Fatal(err)
		}
		if e := directEngineOf(t, pl); e.chunks < 2 {
			t.Fatalf("%s: %d chunks of %d columns, want several", layout, e.chunks, e.chunkW)
		}
		checkPlan(t, p, forwardOnly(2))
		checkDeterministic(t, "chunked "+layout.String(), p, forwardOnly(0))
	}
}

// TestDirectFilterChunks checks backward-filter with the reduction cut
// into chunks of 7 positions (every problem here has more): right, and
// bitwise the same on 1 to 3 threads.
func TestDirectFilterChunks(t *testing.T) {
	testFilterChunk = 7
	defer func() { testFilterChunk = 0 }()
	r := rand.New(rand.NewPCG(8, 8))
	for i := 0; i < 10; i++ {
		p := directProblem(r, directLanes())
		s, _ := p.Resolve()
		if (directAlgo{}).Supports(s, PassBackwardFilter) != nil {
			continue
		}
		opt := Options{Algorithm: "direct", Passes: PassSet(PassBackwardFilter), Threads: 1 + i%3}
		pl, err := NewPlan(p, opt)
		if err != nil {
			t.Fatal(err)
		}
		f, ok := pl.engines[PassBackwardFilter].(*directPlan).pass(PassBackwardFilter).f.(*directFilter)
		if !ok {
			continue // the width engine's
		}
		if len(f.pos) < 2 && f.s.OutLen > 7 {
			t.Fatalf("problem %d: %d chunks of %d positions", i, len(f.pos), f.s.OutLen)
		}
		checkPlan(t, p, opt)
		checkDeterministic(t, fmt.Sprintf("chunked problem %d", i), p, opt)
	}
}

// TestAutoLimitThreads checks that under workspace limits auto's picks
// (or its refusal), and so the results' bits, do not follow the thread
// count: problems direct takes, each under a third and two thirds of its
// plan's workspace on one thread.
func TestAutoLimitThreads(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	accepted := 0
	for i := 0; i < 10; i++ {
		p := directProblem(r, directLanes())
		pl, err := NewPlan(p, Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, lim := range []int64{pl.Workspace() / 3, pl.Workspace() * 2 / 3} {
			var first [numPasses]string
			var refused bool
			for threads := 1; threads <= 3; threads++ {
				q, err := NewPlan(p, Options{Threads: threads, WorkspaceLimit: lim})
				if threads == 1 {
					refused = err != nil
				}
				if (err != nil) != refused {
					t.Fatalf("problem %d, limit %d: refused %v on %d threads, %v on 1 (%v)", i, lim, err != nil, threads, refused, err)
				}
				if err != nil {
					continue
				}
				for pass := range numPasses {
					if threads == 1 {
						first[pass] = q.Algorithm(pass)
					} else if q.Algorithm(pass) != first[pass] {
						t.Errorf("problem %d, limit %d: %s runs %s on %d threads, %s on 1", i, lim, pass, q.Algorithm(pass), threads, first[pass])
					}
				}
			}
			if !refused {
				accepted++
				checkDeterministic(t, fmt.Sprintf("problem %d under %d bytes", i, lim), p, Options{WorkspaceLimit: lim})
			}
		}
	}
	if accepted < 5 {
		t.Errorf("only %d of 20 limits admitted a plan", accepted)
	}
}

// TestDirectStridePhases checks strided backward-data by stride phases
// against the oracle: strides 2 to 4 in some dims, dilations, paddings,
// groups of whole blocks, both layouts, 1D to 3D, and PackWeights'
// weights giving the same bits as weights per call.
func TestDirectStridePhases(t *testing.T) {
	L := directLanes()
	r := rand.New(rand.NewPCG(6, 6))
	ran := 0
	seen := map[string]bool{}
	for i := 0; ran < 40 && i < 800; i++ {
		p := directProblem(r, L)
		p.Transposed, p.OutputPadding = false, nil
		d := len(p.In)
		p.Stride = make([]int, d)
		for j := range p.Stride {
			p.Stride[j] = 1 + r.IntN(4)
		}
		p.Stride[r.IntN(d)] = 2 + r.IntN(3)
		p.PaddingMode = Zeros
		s, err := p.Resolve()
		if err != nil {
			continue
		}
		dd, err := deriveSupported(s, PassBackwardData)
		if err != nil || dd.phases == nil {
			continue
		}
		ran++
		opt := Options{Algorithm: "direct", Passes: PassSet(PassBackwardData), Threads: 1 + i%3}
		checkPlan(t, p, opt)
		pl, err := NewPlan(p, opt)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := pl.engines[PassBackwardData].(*directPlan).pass(PassBackwardData).e.(*phasedEngine); !ok {
			t.Fatalf("%+v: backward-data did not run by stride phases", p)
		}
		seen[fmt.Sprintf("%dD", s.Dims)] = true
		seen[s.Layout.String()] = true
		seen[fmt.Sprintf("groups %v", s.Groups > 1)] = true
		for _, ph := range dd.phases {
			seen[fmt.Sprintf("zero phase %v", ph.s == nil)] = true
		}
		// dx starts as NaN: every position must be written (the zero
		// phases' too), the packed weights giving the same bits.
		w, dy := randF32(r, s.WLen), randF32(r, s.YLen)
		dx, pdx := make([]float32, s.XLen), make([]float32, s.XLen)
		pl.BackwardData(dx, dy, w)
		for j := range pdx {
			pdx[j] = float32(math.NaN())
		}
		pl.PackWeights(w)
		pl.BackwardData(pdx, dy, nil)
		for j := range dx {
			if dx[j] != pdx[j] {
				t.Fatalf("%+v: packed dx[%d] = %v over NaN, want %v", p, j, pdx[j], dx[j])
			}
		}
	}
	if ran < 40 {
		t.Fatalf("only %d strided problems ran", ran)
	}
	requireSeen(t, seen, "no strided problem", "1D", "2D", "3D", "nchw", "nhwc", "groups true", "groups false", "zero phase true", "zero phase false")
}

// TestDirectPlanesInPlace checks that an unpadded channels-first problem
// with many channels and few taps (wavenet_1d_k2_d8_c64's kind) takes the
// planes form, x read in place, and computes it right; padded, it copies
// x into blocks as before.
func TestDirectPlanesInPlace(t *testing.T) {
	L := directLanes()
	for _, p := range []Problem{
		{N: 2, C: 2*L + 3, K: 3*L - 1, In: []int{61}, Kernel: []int{2}, Dilation: []int{5}, Bias: true},
		{N: 1, C: 4 * L, K: 2 * L, In: []int{9, 23}, Kernel: []int{1, 2}, Bias: true},
	} {
		s, err := p.Resolve()
		if err != nil {
			t.Fatal(err)
		}
		if l := newDirectLayout(s, 1); l.form != direct.Planes || l.copyX {
			t.Errorf("%+v: form %c, x copied %v: want planes read in place", p, l.form, l.copyX)
		}
		checkPlan(t, p, Options{Algorithm: "direct", Threads: 2})
		padded := p
		ones := make([]int, len(p.In))
		for i := range ones {
			ones[i] = 1
		}
		padded.Padding = Pad(ones...)
		if s, err = padded.Resolve(); err != nil {
			t.Fatal(err)
		}
		if l := newDirectLayout(s, 1); l.form != direct.Blocked {
			t.Errorf("%+v: form %c, want blocked", padded, l.form)
		}
	}
}
