package direct

import (
	"fmt"

	"github.com/convkit/convkit/kernels"
)

// Mode is what the vectors of a depthwise kernel hold.
type Mode byte

// The depthwise modes.
const (
	// Channels: a vector is Lanes channels of one pixel (channel-blocked
	// or channels-last activations), each with its own weight per tap;
	// a tile is U pixels of one channel block (B = 1).
	Channels Mode = 'C'
	// Width: a vector is Lanes neighbouring pixels of one channel's row
	// (channel planes, read in place), all with the tap's one weight; a
	// tile is U rows of B vectors.
	Width Mode = 'W'
	// OutChannels: as Width, one vector per row, for B output channels
	// that read the same input (their planes ChStride bytes apart, a tap's
	// B weights contiguous): each input vector is loaded once for B FMAs.
	OutChannels Mode = 'K'
	// Rows: as Width, for a filter of KH rows at stride 1 and dilation 1
	// down the plane: the tap table is columns of KH taps, top row first,
	// each tap's input SrcPix bytes past the one above it (see
	// DWFamily.Tile), so that the kernel loads each input row's vector
	// once for the up to KH output rows it serves, where Width loads it
	// once per FMA.
	Rows Mode = 'R'
)

// DWArgs are a depthwise call's table and byte strides.
type DWArgs struct {
	Taps   *Taps
	SrcPix int // bytes between the inputs of neighbouring tile rows (pixels in mode Channels)
	DstPix int // bytes between neighbouring tile rows of the output
	Flags  int // ReLU or 0
	// ChStride is the bytes between the output (and residual) planes of
	// the B channels of mode OutChannels; the other modes ignore it.
	ChStride int
}

// DWFamily is the depthwise kernels of one ISA, mode (and Rows height)
// and width B: Kernel(u) for every u in 1..U.
type DWFamily struct {
	ISA    kernels.ISA
	Lanes  int
	Mode   Mode
	KH     int // mode Rows' filter height (0 in the other modes)
	U, B   int
	asm    []dwFunc // nil: the Go twin
	Source string   // "asm" or "go"
}

// dwFunc is the generated kernels' signature (asm.DepthwiseFunc).
type dwFunc = func(dst *float32, src *float32, w *float32, taps *int, ntaps int, tiles int, srcPix int, dstPix int, bias *float32, res *float32, flags int, chStride int)

// Name is the family's part of its kernels' names: 9x3AVX512W, or with
// mode Rows' filter height 8x3AVX512R3.
func (f *DWFamily) Name() string {
	n := fmt.Sprintf("%dx%d%s%c", f.U, f.B, f.ISA, f.Mode)
	if f.Mode == Rows {
		n += fmt.Sprint(f.KH)
	}
	return n
}

// WFloats is the floats of one tap's weights (and of the bias): a vector
// (Channels), one (Width) or one per output channel (OutChannels).
func (f *DWFamily) WFloats() int {
	switch f.Mode {
	case Channels:
		return f.Lanes
	case OutChannels:
		return f.B
	}
	return 1
}

// Tile computes u x f.B vectors (1 <= u <= f.U) of a depthwise
// convolution, in bytes (every offset and stride of a; a float is 4
// bytes), with L = f.Lanes and V = 4*L:
//
//	for i < u, o < B, l < L:
//	  acc := bias[l] (Channels), bias[0] (Width, Rows) or bias[o] (OutChannels); 0 if bias is nil
//	  for each tap t of the table:
//	    acc += src[t.Src + i*SrcPix + o*V + 4*l] * w[t.W + 4*l] (Channels) or w[t.W] (Width, Rows)
//	    acc += src[t.Src + i*SrcPix + 4*l] * w[t.W + 4*o] (OutChannels)
//	  D := i*DstPix + o*V + 4*l (OutChannels: i*DstPix + o*ChStride + 4*l)
//	  acc += res[D] unless res is nil; acc = relu(acc) with ReLU
//	  dst[D] = acc
//
// Each sum is in that order with fused multiply-adds. In mode Rows the
// table must be columns of KH taps whose inputs step down by SrcPix:
// tap c*KH+r's Src is tap c*KH's plus r*SrcPix. Tile panics, before any
// kernel runs, if an access would fall outside its slice or a Rows table
// is not so.
func (f *DWFamily) Tile(u int, dst, src, w []float32, a *DWArgs, bias, res []float32) {
	if u < 1 || u > f.U {
		panic(fmt.Sprintf("direct: depthwise %s: tile of %d, want 1..%d", f.Name(), u, f.U))
	}
	f.check(u, dst, src, w, a, bias, res)
	f.call(u, 1, dst, src, w, a, bias, res)
}

// Rows computes rows tile rows (any number, 0 included), the i-th at
// i*SrcPix and i*DstPix bytes as in Tile: its whole tiles of f.U rows in
// one kernel call, the rest in a narrower one, with one check for all.
func (f *DWFamily) Rows(rows int, dst, src, w []float32, a *DWArgs, bias, res []float32) {
	if rows <= 0 {
		return
	}
	f.check(rows, dst, src, w, a, bias, res)
	f.rows(rows, dst, src, w, a, bias, res)
}

// rows is Rows on checked arguments.
func (f *DWFamily) rows(rows int, dst, src, w []float32, a *DWArgs, bias, res []float32) {
	tiles, rest := rows/f.U, rows%f.U
	if tiles > 0 {
		f.call(f.U, tiles, dst, src, w, a, bias, res)
	}
	if rest > 0 {
		at := tiles * f.U
		var rt []float32
		if res != nil {
			rt = res[at*a.DstPix/4:]
		}
		rs := src
		if a.Taps.Len() > 0 { // else src is not read, and may be short
			rs = src[at*a.SrcPix/4:]
		}
		f.call(rest, 1, dst[at*a.DstPix/4:], rs, w, a, bias, rt)
	}
}

// call runs the kernel of u rows on tiles tiles of checked arguments.
func (f *DWFamily) call(u, tiles int, dst, src, w []float32, a *DWArgs, bias, res []float32) {
	if f.asm == nil {
		DepthwiseGeneric(f.Lanes, f.Mode, u*tiles, f.B, dst, src, w, a, bias, res) // a tile's rows are independent
		return
	}
	var tp *int
	var b0, r0 *float32
	if bias != nil {
		b0 = &bias[0]
	}
	if res != nil {
		r0 = &res[0]
	}
	n := a.Taps.Len()
	if n > 0 {
		tp = &a.Taps.offs[0]
	}
	if f.Mode == Rows {
		n /= f.KH // the kernel counts columns
	}
	f.asm[u-1](&dst[0], &src[0], &w[0], tp, n, tiles, a.SrcPix, a.DstPix, b0, r0, a.Flags, a.ChStride)
}

// check panics unless every access of a call of u rows lies inside its
// slice.
func (f *DWFamily) check(u int, dst, src, w []float32, a *DWArgs, bias, res []float32) {
	e := f.extents(u, a)
	e.fits("depthwise ", f, dst, src, w, bias, res)
}

// extents checks a call of u rows with arguments a, whatever its slices,
// and returns the floats they must hold. It panics on a malformed a or
// where an extent overflows.
func (f *DWFamily) extents(u int, a *DWArgs) callReach {
	if a.Taps == nil || a.Flags&^ReLU != 0 {
		panic(fmt.Sprintf("direct: depthwise %s: a call without a tap table, or flags %#x (only ReLU)", f.Name(), a.Flags))
	}
	for _, st := range []int{a.SrcPix, a.DstPix, a.ChStride} {
		if st < 0 || st%4 != 0 {
			panic(fmt.Sprintf("direct: depthwise %s: stride %d in %+v: want >= 0, whole floats", f.Name(), st, *a))
		}
	}
	if f.Mode == Rows {
		f.checkColumns(a)
	}
	vb := 4 * f.Lanes
	floats := func(what string, terms ...int) int {
		end, ok := sumOfProducts(terms...)
		if !ok {
			panic(fmt.Sprintf("direct: depthwise %s: the extent of %s overflows (strides %+v)", f.Name(), what, *a))
		}
		return (end + 3) / 4
	}
	// A tile's outputs: B vectors per row, or (OutChannels) one vector in
	// each of B planes ChStride bytes apart; its inputs: the row's B
	// vectors, or one.
	planes, across, along := 0, f.B, f.B
	if f.Mode == OutChannels {
		planes, across, along = f.B-1, 1, 1
	}
	e := callReach{
		dst:  floats("dst", u-1, a.DstPix, planes, a.ChStride, across, vb),
		bias: f.WFloats(),
	}
	if a.Taps.Len() > 0 {
		e.src = floats("src", 1, a.Taps.maxSrc, u-1, a.SrcPix, along, vb)
		e.w = floats("w", 1, a.Taps.maxW, 1, 4*f.WFloats())
	}
	return e
}

// DWSweep is a call of Rows whose arguments are checked once, for sweeps
// that repeat it over many planes: the same rows, family and DWArgs, on
// other slices. Run checks only the slices' lengths.
type DWSweep struct {
	f    DWFamily // copies: overwriting the caller's values cannot change what was checked
	taps Taps
	rows int
	a    DWArgs // its Taps: &taps
	e    callReach
}

// Sweep returns Rows(rows, ..., a, ...) checked once; a, its table and f
// are copied. It panics as Rows does on a malformed a.
func (f *DWFamily) Sweep(rows int, a *DWArgs) *DWSweep {
	s := &DWSweep{f: *f, rows: rows, a: *a, e: f.extents(max(rows, 1), a)}
	s.taps = *a.Taps
	s.a.Taps = &s.taps
	return s
}

// Run is Rows of the sweep's rows and arguments on these slices: it
// panics, before any kernel runs, unless they hold what the call reads
// and writes.
func (s *DWSweep) Run(dst, src, w, bias, res []float32) {
	if s.rows <= 0 {
		return
	}
	s.e.fits("depthwise ", &s.f, dst, src, w, bias, res)
	s.f.rows(s.rows, dst, src, w, &s.a, bias, res)
}

// checkColumns panics unless a's table is columns of f.KH taps whose
// inputs step down by a.SrcPix (mode Rows).
func (f *DWFamily) checkColumns(a *DWArgs) {
	n := a.Taps.Len()
	if n%f.KH != 0 {
		panic(fmt.Sprintf("direct: depthwise %s: %d taps, not columns of %d", f.Name(), n, f.KH))
	}
	for c := 0; c < n; c += f.KH {
		top, _ := a.Taps.At(c)
		for r := 1; r < f.KH; r++ {
			if src, _ := a.Taps.At(c + r); src != top+r*a.SrcPix {
				panic(fmt.Sprintf("direct: depthwise %s: tap %d reads byte %d, want %d: %d rows of %d bytes below tap %d's", f.Name(), c+r, src, top+r*a.SrcPix, r, a.SrcPix, c))
			}
		}
	}
}

// DepthwiseGeneric is the Go twin of the generated depthwise kernels (the
// contract is DWFamily.Tile's, for u x b vectors of lanes lanes in mode
// m) and their test oracle, bit for bit. Mode Rows sums as Width does
// (its table's columns only let the kernels load less).
func DepthwiseGeneric(lanes int, m Mode, u, b int, dst, src, w []float32, a *DWArgs, bias, res []float32) {
	for i := 0; i < u; i++ {
		for o := 0; o < b; o++ {
			for l := 0; l < lanes; l++ {
				var acc float32
				if bias != nil {
					switch m {
					case Channels:
						acc = bias[l]
					case OutChannels:
						acc = bias[o]
					default:
						acc = bias[0]
					}
				}
				at := (i*a.SrcPix)/4 + o*lanes + l
				d := (i*a.DstPix)/4 + o*lanes + l
				if m == OutChannels { // one input vector, B output planes
					at, d = (i*a.SrcPix)/4+l, (i*a.DstPix+o*a.ChStride)/4+l
				}
				for t := 0; t < a.Taps.Len(); t++ {
					ts, tw := a.Taps.At(t)
					var wt float32
					switch m {
					case Channels:
						wt = w[tw/4+l]
					case OutChannels:
						wt = w[tw/4+o]
					default:
						wt = w[tw/4]
					}
					acc = kernels.FMA32(src[ts/4+at], wt, acc)
				}
				if res != nil {
					acc += res[d]
				}
				if a.Flags&ReLU != 0 && acc <= 0 { // false for NaN, which passes through
					acc = 0
				}
				dst[d] = acc
			}
		}
	}
}

// DWFamilies returns the depthwise families of path isa, widest B first
// within each mode and height: the generated kernels where this host
// runs the path, else Go-twin families of twinLanes lanes.
func DWFamilies(isa kernels.ISA) []*DWFamily {
	if fs := generatedDW[isa]; len(fs) > 0 && kernels.Supported(isa) {
		return fs
	}
	return dwTwins
}

// PickDW returns the family of fs in mode m (not Rows) with the most
// vectors up to b, or nil.
func PickDW(fs []*DWFamily, m Mode, b int) *DWFamily { return PickRows(fs, m, 0, b) }

// PickRows returns the family of fs in mode m for filter height kh (0
// outside mode Rows) with the most vectors up to b, or nil.
func PickRows(fs []*DWFamily, m Mode, kh, b int) *DWFamily {
	var best *DWFamily
	for _, f := range fs {
		if f.Mode == m && f.KH == kh && f.B <= b && (best == nil || f.B > best.B) {
			best = f
		}
	}
	return best
}

// dwTwins are the generic path's depthwise families.
var dwTwins = func() []*DWFamily {
	fs := []*DWFamily{{ISA: kernels.Generic, Lanes: twinLanes, Mode: Channels, U: 8, B: 1, Source: "go"}}
	for b := 4; b >= 1; b-- {
		fs = append(fs, &DWFamily{ISA: kernels.Generic, Lanes: twinLanes, Mode: Width, U: 8, B: b, Source: "go"})
	}
	for b := 4; b >= 2; b-- {
		fs = append(fs, &DWFamily{ISA: kernels.Generic, Lanes: twinLanes, Mode: OutChannels, U: 8, B: b, Source: "go"})
	}
	for _, kh := range []int{3, 5} { // as the generator's heights, so that every path lays tables out alike
		for b := 4; b >= 1; b-- {
			fs = append(fs, &DWFamily{ISA: kernels.Generic, Lanes: twinLanes, Mode: Rows, KH: kh, U: 8, B: b, Source: "go"})
		}
	}
	return fs
}()
