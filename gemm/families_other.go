//go:build !(amd64 || arm64) || purego

package gemm

import "github.com/convkit/convkit/kernels"

// tileCandidates: no strided kernel families without generated assembly;
// the driver runs kernels.Bound().Gemm.Micro on packed panels instead.
func tileCandidates(i kernels.ISA) []*tileKernels { return nil }

// narrowFamily: none without generated assembly.
func narrowFamily(i kernels.ISA) *tileKernels { return nil }
