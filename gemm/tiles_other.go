//go:build !amd64 || purego

package gemm

import "github.com/convkit/convkit/kernels"

// tileCandidates: no strided kernel families outside amd64 asm builds; the
// driver runs kernels.Gemm.Micro on packed panels instead.
func tileCandidates(i kernels.ISA) []*tileKernels { return nil }
