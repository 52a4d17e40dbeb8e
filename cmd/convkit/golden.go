package main

import (
	"flag"
	"fmt"
	"io"
	"regexp"

	"github.com/convkit/convkit/golden"
	"github.com/convkit/convkit/golden/ops" // registers the implemented ops
)

type goldenOpts struct {
	dir  string
	run  string
	algo string
}

func goldenFlags() (*flag.FlagSet, *goldenOpts) {
	fs := newFlagSet("golden")
	o := &goldenOpts{}
	fs.StringVar(&o.dir, "dir", "", "golden-vector `DIR`ectory (holds manifest.json); required")
	fs.StringVar(&o.run, "run", "", "only the cases whose name matches this `REGEXP`")
	fs.StringVar(&o.algo, "algo", "auto", "the conv `ALGORITHM` of the conv and conv_transpose cases: auto, im2col, direct, winograd, winograd2|4|6 or fft (each pass it declines runs on auto)")
	return fs, o
}

// runGolden checks every case of a golden directory; the last line is
// "N passed, M failed" and the exit status 1 if M > 0.
func runGolden(args []string, stdout, stderr io.Writer) int {
	fs, o := goldenFlags()
	if st := parseFlags(fs, "golden", args, stdout, stderr); st >= 0 {
		return st
	}
	if o.dir == "" {
		return commandUsageError(stderr, "golden", "-dir is required")
	}
	if err := ops.SetConvAlgorithm(o.algo); err != nil {
		return commandUsageError(stderr, "golden", "-algo: %v", err)
	}
	var re *regexp.Regexp
	if o.run != "" {
		var err error
		if re, err = regexp.Compile(o.run); err != nil {
			return commandUsageError(stderr, "golden", "-run: %v", err)
		}
	}
	m, err := golden.Open(o.dir)
	if err != nil {
		fmt.Fprintf(stderr, "convkit golden: %v\n", err)
		return 1
	}
	var results []golden.Result
	for _, c := range m.Cases {
		if re != nil && !re.MatchString(c.Name) {
			continue
		}
		r := golden.Check(c)
		results = append(results, r)
		fmt.Fprintln(stdout, r)
	}
	if named, declined := ops.ConvRuns(); o.algo != "auto" && named+declined > 0 {
		fmt.Fprintf(stdout, "conv passes: %d on %s, %d on auto (%s declines them)\n", named, o.algo, declined, o.algo)
	}
	passed, failed := golden.Summary(results)
	fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}
