package kernels

// Table holds every kernel of one ISA path. The package-level variables Vec
// and Peak are copies of the bound table's fields.
type Table struct {
	ISA  ISA
	Vec  VecKernels
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
}

// PeakKernel runs a register-only loop of independent FMAs (enough
// accumulators to cover the FMA latency on every port) iters times and
// returns the number of floating-point operations it performed (an FMA is
// two). Timing it gives the core's FMA peak for that ISA.
type PeakKernel func(iters int) (flops int)

// The bound kernels. Use, or CONVKIT_ISA at start-up, rebinds them.
var (
	Vec  VecKernels
	Peak PeakKernel
)

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
	},
	Peak: PeakGeneric,
}
