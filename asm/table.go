package asm

import "fmt"

// The types of the generated kernel tables. A generator lists everything
// it emitted in a table (sgemm_tiles_amd64.go for gen/sgemm): each kernel's
// assembly symbol next to its Go value, grouped by family with the ISA,
// tile shape and operand form. Dispatch and tests iterate the tables
// instead of naming symbols, and an interpreter of the .s files finds a
// kernel by its Name. The types are generic in the kernel signature so
// that every kernel family (SGEMM tiles today, convolution and transform
// kernels next) is listed in the same shape.

// Kernel is one generated kernel.
type Kernel[F any] struct {
	Name string // its TEXT symbol, e.g. "Sgemm6x16AVX2P3"
	Func F      // its code
}

// Form is the operand form of a tile kernel: the letter before the row
// count in its name.
type Form byte

// The operand forms of the SGEMM tile kernels.
const (
	// FormP reads A(i, p) = a[i+p*sa]: a packed MR-row panel (sa = MR)
	// or a transposed A in place (sa = lda).
	FormP Form = 'P'
	// FormR reads A(i, p) = a[i*sa+p]: a row-major A in place (sa = lda).
	FormR Form = 'R'
	// FormQ is FormP prefetching B's rows ahead, for a B read in place
	// whose strip does not stay in L1.
	FormQ Form = 'Q'
)

// Role is what a tile family is generated for; a family no code uses is
// not generated.
type Role uint8

// The roles of a tile family.
const (
	// RoleDefault is the ISA's default family (the first of the ISA in its
	// table).
	RoleDefault Role = iota
	// RoleNarrow is the family for products no wider than its NR.
	RoleNarrow
	// RoleCandidate is a family kept for the benchmarks that compare the
	// candidates with the default on a new CPU.
	RoleCandidate
)

// FormKernels are the kernels of one operand form of a tile family:
// Rows[r-1] computes a tile of r rows.
type FormKernels[F any] struct {
	Form Form
	Rows []Kernel[F]
}

// TileFamily is one generated register-tile family of one ISA: for each of
// its operand forms, a kernel for every row count 1..MR of an MR x NR tile,
// so that a matrix edge never needs rows past it.
type TileFamily[F any] struct {
	ISA    string // the suffix of the kernel names: "AVX2", "AVX512"
	Lanes  int    // float32 lanes per vector
	MR, NR int
	Role   Role
	Forms  []FormKernels[F] // in the order of the symbols
}

// Name is the family's part of its kernels' names, e.g. "6x16AVX2".
func (f *TileFamily[F]) Name() string { return fmt.Sprintf("%dx%d%s", f.MR, f.NR, f.ISA) }

// Form returns the kernels of operand form x (Rows[r-1] for r rows), nil
// when the family has no such form.
func (f *TileFamily[F]) Form(x Form) []Kernel[F] {
	for _, fk := range f.Forms {
		if fk.Form == x {
			return fk.Rows
		}
	}
	return nil
}

// SgemmTileFunc is the signature of every SGEMM tile kernel: see
// Sgemm6x16AVX2P1 for the contract.
type SgemmTileFunc = func(k int, a *float32, sa int, b *float32, sb int, c *float32, ldc int, nr int, alpha float32, beta float32, tiles int, an int, bn int, cn int)

// SgemmMicroFunc is the kernels.GemmKernels.Micro contract.
type SgemmMicroFunc = func(k int, a, b, c []float32, ldc int, alpha, beta float32)

// SgemmFamily is one SGEMM tile family and its Micro entry point.
type SgemmFamily struct {
	TileFamily[SgemmTileFunc]
	// Micro is the packed, full-tile GemmKernels.Micro entry point:
	// package kernels binds the RoleDefault family's; the RoleCandidate
	// families have one for the tests, RoleNarrow families none (Name "").
	Micro Kernel[SgemmMicroFunc]
}

// SgemmRowKernels are the row kernels of one ISA, the packing routines and
// the matrix-vector kernels of package gemm (see each symbol's contract).
type SgemmRowKernels struct {
	PackT     Kernel[SgemmPackTFunc]
	PackN     Kernel[SgemmPackNFunc]
	PackRows  Kernel[SgemmPackRowsFunc]
	DotRows4  Kernel[SgemmDotRows4Func]
	AxpyRows4 Kernel[SgemmAxpyRows4Func]
}

// The signatures of the row kernels (SgemmPackT8AVX2, SgemmPackNAVX2, ...
// state the contracts). PackT transposes Lanes x Lanes blocks; its rows
// points at Lanes row pointers.
type (
	SgemmPackTFunc     = func(dst *float32, w int, rows **float32, blocks int)
	SgemmPackNFunc     = func(dst *float32, dw int, src *float32, ld int, n int, rows int)
	SgemmPackRowsFunc  = func(dst *float32, w int, ps int, src *float32, ld int, panels int, rows int)
	SgemmDotRows4Func  = func(x *float32, rows *[4]*float32, k int, out *[4]float32)
	SgemmAxpyRows4Func = func(acc *float32, n int, rows *[4]*float32, x *[4]float32)
)

// SgemmRows is the row kernels of one ISA. Its methods (generated beside
// the table) call them directly, not through the Func values: a call
// through a func value makes pointers to the caller's stack escape, so the
// hot paths would allocate.
type SgemmRows struct {
	ISA     string
	Lanes   int
	Kernels SgemmRowKernels
}

// DirectTileFunc is the signature of every direct-convolution tile
// kernel: see Direct1x1AVX2B for the contract. taps points at ntaps pairs
// of ints, each a tap's byte offsets: of its input from the tile's first
// input, and of its weights in the weight block.
type DirectTileFunc = func(dst *float32, src *float32, w *float32, taps *int, ntaps int, icb int, srcICB int, wICB int, srcPix int, dstPix int, dstOCB int, bias *float32, res *float32, flags int)

// DirectFamily is the direct-convolution kernels of one ISA, input form
// and tile height B: Kernels[u-1] computes u pixels x B vectors of output
// channels, for every u up to U.
type DirectFamily struct {
	ISA   string // the suffix of the kernel names: "AVX2", "AVX512", "NEON"
	Lanes int    // float32 lanes per vector
	// Form is the input form: 'B' (channel blocks of Lanes, interleaved in
	// each pixel: Cin = Lanes per tap step) or 'P' (one channel per step,
	// Cin = 1: channel planes).
	Form    byte
	Cin     int
	U, B    int
	Kernels []Kernel[DirectTileFunc]
}

// DirectUnpackFunc moves channel-blocked pixels into channel planes: see
// DirectUnpackAVX2 for the contract.
type DirectUnpackFunc = func(dst *float32, stride int, src *float32, blocks int)

// DirectUnpack is one ISA's unpacking kernel.
type DirectUnpack struct {
	ISA    string
	Lanes  int
	Kernel Kernel[DirectUnpackFunc]
}

// DepthwiseFunc is the signature of every depthwise-convolution kernel:
// see Depthwise1x1AVX2C for the contract. taps points at ntaps pairs of
// ints, each a tap's byte offsets: of its input from the tile's first
// input, and of its weights. chStride (bytes between output channels'
// planes) is read by mode 'K' only.
type DepthwiseFunc = func(dst *float32, src *float32, w *float32, taps *int, ntaps int, tiles int, srcPix int, dstPix int, bias *float32, res *float32, flags int, chStride int)

// DepthwiseFamily is the depthwise kernels of one ISA, mode and width B:
// Kernels[u-1] computes tiles of u x B vectors, for every u up to U.
type DepthwiseFamily struct {
	ISA   string
	Lanes int
	// Mode is what the vectors hold: 'C' (Lanes channels of one pixel, a
	// weight vector per tap, B = 1), 'W' (Lanes neighbouring pixels of
	// one channel's row, one weight per tap broadcast; U rows of B
	// vectors) or 'K' (as W, one vector per row, for B output channels
	// whose planes are chStride bytes apart and whose weights of a tap
	// are contiguous), or 'R' (as W, for a filter of KH rows at stride 1
	// and dilation 1 down the plane: the taps come as columns of KH, and
	// each input row's vector is loaded once for the output rows it
	// serves).
	Mode    byte
	KH      int // mode R's filter height (0 in the other modes)
	U, B    int
	Kernels []Kernel[DepthwiseFunc]
}

// WinogradFunc is the signature of every Winograd transform kernel: see
// WinogradInF4AVX2 for the contract.
type WinogradFunc = func(dst *float32, src *float32, tmp *float32, coef *float32, bias *float32, n int, srcStride int, dstStride int)

// WinogradKernel is one generated Winograd transform: of variant
// F(M x M, 3 x 3), kind "In" (input), "Out" (output, + bias) or "Filter",
// or of its weight-gradient form F(3 x 3, M x M), "GradDy" or "GradDw".
type WinogradKernel struct {
	ISA    string
	Lanes  int
	M      int
	Kind   string
	Kernel Kernel[WinogradFunc]
}

// FFTStageFunc is the signature of the FFT butterflies and RealPair
// kernels: see FFTRadix4AVX2 and FFTRealPairAVX2.
type FFTStageFunc = func(dst *float32, src *float32, tw *float32, n int, srcStep int, dstStep int, srcIm int, dstIm int, count int, srcNext int, dstNext int)

// FFTRowsFunc is the signature of the FFT products by one scalar per
// row: see FFTScaleAddConjAVX2.
type FFTRowsFunc = func(dst *float32, src *float32, tw *float32, n int, rows int, pitch int, srcIm int, dstIm int)

// FFTMulFunc is the signature of the FFT products: see FFTMulAddAVX2.
type FFTMulFunc = func(dst *float32, a *float32, b *float32, n int, dstIm int, aIm int, bIm int)

// FFTTransposeFunc is the signature of the FFT plane transpose: see
// FFTTransposeAVX2.
type FFTTransposeFunc = func(dst *float32, src *float32, rows int, cols int, srcPitch int, dstPitch int)

// FFTUnzipFunc is the signature of the split of interleaved pairs into
// planes: see FFTUnzipAVX2.
type FFTUnzipFunc = func(re *float32, im *float32, src *float32, n int, rows int, srcPitch int, dstPitch int)

// FFTZipFunc is the signature of the interleave of two planes: see
// FFTZipAVX2.
type FFTZipFunc = func(dst *float32, re *float32, im *float32, n int, rows int, dstPitch int, srcPitch int)

// FFTRealHalfFunc is the signature of the real transform's step on one
// signal: see FFTRealHalfAVX2.
type FFTRealHalfFunc = func(dstA *float32, dstB *float32, srcA *float32, srcB *float32, tw *float32, alpha float32, count int, dstIm int, srcIm int, twIm int)

// FFTSumFunc is the signature of the channel sums of the products by
// one scalar per row: see FFTConjSumAVX2.
type FFTSumFunc = func(dst *float32, src *float32, tw *float32, n int, rows int, pitch int, srcIm int, dstIm int, chans int, srcChan int, twChan int)

// FFTKernelSet is the generated FFT kernels of one ISA: the Stockham
// butterflies by radix (Radix[2], [3], [4], and [8] on ISAs of 32
// vector registers; a radix without a kernel has a nil Func), the real-transform
// step, the run times one conjugated scalar, the split complex
// products, the block transpose of a plane, and the moves between
// interleaved pairs and split planes.
type FFTKernelSet struct {
	ISA                              string
	Lanes                            int
	Radix                            [9]Kernel[FFTStageFunc]
	RadixLast                        [9]Kernel[FFTStageFunc] // a last stage's: no twiddles
	RealPair                         Kernel[FFTStageFunc]
	ScaleAddConj                     Kernel[FFTRowsFunc]
	ConjSum                          Kernel[FFTSumFunc]
	Mul, MulConj, MulAdd, MulAddConj Kernel[FFTMulFunc]
	Transpose                        Kernel[FFTTransposeFunc]
	Unzip                            Kernel[FFTUnzipFunc]
	Zip                              Kernel[FFTZipFunc]
	RealHalf                         Kernel[FFTRealHalfFunc]
}
