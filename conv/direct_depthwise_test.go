package conv

import (
	"fmt"
	"github.com/convkit/convkit/direct"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convkit/convkit/kernels"
)

// depthwiseProblem draws a problem that the width engine runs in some
// pass: depthwise (groups = C, one to three output channels per group),
// a single input channel, or few output channels; rows narrower than a
// vector, whole vectors and vectors plus a tail, every stride along the
// row, 1D to 3D, every padding mode, transposed ones too.
func depthwiseProblem(r *rand.Rand, L int) Problem {
	for {
		p := randomProblem(r)
		d := len(p.In)
		p.Layout = ChannelsFirst
		p.Groups = []int{2, 3, L + 1}[r.IntN(3)]
		p.C, p.K = p.Groups, p.Groups*(1+r.IntN(3)/2*r.IntN(3))
		last := []int{1 + r.IntN(L), 2*L + r.IntN(3), 3*L + 1 + r.IntN(2*L)}[r.IntN(3)]
		if d == 3 {
			last = min(last, L+3)
		}
		p.In[d-1] = last
		if d > 1 && r.IntN(2) == 0 {
			p.In[d-2] += 10 // more rows than a tile
		}
		if r.IntN(5) == 0 { // one input channel: the first layer of a grayscale network
			p.Groups, p.C, p.K = 1, 1, 1+r.IntN(L+2)
		}
		if r.IntN(5) == 0 { // few output channels, several input ones: the width engine where its model says
			p.Groups, p.C, p.K = 1, 2+r.IntN(3), 1+r.IntN(2)
		}
		if r.IntN(3) == 0 { // unit strides: backward-data direct too
			p.Stride = nil
		}
		if r.IntN(5) == 0 { // a grouped conv of one output channel per group: its backward-data is depthwise
			p.C, p.K = 2*p.Groups, p.Groups
			p.Stride = nil
		}
		if r.IntN(4) == 0 {
			p.Transposed, p.PaddingMode, p.OutputPadding = true, Zeros, nil
			p.Padding = Padding{}
			if r.IntN(2) == 0 {
				p.Stride = nil
			}
		}
		s, err := p.Resolve()
		if err != nil {
			continue
		}
		for _, pass := range []Pass{PassForward, PassBackwardData, PassBackwardFilter} {
			if d, err := deriveSupported(s, pass); err == nil && d.s.byWidth() {
				return p
			}
		}
	}
}

// TestDirectDepthwise checks direct's depthwise passes against the
// reference on random problems on every ISA path, and that the depthwise
// engines ran every variant: each pass (of transposed problems too), a
// row stride above 1, rows with and without a tail and narrower than a
// vector, several output channels per group (a grouped convolution's
// backward-data too), a single input channel without groups, several
// input planes for few output channels, 1D to 3D.
func TestDirectDepthwise(t *testing.T) {
	eachISA(t, func(isa kernels.ISA) {
		L := directLanes()
		r := rand.New(rand.NewPCG(uint64(isa), 77))
		seen := map[string]bool{}
		fixed := []Problem{ // a channel left after the blocks of 4, and a multiplier of 5
			{N: 2, C: 1, K: 5, In: []int{9, 2*L + 3}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true},
			{N: 1, C: 2, K: 10, Groups: 2, In: []int{5, L - 1}, Kernel: []int{3, 2}},
			// backward-data: a "full" convolution of few channels, its
			// edge rows' tables without the padding rows' taps (bands)
			{N: 2, C: 3, K: 8, In: []int{10, L + 3}, Kernel: []int{5, 5}, Bias: true},
		}
		for i := 0; i < 50+len(fixed); i++ {
			var p Problem
			if i < len(fixed) {
				p = fixed[i]
			} else {
				p = depthwiseProblem(r, L)
			}
			t.Run(fmt.Sprintf("%s/%d", isa, i), func(t *testing.T) {
				opt, passes := directPasses(t, p, 1+i%3)
				if len(passes) == 0 {
					return
				}
				checkPlan(t, p, opt)
				pl, err := NewPlan(p, opt)
				if err != nil {
					t.Fatal(err)
				}
				for _, pass := range passes {
					dp := pl.engines[pass].(*directPlan).pass(pass)
					if dp.d.phases != nil || !dp.d.s.byWidth() {
						continue
					}
					var l *dwLayout
					switch e := dp.e.(type) {
					case *dwEngine:
						l = e.dwLayout
						s := l.s
						seen[fmt.Sprintf("row stride > 1: %v", l.sw > 1)] = true
						seen[fmt.Sprintf("whole vectors %v", len(l.chunks) > 0)] = true
						seen[fmt.Sprintf("last vector %v", l.last != nil)] = true
						seen[fmt.Sprintf("scratch tail %v", l.last == nil && l.tailAt < s.Out[s.Dims-1])] = true
						seen[fmt.Sprintf("channel blocks %v", l.blocks != nil)] = true
						seen[fmt.Sprintf("rows kernels %v", l.kh > 0)] = true
						for _, ch := range l.chunks {
							if want := map[bool]direct.Mode{true: direct.Rows, false: direct.Width}[l.kh > 0]; ch.f.Mode != want || ch.f.KH != l.kh {
								t.Errorf("chunk family %s, want mode %c of height %d", ch.f.Name(), want, l.kh)
							}
						}
						if l.last != nil && l.last.f.Lanes < L {
							seen["narrower last vector"] = true
							if l.last.f.Source != "asm" {
								t.Errorf("narrower last vector %s: not generated", l.last.f.Name())
							}
						}
						ow := s.Out[s.Dims-1]
						for _, blk := range l.blocks {
							if blk.f == nil {
								seen["a channel left after the blocks"] = true
								continue
							}
							if blk.f.ISA != isa && isa != kernels.Generic {
								t.Errorf("block family %s on path %s", blk.f.Name(), isa)
							}
							seen[fmt.Sprintf("block of %d", blk.f.B)] = true
							seen[fmt.Sprintf("blocks: bands %v", len(blk.bands) > 1)] = true
							checkBands(t, l, &blk)
							seen[fmt.Sprintf("blocks: whole vectors %v", ow >= L)] = true
							seen[fmt.Sprintf("blocks: last vector %v", ow > L && ow%L != 0)] = true
							seen[fmt.Sprintf("blocks: scratch tail %v", ow < L)] = true
						}
					case nil:
						l = dp.f.(*dwFilter).dwLayout
					default:
						t.Fatalf("%s ran %T, want the depthwise engine", pass, e)
					}
					if f := l.tailFam; f.ISA != isa && isa != kernels.Generic {
						t.Errorf("family %s on path %s", f.Name(), isa)
					}
					s := l.s
					seen[fmt.Sprintf("%s transposed %v", pass, p.Transposed)] = true
					seen[fmt.Sprintf("%dD", s.Dims)] = true
					seen[fmt.Sprintf("multiplier %v", s.KPerG > 1)] = true
					seen[fmt.Sprintf("groups %v", s.Groups > 1)] = true
					seen[fmt.Sprintf("input planes per group > 1: %v", s.CPerG > 1)] = true
				}
			})
		}
		requireSeen(t, seen, isa.String()+": no depthwise problem", "fwd transposed false", "fwd transposed true", "bwd-data transposed false", "bwd-data transposed true",
			"bwd-filter transposed false", "bwd-filter transposed true", "1D", "2D", "3D", "row stride > 1: true", "row stride > 1: false",
			"last vector true", "scratch tail true", "scratch tail false", "whole vectors true", "whole vectors false", "multiplier true", "multiplier false", "groups true", "groups false",
			"input planes per group > 1: true", "input planes per group > 1: false",
			"channel blocks true", "channel blocks false", "block of 2", "block of 3", "block of 4", "a channel left after the blocks",
			"blocks: whole vectors true", "blocks: whole vectors false", "blocks: last vector true", "blocks: scratch tail true",
			"blocks: bands true", "blocks: bands false",
			"rows kernels true", "rows kernels false")
		if isa == kernels.AVX512 && kernels.Supported(kernels.AVX2) {
			requireSeen(t, seen, "avx512: AVX2's vectors for the last columns", "narrower last vector")
		}
	})
}

// checkBands checks that a block's bands cover its rows in order, each
// table a subset of the block's whole one.
func checkBands(t *testing.T, l *dwLayout, blk *dwBlock) {
	t.Helper()
	at := 0
	whole := map[[2]int]bool{}
	offs := blk.taps.Offsets()
	for i := 0; i < len(offs); i += 2 {
		whole[[2]int{offs[i], offs[i+1]}] = true
	}
	for _, bd := range blk.bands {
		if bd.r0 != at || bd.r1 <= bd.r0 {
			t.Fatalf("bands %+v: do not cover rows 0..%d in order", blk.bands, l.rows)
		}
		at = bd.r1
		o := bd.taps.Offsets()
		for i := 0; i < len(o); i += 2 {
			if !whole[[2]int{o[i], o[i+1]}] {
				t.Fatalf("band %d..%d: tap %v not in the block's table", bd.r0, bd.r1, o[i:i+2])
			}
		}
	}
	if at != l.rows {
		t.Fatalf("bands end at row %d of %d", at, l.rows)
	}
	masks := l.rowMasks()
	if masks == nil && len(blk.bands) != 1 {
		t.Fatalf("%d bands where no row meets zero padding rows (padding %v)", len(blk.bands), l.s.PaddingMode)
	}
	if masks == nil {
		return
	}
	s := l.s
	kh, kw := s.Kernel[s.Dims-2], s.Kernel[s.Dims-1]
	for _, bd := range blk.bands { // every row's own taps are in its band's table
		in := map[[2]int]bool{}
		o := bd.taps.Offsets()
		for i := 0; i < len(o); i += 2 {
			in[[2]int{o[i], o[i+1]}] = true
		}
		for r := bd.r0; r < bd.r1; r++ {
			for i := 0; i < len(offs); i += 2 {
				fr := offs[i+1] / 4 / blk.f.B % s.KernelSize / kw % kh
				if masks[r]&(1<<fr) != 0 && !in[[2]int{offs[i], offs[i+1]}] {
					t.Fatalf("row %d: tap %v of filter row %d missing from its band's table", r, offs[i:i+2], fr)
				}
			}
		}
	}
}

// TestDirectDepthwiseDeterministic checks the width and channel engines'
// passes bitwise the same on 1, 2 and 3 threads.
func TestDirectDepthwiseDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 8))
	for i := 0; i < 16; i++ {
		p := depthwiseProblem(r, directLanes())
		if i%3 == 2 { // the channel engine's
			p.Layout, p.Transposed, p.OutputPadding, p.K = ChannelsLast, false, nil, p.C
			if p.Groups != p.C {
				continue
			}
			if _, err := p.Resolve(); err != nil {
				continue
			}
		}
		opt, passes := directPasses(t, p, 0)
		if len(passes) > 0 {
			checkDeterministic(t, fmt.Sprintf("depthwise problem %d", i), p, opt)
		}
	}
}

// TestDirectDepthwiseResidualInPlace: a residual that is y itself (y +=
// conv) gives what a separate copy gives, tail columns included.
func TestDirectDepthwiseResidualInPlace(t *testing.T) {
	L := directLanes()
	p := Problem{N: 1, C: 3, K: 3, Groups: 3, In: []int{5, 2*L + 3}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true}
	pl, err := NewPlan(p, forwardOnly(1))
	if err != nil {
		t.Fatal(err)
	}
	s := pl.Shape()
	r := rand.New(rand.NewPCG(1, 1))
	x, w, b, y0 := randF32(r, s.XLen), randF32(r, s.WLen), randF32(r, s.K), randF32(r, s.YLen)
	want := make([]float32, s.YLen)
	pl.Forward(want, x, w, b, &Epilogue{Residual: append([]float32(nil), y0...), ReLU: true})
	got := append([]float32(nil), y0...)
	pl.Forward(got, x, w, b, &Epilogue{Residual: got, ReLU: true})
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("y[%d] = %v in place, %v apart", i, got[i], want[i])
		}
	}
}

// TestDirectDepthwiseFilterInf: an infinite input that one tap alone
// meets makes that tap's gradient infinite and leaves the others finite,
// as in PyTorch (and im2col), not NaN from the zeros between dy's rows.
func TestDirectDepthwiseFilterInf(t *testing.T) {
	p := Problem{N: 1, C: 2, K: 2, Groups: 2, In: []int{3, 8}, Kernel: []int{1, 3}}
	r := rand.New(rand.NewPCG(4, 4))
	s, err := p.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	x, dy := randF32(r, s.XLen), randF32(r, s.YLen)
	x[7] = float32(math.Inf(1)) // image 0, channel 0, row 0, the last column: tap 2 alone
	got := filterGradLikeIm2col(t, p, x, dy)
	if !math.IsInf(float64(got[2]), 0) || math.IsInf(float64(got[0]), 0) || math.IsNaN(float64(got[0])) {
		t.Fatalf("dW = %v: want only tap 2 of channel 0 infinite", got)
	}
}

// TestDirectDepthwiseFilterRows checks the depthwise backward-filter's
// row-of-taps sums (DotShifts3, DotShifts5, and the Dot fallback of other
// widths and of unevenly spaced taps) against the reference: 3 and 5
// taps, dilated, 3D, a 4-tap row, a stride-2 row; and its redo of a
// plane with non-finite inputs over several images: a NaN in image 0
// stays NaN without forcing the later images' planes through the redo,
// and an Inf in image 1 that one tap alone meets stays Inf.
func TestDirectDepthwiseFilterRows(t *testing.T) {
	cases := []struct {
		p           Problem
		shift, grid bool
	}{
		{Problem{N: 2, C: 3, K: 3, Groups: 3, In: []int{9, 21}, Kernel: []int{3, 3}, Padding: Pad(1, 1)}, true, true},
		{Problem{N: 1, C: 2, K: 2, Groups: 2, In: []int{11, 19}, Kernel: []int{5, 5}, Padding: Pad(2, 2)}, true, false},
		{Problem{N: 1, C: 2, K: 2, Groups: 2, In: []int{13, 23}, Kernel: []int{3, 3}, Dilation: []int{2, 3}, Padding: Pad(2, 3)}, true, true},
		{Problem{N: 1, C: 2, K: 2, Groups: 2, In: []int{5, 6, 17}, Kernel: []int{3, 3, 5}, Padding: Pad(1, 1, 2)}, true, false},
		{Problem{N: 1, C: 2, K: 2, Groups: 2, In: []int{7, 18}, Kernel: []int{2, 4}, Padding: Pad(1, 1)}, true, false},
		{Problem{N: 1, C: 2, K: 2, Groups: 2, In: []int{9, 20}, Kernel: []int{3, 3}, Stride: []int{1, 2}, Padding: Pad(1, 1)}, false, false},
		{Problem{N: 2, C: 2, K: 2, Groups: 2, In: []int{11, 20}, Kernel: []int{3, 3}, Stride: []int{2, 1}, Padding: Pad(1, 1)}, true, true},
		{Problem{N: 1, C: 2, K: 2, Groups: 2, In: []int{3, 6, 17}, Kernel: []int{1, 3, 3}, Padding: Pad(0, 1, 1)}, true, false},
	}
	for i, c := range cases {
		opt := Options{Algorithm: "direct", Passes: PassSet(PassBackwardFilter), Threads: 1}
		s, err := c.p.Resolve()
		if err != nil {
			t.Fatal(err)
		}
		f := newDWFilter(s, 1)
		if (f.shift > 0) != c.shift || (f.grid > 0) != c.grid {
			t.Errorf("case %d: shift %d, grid %d, want evenly spaced taps: %v, DotGrid3: %v", i, f.shift, f.grid, c.shift, c.grid)
		}
		checkPlan(t, c.p, opt)
	}
	p := Problem{N: 3, C: 2, K: 2, Groups: 2, In: []int{4, 9}, Kernel: []int{1, 3}}
	s, err := p.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 5))
	x, dy := randF32(r, s.XLen), randF32(r, s.YLen)
	x[10] = float32(math.NaN())                       // image 0, channel 0: every tap it meets NaN
	x[s.C*s.InSize+s.InSize+8] = float32(math.Inf(1)) // image 1, channel 1, row 0, the last column: tap 2 alone
	got := filterGradLikeIm2col(t, p, x, dy)
	if !math.IsNaN(float64(got[0])) || !math.IsInf(float64(got[5]), 0) || math.IsInf(float64(got[3]), 0) || math.IsNaN(float64(got[3])) {
		t.Fatalf("dW = %v: want channel 0 NaN, channel 1's tap 2 alone infinite", got)
	}
	// DotGrid3's zeros meet an infinite input at a row's end and a NaN
	// in the first row: the planes go row by row, as PyTorch sums them.
	p = Problem{N: 2, C: 2, K: 2, Groups: 2, In: []int{6, 9}, Kernel: []int{3, 3}, Padding: Pad(1, 1)}
	if s, err = p.Resolve(); err != nil {
		t.Fatal(err)
	}
	if f := newDWFilter(s, 1); f.grid == 0 {
		t.Fatal("no DotGrid3 for the 3x3 filter")
	}
	x, dy = randF32(r, s.XLen), randF32(r, s.YLen)
	x[s.C*s.InSize+s.InSize+8] = float32(math.Inf(1)) // image 1, channel 1, row 0, the last column
	x[3] = float32(math.NaN())                        // image 0, channel 0, row 0
	got = filterGradLikeIm2col(t, p, x, dy)
	for tap, v := range got {
		// Channel 0's NaN meets the filter's top two rows; channel 1's
		// infinity their last two columns.
		nan, inf := tap < 6, tap >= 9 && tap%3 > 0 && tap < 9+6
		if math.IsNaN(float64(v)) != nan || math.IsInf(float64(v), 0) != inf {
			t.Fatalf("dW = %v: tap %d, want NaN %v, infinite %v", got, tap, nan, inf)
		}
	}
}

// filterGradLikeIm2col returns direct's backward-filter dW of p from x
// and dy, after checking it against im2col's: the same NaNs and
// infinities, the finite values within 1e-5.
func filterGradLikeIm2col(t *testing.T, p Problem, x, dy []float32) []float32 {
	t.Helper()
	grads := map[string][]float32{}
	for _, algo := range []string{"direct", "im2col"} {
		pl, err := NewPlan(p, Options{Algorithm: algo, Passes: PassSet(PassBackwardFilter), Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		dw := make([]float32, pl.Shape().WLen)
		pl.BackwardFilter(dw, nil, x, dy, false)
		grads[algo] = dw
	}
	got, want := grads["direct"], grads["im2col"]
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) != math.IsNaN(w) || math.IsInf(g, 0) != math.IsInf(w, 0) || !math.IsInf(w, 0) && !math.IsNaN(w) && math.Abs(g-w) > 1e-5*(1+math.Abs(w)) {
			t.Fatalf("dW[%d] = %v, im2col %v", i, g, w)
		}
	}
	return got
}

// TestDirectDepthwiseChannelsLast checks the channel engine (channels-last
// depthwise, one output channel per group) against the reference on
// random problems on every ISA path: forward with the epilogue,
// backward-data (stride 1, or by stride phases) and backward-filter
// (accumulating too), channel counts with and
// without a partial last block, x read in place (zero padding) and
// copied (the other modes), strides along the row, 1D to 3D.
func TestDirectDepthwiseChannelsLast(t *testing.T) {
	eachISA(t, func(isa kernels.ISA) {
		L := directLanes()
		r := rand.New(rand.NewPCG(uint64(isa), 78))
		seen := map[string]bool{}
		for i := 0; i < 30; i++ {
			var p Problem
			for {
				p = depthwiseProblem(r, L)
				p.Layout = ChannelsLast
				if !p.Transposed {
					p.OutputPadding = nil
				}
				p.Groups = []int{2, L, 2*L + 3}[r.IntN(3)]
				p.C, p.K = p.Groups, p.Groups
				if i == 0 { // a filter row wider than a tile: the chunks along it
					p = Problem{N: 2, C: L + 3, K: L + 3, Groups: L + 3, In: []int{40}, Kernel: []int{19}, Dilation: []int{2}, Padding: Pad(9), Bias: true, Layout: ChannelsLast}
				}
				if _, err := p.Resolve(); err == nil {
					break
				}
			}
			t.Run(fmt.Sprintf("%s/%d", isa, i), func(t *testing.T) {
				opt, passes := directPasses(t, p, 1+i%3)
				if len(passes) == 0 {
					return
				}
				checkPlan(t, p, opt)
				pl, err := NewPlan(p, opt)
				if err != nil {
					t.Fatal(err)
				}
				for _, pass := range passes {
					switch f := pl.engines[pass].(*directPlan).pass(pass).f.(type) {
					case *dcFilter:
						seen[fmt.Sprintf("filter transposed %v", p.Transposed)] = true
						seen[fmt.Sprintf("filter row chunks %v", f.s.Kernel[f.s.Dims-1] > f.kwFam.U)] = true
						seen[fmt.Sprintf("filter partial block %v", f.s.C%L != 0)] = true
					}
				}
				dp := pl.engines[passes[0]].(*directPlan).pass(passes[0])
				e, ok := dp.e.(*dcEngine)
				if !ok {
					return // a phased backward-data, or backward-filter alone
				}
				if e.fam.ISA != isa && isa != kernels.Generic {
					t.Errorf("family %s on path %s", e.fam.Name(), isa)
				}
				s := e.s
				if passes[0] == PassForward {
					x, w, y := randF32(r, s.XLen), randF32(r, s.WLen), make([]float32, s.YLen)
					var b []float32
					if s.Bias {
						b = randF32(r, s.K)
					}
					ep := &Epilogue{Residual: randF32(r, s.YLen), ReLU: true}
					if n := steadyAllocs(3, func() { pl.Forward(y, x, w, b, ep) }); n != 0 {
						t.Errorf("%v allocations per forward call", n)
					}
					if opt.Passes.Has(PassBackwardFilter) {
						if n := steadyAllocs(3, func() { pl.BackwardFilter(w, b, x, y, true) }); n != 0 {
							t.Errorf("%v allocations per backward-filter call", n)
						}
					}
				}
				seen[fmt.Sprintf("partial block %v", s.C%L != 0)] = true
				seen[fmt.Sprintf("in place %v", e.inPlace)] = true
				seen[fmt.Sprintf("row stride > 1: %v", s.Stride[s.Dims-1] > 1)] = true
				seen[fmt.Sprintf("%dD", s.Dims)] = true
				for _, pass := range passes {
					seen[pass.String()] = true
				}
			})
		}
		requireSeen(t, seen, isa.String()+": no channels-last depthwise problem", "partial block true", "partial block false", "in place true", "in place false", "row stride > 1: true", "row stride > 1: false", "1D", "2D", "3D", "fwd", "bwd-data", "bwd-filter",
			"filter transposed true", "filter transposed false", "filter row chunks true", "filter partial block true", "filter partial block false")
	})
}
