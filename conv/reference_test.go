package conv

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
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
		{"unknown layout", func(p *Problem) { p.Layout = 3 }, "layout", "layout = 3"},
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
