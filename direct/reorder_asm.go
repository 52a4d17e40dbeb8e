//go:build (amd64 || arm64) && !purego

package direct

import (
	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/kernels"
)

// reorderKernels returns the generated transposing pack and unpacking
// kernel of path isa for blocks of lanes channels (nil: none).
func reorderKernels(isa kernels.ISA, lanes int) (packTFunc, unpackFunc) {
	if !kernels.Supported(isa) {
		return nil, nil
	}
	var p packTFunc
	var u unpackFunc
	for i := range asm.SgemmRowSets {
		if r := &asm.SgemmRowSets[i]; r.ISA == isaName(isa) && r.Lanes == lanes {
			p = r.Kernels.PackT.Func
		}
	}
	for _, k := range asm.DirectUnpacks {
		if k.ISA == isaName(isa) && k.Lanes == lanes {
			u = k.Kernel.Func
		}
	}
	return p, u
}

// isaName is the tables' spelling of a path ("AVX2": kernels.ParseISA
// reads it back).
func isaName(isa kernels.ISA) string {
	for _, n := range []string{"AVX2", "AVX512", "NEON"} {
		if i, err := kernels.ParseISA(n); err == nil && i == isa {
			return n
		}
	}
	return ""
}
