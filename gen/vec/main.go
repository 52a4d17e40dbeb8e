// Command vec generates the amd64 vector primitives of convkit (Axpy, Dot,
// Scale, Add, Relu, ReluBackward, Max, Sum) and the FMA-peak probes, for
// AVX2+FMA and AVX-512, as Plan 9 assembly plus Go stubs for package asm.
//
// Every kernel is written once, against the ISA description in isa.go, and
// emitted for each ISA; the pure-Go twin named in each stub's doc comment
// (kernels.AxpyGeneric, ...) is its specification. It is run by
// asm/doc.go's go:generate line:
//
//	go run -C ../gen ./vec -out ../asm/vec_amd64.s -stubs ../asm/vec_amd64.go -pkg asm
//
// Both outputs are written to a temporary file and renamed into place, so a
// failed run leaves the previous files intact.
package main

import (
	"github.com/convkit/convkit/gen/internal/avomain"
	"github.com/mmcloughlin/avo/build"
)

func main() {
	ctx := build.NewContext()
	avomain.Main("vec", ctx, func() { emit(ctx) })
}
