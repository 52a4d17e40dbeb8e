// Command convkit benchmarks convkit's kernels, describes the CPU and the
// kernels bound to it, checks golden vectors, and trains LeNet-5 on MNIST.
//
//	convkit info                      CPU, ISA paths, bound kernels, FMA peak
//	convkit bench                     the report: GEMM then conv, built-in shapes
//	convkit bench gemm [flags]        SGEMM benchmark (with the gonum peer)
//	convkit bench conv [flags]        convolution benchmark
//	convkit bench fft [flags]         FFT benchmark (with the gonum peer)
//	convkit golden -dir DIR           check a golden-vector directory
//	convkit mnist [flags]             train LeNet-5 on MNIST
//	convkit help [command]            usage
//
// Exit status: 0 on success, 1 on failure (a failed golden case, an I/O
// error), 2 on a usage error.
package main

import (
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command, minus the process: tests call it directly.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		writeUsage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return helpFor(args[1:], stdout, stderr)
		}
		writeUsage(stdout)
		return 0
	case "info":
		return runInfo(args[1:], stdout, stderr)
	case "bench":
		return runBench(args[1:], stdout, stderr)
	case "golden":
		return runGolden(args[1:], stdout, stderr)
	case "mnist":
		return runMnist(args[1:], stdout, stderr)
	}
	return usageError(stderr, "unknown command %q", args[0])
}
