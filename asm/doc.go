// Package asm holds the generated Plan 9 assembly kernels of convkit and
// their Go declarations. Nothing in this folder is written by hand except
// this file and table.go (the types of the generated tables): change the
// generators in ../gen and run `go generate ./...`.
//
// The meaning of every kernel is its pure-Go twin in package kernels (for
// example AxpyAVX2 implements kernels.AxpyGeneric); this package has no
// argument checks and no dispatch (beyond SgemmRows' direct calls by ISA),
// so call it through package kernels or gemm.
package asm

//go:generate go run -C ../gen ./vec -out ../asm/vec_amd64.s -stubs ../asm/vec_amd64.go -pkg asm
//go:generate go run -C ../gen ./sgemm -out ../asm/sgemm_amd64.s -stubs ../asm/sgemm_amd64.go -table ../asm/sgemm_tiles_amd64.go -pkg asm
//go:generate go run -C ../gen ./direct -out ../asm/direct_amd64.s -stubs ../asm/direct_amd64.go -table ../asm/direct_tiles_amd64.go -pkg asm
//go:generate go run -C ../gen ./winograd -out ../asm/winograd_amd64.s -stubs ../asm/winograd_amd64.go -table ../asm/winograd_kernels_amd64.go -pkg asm
//go:generate go run -C ../gen ./fft -out ../asm/fft_amd64.s -stubs ../asm/fft_amd64.go -table ../asm/fft_kernels_amd64.go -pkg asm
//go:generate go run -C ../gen ./vec -arch arm64 -out ../asm/vec_arm64.s -stubs ../asm/vec_arm64.go -pkg asm
//go:generate go run -C ../gen ./sgemm -arch arm64 -out ../asm/sgemm_arm64.s -stubs ../asm/sgemm_arm64.go -table ../asm/sgemm_tiles_arm64.go -pkg asm
//go:generate go run -C ../gen ./direct -arch arm64 -out ../asm/direct_arm64.s -stubs ../asm/direct_arm64.go -table ../asm/direct_tiles_arm64.go -pkg asm
//go:generate go run -C ../gen ./winograd -arch arm64 -out ../asm/winograd_arm64.s -stubs ../asm/winograd_arm64.go -table ../asm/winograd_kernels_arm64.go -pkg asm
//go:generate go run -C ../gen ./fft -arch arm64 -out ../asm/fft_arm64.s -stubs ../asm/fft_arm64.go -table ../asm/fft_kernels_arm64.go -pkg asm
//go:generate go run -C ../gen ./winograd -matrices ../winograd/matrices.go
