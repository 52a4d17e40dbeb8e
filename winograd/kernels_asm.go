//go:build (amd64 || arm64) && !purego

package winograd

import (
	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/kernels"
)

// generatedKernel returns the generated kernel of v's kind k on path isa,
// its name and its lanes; nil when the build has none.
func generatedKernel(v *Variant, k Kind, isa kernels.ISA) (kernelFunc, string, int) {
	for _, g := range asm.WinogradKernels {
		if gi, err := kernels.ParseISA(g.ISA); err == nil && gi == isa && g.M == v.M && g.Kind == k.String() {
			return g.Kernel.Func, g.Kernel.Name, g.Lanes
		}
	}
	return nil, "", 0
}
