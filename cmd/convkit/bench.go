package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/convkit/convkit/bench"
	convpkg "github.com/convkit/convkit/conv"
	"github.com/convkit/convkit/kernels"
)

// benchOpts holds the flags of bench, bench gemm and bench conv (each
// defines the subset it uses).
type benchOpts struct {
	shapes   string
	threads  string
	isa      string
	format   string
	peers    bool
	algo     string
	pass     string
	verify   bool
	layout   string
	lowered  bool
	minTime  time.Duration
	maxTime  time.Duration
	peakTime time.Duration
	quiet    bool
}

// benchFlags defines the flags of a bench command; gemm and conv say which
// workloads it runs. Only the subcommands take -shapes.
func benchFlags(name string, gemm, conv bool) (*flag.FlagSet, *benchOpts) {
	fs := newFlagSet(name)
	o := &benchOpts{}
	if name != "bench" {
		fs.StringVar(&o.shapes, "shapes", "", "shape `FILE` (the format of bench/shapes/*.tsv); default: the built-in public shapes")
	}
	fs.StringVar(&o.threads, "threads", "", "thread counts, comma-separated (default: 1 and the number of logical CPUs)")
	fs.StringVar(&o.isa, "isa", "", "ISA paths, comma-separated, or 'all' for every path this host runs (default: the bound one)")
	fs.StringVar(&o.format, "format", "table", "output format: table, tsv or json")
	if gemm {
		fs.BoolVar(&o.peers, "peers", true, "add a gonum Sgemm row (isa 'gonum') per GEMM shape and thread count")
	}
	if conv {
		fs.StringVar(&o.algo, "algo", "auto", "conv algorithms, comma-separated: auto, direct, im2col, winograd, fft, or 'all'")
		fs.StringVar(&o.pass, "pass", "fwd,bwd-data,bwd-filter", "conv passes, comma-separated: fwd, bwd-data, bwd-filter, or 'all'")
		fs.BoolVar(&o.lowered, "lowered-gemm", false, "add a row of convkit's SGEMM on the GEMM of each N=1, groups=1, untransposed shape's im2col forward pass (algo sgemm:MxNxK)")
		fs.StringVar(&o.layout, "layout", "nchw", "conv activation layout: nchw (channels first, as PyTorch), nhwc (channels last), or blocked (nchw16c, nchw8c, nchw4c: channels in blocks; \"blocked\" is the host's direct kernels' own)")
		fs.BoolVar(&o.verify, "verify", false, "verify each conv result against a float64 reference (adds max_rel_err = max|y-ref|/max|ref|)")
	}
	fs.DurationVar(&o.minTime, "min-time", bench.DefaultTiming.MinTime, "time each row at least this long (and at least 5 calls), after a warm-up call")
	fs.DurationVar(&o.maxTime, "max-time", bench.DefaultTiming.MaxTime, "stop timing a row after this long (one call if the warm-up alone takes longer)")
	fs.DurationVar(&o.peakTime, "peak-time", bench.DefaultPeakDuration, fmt.Sprintf("duration of each repeat of the FMA peak probes beside every shape's rows (best of %d)", bench.DefaultPeakRepeats))
	fs.BoolVar(&o.quiet, "quiet", false, "do not print progress to stderr")
	return fs, o
}

func runBench(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "gemm":
			return runBenchCmd("bench gemm", true, false, args[1:], stdout, stderr)
		case "conv":
			return runBenchCmd("bench conv", false, true, args[1:], stdout, stderr)
		case "fft":
			return runBenchFFT(args[1:], stdout, stderr)
		}
		return commandUsageError(stderr, "bench", "unknown subcommand %q (known: gemm, conv, fft)", args[0])
	}
	return runBenchCmd("bench", true, true, args, stdout, stderr)
}

// runBenchCmd runs bench (gemm and conv), bench gemm or bench conv. The
// exit status is 1 if a row's status is an error (a wrong result, a
// panic); rows that are not implemented yet do not fail the command.
func runBenchCmd(name string, gemm, conv bool, args []string, stdout, stderr io.Writer) int {
	fs, o := benchFlags(name, gemm, conv)
	if st := parseFlags(fs, name, args, stdout, stderr); st >= 0 {
		return st
	}
	if !slices.Contains(bench.Formats, o.format) {
		return commandUsageError(stderr, name, "-format %q: want table, tsv or json", o.format)
	}
	threads, err := parseThreads(o.threads)
	if err != nil {
		return commandUsageError(stderr, name, "-threads: %v", err)
	}
	isas, err := parseISAs(o.isa)
	if err != nil {
		return commandUsageError(stderr, name, "-isa: %v", err)
	}
	if o.minTime < 0 || o.maxTime < 0 || o.peakTime <= 0 {
		return commandUsageError(stderr, name, "-min-time, -max-time and -peak-time must be positive")
	}
	timing := bench.Timing{MinTime: o.minTime, MinRuns: bench.DefaultTiming.MinRuns, MaxTime: o.maxTime}
	peaks := bench.NewPeakMeter(o.peakTime)
	var progress func(bench.Result)
	if !o.quiet {
		progress = func(r bench.Result) { fmt.Fprintf(stderr, "convkit %s: %s\n", name, progressLine(r)) }
	}
	rep := &bench.Report{RanGemm: gemm, RanConv: conv, ConvVerify: o.verify}

	if gemm {
		shapes := bench.DefaultGemmShapes()
		if o.shapes != "" {
			if shapes, err = bench.LoadGemmShapes(o.shapes); err != nil {
				fmt.Fprintf(stderr, "convkit %s: %v\n", name, err)
				return 1
			}
		}
		rep.Gemm = bench.RunGemm(shapes, bench.GemmOptions{
			ISAs: isas, Threads: threads, Peers: o.peers, Timing: timing, Peaks: peaks, Progress: progress,
		})
	}
	if conv {
		passes, err := bench.ParsePasses(o.pass)
		if err != nil {
			return commandUsageError(stderr, name, "-pass: %v", err)
		}
		algos, err := bench.ParseAlgos(o.algo)
		if err != nil {
			return commandUsageError(stderr, name, "-algo: %v", err)
		}
		layout, err := convpkg.ParseLayout(o.layout)
		if err != nil {
			return commandUsageError(stderr, name, "-layout: %q: want nchw, nhwc, blocked (the host's direct kernels' blocks), nchw4c, nchw8c or nchw16c", o.layout)
		}
		o.layout = layout.String()
		shapes := bench.DefaultConvShapes()
		if o.shapes != "" {
			if shapes, err = bench.LoadConvShapes(o.shapes); err != nil {
				fmt.Fprintf(stderr, "convkit %s: %v\n", name, err)
				return 1
			}
		}
		rep.Conv = bench.RunConv(shapes, bench.ConvOptions{
			Algos: algos, Passes: passes, ISAs: isas, Threads: threads, Verify: o.verify, Layout: o.layout, LoweredGEMM: o.lowered,
			Timing: timing, Peaks: peaks, Progress: progress,
		})
	}
	rep.Peaks = peaks.Results()
	if err := rep.Write(stdout, o.format); err != nil {
		fmt.Fprintf(stderr, "convkit %s: %v\n", name, err)
		return 1
	}
	for _, r := range append(rep.Gemm, rep.Conv...) {
		if strings.HasPrefix(r.Status, "error") {
			return 1
		}
	}
	return 0
}

func progressLine(r bench.Result) string {
	s := r.Kind + " " + r.Name
	if r.Kind == "conv" {
		s += " " + r.Pass + " " + r.Algo
	}
	s += fmt.Sprintf(" isa=%s threads=%d", r.ISA, r.Threads)
	if r.Status == bench.StatusOK {
		return s + fmt.Sprintf(": %.2f GFLOPS (%.3f ms)", r.GFLOPS, r.MedianMs)
	}
	return s + ": " + r.Status
}

// parseThreads parses "-threads": a comma-separated list of counts >= 1;
// empty means bench.DefaultThreads().
func parseThreads(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return bench.DefaultThreads(), nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a thread count >= 1", f)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// parseISAs parses "-isa": empty means the bound path, "all" every path
// this host runs, otherwise a comma-separated list of names that this host
// must be able to run.
func parseISAs(s string) ([]kernels.ISA, error) {
	switch strings.TrimSpace(s) {
	case "":
		return []kernels.ISA{kernels.Current()}, nil
	case "all":
		return kernels.Available(), nil
	}
	var out []kernels.ISA
	for _, f := range strings.Split(s, ",") {
		i, err := kernels.ParseISA(f)
		if err != nil {
			return nil, err
		}
		if !kernels.Supported(i) {
			return nil, fmt.Errorf("this CPU cannot run the %s path (available: %s)", i, isaList(kernels.Available()))
		}
		if !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	return out, nil
}

func isaList(l []kernels.ISA) string {
	s := make([]string, len(l))
	for i, x := range l {
		s[i] = x.String()
	}
	return strings.Join(s, ", ")
}
