//go:build arm64 && !purego

package gemm

import (
	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/kernels"
)

// tile8x12NEON is the NEON kernel family (gen/sgemm on the kw layer, the
// same description as the amd64 families): 8 rows x 12 columns, 24
// accumulators, P and R kernels for every row count and partial-vector n
// edges. Only correctness is checked here (qemu); its blocking comes from
// the cache sizes like every family's.
var tile8x12NEON = &tileKernels{
	name: "8x12neon", mr: 8, nr: 12,
	p: [maxMR]kernelFunc{asm.Sgemm8x12NEONP1, asm.Sgemm8x12NEONP2, asm.Sgemm8x12NEONP3, asm.Sgemm8x12NEONP4, asm.Sgemm8x12NEONP5, asm.Sgemm8x12NEONP6, asm.Sgemm8x12NEONP7, asm.Sgemm8x12NEONP8},
	r: [maxMR]kernelFunc{asm.Sgemm8x12NEONR1, asm.Sgemm8x12NEONR2, asm.Sgemm8x12NEONR3, asm.Sgemm8x12NEONR4, asm.Sgemm8x12NEONR5, asm.Sgemm8x12NEONR6, asm.Sgemm8x12NEONR7, asm.Sgemm8x12NEONR8},
}

// tileCandidates lists the generated families of a path, default first.
func tileCandidates(i kernels.ISA) []*tileKernels {
	if i == kernels.NEON {
		return []*tileKernels{tile8x12NEON}
	}
	return nil
}

// narrowFamily: NEON has one family.
func narrowFamily(i kernels.ISA) *tileKernels { return nil }
