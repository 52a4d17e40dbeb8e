//go:build !amd64 || purego

package gemm

import "github.com/convkit/convkit/kernels"

// microKernels lists the Micro-contract kernels of path i: the bound one.
func microKernels(i kernels.ISA) []kernels.GemmKernels {
	return []kernels.GemmKernels{kernels.Bound().Gemm}
}
