package conv

import (
	"fmt"
	"strings"

	"github.com/convkit/convkit/internal/shape"
)

// Error is a parameter that fails validation: Param names it ("stride",
// "groups", "x") and the message states the rule with the values
// involved. Every error of Problem.Resolve is an *Error (errors.As).
type Error = shape.Error

// PaddingMode is how a convolution reads past the input's edge
// (torch.nn.Conv*d's padding_mode).
type PaddingMode uint8

// The padding modes.
const (
	Zeros     PaddingMode = iota // zeros past the edge
	Reflect                      // the edge mirrored, the edge element not repeated
	Replicate                    // the edge element repeated
	Circular                     // the input wrapped around
)

var modeNames = [...]string{"zeros", "reflect", "replicate", "circular"}

// String returns PyTorch's name of the mode.
func (m PaddingMode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("PaddingMode(%d)", int(m))
}

// ParsePaddingMode parses PyTorch's name of a padding mode.
func ParsePaddingMode(s string) (PaddingMode, error) {
	for i, n := range modeNames {
		if s == n {
			return PaddingMode(i), nil
		}
	}
	return 0, &Error{Op: "conv", Param: "padding_mode", Msg: fmt.Sprintf("padding_mode %q: want zeros, reflect, replicate or circular", s)}
}

// PadKind says how a Padding is given.
type PadKind uint8

// The padding kinds: explicit sizes, or PyTorch's and the literature's
// named rules.
const (
	Explicit PadKind = iota // Before and After, per spatial dim
	Valid                   // no padding
	Same                    // output size = input size (stride 1 only): dilation*(k-1) in all, the odd one after
	Full                    // dilation*(k-1) on each side
)

// Padding is the padding of each spatial dim (the zero value: none). For a transposed
// convolution it is PyTorch's padding of the transposed problem
// (conv_transpose's padding argument, the same on both sides).
type Padding struct {
	Kind          PadKind
	Before, After []int // Explicit: per spatial dim; nil After means the same as Before
}

// Pad is explicit padding p[i] on both sides of spatial dim i.
func Pad(p ...int) Padding { return Padding{Kind: Explicit, Before: p} }

// Layout is the memory order of the activations (x, y and their
// gradients). Weights are always in PyTorch's order: K x C/groups x kernel
// for a convolution, C x K/groups x kernel for a transposed one.
//
// The blocked layouts (oneDNN's nCdhw<L>c) hold the channels in blocks of
// L: N x ceil(C/L) x spatial x L, a pixel's L channels of a block
// contiguous. They are the direct kernels' own (BlockedLayout gives the
// host's), so that a network can keep its activations blocked from layer
// to layer and skip the reorders. The last block's lanes past C are
// ignored in an input and written as zero in an output (a residual's
// lanes there are added, so they stay zero when its are).
type Layout uint8

// The layouts.
const (
	ChannelsFirst Layout = iota // NCW, NCHW, NCDHW (PyTorch)
	ChannelsLast                // NWC, NHWC, NDHWC (TensorFlow, ONNX Runtime, XNNPACK)
	Blocked4                    // nCw4c, nChw4c, nCdhw4c: NEON's vectors
	Blocked8                    // ... 8c: AVX2's
	Blocked16                   // ... 16c: AVX-512's
	numLayouts
)

// String returns the 2D spelling of the layout: nchw, nhwc, nchw16c.
func (l Layout) String() string {
	switch {
	case l == ChannelsLast:
		return "nhwc"
	case l.Lanes() > 0:
		return fmt.Sprintf("nchw%dc", l.Lanes())
	case l == ChannelsFirst:
		return "nchw"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// Lanes is a blocked layout's channels per block, 0 for the others.
func (l Layout) Lanes() int {
	switch l {
	case Blocked4:
		return 4
	case Blocked8:
		return 8
	case Blocked16:
		return 16
	}
	return 0
}

// Blocked is the blocked layout of lanes channels per block (4, 8 or 16),
// false for another count.
func Blocked(lanes int) (Layout, bool) {
	switch lanes {
	case 4:
		return Blocked4, true
	case 8:
		return Blocked8, true
	case 16:
		return Blocked16, true
	}
	return 0, false
}

// BlockedLayout is the blocked layout of the bound path's direct kernels
// (its vector width): the one the direct algorithm reads and writes in
// place. The others are reordered into it.
func BlockedLayout() Layout {
	l, _ := Blocked(directLanes())
	return l
}

// ParseLayout reads a layout's name as String spells it (or its 1D and
// 3D forms: ncw, nwc, ncdhw, ndhwc, ncw8c, ncdhw16c), "blocked" being
// BlockedLayout.
func ParseLayout(name string) (Layout, error) {
	switch name {
	case "nchw", "ncw", "ncdhw":
		return ChannelsFirst, nil
	case "nhwc", "nwc", "ndhwc":
		return ChannelsLast, nil
	case "blocked":
		return BlockedLayout(), nil
	}
	for _, l := range []Layout{Blocked4, Blocked8, Blocked16} {
		for _, sp := range []string{"ncw", "nchw", "ncdhw"} {
			if name == fmt.Sprintf("%s%dc", sp, l.Lanes()) {
				return l, nil
			}
		}
	}
	return 0, &Error{Op: "conv", Param: "layout", Msg: fmt.Sprintf("layout %q: want nchw, nhwc, blocked, nchw4c, nchw8c or nchw16c", name)}
}

// paddedChannels is the channel slots a tensor of c channels holds in
// layout l: c rounded up to whole blocks for a blocked layout.
func (l Layout) paddedChannels(c int) int {
	if L := l.Lanes(); L > 0 {
		return ceilDiv(c, L) * L
	}
	return c
}

// Problem is a convolution as torch.nn.functional.conv{1,2,3}d or
// conv_transpose{1,2,3}d states it. C is the input's channels and K the
// output's, for both kinds. Stride, Dilation and OutputPadding default to
// 1, 1 and 0 in every dim when nil; Groups 0 means 1.
type Problem struct {
	N, C, K       int
	In            []int // the input's spatial sizes (1 to 3 dims)
	Kernel        []int // the filter's spatial sizes
	Stride        []int
	Dilation      []int
	Padding       Padding
	Groups        int
	Bias          bool
	PaddingMode   PaddingMode
	Transposed    bool
	OutputPadding []int // transposed only
	Layout        Layout
}

// Shape is a validated Problem with every size resolved: its fields are
// filled and consistent, so algorithms read them without checks.
type Shape struct {
	Problem
	Dims           int   // spatial dims
	spans          []int // dilation*(k-1) per dim
	Out            []int // the output's spatial sizes
	PadBefore      []int // per dim; for a transposed problem, its padding argument
	PadAfter       []int
	XLen, YLen     int // elements of x and y (a blocked layout's padding lanes included)
	WLen           int // elements of the weights
	CPerG, KPerG   int // channels per group, in and out
	InSize, OutLen int // prod(In), prod(Out)
	KernelSize     int // prod(Kernel)
}

// op is the error prefix of a problem: "conv2d", "conv_transpose3d".
func (p *Problem) op() shape.Op {
	kind := "conv"
	if p.Transposed {
		kind = "conv_transpose"
	}
	return shape.Op(fmt.Sprintf("%s%dd", kind, len(p.In)))
}

// Resolve validates p and returns its resolved Shape, or an *Error that
// names the parameter at fault and its values.
func (p Problem) Resolve() (*Shape, error) {
	op := p.op()
	d := len(p.In)
	if d < 1 || d > 3 {
		return nil, op.Errorf("in", "%d spatial dims (in = %v): want 1, 2 or 3", d, p.In)
	}
	for _, c := range []struct {
		name string
		v    int
	}{{"n", p.N}, {"in_channels", p.C}, {"out_channels", p.K}} {
		if c.v < 1 {
			return nil, op.Errorf(c.name, "%s = %d: want >= 1", c.name, c.v)
		}
	}
	if p.PaddingMode > Circular {
		return nil, op.Errorf("padding_mode", "padding_mode = %d: want zeros, reflect, replicate or circular", p.PaddingMode)
	}
	if p.Layout >= numLayouts {
		return nil, op.Errorf("layout", "layout = %d: want channels-first, channels-last or a blocked layout", p.Layout)
	}
	var err error
	s := &Shape{Problem: p, Dims: d}
	if s.Stride, err = perDim(op, "stride", p.Stride, d, 1, 1); err != nil {
		return nil, err
	}
	if s.Dilation, err = perDim(op, "dilation", p.Dilation, d, 1, 1); err != nil {
		return nil, err
	}
	if s.Kernel, err = perDim(op, "kernel_size", p.Kernel, d, -1, 1); err != nil {
		return nil, err
	}
	if s.In, err = perDim(op, "in", p.In, d, -1, 1); err != nil {
		return nil, err
	}
	if err := s.resolveGroups(op); err != nil {
		return nil, err
	}
	if err := s.resolveSpans(op); err != nil {
		return nil, err
	}
	if err := s.resolvePadding(op); err != nil {
		return nil, err
	}
	if err := s.resolveOut(op); err != nil {
		return nil, err
	}
	return s, s.resolveSizes(op)
}

// perDim checks a per-dim list (nil: def in every dim; def < 0: required)
// and returns a copy with every entry >= min.
func perDim(op shape.Op, name string, v []int, d, def, min int) ([]int, error) {
	if v == nil && def >= 0 {
		v = make([]int, d)
		for i := range v {
			v[i] = def
		}
		return v, nil
	}
	if len(v) != d {
		return nil, op.Errorf(name, "%s = %v has %d entries, want one per spatial dim (%d)", name, v, len(v), d)
	}
	for i, x := range v {
		if x < min {
			return nil, op.Errorf(name, "%s[%d] = %d: want >= %d (%s = %v)", name, i, x, min, name, v)
		}
	}
	return append([]int(nil), v...), nil
}

func (s *Shape) resolveGroups(op shape.Op) error {
	if s.Groups == 0 {
		s.Groups = 1
	}
	g := s.Groups
	if g < 1 || s.C%g != 0 || s.K%g != 0 {
		return op.Errorf("groups", "groups = %d must be >= 1 and divide in_channels = %d and out_channels = %d", g, s.C, s.K)
	}
	s.CPerG, s.KPerG = s.C/g, s.K/g
	if s.Transposed && s.PaddingMode != Zeros {
		return op.Errorf("padding_mode", "padding_mode = %s: a transposed convolution pads with zeros only", s.PaddingMode)
	}
	return nil
}

// resolveSpans computes dilation*(k-1) per dim, overflow-safe: every
// later size adds or multiplies values no larger than the spans, the
// input and the paddings, each checked where it is formed.
func (s *Shape) resolveSpans(op shape.Op) error {
	s.spans = make([]int, s.Dims)
	for i := range s.spans {
		v, ok := shape.Mul(s.Dilation[i], s.Kernel[i]-1)
		if !ok {
			return op.Errorf("dilation", "dilation = %v with kernel_size = %v overflows int in dim %d", s.Dilation, s.Kernel, i)
		}
		s.spans[i] = v
	}
	return nil
}

// resolvePadding turns the Padding into per-side sizes.
func (s *Shape) resolvePadding(op shape.Op) error {
	d := s.Dims
	s.PadBefore, s.PadAfter = make([]int, d), make([]int, d)
	pd := s.Padding
	for i := 0; i < d; i++ {
		span := s.spans[i]
		if pd.Kind != Explicit && (pd.Before != nil || pd.After != nil) {
			return op.Errorf("padding", "padding kind %d takes no sizes (before %v, after %v)", pd.Kind, pd.Before, pd.After)
		}
		if pd.Kind != Explicit && s.Transposed {
			return op.Errorf("padding", "a transposed convolution takes explicit padding only (PyTorch has no named padding for it)")
		}
		switch pd.Kind {
		case Explicit:
		case Valid:
			continue
		case Same:
			if s.Transposed {
				return op.Errorf("padding", "padding = same: not defined for a transposed convolution")
			}
			if s.Stride[i] != 1 {
				return op.Errorf("padding", "padding = same needs stride 1, stride = %v", s.Stride)
			}
			s.PadBefore[i], s.PadAfter[i] = span/2, span-span/2
			continue
		case Full:
			s.PadBefore[i], s.PadAfter[i] = span, span
			continue
		default:
			return op.Errorf("padding", "padding kind %d", pd.Kind)
		}
		if pd.Before == nil && pd.After == nil {
			continue // the zero Padding: none
		}
		if len(pd.Before) != d || (pd.After != nil && len(pd.After) != d) {
			return op.Errorf("padding", "padding = %v / %v: want one entry per spatial dim (%d)", pd.Before, pd.After, d)
		}
		s.PadBefore[i], s.PadAfter[i] = pd.Before[i], pd.Before[i]
		if pd.After != nil {
			s.PadAfter[i] = pd.After[i]
		}
		if s.PadBefore[i] < 0 || s.PadAfter[i] < 0 {
			return op.Errorf("padding", "padding = %v / %v: want >= 0", pd.Before, pd.After)
		}
		if s.Transposed && s.PadBefore[i] != s.PadAfter[i] {
			return op.Errorf("padding", "padding = %v / %v: a transposed convolution pads both sides alike", pd.Before, pd.After)
		}
	}
	if s.PaddingMode == Reflect {
		for i := 0; i < d; i++ {
			if max(s.PadBefore[i], s.PadAfter[i]) >= s.In[i] {
				return op.Errorf("padding", "reflect padding %d/%d in dim %d must be smaller than the input (%d)", s.PadBefore[i], s.PadAfter[i], i, s.In[i])
			}
		}
	}
	if s.PaddingMode == Circular {
		for i := 0; i < d; i++ {
			if max(s.PadBefore[i], s.PadAfter[i]) > s.In[i] {
				return op.Errorf("padding", "circular padding %d/%d in dim %d must not exceed the input (%d)", s.PadBefore[i], s.PadAfter[i], i, s.In[i])
			}
		}
	}
	return nil
}

// resolveOut computes the output sizes by PyTorch's rules.
func (s *Shape) resolveOut(op shape.Op) error {
	d := s.Dims
	s.Out = make([]int, d)
	if !s.Transposed {
		if s.OutputPadding != nil {
			return op.Errorf("output_padding", "output_padding = %v: only for a transposed convolution", s.OutputPadding)
		}
		for i := 0; i < d; i++ {
			padded, ok1 := shape.Add(s.In[i], s.PadBefore[i])
			padded, ok2 := shape.Add(padded, s.PadAfter[i])
			if !ok1 || !ok2 {
				return op.Errorf("padding", "in = %v with padding %v / %v overflows int in dim %d", s.In, s.PadBefore, s.PadAfter, i)
			}
			span := s.spans[i] + 1 // spans[i] < MaxInt: Mul refused more
			if span > padded {
				return op.Errorf("kernel_size", "kernel_size = %v with dilation = %v spans %d in dim %d, more than the padded input (%d)", s.Kernel, s.Dilation, span, i, padded)
			}
			s.Out[i] = (padded-span)/s.Stride[i] + 1
		}
		return nil
	}
	var err error
	if s.OutputPadding, err = perDim(op, "output_padding", s.OutputPadding, d, 0, 0); err != nil {
		return err
	}
	for i := 0; i < d; i++ {
		if op := s.OutputPadding[i]; op >= s.Stride[i] && op >= s.Dilation[i] {
			return s.op().Errorf("output_padding", "output_padding = %v must be smaller than either stride = %v or dilation = %v", s.OutputPadding, s.Stride, s.Dilation)
		}
		grown, ok := shape.Mul(s.In[i]-1, s.Stride[i])
		if ok {
			grown, ok = shape.Add(grown, s.spans[i])
		}
		if ok {
			grown, ok = shape.Add(grown, s.OutputPadding[i]+1)
		}
		if !ok {
			return op.Errorf("stride", "the transposed output of in = %v, stride = %v, kernel_size = %v overflows int in dim %d", s.In, s.Stride, s.Kernel, i)
		}
		if s.PadBefore[i] > (grown-1)/2 { // grown - 2*pad < 1, and 2*pad cannot overflow below this
			return op.Errorf("padding", "padding = %v leaves dim %d of the output empty (%d before the padding)", s.PadBefore, i, grown)
		}
		s.Out[i] = grown - 2*s.PadBefore[i]
	}
	return nil
}

// resolveSizes counts the elements of every tensor, overflow-safe.
func (s *Shape) resolveSizes(op shape.Op) error {
	var err error
	if s.InSize, err = op.Product("in", "spatial", s.In...); err != nil {
		return err
	}
	if s.OutLen, err = op.Product("out", "spatial", s.Out...); err != nil {
		return err
	}
	if s.KernelSize, err = op.Product("kernel_size", "spatial", s.Kernel...); err != nil {
		return err
	}
	if s.XLen, err = op.Product("x", dimNames(s.Dims, "C"), append([]int{s.N, s.Layout.paddedChannels(s.C)}, s.In...)...); err != nil {
		return err
	}
	if s.YLen, err = op.Product("y", dimNames(s.Dims, "K"), append([]int{s.N, s.Layout.paddedChannels(s.K)}, s.Out...)...); err != nil {
		return err
	}
	wDims := append([]int{s.K, s.CPerG}, s.Kernel...)
	if s.Transposed {
		wDims = append([]int{s.C, s.KPerG}, s.Kernel...)
	}
	s.WLen, err = op.Product("w", "weights", wDims...)
	return err
}

// dimNames spells a tensor's dims for messages: "N x C x H x W".
func dimNames(d int, ch string) string {
	sp := [][]string{{"L"}, {"H", "W"}, {"D", "H", "W"}}[d-1]
	return strings.Join(append([]string{"N", ch}, sp...), " x ")
}

// WShape is the weights' shape in PyTorch's order.
func (s *Shape) WShape() []int {
	if s.Transposed {
		return append([]int{s.C, s.KPerG}, s.Kernel...)
	}
	return append([]int{s.K, s.CPerG}, s.Kernel...)
}

// FLOPs counts the forward pass as 2 * N * K * C/groups * prod(out) *
// prod(kernel) (a transposed problem as the convolution it transposes), the
// figure every pass's GFLOPS is quoted against.
func (s *Shape) FLOPs() float64 {
	spatial := float64(s.OutLen)
	if s.Transposed {
		spatial = float64(s.InSize)
	}
	return 2 * float64(s.N) * float64(s.K) * float64(s.CPerG) * spatial * float64(s.KernelSize)
}
