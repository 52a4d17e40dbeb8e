package fft

import (
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/kernels"
)

// run is one side of a kernel call on split complex data: stream t's
// real parts at data[re+t*step:], its imaginary parts at data[im+t*step:]
// (offsets and step in floats).
type run struct {
	data         []float32
	re, im, step int
}

// reach reports whether r streams of n floats lie inside data, checked
// term by term so that no offset or step, however large, can overflow
// into a false yes (an asm kernel trusts it).
func (r run) reach(streams, n int) bool {
	size := len(r.data)
	if n < 0 || streams < 1 || r.re < 0 || r.im < 0 || r.re > size-n || r.im > size-n {
		return false
	}
	if streams == 1 || r.step == 0 {
		return true
	}
	room := size - n - max(r.re, r.im) // past the last stream's start
	if r.step > 0 {
		return r.step <= room/(streams-1)
	}
	back := min(r.re, r.im) // before the first stream's start
	return r.step != math.MinInt && -r.step <= back/(streams-1)
}

// laneKernels are the kernels of one path: the generated ones, or nil
// where the twins run.
type laneKernels struct {
	isa kernels.ISA
	set *asm.FFTKernelSet
}

func kernelsFor(isa kernels.ISA) laneKernels { return laneKernels{isa: isa, set: generatedSet(isa)} }

// Name is the kernels' path: the ISA, or "go" for the twins.
func (k laneKernels) name() string {
	if k.set == nil {
		return "go"
	}
	return k.set.ISA
}

// hasRadix reports whether the path runs radix r butterflies (the twins
// run every radix).
func (k laneKernels) hasRadix(r int) bool { return k.set == nil || k.set.Radix[r].Func != nil }

func ptr(r run) *float32 { return (*float32)(unsafe.Pointer(unsafe.SliceData(r.data[r.re:]))) }

// butterfly runs count radix-r Stockham butterflies over runs of n
// floats: butterfly b's r inputs at src moved b*srcNext floats, its r
// outputs at dst moved b*dstNext, its twiddles w_1.. at tw[2(r-1)b:].
// plain: the stage's last, every twiddle 1, none multiplied.
func (k laneKernels) butterfly(r int, dst, src run, n int, tw []float32, count, srcNext, dstNext int, plain bool) {
	if n <= 0 || count <= 0 {
		return
	}
	k.checkButterfly(r, dst, src, n, tw, count, srcNext, dstNext)
	if k.set == nil {
		for b := 0; b < count; b++ {
			butterflyGo(r, dst, src, n, tw[2*(r-1)*b:], plain)
			dst.re, dst.im, src.re, src.im = dst.re+dstNext, dst.im+dstNext, src.re+srcNext, src.im+srcNext
		}
		return
	}
	k.radix(r, plain)(ptr(dst), ptr(src), &tw[0], n, 4*src.step, 4*dst.step, 4*(src.im-src.re), 4*(dst.im-dst.re), count, 4*srcNext, 4*dstNext)
}

// radix is the path's radix-r butterfly kernel (plain: the last stage's).
func (k laneKernels) radix(r int, plain bool) asm.FFTStageFunc {
	if plain {
		return k.set.RadixLast[r].Func
	}
	return k.set.Radix[r].Func
}

// nextFits reports whether count steps of next floats (either sign)
// can lie inside size floats, checked by division: the products the
// bounds checks form afterwards then cannot overflow.
func nextFits(count, next, size int) bool {
	if count <= 1 || next == 0 {
		return true
	}
	return next != math.MinInt && max(next, -next) <= size/(count-1)
}

// checkButterfly panics naming the call if the butterflies' streams or
// twiddles are not inside their slices: every address is affine in the
// butterfly, so the first and the last bound them.
func (laneKernels) checkButterfly(r int, dst, src run, n int, tw []float32, count, srcNext, dstNext int) {
	if !nextFits(count, srcNext, len(src.data)) || !nextFits(count, dstNext, len(dst.data)) {
		panic(fmt.Sprintf("fft: %d radix-%d butterflies %d and %d floats apart outside slices of %d and %d floats", count, r, srcNext, dstNext, len(src.data), len(dst.data)))
	}
	last := func(x run, next int) run { x.re += (count - 1) * next; x.im += (count - 1) * next; return x }
	if !dst.reach(r, n) || !src.reach(r, n) || !last(dst, dstNext).reach(r, n) || !last(src, srcNext).reach(r, n) ||
		len(tw)/(2*(r-1)) < count {
		panic(fmt.Sprintf("fft: %d radix-%d butterflies of %d lanes outside their slices (dst %d floats at %d/%d step %d next %d, src %d at %d/%d step %d next %d, %d twiddles)",
			count, r, n, len(dst.data), dst.re, dst.im, dst.step, dstNext, len(src.data), src.re, src.im, src.step, srcNext, len(tw)))
	}
}

// run executes recorded butterfly calls on data, which must be at least
// as long as the slice they were recorded (and checked) on.
func (k laneKernels) run(data []float32, calls []stageCall) {
	for i := range calls {
		c := &calls[i]
		if k.set == nil {
			k.butterfly(c.r, run{data: data, re: c.dst, im: c.dstIm, step: c.dstStep}, run{data: data, re: c.src, im: c.srcIm, step: c.srcStep},
				c.n, c.tw, c.count, c.srcNext, c.dstNext, c.plain)
			continue
		}
		k.radix(c.r, c.plain)(&data[c.dst], &data[c.src], &c.tw[0], c.n, 4*c.srcStep, 4*c.dstStep, 4*(c.srcIm-c.src), 4*(c.dstIm-c.dst), c.count, 4*c.srcNext, 4*c.dstNext)
	}
}

// realPair runs RealPair over n floats on count pairs of rows: pair b's
// rows A (src moved b*srcNext) and B (src.step - 2b*srcNext after A),
// out1 and out2 of dst likewise; its tw = alpha, beta.re, beta.im at
// tw[b].
func (k laneKernels) realPair(dst, src run, n int, tw [][3]float32, srcNext, dstNext int) {
	count := len(tw)
	if n <= 0 || count == 0 {
		return
	}
	if !nextFits(2*count, srcNext, len(src.data)) || !nextFits(2*count, dstNext, len(dst.data)) {
		panic(fmt.Sprintf("fft: %d real pairs %d and %d floats apart outside slices of %d and %d floats", count, srcNext, dstNext, len(src.data), len(dst.data)))
	}
	pair := func(x run, next, b int) run { // pair b's rows
		x.re, x.im, x.step = x.re+b*next, x.im+b*next, x.step-2*b*next
		return x
	}
	last := func(x run, next int) run { return pair(x, next, count-1) }
	if !dst.reach(2, n) || !src.reach(2, n) || !last(dst, dstNext).reach(2, n) || !last(src, srcNext).reach(2, n) {
		panic(fmt.Sprintf("fft: %d real pairs of %d lanes outside their slices", count, n))
	}
	if k.set == nil {
		for b := range tw {
			realPairGo(pair(dst, dstNext, b), pair(src, srcNext, b), n, &tw[b])
		}
		return
	}
	k.set.RealPair.Func(ptr(dst), ptr(src), &tw[0][0], n, 4*src.step, 4*dst.step, 4*(src.im-src.re), 4*(dst.im-dst.re), count, 4*srcNext, 4*dstNext)
}

// scaleAddConj runs ScaleAddConj on rows runs of n floats, pitch floats
// apart on both sides: row r of dst += row r of src * conj(w_r), w_r =
// tw[2r] + i tw[2r+1].
func (k laneKernels) scaleAddConj(dst, src run, n, rows, pitch int, tw []float32) {
	if n <= 0 || rows <= 0 {
		return
	}
	dst.step, src.step = pitch, pitch
	if !dst.reach(rows, n) || !src.reach(rows, n) || len(tw) < 2*rows {
		panic(fmt.Sprintf("fft: scaled sum of %d rows of %d lanes outside its slices", rows, n))
	}
	if k.set == nil {
		scaleAddConjGo(dst, src, n, rows, tw)
		return
	}
	k.set.ScaleAddConj.Func(ptr(dst), ptr(src), &tw[0], n, rows, 4*pitch, 4*(src.im-src.re), 4*(dst.im-dst.re))
}

// conjSum sets dst to the sum over chans inputs (src moved c*srcChan
// floats, tw c*twChan) of scaleAddConj's products, channel by channel
// per vector; checked by its caller (MulConjRowsSum).
func (k laneKernels) conjSum(dst, src run, n, rows, pitch int, tw []float32, chans, srcChan, twChan int) {
	if k.set == nil {
		conjSumGo(dst, src, n, rows, pitch, tw, chans, srcChan, twChan)
		return
	}
	k.set.ConjSum.Func(ptr(dst), ptr(src), &tw[0], n, rows, 4*pitch, 4*(src.im-src.re), 4*(dst.im-dst.re), chans, 4*srcChan, 4*twChan)
}

func conjSumGo(dst, src run, n, rows, pitch int, tw []float32, chans, srcChan, twChan int) {
	dst.step, src.step = pitch, pitch
	for r := 0; r < rows; r++ {
		clear(dst.data[dst.re+r*pitch:][:n])
		clear(dst.data[dst.im+r*pitch:][:n])
	}
	for c := 0; c < chans; c++ {
		s := src
		s.re, s.im = src.re+c*srcChan, src.im+c*srcChan
		scaleAddConjGo(dst, s, n, rows, tw[c*twChan:])
	}
}

// MulKind is one of the split complex products of MulSplit.
type MulKind uint8

// The products.
const (
	Mul        MulKind = iota // dst = a * b
	MulConj                   // dst = a * conj(b)
	MulAdd                    // dst += a * b
	MulAddConj                // dst += a * conj(b)
)

func (m MulKind) acc() bool  { return m == MulAdd || m == MulAddConj }
func (m MulKind) conj() bool { return m == MulConj || m == MulAddConj }

// mul runs product kind over n floats.
func (k laneKernels) mul(kind MulKind, dst, a, b run, n int) {
	if n <= 0 {
		return
	}
	if !dst.reach(1, n) || !a.reach(1, n) || !b.reach(1, n) {
		panic(fmt.Sprintf("fft: product of %d lanes outside its slices (dst %d, a %d, b %d floats)", n, len(dst.data), len(a.data), len(b.data)))
	}
	if k.set == nil {
		mulGo(kind, dst, a, b, n)
		return
	}
	var fn asm.FFTMulFunc
	switch kind {
	case Mul:
		fn = k.set.Mul.Func
	case MulConj:
		fn = k.set.MulConj.Func
	case MulAdd:
		fn = k.set.MulAdd.Func
	default:
		fn = k.set.MulAddConj.Func
	}
	fn(ptr(dst), ptr(a), ptr(b), n, 4*(dst.im-dst.re), 4*(a.im-a.re), 4*(b.im-b.re))
}

// The twins: the kernels' specification, in their order of operations
// (a fused multiply-add where they fuse), so that both agree bit for bit.
// Every product the kernels round is converted to float32 explicitly: Go
// may fuse a product into a following sum otherwise (it does on arm64).

var (
	cos3 = float32(-0.5)
	sin3 = float32(math.Sqrt(3) / 2)
)

func fma(x, y, z float32) float32  { return kernels.FMA32(x, y, z) }
func fnma(x, y, z float32) float32 { return kernels.FMA32(-x, y, z) }

// twiddleGo is the kernels' x * w: Mul, then FNMA or FMA.
func twiddleGo(xr, xi, wr, wi float32) (float32, float32) {
	return fnma(xi, wi, float32(xr*wr)), fma(xi, wr, float32(xr*wi))
}

// dft4Go is the kernels' 4-point DFT.
func dft4Go(xr, xi [4]float32) (yr, yi [4]float32) {
	s02r, s02i := xr[0]+xr[2], xi[0]+xi[2]
	d02r, d02i := xr[0]-xr[2], xi[0]-xi[2]
	s13r, s13i := xr[1]+xr[3], xi[1]+xi[3]
	d13r, d13i := xr[1]-xr[3], xi[1]-xi[3]
	yr[1], yi[1] = d02r+d13i, d02i-d13r
	yr[3], yi[3] = d02r-d13i, d02i+d13r
	yr[0], yi[0] = s02r+s13r, s02i+s13i
	yr[2], yi[2] = s02r-s13r, s02i-s13i
	return yr, yi
}

// sqrtHalf is radix 8's h = sqrt(1/2).
var sqrtHalf = float32(math.Sqrt(0.5))

// dft8Go is the kernels' 8-point DFT (gen/fft's dft8): the even and odd
// points' 4-point DFTs, combined with W^u = (h(1 - i))^u, h fused.
func dft8Go(xr, xi [8]float32) (yr, yi [8]float32) {
	er, ei := dft4Go([4]float32{xr[0], xr[2], xr[4], xr[6]}, [4]float32{xi[0], xi[2], xi[4], xi[6]})
	or, oi := dft4Go([4]float32{xr[1], xr[3], xr[5], xr[7]}, [4]float32{xi[1], xi[3], xi[5], xi[7]})
	h := sqrtHalf
	yr[0], yi[0], yr[4], yi[4] = er[0]+or[0], ei[0]+oi[0], er[0]-or[0], ei[0]-oi[0]
	yr[2], yi[2], yr[6], yi[6] = er[2]+oi[2], ei[2]-or[2], er[2]-oi[2], ei[2]+or[2]
	sum, diff := or[1]+oi[1], oi[1]-or[1]
	yr[1], yi[1], yr[5], yi[5] = fma(sum, h, er[1]), fma(diff, h, ei[1]), fnma(sum, h, er[1]), fnma(diff, h, ei[1])
	sum, diff = or[3]+oi[3], oi[3]-or[3]
	yr[3], yi[3], yr[7], yi[7] = fma(diff, h, er[3]), fnma(sum, h, ei[3]), fnma(diff, h, er[3]), fma(sum, h, ei[3])
	return yr, yi
}

func butterflyGo(r int, dst, src run, n int, tw []float32, plain bool) {
	var xr, xi, yr, yi [8]float32
	for l := 0; l < n; l++ {
		for t := 0; t < r; t++ {
			xr[t], xi[t] = src.data[src.re+t*src.step+l], src.data[src.im+t*src.step+l]
		}
		switch r {
		case 2:
			yr[0], yi[0] = xr[0]+xr[1], xi[0]+xi[1]
			yr[1], yi[1] = xr[0]-xr[1], xi[0]-xi[1]
		case 3:
			sr, si := xr[1]+xr[2], xi[1]+xi[2]
			dr, di := xr[1]-xr[2], xi[1]-xi[2]
			yr[0], yi[0] = xr[0]+sr, xi[0]+si
			tr, ti := fma(sr, cos3, xr[0]), fma(si, cos3, xi[0])
			yr[1], yi[1] = fma(di, sin3, tr), fnma(dr, sin3, ti)
			yr[2], yi[2] = fnma(di, sin3, tr), fma(dr, sin3, ti)
		case 4:
			a, b := dft4Go([4]float32(xr[:4]), [4]float32(xi[:4]))
			copy(yr[:], a[:])
			copy(yi[:], b[:])
		case 8:
			yr, yi = dft8Go(xr, xi)
		}
		for u := 0; u < r; u++ {
			if u > 0 && !plain {
				yr[u], yi[u] = twiddleGo(yr[u], yi[u], tw[2*(u-1)], tw[2*(u-1)+1])
			}
			dst.data[dst.re+u*dst.step+l], dst.data[dst.im+u*dst.step+l] = yr[u], yi[u]
		}
	}
}

func realPairGo(dst, src run, n int, tw *[3]float32) {
	alpha, br, bi := tw[0], tw[1], tw[2]
	for l := 0; l < n; l++ {
		ar, ai := src.data[src.re+l], src.data[src.im+l]
		bRe, bIm := src.data[src.re+src.step+l], src.data[src.im+src.step+l]
		er, ei := ar+bRe, ai-bIm
		dr, di := ar-bRe, ai+bIm
		pr, pi := twiddleGo(dr, di, br, bi)
		er, ei = float32(er*alpha), float32(ei*alpha) // rounded, as the kernels' Mul: never fused into the sums below
		dst.data[dst.re+l], dst.data[dst.im+l] = er+pr, ei+pi
		dst.data[dst.re+dst.step+l], dst.data[dst.im+dst.step+l] = er-pr, pi-ei
	}
}

func scaleAddConjGo(dst, src run, n, rows int, tw []float32) {
	for r := 0; r < rows; r++ {
		wr, wi := tw[2*r], tw[2*r+1]
		d, x := r*dst.step, r*src.step
		for l := 0; l < n; l++ {
			xr, xi := src.data[src.re+x+l], src.data[src.im+x+l]
			zr, zi := dst.data[dst.re+d+l], dst.data[dst.im+d+l]
			zr = fma(xi, wi, fma(xr, wr, zr))
			zi = fnma(xr, wi, fma(xi, wr, zi))
			dst.data[dst.re+d+l], dst.data[dst.im+d+l] = zr, zi
		}
	}
}

func mulGo(kind MulKind, dst, a, b run, n int) {
	for l := 0; l < n; l++ {
		xr, xi := a.data[a.re+l], a.data[a.im+l]
		yr, yi := b.data[b.re+l], b.data[b.im+l]
		var zr, zi float32
		if kind.acc() {
			zr, zi = fma(xr, yr, dst.data[dst.re+l]), dst.data[dst.im+l]
		} else {
			zr = float32(xr * yr)
		}
		if kind.conj() {
			zr = fma(xi, yi, zr)
		} else {
			zr = fnma(xi, yi, zr)
		}
		if kind.acc() {
			zi = fma(xi, yr, zi)
		} else {
			zi = float32(xi * yr)
		}
		if kind.conj() {
			zi = fnma(xr, yi, zi)
		} else {
			zi = fma(xr, yi, zi)
		}
		dst.data[dst.re+l], dst.data[dst.im+l] = zr, zi
	}
}

// KernelTwin runs the pure-Go twin of the generated kernel FFT<kind><ISA>
// (kind Radix2, Radix3, Radix4, Radix8, their Last forms, or RealPair) on the kernel's arguments,
// the pointers as slices starting there, the steps and offsets in bytes:
// the specification the tests of the generated code hold it to. count,
// srcNext and dstNext are the butterflies' or the row pairs'.
func KernelTwin(kind string, dst, src, tw []float32, n, srcStep, dstStep, srcIm, dstIm, count, srcNext, dstNext int) {
	d := run{data: dst, im: dstIm / 4, step: dstStep / 4}
	s := run{data: src, im: srcIm / 4, step: srcStep / 4}
	switch kind {
	case "RealPair":
		pairs := unsafe.Slice((*[3]float32)(unsafe.Pointer(unsafe.SliceData(tw))), count)
		laneKernels{}.realPair(d, s, n, pairs, srcNext/4, dstNext/4)
	case "Radix2", "Radix3", "Radix4", "Radix8", "Radix2Last", "Radix3Last", "Radix4Last", "Radix8Last":
		laneKernels{}.butterfly(int(kind[5]-'0'), d, s, n, tw, count, srcNext/4, dstNext/4, strings.HasSuffix(kind, "Last"))
	default:
		panic("fft: no kernel twin " + kind)
	}
}

// RowsTwin is KernelTwin for FFTScaleAddConj<ISA>, the product by one
// scalar per row.
func RowsTwin(dst, src, tw []float32, n, rows, pitch, srcIm, dstIm int) {
	d := run{data: dst, im: dstIm / 4, step: pitch / 4}
	s := run{data: src, im: srcIm / 4, step: pitch / 4}
	scaleAddConjGo(d, s, n, rows, tw)
}

// SumTwin is RowsTwin for FFTConjSum<ISA>, its offsets in bytes.
func SumTwin(dst, src, tw []float32, n, rows, pitch, srcIm, dstIm, chans, srcChan, twChan int) {
	d := run{data: dst, im: dstIm / 4}
	s := run{data: src, im: srcIm / 4}
	conjSumGo(d, s, n, rows, pitch/4, tw, chans, srcChan/4, twChan/4)
}

// MulTwin is KernelTwin for the products FFT<kind><ISA> (kind Mul,
// MulConj, MulAdd or MulAddConj).
func MulTwin(kind string, dst, a, b []float32, n, dstIm, aIm, bIm int) {
	kinds := map[string]MulKind{"Mul": Mul, "MulConj": MulConj, "MulAdd": MulAdd, "MulAddConj": MulAddConj}
	k, ok := kinds[kind]
	if !ok {
		panic("fft: no product twin " + kind)
	}
	mulGo(k, run{data: dst, im: dstIm / 4}, run{data: a, im: aIm / 4}, run{data: b, im: bIm / 4}, n)
}
