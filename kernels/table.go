package kernels

import "sync/atomic"

// Table holds every kernel of one ISA path. The tables are built once and
// never modified: Bound and TableFor hand out pointers to them, which
// callers must treat as read-only.
type Table struct {
	ISA  ISA
	Vec  VecKernels
	Gemm GemmKernels
	Peak PeakKernel
}

// VecKernels are the elementwise and reduction primitives. Each entry is
// raw: it trusts the preconditions on its field (the checked functions
// Axpy, Dot, ... of this package verify them). A kernel never touches an
// element past the lengths it was given.
type VecKernels struct {
	// Axpy computes y[i] += alpha*x[i] for i < len(x); len(y) >= len(x).
	Axpy func(alpha float32, x, y []float32)
	// Dot returns sum x[i]*y[i] for i < len(x); len(y) >= len(x).
	Dot func(x, y []float32) float32
	// Scale computes x[i] *= alpha in place.
	Scale func(alpha float32, x []float32)
	// Add computes dst[i] = x[i] + y[i] for i < len(dst); len(x), len(y) >= len(dst).
	Add func(dst, x, y []float32)
	// Relu computes dst[i] = max(x[i], 0) for i < len(dst), propagating NaN;
	// len(x) >= len(dst). dst and x may be the same slice.
	Relu func(dst, x []float32)
	// ReluBackward computes dx[i] = dy[i] if x[i] > 0 else 0 for i < len(dx)
	// (PyTorch's threshold_backward: NaN in x gives 0); len(x), len(dy) >= len(dx).
	ReluBackward func(dx, x, dy []float32)
	// Max returns the largest element, NaN if any element is NaN, and -Inf
	// for an empty slice.
	Max func(x []float32) float32
	// Sum returns the sum of the elements (0 for an empty slice).
	Sum func(x []float32) float32
	// Gather2 computes dst[i] = src[2*i] for i < len(dst): im2col's row
	// copy at stride 2. len(src) >= 2*len(dst)-1 (src[2*len(dst)-1] is
	// never read).
	Gather2 func(dst, src []float32)
	// ScatterAdd2 computes dst[2*i] += src[i] for i < len(src): col2im's
	// row accumulation at stride 2. The odd elements of dst keep their
	// bits, but the vector paths read and write them back: no other
	// goroutine may write them during the call. len(dst) >= 2*len(src)-1
	// (dst[2*len(src)-1] is never touched).
	ScatterAdd2 func(dst, src []float32)
	// Interleave2 computes dst[2*i], dst[2*i+1] = even[i], odd[i] for
	// i < len(even): the row store of a stride-2, 2-tap col2im whose taps
	// do not overlap. len(odd) >= len(even), len(dst) >= 2*len(even).
	Interleave2 func(dst, even, odd []float32)
	// DotShifts3 sets sums[t] = sum x[i]*y[t*step+i] over i < len(x), for
	// t < 3: the dot products of x with three windows of y step floats
	// apart, in one pass (a depthwise filter gradient's row of 3 taps).
	// step >= 0, len(y) >= len(x)+2*step, len(sums) >= 3.
	DotShifts3 func(x, y []float32, step int, sums []float32)
	// DotShifts5 is DotShifts3 for t < 5: len(y) >= len(x)+4*step,
	// len(sums) >= 5.
	DotShifts5 func(x, y []float32, step int, sums []float32)
	// DotGrid3 sets sums[3*a+b] = sum x[a*xstep+i]*y[b*ystep+i] over
	// i < n, for a, b < 3: the dot products of three windows of x with
	// three of y, in one pass (a depthwise 3x3 filter gradient). n,
	// xstep, ystep >= 0; len(x) >= n+2*xstep, len(y) >= n+2*ystep,
	// len(sums) >= 9.
	DotGrid3 func(x, y []float32, n, xstep, ystep int, sums []float32)
	// CopyRows copies rows rows of w floats: dst[r*dstPitch+i] =
	// src[r*srcPitch+i] for r < rows, i < w. rows, w >= 0; dst and src
	// hold (rows-1)*pitch+w floats when rows*w > 0, and do not overlap.
	CopyRows func(dst, src []float32, rows, w, dstPitch, srcPitch int)
	// MaxPool2 is the 2x2 stride-2 max pooling of rows rows of ow outputs:
	// y[r*ow+i] is the max of the window at columns 2i, 2i+1 of x's rows
	// 2r and 2r+1 (w floats apart) by PyTorch's rule (a later value wins
	// when greater or NaN: the first of equal maxima, the last NaN).
	// rows, ow >= 0, w >= 2*ow, len(y) >= rows*ow, and x holds
	// (2*rows-1)*w + 2*ow floats when rows*ow > 0.
	MaxPool2 func(y, x []float32, rows, ow, w int)
	// MaxPool2Backward writes the gradient of those windows into dx (laid
	// out as x): dy[r*ow+i] to the element whose input won MaxPool2's
	// window, +0 to its other three; the columns past 2*ow are not
	// touched. dx and x as MaxPool2's x, dy as its y.
	MaxPool2Backward func(dx, x, dy []float32, rows, ow, w int)
}

// GemmKernels are the SGEMM micro-kernels of one path (see package gemm).
type GemmKernels struct {
	// MR x NR is the register tile of Micro.
	MR, NR int
	// Micro computes one MR x NR tile of C from packed panels:
	//
	//	for i < MR, j < NR:
	//	  ab := sum over p < k of a[p*MR+i] * b[p*NR+j]
	//	  c[i*ldc+j] = alpha*ab + beta*c[i*ldc+j]   (beta == 0: c is not read)
	//
	// Preconditions: k >= 0, len(a) >= k*MR, len(b) >= k*NR,
	// ldc >= NR, len(c) >= (MR-1)*ldc+NR.
	Micro func(k int, a, b, c []float32, ldc int, alpha, beta float32)
}

// PeakKernel runs a register-only loop of independent FMAs (enough
// accumulators to cover the FMA latency on every port) iters times and
// returns the number of floating-point operations it performed (an FMA is
// two). Timing it gives the core's FMA peak for that ISA.
type PeakKernel func(iters int) (flops int)

// bound is the table of the bound path: CONVKIT_ISA or the best path at
// start-up, then whatever Use last chose. Use replaces the pointer and
// never writes through it, so a reader that loaded it runs one coherent
// table to the end of its call.
var bound atomic.Pointer[Table]

// Bound returns the table of the bound path, for callers that dispatch
// through it (Bound().Vec.Axpy, Bound().Gemm.Micro, Bound().Peak). It costs
// one atomic load; a loop may keep the pointer, which stays valid after a
// later Use. The table is shared: do not modify it.
func Bound() *Table { return bound.Load() }

// generic is the pure-Go table: the fallback and the oracle.
var generic = Table{
	ISA: Generic,
	Vec: VecKernels{
		Axpy:         AxpyGeneric,
		Dot:          DotGeneric,
		Scale:        ScaleGeneric,
		Add:          AddGeneric,
		Relu:         ReluGeneric,
		ReluBackward: ReluBackwardGeneric,
		Max:          MaxGeneric,
		Sum:          SumGeneric,
		Gather2:      Gather2Generic,
		ScatterAdd2:  ScatterAdd2Generic,
		Interleave2:  Interleave2Generic,
		DotShifts3:   DotShifts3Generic,
		DotShifts5:   DotShifts5Generic,
		DotGrid3:     DotGrid3Generic,
		CopyRows:     CopyRowsGeneric,

		MaxPool2:         MaxPool2Generic,
		MaxPool2Backward: MaxPool2BackwardGeneric,
	},
	Gemm: GemmKernels{MR: 4, NR: 4, Micro: MicroGeneric4x4},
	Peak: PeakGeneric,
}
