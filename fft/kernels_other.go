//go:build !(amd64 || arm64) || purego

package fft

import (
	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/kernels"
)

// generatedSet: none without generated assembly; every path runs the
// twins.
func generatedSet(isa kernels.ISA) *asm.FFTKernelSet { return nil }
