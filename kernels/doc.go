// Package kernels detects the CPU's SIMD features once and binds every
// primitive of convkit to the fastest implementation this host can run:
// generated assembly from package asm, or the pure-Go reference that lives
// here and serves as the test oracle for every assembly kernel.
//
// The bound kernels are plain func values in an immutable Table (Vec: the
// vector primitives, the stride-2 row kernels Gather2, ScatterAdd2 and
// Interleave2 of im2col and col2im among them; Gemm: the SGEMM
// micro-kernel; Peak: the FMA throughput probe), published through an
// atomic pointer that Bound loads; higher packages (gemm, fft, conv) call
// them without knowing which ISA is behind them.
//
// The choice can be forced: set CONVKIT_ISA=generic|avx2|avx512|neon in the
// environment before the program starts, or call Use (at start-up or in
// tests: it rebinds the whole process, safely but globally). Asking
// for a path the CPU cannot run is an error (Use) or a panic at start-up
// naming the variable (CONVKIT_ISA), never a SIGILL. A forced path may
// still borrow a narrower path's kernels where the host runs them (conv's
// depthwise rows end in AVX2's 8 lanes under AVX-512); forcing generic
// runs Go alone.
//
// Table entries are raw kernels: they trust their preconditions (documented
// on each field) so that hot loops pay nothing for checks. The exported
// functions of the same names (Axpy, Dot, ...) check their arguments and
// panic with a message naming the parameter, as gonum's BLAS does.
package kernels
