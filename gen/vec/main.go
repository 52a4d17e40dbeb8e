// Command vec generates convkit's vector primitives (Axpy, Dot, Scale,
// Add, Relu, ReluBackward, Max, Sum, and the stride-2 Gather2,
// ScatterAdd2 and Interleave2 of im2col and col2im) and the FMA-peak
// probe as Plan 9
// assembly plus Go stubs for package asm: for AVX2+FMA and AVX-512 on
// amd64, for NEON on arm64.
//
// Every kernel is written once, against the kernel-writing layer gen/kw,
// and emitted for each ISA; the pure-Go twin named in each stub's doc
// comment (kernels.AxpyGeneric, ...) is its specification. asm/doc.go runs
//
//	go run -C ../gen ./vec -out ../asm/vec_amd64.s -stubs ../asm/vec_amd64.go -pkg asm
//	go run -C ../gen ./vec -arch arm64 -out ../asm/vec_arm64.s -stubs ../asm/vec_arm64.go -pkg asm
//
// Both outputs are written to a temporary file and renamed into place, so a
// failed run leaves the previous files intact.
package main

import "github.com/convkit/convkit/gen/kw"

func main() { kw.Main("vec", "tailmask", emit) }
