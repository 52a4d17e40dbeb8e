package fft

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/convkit/convkit/kernels"
)

// fourStep is the natural-order complex transform of n = n1*n2 points on
// the generated kernels, the signal an n1 x n2 row-major matrix x[j1][j2]
// = x[n2*j1 + j2]:
//
//  1. split the interleaved values into planes (Unzip);
//  2. the n1-point transforms of the columns, the n2 columns the lanes
//     (LanePlan): B[k1][j2];
//  3. times the twiddles w_n^(k1*j2) (Mul);
//  4. transpose to C[j2][k1] (Transpose, each plane);
//  5. the n2-point transforms of C's columns, the n1 k1 the lanes:
//     D[k2][k1] = X[k1 + n1*k2], row-major, which is natural order;
//  6. interleave (Zip).
//
// Every step runs on whole vectors where n1 and n2 are multiples of the
// lanes, which fourStepSplit requires. The inverse is the forward on
// swapped planes. Planes sit a few vectors apart (planePad) so that the
// real and imaginary parts of one element never share an L1 set: at
// power-of-two distances they collide and the loads stall.
type fourStep struct {
	n, n1, n2 int
	cols      *LanePlan // n1 points, n2 lanes
	rows      *LanePlan // n2 points, n1 lanes
	tw        []float32 // w_n^(k1*j2): the real plane, then the imaginary one
	k         laneKernels
	// The lane transforms' butterfly calls on the work buffer, recorded
	// and checked once (steps 2 and 5).
	colCalls, rowCalls []stageCall
	blocks             *fsBlocks // the complex transform cache-blocked, where it pays
}

// planePad is the floats between the two planes of a split buffer, and
// between the buffers.
const planePad = 48

// newFourStep returns the four-step plan of n on path isa, or nil where
// the path has no generated kernels or n does not split into two
// factors of 2s and 3s with whole vectors of lanes on both sides.
func newFourStep(n int, isa kernels.ISA) *fourStep {
	k, n1, n2, ok := fourStepKernels(n, isa)
	if !ok {
		return nil
	}
	cols, err1 := NewLanePlan(n1, k.isa)
	rows, err2 := NewLanePlan(n2, k.isa)
	if err1 != nil || err2 != nil {
		return nil
	}
	f := &fourStep{n: n, n1: n1, n2: n2, cols: cols, rows: rows, k: k, tw: make([]float32, 2*n)}
	for k1 := 0; k1 < n1; k1++ {
		for j2 := 0; j2 < n2; j2++ {
			s, c := math.Sincos(-2 * math.Pi * float64(k1*j2%n) / float64(n))
			f.tw[k1*n2+j2], f.tw[n+k1*n2+j2] = float32(c), float32(s)
		}
	}
	work := make([]float32, f.workLen()-alignSlack) // what checkWork leaves at least
	f.colCalls = cols.record(f.split(work, 1, n2), f.split(work, 0, n2), n2, work, f.laneOff())
	f.rowCalls = rows.record(f.split(work, 1, n1), f.split(work, 0, n1), n1, work, f.laneOff())
	f.blocks = newFSBlocks(f)
	return f
}

// fourStepKernels returns the kernels and split of the four-step of n on
// path isa: isa's own, or where n is too short for their vectors
// (fewer than lanes^2 points), a narrower path of the same host
// (AVX-512's 16 lanes need 256 points, AVX2's 8 lanes 64).
func fourStepKernels(n int, isa kernels.ISA) (k laneKernels, n1, n2 int, ok bool) {
	paths := []kernels.ISA{isa}
	if isa == kernels.AVX512 {
		paths = append(paths, kernels.AVX2)
	}
	for _, p := range paths {
		if k = kernelsFor(p); k.set != nil {
			if n1, n2, ok = fourStepSplit(n, k.set.Lanes); ok {
				return k, n1, n2, true
			}
		}
	}
	return laneKernels{}, 0, 0, false
}

// fourStepSplit picks n = n1*n2, both products of 2s and 3s and
// multiples of lanes, n1 the nearest to sqrt(n) (the smaller, so that
// the second pass has the longer lanes); ok is false if there is none.
func fourStepSplit(n, lanes int) (n1, n2 int, ok bool) {
	if !laneFactors(n) || n%(lanes*lanes) != 0 {
		return 0, 0, false
	}
	for d := lanes; d*d <= n; d += lanes {
		if n%d == 0 && (n/d)%lanes == 0 {
			n1, n2, ok = d, n/d, true
		}
	}
	return n1, n2, ok
}

// laneFactors reports whether n is a product of 2s and 3s.
func laneFactors(n int) bool {
	if n < 1 {
		return false
	}
	m := n
	for m%2 == 0 {
		m /= 2
	}
	for m%3 == 0 {
		m /= 3
	}
	return m == 1
}

// workLen is the scratch floats of a call: two split buffers and the
// lane plans' scratch.
func (f *fourStep) workLen() int {
	n := f.laneOff() + max(f.cols.WorkLen(f.n2), f.rows.WorkLen(f.n1))
	if f.blocks != nil {
		n = max(n, f.blocks.size)
	}
	return n + alignSlack
}

// alignSlack is the floats a caller's scratch may lose to aligned.
const alignSlack = 15

// aligned returns work from its first 64-byte boundary: a scratch
// buffer at a float offset (a caller's slice of a larger one) would
// otherwise split every vector load across two cache lines, which on
// AVX-512 costs the transforms half their speed.
func aligned(work []float32) []float32 {
	skip := int((64 - uintptr(unsafe.Pointer(unsafe.SliceData(work)))%64) % 64 / 4)
	return work[min(skip, len(work)):]
}

// laneOff is where the lane transforms' scratch starts in work.
func (f *fourStep) laneOff() int { return 2 * (2*f.n + 2*planePad) }

// split returns the split buffer i (0 or 1) of work, rows of step.
func (f *fourStep) split(work []float32, i, step int) Split {
	base := i * (2*f.n + 2*planePad)
	return Split{Data: work, Re: base, Im: base + f.n + planePad, Step: step}
}

// plane returns the n floats of a plane of s.
func (f *fourStep) plane(s Split, im bool) []float32 {
	if im {
		return s.Data[s.Im:][:f.n]
	}
	return s.Data[s.Re:][:f.n]
}

// transform computes dst = DFT(src) (inverse: the unnormalized inverse)
// of n values on work (workLen floats). dst may be src.
func (f *fourStep) transform(dst, src []complex64, work []float32, inverse bool) {
	work = f.checkWork(work)
	if f.blocks != nil {
		f.blocks.transform(f, dst, src, work, inverse)
		return
	}
	a, b := f.split(work, 0, f.n2), f.split(work, 1, f.n2)
	f.k.unzip(f.plane(a, inverse), f.plane(a, !inverse), src[:f.n])
	f.core(work)
	f.k.zip(dst[:f.n], f.plane(b, inverse), f.plane(b, !inverse))
}

// checkWork panics if work is short, and returns it aligned (aligned).
func (f *fourStep) checkWork(work []float32) []float32 {
	if len(work) < f.workLen() {
		panic(fmt.Sprintf("fft: four-step transform of %d points: len(work) = %d floats, need %d", f.n, len(work), f.workLen()))
	}
	return aligned(work)
}

// core runs steps 2 to 5: the forward transform of split buffer 0 (rows
// of n2) into split buffer 1 (natural order); buffer 0 is clobbered.
func (f *fourStep) core(work []float32) {
	a, b := f.split(work, 0, f.n2), f.split(work, 1, f.n2)
	f.k.run(work, f.colCalls)
	tw := Split{Data: f.tw, Re: 0, Im: f.n, Step: f.n2}
	f.k.mul(Mul, b.at(0), b.at(0), tw.at(0), f.n)
	for _, im := range []bool{false, true} {
		f.k.transpose(f.plane(a, im), 0, f.n1, f.plane(b, im), 0, f.n2, f.n1, f.n2)
	}
	f.k.run(work, f.rowCalls)
}

// floats views a complex64 scratch buffer as its floats.
func floats(c []complex64) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(c))), 2*len(c))
}
