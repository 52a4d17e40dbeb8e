//go:build arm64 && !purego

package kernels

import "github.com/convkit/convkit/asm"

// neon is the NEON path: the generated kernels of asm/vec_arm64.s (see
// gen/neonvec). Every arm64 Linux host has Advanced SIMD, so on arm64 this
// is what init binds unless CONVKIT_ISA says otherwise.
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
	Gemm: generic.Gemm,
	Peak: asm.FmaPeakNEON,
}

// tableFor returns the table of a path hostSupports (or Generic).
func tableFor(i ISA) *Table {
	if i == NEON {
		return &neon
	}
	return &generic
}
