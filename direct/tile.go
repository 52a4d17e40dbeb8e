package direct

import (
	"fmt"

	"github.com/convkit/convkit/internal/shape"
	"github.com/convkit/convkit/kernels"
)

// Form is how a kernel reads its input channels.
type Form byte

// The input forms.
const (
	// Blocked: Lanes channels interleaved in each pixel (channel-blocked
	// nCdhw<Lanes>c or channels-last activations); a tap step covers
	// Lanes channels.
	Blocked Form = 'B'
	// Planes: one channel per step, each pixel's value one float apart
	// from the next pixel's by the pixel stride (channel planes, read in
	// place).
	Planes Form = 'P'
)

// Flags of a tile call.
const (
	// Accumulate starts from dst instead of the bias (a later group of
	// input channels).
	Accumulate = 1
	// ReLU applies max(y, 0) at the end, NaN passing through.
	ReLU = 2
)

// Taps is a table of filter taps: per tap, the byte offsets of its input
// from the tile's first input and of its weights in the weight block. No
// method changes it, so its largest offsets are known once (Family.Tile
// checks a call's reach without a pass over the table); a call checked
// once (TileCall, DWSweep) keeps a copy of its own, since a caller may
// still overwrite the value a *Taps points at.
type Taps struct {
	offs         []int // pairs
	maxSrc, maxW int
}

// NewTaps returns the table of the pairs in offs (src0, w0, src1, w1,
// ...), each offset >= 0 and a multiple of 4. It panics on anything else.
func NewTaps(offs []int) *Taps {
	if len(offs)%2 != 0 {
		panic(fmt.Sprintf("direct: a tap table of %d ints, not pairs", len(offs)))
	}
	t := &Taps{offs: append([]int(nil), offs...)}
	for i, v := range offs {
		if v < 0 || v%4 != 0 {
			panic(fmt.Sprintf("direct: tap %d has offset %d (want >= 0, a multiple of 4)", i/2, v))
		}
		if i%2 == 0 {
			t.maxSrc = max(t.maxSrc, v)
		} else {
			t.maxW = max(t.maxW, v)
		}
	}
	return t
}

// Len is the number of taps.
func (t *Taps) Len() int { return len(t.offs) / 2 }

// At returns tap i's input and weight offsets.
func (t *Taps) At(i int) (src, w int) { return t.offs[2*i], t.offs[2*i+1] }

// Offsets returns a copy of the pairs.
func (t *Taps) Offsets() []int { return append([]int(nil), t.offs...) }

// Args are a tile call's table and byte strides.
type Args struct {
	Taps   *Taps
	ICB    int // groups of input channels (blocks for Blocked, channels for Planes)
	SrcICB int // bytes from one group's input to the next
	WICB   int // bytes from one group's weights to the next
	SrcPix int // bytes between the inputs of neighbouring output pixels
	DstPix int // bytes between neighbouring output pixels
	DstOCB int // bytes between the tile's output-channel vectors
	Flags  int
}

// Family is the kernels of one ISA, form and tile height: Kernel(u) for
// every u in 1..U.
type Family struct {
	ISA    kernels.ISA
	Lanes  int
	Form   Form
	Cin    int // input channels per tap step: Lanes (Blocked) or 1 (Planes)
	U, B   int
	asm    []tileFunc // nil: the Go twin
	Source string     // "asm" or "go"
}

// tileFunc is the generated kernels' signature (asm.DirectTileFunc).
type tileFunc = func(dst *float32, src *float32, w *float32, taps *int, ntaps int, icb int, srcICB int, wICB int, srcPix int, dstPix int, dstOCB int, bias *float32, res *float32, flags int)

// Name is the family's part of its kernels' names: 14x2AVX512B.
func (f *Family) Name() string { return fmt.Sprintf("%dx%d%s%c", f.U, f.B, f.ISA, f.Form) }

// WBytes is the bytes of one tap's weights: Cin steps of B vectors.
func (f *Family) WBytes() int { return f.Cin * f.B * f.Lanes * 4 }

// Tile computes a tile of u pixels (1 <= u <= f.U) x f.B vectors of
// output channels, in bytes (every offset and stride of a; a float is 4
// bytes), with L = f.Lanes:
//
//	for i < u, o < B, l < L:
//	  acc := bias[o*L+l] (0 if bias is nil), or dst[D] with Accumulate (D = i*DstPix + o*DstOCB + 4*l)
//	  for g < ICB, each tap t of the table:
//	    p, q := g*SrcICB, g*WICB + t.W
//	    for c < Cin: acc += src[p + t.Src + i*SrcPix + 4*c] * w[q + (c*B*L + o*L + l)*4]
//	  acc += res[D] unless res is nil; acc = relu(acc) with ReLU
//	  dst[D] = acc
//
// Each sum is in that order with fused multiply-adds. Tile panics, before
// any kernel runs, if an access would fall outside its slice: the
// generated kernels trust their arguments.
func (f *Family) Tile(u int, dst, src, w []float32, a *Args, bias, res []float32) {
	f.check(u, dst, src, w, a, bias, res)
	f.run(u, dst, src, w, a, bias, res)
}

// run is a checked tile's call: the kernel of u pixels, or the twin.
func (f *Family) run(u int, dst, src, w []float32, a *Args, bias, res []float32) {
	if f.asm == nil {
		TileGeneric(f.Lanes, f.Cin, u, f.B, dst, src, w, a, bias, res)
		return
	}
	var bp, rp *float32
	if bias != nil {
		bp = &bias[0]
	}
	if res != nil {
		rp = &res[0]
	}
	tp, nt := (*int)(nil), a.Taps.Len()
	if nt > 0 {
		tp = &a.Taps.offs[0]
	}
	f.asm[u-1](&dst[0], &src[0], &w[0], tp, nt, a.ICB, a.SrcICB, a.WICB, a.SrcPix, a.DstPix, a.DstOCB, bp, rp, a.Flags)
}

// TileRow computes a row of n pixels (n >= 1, any count) as Tile does,
// in ceil(n/U) calls of balanced widths, the pixels' strides those of a;
// one check covers the whole row. Its results are Tile's, pixel for
// pixel.
func (f *Family) TileRow(n int, dst, src, w []float32, a *Args, bias, res []float32) {
	if n < 1 {
		panic(fmt.Sprintf("direct: %s: a row of %d pixels", f.Name(), n))
	}
	f.checkSpan(n, dst, src, w, a, bias, res)
	calls := (n + f.U - 1) / f.U
	for c := 0; c < calls; c++ {
		t0, t1 := c*n/calls, (c+1)*n/calls
		d, sr := dst[t0*a.DstPix/4:], src[t0*a.SrcPix/4:]
		var r []float32
		if res != nil {
			r = res[t0*a.DstPix/4:]
		}
		f.run(t1-t0, d, sr, w, a, bias, r)
	}
}

// Band is a run of output rows for TileBand: Rows rows of Pixels pixels
// each, row i's dst (and res) DstRow bytes and its src SrcRow bytes after
// row i-1's.
type Band struct {
	Rows, Pixels   int
	DstRow, SrcRow int
}

// TileBand computes the rows of b, each as TileRow does at its row's
// offsets (the same w, bias and Args). One check covers the band: every
// stride is non-negative, so its last row reaches furthest into every
// slice. (A check per row was a tenth of lenet_5x5_c6's forward pass,
// whose rows are one tile each.) Its results are TileRow's, row for row.
func (f *Family) TileBand(b Band, dst, src, w []float32, a *Args, bias, res []float32) {
	if b.Rows < 1 || b.Pixels < 1 || b.DstRow < 0 || b.SrcRow < 0 || (b.DstRow|b.SrcRow)%4 != 0 {
		panic(fmt.Sprintf("direct: %s: band %+v: want at least a row of a pixel, strides >= 0 and whole floats", f.Name(), b))
	}
	lastDst, okD := sumOfProducts(b.Rows-1, b.DstRow)
	lastSrc, okS := sumOfProducts(b.Rows-1, b.SrcRow)
	if !okD || !okS || lastDst >= 4*len(dst) || lastSrc > 4*len(src) || res != nil && lastDst >= 4*len(res) {
		panic(fmt.Sprintf("direct: %s: band %+v past its slices (dst %d, src %d, res %d floats)", f.Name(), b, len(dst), len(src), len(res)))
	}
	var lastRes []float32
	if res != nil {
		lastRes = res[lastDst/4:]
	}
	f.checkSpan(b.Pixels, dst[lastDst/4:], src[lastSrc/4:], w, a, bias, lastRes)
	calls := (b.Pixels + f.U - 1) / f.U
	for r := range b.Rows {
		d, sr := dst[r*b.DstRow/4:], src[r*b.SrcRow/4:]
		var rr []float32
		if res != nil {
			rr = res[r*b.DstRow/4:]
		}
		for c := 0; c < calls; c++ {
			t0, t1 := c*b.Pixels/calls, (c+1)*b.Pixels/calls
			var rt []float32
			if rr != nil {
				rt = rr[t0*a.DstPix/4:]
			}
			f.run(t1-t0, d[t0*a.DstPix/4:], sr[t0*a.SrcPix/4:], w, a, bias, rt)
		}
	}
}

// check panics unless every access of the call lies inside its slice:
// every count and stride non-negative, strides whole floats, and each
// slice's reach (a sum of products, computed overflow-safe) within it.
func (f *Family) check(u int, dst, src, w []float32, a *Args, bias, res []float32) {
	if u < 1 || u > f.U {
		panic(fmt.Sprintf("direct: %s: tile of %d pixels, want 1..%d", f.Name(), u, f.U))
	}
	f.checkSpan(u, dst, src, w, a, bias, res)
}

// checkSpan is check's reach of u pixels (any count).
func (f *Family) checkSpan(u int, dst, src, w []float32, a *Args, bias, res []float32) {
	r := f.extents(u, a)
	r.fits("", f, dst, src, w, bias, res)
}

// extents checks a call of u pixels with arguments a, whatever its slices,
// and returns what they must hold: it panics on a negative count or
// stride, a stride of part of a float, or a reach that overflows.
func (f *Family) extents(u int, a *Args) callReach {
	if a.Taps == nil || a.ICB < 1 {
		panic(fmt.Sprintf("direct: %s: a call without a tap table, or %d channel groups", f.Name(), a.ICB))
	}
	for _, st := range []int{a.SrcICB, a.WICB, a.SrcPix, a.DstPix, a.DstOCB} {
		if st < 0 || st%4 != 0 {
			panic(fmt.Sprintf("direct: %s: stride %d in %+v: want >= 0, whole floats", f.Name(), st, *a))
		}
	}
	vb := f.Lanes * 4
	floats := func(what string, terms ...int) int {
		end, ok := sumOfProducts(terms...)
		if !ok {
			panic(fmt.Sprintf("direct: %s: the reach of %s overflows (%+v)", f.Name(), what, *a))
		}
		return (end + 3) / 4
	}
	r := callReach{dst: floats("dst", u-1, a.DstPix, f.B-1, a.DstOCB, 1, vb), bias: f.B * f.Lanes}
	if a.Taps.Len() > 0 {
		r.src = floats("src", a.ICB-1, a.SrcICB, 1, a.Taps.maxSrc, u-1, a.SrcPix, 4, f.Cin)
		r.w = floats("w", a.ICB-1, a.WICB, 1, a.Taps.maxW, 1, f.WBytes())
	}
	return r
}

// TileCall is a Tile call of u pixels whose arguments are checked once,
// for calls that repeat it on other slices: the same family, u and Args
// (but its Accumulate flag, which Run sets), without bias or residual.
// Run checks only the slices' lengths: a check per call had taken a fifth
// of lenet_5x5_c6's backward-filter, whose tiles are a few taps each.
type TileCall struct {
	f    Family // copies: overwriting the caller's values cannot change what was checked
	taps Taps
	u    int
	a    [2]Args // without and with Accumulate; their Taps: &taps
	r    callReach
}

// Prepare returns Tile(u, ..., a, nil, nil) checked once; a, its table
// and f are copied. It panics as Tile does on a malformed a.
func (f *Family) Prepare(u int, a *Args) *TileCall {
	if u < 1 || u > f.U {
		panic(fmt.Sprintf("direct: %s: tile of %d pixels, want 1..%d", f.Name(), u, f.U))
	}
	c := &TileCall{f: *f, taps: *a.Taps, u: u, r: f.extents(u, a)}
	c.a[0], c.a[1] = *a, *a
	c.a[0].Taps, c.a[1].Taps = &c.taps, &c.taps
	c.a[0].Flags &^= Accumulate
	c.a[1].Flags |= Accumulate
	return c
}

// Run is the call on these slices, starting from dst where accumulate is
// set: it panics, before the kernel runs, unless they hold what the call
// reads and writes.
func (c *TileCall) Run(dst, src, w []float32, accumulate bool) {
	c.r.fits("", &c.f, dst, src, w, nil, nil)
	a := &c.a[0]
	if accumulate {
		a = &c.a[1]
	}
	c.f.run(c.u, dst, src, w, a, nil, nil)
}

// sumOfProducts is shape.SumOfProducts: the reach of an access.
func sumOfProducts(terms ...int) (int, bool) { return shape.SumOfProducts(terms...) }
