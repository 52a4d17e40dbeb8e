//go:build !(amd64 || arm64) || purego

package winograd

import "github.com/convkit/convkit/kernels"

// generatedKernel: none without generated assembly; every path runs the
// twin.
func generatedKernel(v *Variant, k Kind, isa kernels.ISA) (kernelFunc, string, int) {
	return nil, "", 0
}
