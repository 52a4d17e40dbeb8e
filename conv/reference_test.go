package conv

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/convkit/convkit/internal/shape"
)

// TestReferenceLayouts checks that channels-last gives the channels-first
// results, transposed element for element, for every pass.
func TestReferenceLayouts(t *testing.T) {
	for _, p := range []Problem{
		{N: 2, C: 4, K: 6, In: []int{5, 7}, Kernel: []int{3, 2}, Stride: []int{2, 1}, Padding: Pad(1, 0), Groups: 2, Bias: true, PaddingMode: Reflect},
		{N: 1, C: 3, K: 4, In: []int{6}, Kernel: []int{3}, Stride: []int{2}, Padding: Pad(1), Transposed: true, OutputPadding: []int{1}, Bias: true},
		{N: 2, C: 2, K: 2, In: []int{3, 4, 3}, Kernel: []int{2, 2, 2}, Dilation: []int{1, 2, 1}, Padding: Padding{Kind: Full}, Groups: 2},
	} {
		cf, err := p.Resolve()
		if err != nil {
			t.Fatal(err)
		}
		p.Layout = ChannelsLast
		cl, err := p.Resolve()
		if err != nil {
			t.Fatal(err)
		}
		x, w, dy := ramp(cf.XLen, 1), ramp(cf.WLen, 2), ramp(cf.YLen, 3)
		var b []float64
		if p.Bias {
			b = ramp(p.K, 4)
		}
		xl, dyl := toLast(cf, x, cf.C, cf.In), toLast(cf, dy, cf.K, cf.Out)
		rf, rl := NewReference(cf), NewReference(cl)
		same := func(what string, first, last []float64, ch int, sizes []int) {
			if !slices.Equal(toLast(cf, first, ch, sizes), last) {
				t.Errorf("%+v: %s differs between the layouts", p, what)
			}
		}
		same("y", rf.Forward(x, w, b), rl.Forward(xl, w, b), cf.K, cf.Out)
		same("dx", rf.BackwardData(dy, w), rl.BackwardData(dyl, w), cf.C, cf.In)
		dwf, dbf := rf.BackwardFilter(x, dy)
		dwl, dbl := rl.BackwardFilter(xl, dyl)
		if !slices.Equal(dwf, dwl) || !slices.Equal(dbf, dbl) {
			t.Errorf("%+v: dw or db differs between the layouts", p)
		}
	}
}

// ramp is a deterministic test tensor with distinct values.
func ramp(n int, seed int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.Sin(float64(i*7+seed)) + float64(seed)/10
	}
	return v
}

// toLast reorders a channels-first tensor of s's batch into channels-last.
func toLast(s *Shape, v []float64, ch int, sizes []int) []float64 {
	out := make([]float64, len(v))
	pos := make([]int, len(sizes))
	for n := 0; n < s.N; n++ {
		for c := 0; c < ch; c++ {
			forEach(sizes, pos, func() {
				out[actIndex(ChannelsLast, n, c, ch, pos, sizes)] = v[actIndex(ChannelsFirst, n, c, ch, pos, sizes)]
			})
		}
	}
	return out
}

// TestResolveErrors checks that every bad parameter is an *Error naming it.
func TestResolveErrors(t *testing.T) {
	ok := Problem{N: 1, C: 4, K: 4, In: []int{8, 8}, Kernel: []int{3, 3}}
	cases := []struct {
		name  string
		edit  func(p *Problem)
		param string
		frag  string
	}{
		{"stride 0", func(p *Problem) { p.Stride = []int{1, 0} }, "stride", "stride[1] = 0"},
		{"dilation 0", func(p *Problem) { p.Dilation = []int{0, 1} }, "dilation", "dilation[0] = 0"},
		{"groups not dividing C", func(p *Problem) { p.C, p.Groups = 6, 4 }, "groups", "groups = 4"},
		{"groups not dividing K", func(p *Problem) { p.K, p.Groups = 6, 4 }, "groups", "out_channels = 6"},
		{"filter larger than the padded input", func(p *Problem) { p.Kernel = []int{3, 11} }, "kernel_size", "more than the padded input (8)"},
		{"dilated filter too large", func(p *Problem) { p.Dilation = []int{4, 1} }, "kernel_size", "spans 9"},
		{"same with stride 2", func(p *Problem) { p.Padding, p.Stride = Padding{Kind: Same}, []int{2, 2} }, "padding", "stride 1"},
		{"output_padding too large", func(p *Problem) {
			p.Transposed, p.Stride, p.OutputPadding = true, []int{2, 2}, []int{2, 0}
		}, "output_padding", "smaller than either stride"},
		{"output_padding on a convolution", func(p *Problem) { p.OutputPadding = []int{0, 0} }, "output_padding", "only for a transposed"},
		{"transposed with reflect", func(p *Problem) { p.Transposed, p.PaddingMode = true, Reflect }, "padding_mode", "zeros only"},
		{"reflect padding as large as the input", func(p *Problem) { p.PaddingMode, p.Padding = Reflect, Pad(8, 1) }, "padding", "smaller than the input"},
		{"overflowing sizes", func(p *Problem) { p.N, p.In = math.MaxInt/4, []int{1 << 20, 1 << 20} }, "x", "elements"},
		{"four dims", func(p *Problem) { p.In = []int{2, 2, 2, 2} }, "in", "4 spatial dims"},
		{"kernel dims", func(p *Problem) { p.Kernel = []int{3} }, "kernel_size", "one per spatial dim"},
		{"negative padding", func(p *Problem) { p.Padding = Pad(-1, 0) }, "padding", ">= 0"},
		{"no batch", func(p *Problem) { p.N = 0 }, "n", "n = 0"},
		{"circular padding past the input", func(p *Problem) { p.PaddingMode, p.Padding = Circular, Pad(9, 0) }, "padding", "must not exceed the input"},
		{"negative groups", func(p *Problem) { p.Groups = -2 }, "groups", "groups = -2"},
		{"transposed with same", func(p *Problem) { p.Transposed, p.Padding = true, Padding{Kind: Same} }, "padding", "explicit padding only"},
		{"transposed with full", func(p *Problem) { p.Transposed, p.Padding = true, Padding{Kind: Full} }, "padding", "explicit padding only"},
		{"transposed with uneven padding", func(p *Problem) { p.Transposed, p.Padding = true, Padding{Before: []int{1, 1}, After: []int{1, 2}} }, "padding", "both sides alike"},
		{"transposed output empty", func(p *Problem) { p.Transposed, p.Padding = true, Pad(6, 0) }, "padding", "output empty"},
		{"named padding with sizes", func(p *Problem) { p.Padding = Padding{Kind: Full, Before: []int{7, 7}} }, "padding", "takes no sizes"},
		{"unknown padding mode", func(p *Problem) { p.PaddingMode = 7 }, "padding_mode", "padding_mode = 7"},
		{"unknown layout", func(p *Problem) { p.Layout = numLayouts }, "layout", fmt.Sprintf("layout = %d", numLayouts)},
		{"dilated span overflowing", func(p *Problem) { p.Kernel, p.Dilation = []int{1<<32 + 1, 3}, []int{1 << 32, 1} }, "dilation", "overflows int"},
		{"same with a huge dilation", func(p *Problem) { p.Padding, p.Dilation = Padding{Kind: Same}, []int{math.MaxInt/2 + 1, 1} }, "dilation", "overflows int"},
		{"padding overflowing", func(p *Problem) { p.Padding = Pad(math.MaxInt-4, 0) }, "padding", "overflows int"},
		{"transposed output overflowing", func(p *Problem) {
			p.Transposed, p.In, p.Stride, p.Kernel = true, []int{1<<32 + 1, 8}, []int{1<<32 + 1, 1}, []int{1, 3}
		}, "stride", "overflows int"},
	}
	for _, c := range cases {
		p := ok
		c.edit(&p)
		_, err := p.Resolve()
		var e *Error
		if !errors.As(err, &e) || e.Param != c.param || !strings.Contains(err.Error(), c.frag) {
			t.Errorf("%s: error %v (param %q), want param %q containing %q", c.name, err, paramOf(e), c.param, c.frag)
		}
	}
	if _, err := ok.Resolve(); err != nil {
		t.Errorf("valid problem: %v", err)
	}
}

func paramOf(e *Error) string {
	if e == nil {
		return ""
	}
	return e.Param
}

// TestResolveSizes checks the output-size rules against hand-worked cases.
func TestResolveSizes(t *testing.T) {
	for _, c := range []struct {
		p   Problem
		out []int
	}{
		{Problem{N: 1, C: 1, K: 1, In: []int{10}, Kernel: []int{3}, Stride: []int{2}, Padding: Pad(1)}, []int{5}},
		{Problem{N: 1, C: 1, K: 1, In: []int{10}, Kernel: []int{4}, Padding: Padding{Kind: Same}}, []int{10}},
		{Problem{N: 1, C: 1, K: 1, In: []int{10}, Kernel: []int{3}, Dilation: []int{2}, Padding: Padding{Kind: Full}}, []int{14}},
		{Problem{N: 1, C: 1, K: 1, In: []int{5}, Kernel: []int{3}, Stride: []int{2}, Padding: Pad(1), Transposed: true, OutputPadding: []int{1}}, []int{10}},
		{Problem{N: 1, C: 2, K: 2, In: []int{4, 6}, Kernel: []int{2, 3}, Padding: Padding{Kind: Valid}, Groups: 2}, []int{3, 4}},
	} {
		s, err := c.p.Resolve()
		if err != nil {
			t.Fatalf("%+v: %v", c.p, err)
		}
		if !slices.Equal(s.Out, c.out) {
			t.Errorf("%+v: out %v, want %v", c.p, s.Out, c.out)
		}
	}
}

// TestReferenceMatchesDefinition checks the reference against its
// definition, run one tap at a time, on random small problems that cover
// every parameter, every pass, to 1e-12 of the largest result.
func TestReferenceMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	seen := map[string]int{}
	for checked := 0; checked < 1000; {
		p := randomProblem(rng)
		s, err := p.Resolve()
		if err != nil {
			continue // an invalid draw: draw again
		}
		checked++
		ref := NewReference(s)
		for _, f := range features(ref) {
			seen[f]++
		}
		def := definition{ref}
		x, w, dy := randF64(rng, s.XLen), randF64(rng, s.WLen), randF64(rng, s.YLen)
		var b []float64
		if s.Bias {
			b = randF64(rng, s.K)
		}
		name := fmt.Sprintf("%+v", p)
		closeTo(t, name+" y", ref.Forward(x, w, b), def.forward(x, w, b))
		closeTo(t, name+" dx", ref.BackwardData(dy, w), def.backwardData(dy, w))
		dw, db := ref.BackwardFilter(x, dy)
		wantDW, wantDB := def.backwardFilter(x, dy)
		closeTo(t, name+" dw", dw, wantDW)
		closeTo(t, name+" db", db, wantDB)
	}
	t.Logf("features: %v", seen)
	for _, f := range allFeatures {
		if seen[f] == 0 {
			t.Errorf("no random problem has %s", f)
		}
	}
}

// randomProblem draws a small problem of any parameters; the draw may be
// invalid (Resolve says so).
func randomProblem(r *rand.Rand) Problem {
	d := 1 + r.IntN(3)
	g := 1 + r.IntN(3)
	p := Problem{
		N: 1 + r.IntN(2), C: g * (1 + r.IntN(3)), K: g * (1 + r.IntN(3)), Groups: g,
		In: make([]int, d), Kernel: make([]int, d), Stride: make([]int, d), Dilation: make([]int, d),
		Bias: r.IntN(2) == 0, Transposed: r.IntN(3) == 0, Layout: Layout(r.IntN(2)),
	}
	for i := range d {
		p.In[i] = 1 + r.IntN(16>>d+2) // 1D up to 10, 3D up to 4
		p.Kernel[i] = 1 + r.IntN(4)
		p.Stride[i] = 1 + r.IntN(3)
		p.Dilation[i] = 1 + r.IntN(3)
	}
	pads := func() []int {
		v := make([]int, d)
		for i := range v {
			v[i] = r.IntN(4)
		}
		return v
	}
	if p.Transposed {
		p.Padding = Padding{Before: pads()}
		p.OutputPadding = make([]int, d)
		for i := range d {
			p.OutputPadding[i] = r.IntN(max(p.Stride[i], p.Dilation[i]))
		}
		return p
	}
	p.PaddingMode = PaddingMode(r.IntN(4))
	switch kind := PadKind(r.IntN(4)); kind {
	case Explicit:
		p.Padding = Padding{Before: pads(), After: pads()}
	case Same:
		p.Padding = Padding{Kind: Same}
		for i := range d {
			p.Stride[i] = 1
		}
	default:
		p.Padding = Padding{Kind: kind}
	}
	return p
}

// allFeatures are the parameters and the paths of the reference that the
// random problems must cover.
var allFeatures = []string{
	"1 dims", "2 dims", "3 dims", "transposed", "output_padding", "groups", "stride", "dilation", "bias", "nhwc",
	"zeros taps past the edge", "reflect taps past the edge", "replicate taps past the edge", "circular taps past the edge",
	"padding explicit", "padding valid", "padding same", "padding full",
	"a run partly inside", "a run wholly outside",
}

// features names the entries of allFeatures that r's problem has.
func features(r *Reference) []string {
	s := r.s
	f := []string{fmt.Sprintf("%d dims", s.Dims)}
	for _, c := range []struct {
		has  bool
		name string
	}{
		{s.Transposed, "transposed"},
		{slices.ContainsFunc(s.OutputPadding, func(v int) bool { return v > 0 }), "output_padding"},
		{s.Groups > 1, "groups"},
		{slices.ContainsFunc(s.Stride, func(v int) bool { return v > 1 }), "stride"},
		{slices.ContainsFunc(s.Dilation, func(v int) bool { return v > 1 }), "dilation"},
		{s.Bias, "bias"},
		{s.Layout == ChannelsLast, "nhwc"},
		{!s.Transposed, "padding " + [...]string{"explicit", "valid", "same", "full"}[s.Padding.Kind]},
	} {
		if c.has {
			f = append(f, c.name)
		}
	}
	last := r.axes[2]
	for _, in := range r.inside {
		if in.lo == in.hi {
			f = append(f, "a run wholly outside")
		} else if in.lo > 0 || in.hi < last.short {
			f = append(f, "a run partly inside")
			if !s.Transposed {
				f = append(f, s.PaddingMode.String()+" taps past the edge")
			}
		}
	}
	return f
}

func randF64(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

// closeTo checks max|got-want| <= 1e-12 * max|want|.
func closeTo(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	var num, den float64
	for i := range want {
		num, den = max(num, math.Abs(got[i]-want[i])), max(den, math.Abs(want[i]))
	}
	if num > 1e-12*den || math.IsNaN(num) {
		t.Errorf("%s: max err %.3g, max |want| %.3g", what, num, den)
	}
}

// TestReferenceGoroutines checks that the results do not depend on the
// number of goroutines: each element is summed by one, in a fixed order.
func TestReferenceGoroutines(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, p := range []Problem{
		{N: 2, C: 4, K: 6, In: []int{9, 11}, Kernel: []int{3, 3}, Stride: []int{1, 2}, Padding: Pad(2, 1), Groups: 2, Bias: true, PaddingMode: Reflect},
		{N: 2, C: 6, K: 4, In: []int{5, 7}, Kernel: []int{3, 2}, Stride: []int{2, 2}, Padding: Pad(1, 0), Transposed: true, OutputPadding: []int{1, 1}, Groups: 2, Layout: ChannelsLast},
	} {
		s, err := p.Resolve()
		if err != nil {
			t.Fatal(err)
		}
		ref := NewReference(s)
		x, w, b, dy := ramp(s.XLen, 1), ramp(s.WLen, 2), ramp(s.K, 3), ramp(s.YLen, 4)
		passes := func(procs int) [][]float64 {
			runtime.GOMAXPROCS(procs)
			dw, db := ref.BackwardFilter(x, dy)
			return [][]float64{ref.Forward(x, w, b), ref.BackwardData(dy, w), dw, db}
		}
		one := passes(1)
		for _, procs := range []int{2, 5} {
			for i, v := range passes(procs) {
				if !slices.Equal(v, one[i]) {
					t.Errorf("%+v: pass %d on %d goroutines differs from one", p, i, procs)
				}
			}
		}
	}
}

// definition runs the reference's definition literally: a closure call
// per tap, every long position through the padding mode. Slow, it is the
// test oracle of the reference's runs and ranges.
type definition struct{ r *Reference }

func (d definition) forward(x, w, b []float64) []float64 {
	s := d.r.s
	y := make([]float64, s.YLen)
	d.eachTap(func(xi, yi, wi int) { y[yi] += x[xi] * w[wi] })
	if b != nil {
		d.eachY(func(i, k int) { y[i] += b[k] })
	}
	return y
}

func (d definition) backwardData(dy, w []float64) []float64 {
	dx := make([]float64, d.r.s.XLen)
	d.eachTap(func(xi, yi, wi int) { dx[xi] += dy[yi] * w[wi] })
	return dx
}

func (d definition) backwardFilter(x, dy []float64) (dw, db []float64) {
	s := d.r.s
	dw = make([]float64, s.WLen)
	d.eachTap(func(xi, yi, wi int) { dw[wi] += x[xi] * dy[yi] })
	if s.Bias {
		db = make([]float64, s.K)
		d.eachY(func(i, k int) { db[k] += dy[i] })
	}
	return dw, db
}

// eachY calls f with every index of y and its channel.
func (d definition) eachY(f func(i, k int)) {
	s := d.r.s
	pos := make([]int, s.Dims)
	for n := 0; n < s.N; n++ {
		for k := 0; k < s.K; k++ {
			forEach(s.Out, pos, func() { f(actIndex(s.Layout, n, k, s.K, pos, s.Out), k) })
		}
	}
}

// eachTap calls f(xi, yi, wi) for every product of the convolution:
// x[xi] * w[wi] contributes to y[yi].
func (d definition) eachTap(f func(xi, yi, wi int)) {
	s := d.r.s
	short, long := s.Out, s.In // convolution: short = y, long = x
	if s.Transposed {
		short, long = s.In, s.Out
	}
	sp, kp, lp := make([]int, s.Dims), make([]int, s.Dims), make([]int, s.Dims)
	for n := 0; n < s.N; n++ {
		for g := 0; g < s.Groups; g++ {
			for cl := 0; cl < s.CPerG; cl++ {
				for kl := 0; kl < s.KPerG; kl++ {
					c, k := g*s.CPerG+cl, g*s.KPerG+kl
					forEach(short, sp, func() {
						forEach(s.Kernel, kp, func() {
							if !d.longPos(sp, kp, long, lp) {
								return
							}
							wi := d.wIndex(cl, kl, c, k, kp)
							if s.Transposed {
								f(actIndex(s.Layout, n, c, s.C, sp, s.In), actIndex(s.Layout, n, k, s.K, lp, s.Out), wi)
							} else {
								f(actIndex(s.Layout, n, c, s.C, lp, s.In), actIndex(s.Layout, n, k, s.K, sp, s.Out), wi)
							}
						})
					})
				}
			}
		}
	}
}

// longPos sets lp to the long position of short position sp and kernel
// offset kp, through the padding mode, and reports whether it is an
// element.
func (d definition) longPos(sp, kp, long, lp []int) bool {
	s := d.r.s
	for i := range lp {
		v, ok := d.r.element(sp[i]*s.Stride[i]-s.PadBefore[i]+kp[i]*s.Dilation[i], long[i])
		if !ok {
			return false
		}
		lp[i] = v
	}
	return true
}

// wIndex is the index of weight (c, k, kp) in PyTorch's order.
func (d definition) wIndex(cl, kl, c, k int, kp []int) int {
	s := d.r.s
	i := k*s.CPerG + cl
	if s.Transposed {
		i = c*s.KPerG + kl
	}
	for d, v := range kp {
		i = i*s.Kernel[d] + v
	}
	return i
}

// actIndex is the index of element (n, c, pos) of an activation tensor
// with ch channels and spatial sizes sizes, in layout l.
func actIndex(l Layout, n, c, ch int, pos, sizes []int) int {
	sp := 0
	for d, v := range pos {
		sp = sp*sizes[d] + v
	}
	plane, _ := shape.Product(sizes...) // a resolved problem's sizes: no overflow
	return layoutIndex(l, n, c, ch, sp, plane)
}

// forEach calls f with pos running over every position of sizes, last dim
// fastest.
func forEach(sizes, pos []int, f func()) {
	for i := range pos {
		pos[i] = 0
	}
	for {
		f()
		d := len(pos) - 1
		for d >= 0 {
			pos[d]++
			if pos[d] < sizes[d] {
				break
			}
			pos[d] = 0
			d--
		}
		if d < 0 {
			return
		}
	}
}
