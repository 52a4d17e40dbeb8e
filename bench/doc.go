// Package bench runs convkit's benchmarks (GEMM and convolution workloads
// read from shape files) and formats the comparison report. Peers such as
// gonum are imported here, never by the library itself.
package bench
