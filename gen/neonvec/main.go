// Command neonvec generates convkit's arm64 vector primitives (Axpy, Dot,
// Scale, Add, Relu, ReluBackward, Max, Sum) and the FMA-peak probe:
//
//	go run -C ../gen ./neonvec -out ../asm/vec_arm64.s -stubs ../asm/vec_arm64.go -pkg asm
//
// Each kernel is written once against an isa description (vector
// arrangement, unroll, accumulators), so a NEON-like target with another
// register width is a new isa value, not new kernel code. The meaning of
// every kernel is its pure-Go twin in kernels/vec_generic.go.
package main

import (
	"github.com/convkit/convkit/gen/arm64asm"
)

// isa is what the kernels need to know about their target beyond the
// instruction spellings.
type isa struct {
	// Name is the suffix of every kernel name ("NEON": AxpyNEON).
	Name string
	// Arr is the float32 arrangement of one vector register (S4: 128-bit
	// NEON; S2 would give a 64-bit variant of the same code).
	Arr arm64asm.Arr
	// Unroll is the number of registers per operand in the main loop; the
	// reductions keep that many independent accumulators, so the adds of
	// one iteration do not wait on each other.
	Unroll int
	// PeakAccs is the number of independent FMA chains of the peak probe:
	// at least FMA latency x FMA pipes (4 x 4 on the widest current cores).
	PeakAccs int
}

// Lanes is the number of float32 in one register.
func (c isa) Lanes() int { return c.Arr.Lanes() }

// neon is AArch64 Advanced SIMD: 32 registers of 128 bits. Four registers
// (16 floats, 64 bytes: one cache line) per main-loop step.
var neon = isa{Name: "NEON", Arr: arm64asm.S4, Unroll: 4, PeakAccs: 24}

func main() {
	arm64asm.Main("neonvec", func(f *arm64asm.File) {
		genVec(f, neon)
	})
}
