//go:build (amd64 || arm64) && !purego

package fft

import (
	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/kernels"
)

// generatedSet returns the generated kernels of path isa, nil when the
// build has none or the host cannot run them.
func generatedSet(isa kernels.ISA) *asm.FFTKernelSet {
	if !kernels.Supported(isa) {
		return nil
	}
	for i := range asm.FFTKernels {
		if g, err := kernels.ParseISA(asm.FFTKernels[i].ISA); err == nil && g == isa {
			return &asm.FFTKernels[i]
		}
	}
	return nil
}
