//go:build arm64 && !purego

package kernels

import "github.com/convkit/convkit/asm"

// neon is the NEON path: the generated kernels of asm/vec_arm64.s and
// asm/sgemm_arm64.s (gen/vec and gen/sgemm with -arch arm64). Every arm64 Linux host has
// Advanced SIMD, so on arm64 this is what init binds unless CONVKIT_ISA
// says otherwise.
var neon = Table{
	ISA: NEON,
	Vec: VecKernels{
		Axpy:             asm.AxpyNEON,
		Dot:              asm.DotNEON,
		Scale:            asm.ScaleNEON,
		Add:              asm.AddNEON,
		Relu:             asm.ReluNEON,
		ReluBackward:     asm.ReluBackwardNEON,
		Max:              asm.MaxNEON,
		Sum:              asm.SumNEON,
		Gather2:          asm.Gather2NEON,
		MaxPool2:         asm.MaxPool2NEON,
		MaxPool2Backward: asm.MaxPool2BackwardNEON,
		ScatterAdd2:      asm.ScatterAdd2NEON,
		Interleave2:      asm.Interleave2NEON,
		DotShifts3:       asm.DotShifts3NEON,
		DotShifts5:       asm.DotShifts5NEON,
		DotGrid3:         asm.DotGrid3NEON,
		CopyRows:         asm.CopyRowsNEON,
	},
	// The default family's Micro in the generated table (gemm_asm.go):
	// 8x12, 24 accumulators, three B vectors.
	Gemm: defaultMicro(NEON),
	Peak: asm.FmaPeakNEON,
}

// tableFor returns the table of a path hostSupports (or Generic).
func tableFor(i ISA) *Table {
	if i == NEON {
		return &neon
	}
	return &generic
}
