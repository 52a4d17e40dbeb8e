//go:build arm64 && !purego

package kernels

import "github.com/convkit/convkit/asm"

// neon is the NEON path: the generated kernels of asm/vec_arm64.s and
// asm/sgemm_arm64.s (gen/neonvec, gen/neonsgemm). Every arm64 Linux host has
// Advanced SIMD, so on arm64 this is what init binds unless CONVKIT_ISA
// says otherwise.
var neon = Table{
	ISA: NEON,
	Vec: VecKernels{
		Axpy:         asm.AxpyNEON,
		Dot:          asm.DotNEON,
		Scale:        asm.ScaleNEON,
		Add:          asm.AddNEON,
		Relu:         asm.ReluNEON,
		ReluBackward: asm.ReluBackwardNEON,
		Max:          asm.MaxNEON,
		Sum:          asm.SumNEON,
	},
	// 8x12: 24 q-register accumulators, FMLA by element of A against
	// three B vectors (why 8x12 rather than 12x8: gen/neonsgemm).
	Gemm: GemmKernels{MR: 8, NR: 12, Micro: asm.SgemmMicro8x12NEON},
	Peak: asm.FmaPeakNEON,
}

// tableFor returns the table of a path hostSupports (or Generic).
func tableFor(i ISA) *Table {
	if i == NEON {
		return &neon
	}
	return &generic
}
