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

// directProblem draws a problem direct supports, with channel counts
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
		if s, err := p.Resolve(); err == nil && (directAlgo{}).Supports(s, PassForward) == nil {
			return p
		}
	}
}

// directEngineOf returns the plan's forward engine, which must be direct.
func directEngineOf(t *testing.T, pl *Plan) *directEngine {
	t.Helper()
	e, ok := pl.engines[PassForward].(*directEngine)
	if !ok {
		t.Fatalf("forward runs %s, want direct", pl.Algorithm(PassForward))
	}
	return e
}

// TestDirectRandomProblems checks direct's forward pass (with the
// epilogue) against the reference on random problems, on every ISA path,
// and that every variant of its layout ran: both input forms, the input
// read in place and copied, the output written in place and buffered.
func TestDirectRandomProblems(t *testing.T) {
	orig := kernels.Current()
	defer kernels.Use(orig)
	for _, isa := range kernels.Available() {
		if err := kernels.Use(isa); err != nil {
			t.Fatal(err)
		}
		L := directLanes()
		r := rand.New(rand.NewPCG(uint64(isa), 41))
		seen := map[string]bool{}
		for i := 0; i < 60; i++ {
			p := directProblem(r, L)
			t.Run(fmt.Sprintf("%s/%d", isa, i), func(t *testing.T) {
				opt := forwardOnly(1 + i%3)
				checkPlan(t, p, opt)
				pl, err := NewPlan(p, opt)
				if err != nil {
					t.Fatal(err)
				}
				e := directEngineOf(t, pl)
				if e.fam.ISA != isa && isa != kernels.Generic {
					t.Errorf("family %s on path %s", e.fam.Name(), isa)
				}
				seen[fmt.Sprintf("form %c", e.form)] = true
				seen[fmt.Sprintf("copied input %v", e.copyX)] = true
				seen[fmt.Sprintf("buffered output %v", e.bufY)] = true

			})
		}
		for _, want := range []string{"form B", "form P", "copied input true", "copied input false", "buffered output true", "buffered output false"} {
			if !seen[want] {
				t.Errorf("%s: no problem ran with %s", isa, want)
			}
		}
	}
}

// TestDirectDeterministic checks that direct's forward pass is bitwise
// the same on 1, 2 and 3 threads.
func TestDirectDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for i := 0; i < 12; i++ {
		p := directProblem(r, directLanes())
		var first []float32
		for threads := 1; threads <= 3; threads++ {
			pl, err := NewPlan(p, forwardOnly(threads))
			if err != nil {
				t.Fatal(err)
			}
			s := pl.Shape()
			rr := rand.New(rand.NewPCG(7, uint64(s.XLen)))
			x, w, res := randF32(rr, s.XLen), randF32(rr, s.WLen), randF32(rr, s.YLen)
			var b []float32
			if s.Bias {
				b = randF32(rr, s.K)
			}
			y := make([]float32, s.YLen)
			pl.Forward(y, x, w, b, &Epilogue{Residual: res, ReLU: true})
			if threads == 1 {
				first = y
				continue
			}
			for j := range y {
				if math.Float32bits(y[j]) != math.Float32bits(first[j]) {
					t.Fatalf("problem %d: y[%d] = %v on %d threads, %v on 1", i, j, y[j], threads, first[j])
				}
			}
		}
	}
}

// TestDirectPackWeights checks that Forward with w == nil after
// PackWeights gives what Forward with w gives, and that a second
// PackWeights replaces the first.
func TestDirectPackWeights(t *testing.T) {
	p := Problem{N: 1, C: 20, K: 40, In: []int{9, 8}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true}
	pl, err := NewPlan(p, forwardOnly(2))
	if err != nil {
		t.Fatal(err)
	}
	s := pl.Shape()
	r := rand.New(rand.NewPCG(1, 2))
	x, b := randF32(r, s.XLen), randF32(r, s.K)
	for round := 0; round < 2; round++ {
		w := randF32(r, s.WLen)
		want, got := make([]float32, s.YLen), make([]float32, s.YLen)
		pl.Forward(want, x, w, b, nil)
		pl.PackWeights(w)
		pl.Forward(got, x, nil, b, nil)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("round %d: packed y[%d] = %v, want %v", round, i, got[i], want[i])
			}
		}
	}
}

// TestDirectAllocs checks that steady-state direct calls allocate
// nothing, with the epilogue, on 1 to 3 threads.
func TestDirectAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 8; i++ {
		p := directProblem(r, directLanes())
		pl, err := NewPlan(p, forwardOnly(1+i%3))
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
		pl.Forward(y, x, w, b, ep)
		if n := testing.AllocsPerRun(5, func() { pl.Forward(y, x, w, b, ep) }); n != 0 {
			t.Errorf("problem %d: %v allocations per Forward", i, n)
		}
	}
}

// TestDirectDeclines checks that direct refuses, with its reason, what it
// does not compute, and that auto then runs im2col.
func TestDirectDeclines(t *testing.T) {
	L := directLanes()
	for _, c := range []struct {
		p    Problem
		pass Pass
		want string
	}{
		{Problem{N: 1, C: 8, K: 8, In: []int{6, 6}, Kernel: []int{3, 3}}, PassBackwardData, "backward"},
		{Problem{N: 1, C: 8, K: 8, In: []int{6, 6}, Kernel: []int{3, 3}}, PassBackwardFilter, "backward"},
		{Problem{N: 1, C: 8, K: 8, In: []int{6, 6}, Kernel: []int{3, 3}, Transposed: true}, PassForward, "transposed"},
		{Problem{N: 1, C: 8, K: 8, In: []int{6, 6}, Kernel: []int{3, 3}, Groups: 8}, PassForward, "depthwise"},
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
		if err != nil || pl.Algorithm(c.pass) != "im2col" {
			t.Errorf("%+v %s: auto: %v, %v, want im2col", c.p, c.pass, pl, err)
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
