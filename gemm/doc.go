// Package gemm is convkit's single-precision matrix product (SGEMM):
// BLIS-style cache blocking, packing of A and B into panels, generated
// MR x NR micro-kernels for every ISA, and goroutine parallelism. Every
// algorithm of package conv that lowers to a matrix product stands on it.
package gemm
