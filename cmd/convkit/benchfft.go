package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/convkit/convkit/bench"
)

// fftOpts holds the flags of bench fft.
type fftOpts struct {
	sizes, kind, threads, isa, format string
	peers, quiet                      bool
	minTime, maxTime                  time.Duration
}

func fftFlags() (*flag.FlagSet, *fftOpts) {
	fs := newFlagSet("bench fft")
	o := &fftOpts{}
	fs.StringVar(&o.sizes, "sizes", "", "transform sizes, comma-separated, dims joined by x (default: ../shared/anchors/fft_bench.c's, 256..65536 and 64x64..512x512)")
	fs.StringVar(&o.kind, "kind", "r2c,c2r,c2c", "transform kinds, comma-separated: r2c, c2r, c2c, or 'all'")
	fs.StringVar(&o.threads, "threads", "1", "thread counts, comma-separated (the lane transforms spread a batch of 16 signals per thread)")
	fs.StringVar(&o.isa, "isa", "", "the lane transforms' ISA paths, comma-separated, or 'all' (default: the bound one)")
	fs.StringVar(&o.format, "format", "table", "output format: table, tsv or json")
	fs.BoolVar(&o.peers, "peers", true, "add gonum's dsp/fourier rows (float64, 1D)")
	fs.DurationVar(&o.minTime, "min-time", 200*time.Millisecond, "time each row at least this long (and at least 5 blocks)")
	fs.DurationVar(&o.maxTime, "max-time", 2*time.Second, "stop timing a row after this long")
	fs.BoolVar(&o.quiet, "quiet", false, "do not print progress to stderr")
	return fs, o
}

// runBenchFFT runs bench fft: package fft's transforms per size and kind
// (median microseconds and conventional MFLOPS), its lane transforms per
// ISA and thread count, and gonum's.
func runBenchFFT(args []string, stdout, stderr io.Writer) int {
	const name = "bench fft"
	fs, o := fftFlags()
	if st := parseFlags(fs, name, args, stdout, stderr); st >= 0 {
		return st
	}
	if !slices.Contains(bench.Formats, o.format) {
		return commandUsageError(stderr, name, "-format %q: want table, tsv or json", o.format)
	}
	sizes := bench.DefaultFFTSizes()
	if o.sizes != "" {
		var err error
		if sizes, err = bench.ParseFFTSizes(o.sizes); err != nil {
			return commandUsageError(stderr, name, "-sizes: %v", err)
		}
	}
	kinds, err := bench.ParseFFTKinds(o.kind)
	if err != nil {
		return commandUsageError(stderr, name, "-kind: %v", err)
	}
	threads, err := parseThreads(o.threads)
	if err != nil {
		return commandUsageError(stderr, name, "-threads: %v", err)
	}
	isas, err := parseISAs(o.isa)
	if err != nil {
		return commandUsageError(stderr, name, "-isa: %v", err)
	}
	if o.minTime < 0 || o.maxTime < 0 {
		return commandUsageError(stderr, name, "-min-time and -max-time must be positive")
	}
	opt := bench.FFTOptions{Kinds: kinds, ISAs: isas, Threads: threads, Peers: o.peers,
		Timing: bench.Timing{MinTime: o.minTime, MinRuns: bench.DefaultTiming.MinRuns, MaxTime: o.maxTime}}
	if !o.quiet {
		opt.Progress = func(r bench.FFTResult) {
			fmt.Fprintf(stderr, "convkit %s: %s %s %s isa=%s threads=%d: %s\n", name, r.Name, r.Kind, r.Size, r.ISA, r.Threads, fftProgress(r))
		}
	}
	rows := bench.RunFFT(sizes, opt)
	if err := bench.WriteFFT(stdout, rows, o.format); err != nil {
		fmt.Fprintf(stderr, "convkit %s: %v\n", name, err)
		return 1
	}
	for _, r := range rows {
		if strings.HasPrefix(r.Status, "error") {
			return 1
		}
	}
	return 0
}

func fftProgress(r bench.FFTResult) string {
	if r.Status != bench.StatusOK {
		return r.Status
	}
	return fmt.Sprintf("%.3f us (%.0f MFLOPS)", r.Median, r.MFLOPS)
}
