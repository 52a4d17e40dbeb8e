//go:build amd64 && !purego

package gemm

import (
	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/kernels"
)

// microKernels lists the Micro-contract entry points of path i, the bound
// one first, then every one of the generated table, so the portable
// driver runs over every generated tile too.
func microKernels(i kernels.ISA) []kernels.GemmKernels {
	g := []kernels.GemmKernels{kernels.Bound().Gemm}
	for _, f := range asm.SgemmFamilies {
		if f.Micro.Func != nil && isaOf(f.ISA) == i {
			g = append(g, kernels.GemmKernels{MR: f.MR, NR: f.NR, Micro: f.Micro.Func})
		}
	}
	return g
}
