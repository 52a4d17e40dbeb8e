//go:build amd64 && !purego

package gemm

import (
	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/kernels"
)

// microKernels lists the Micro-contract entry points of path i, so the
// portable driver runs over every generated tile too.
func microKernels(i kernels.ISA) []kernels.GemmKernels {
	g := []kernels.GemmKernels{kernels.Bound().Gemm}
	switch i {
	case kernels.AVX2:
		g = append(g, kernels.GemmKernels{MR: 6, NR: 16, Micro: asm.SgemmMicro6x16AVX2}, kernels.GemmKernels{MR: 4, NR: 24, Micro: asm.SgemmMicro4x24AVX2})
	case kernels.AVX512:
		g = append(g, kernels.GemmKernels{MR: 14, NR: 32, Micro: asm.SgemmMicro14x32AVX512}, kernels.GemmKernels{MR: 12, NR: 32, Micro: asm.SgemmMicro12x32AVX512})
	}
	return g
}
