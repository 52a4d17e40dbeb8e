//go:build !(amd64 || arm64) || purego

package direct

import "github.com/convkit/convkit/kernels"

// reorderKernels: no generated kernels; the Transposer runs in Go.
func reorderKernels(kernels.ISA, int) (packTFunc, unpackFunc) { return nil, nil }
