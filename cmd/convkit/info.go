package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"github.com/convkit/convkit/conv"
	"io"
	"reflect"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/klauspost/cpuid/v2"

	"github.com/convkit/convkit/bench"
	"github.com/convkit/convkit/kernels"
	"github.com/convkit/convkit/winograd"
)

type infoOpts struct {
	format   string
	peak     bool
	peakTime time.Duration
}

func infoFlags() (*flag.FlagSet, *infoOpts) {
	fs := newFlagSet("info")
	o := &infoOpts{}
	fs.StringVar(&o.format, "format", "table", "output format: table or json")
	fs.BoolVar(&o.peak, "peak", true, "measure the FMA peak of every ISA path (about 1 s per path)")
	fs.DurationVar(&o.peakTime, "peak-time", bench.DefaultPeakDuration, fmt.Sprintf("duration of each repeat of the FMA peak measurement (best of %d)", bench.DefaultPeakRepeats))
	return fs, o
}

// Info is what convkit info reports (its JSON form).
type Info struct {
	CPU struct {
		Brand    string          `json:"brand"`
		Vendor   string          `json:"vendor"`
		Family   int             `json:"family"`
		Model    int             `json:"model"`
		Features map[string]bool `json:"features"`
		// Cache sizes in bytes; null when cpuid cannot tell (L3 on some VMs).
		L1D *int `json:"l1d_bytes"`
		L1I *int `json:"l1i_bytes"`
		L2  *int `json:"l2_bytes"`
		L3  *int `json:"l3_bytes"`
	} `json:"cpu"`
	// LogicalCPUs is runtime.NumCPU: what this process may run on (cpuid's
	// core counts describe the host, not the VM).
	LogicalCPUs int    `json:"logical_cpus"`
	GOMAXPROCS  int    `json:"gomaxprocs"`
	GoVersion   string `json:"go_version"`
	GOOS        string `json:"goos"`
	GOARCH      string `json:"goarch"`
	// Available ISA paths, slowest first, and the bound one.
	Available []string `json:"available_isas"`
	Bound     string   `json:"bound_isa"`
	// Kernels lists each primitive of the bound tables with its function.
	Kernels []KernelInfo `json:"kernels"`
	// Peaks per available ISA for 1 thread and all logical CPUs (empty
	// with -peak=false).
	Peaks []bench.PeakResult `json:"peaks"`
	// StreamGBs is the cost models' stream rate of the bound path (one
	// thread's reads past L2, conv.HostNow), GB/s; 0 with -peak=false.
	StreamGBs float64 `json:"stream_gbs"`
}

// KernelInfo names the function bound to one primitive.
type KernelInfo struct {
	Primitive string `json:"primitive"`
	Func      string `json:"func"`
}

// Features worth knowing for convkit's paths, in report order.
var infoFeatures = []struct {
	name string
	id   cpuid.FeatureID
}{
	{"AVX2", cpuid.AVX2}, {"FMA3", cpuid.FMA3}, {"BMI2", cpuid.BMI2},
	{"AVX512F", cpuid.AVX512F}, {"AVX512BW", cpuid.AVX512BW}, {"AVX512DQ", cpuid.AVX512DQ}, {"AVX512VL", cpuid.AVX512VL},
	{"NEON", cpuid.ASIMD},
}

func runInfo(args []string, stdout, stderr io.Writer) int {
	fs, o := infoFlags()
	if st := parseFlags(fs, "info", args, stdout, stderr); st >= 0 {
		return st
	}
	if o.format != "table" && o.format != "json" {
		return commandUsageError(stderr, "info", "-format %q: want table or json", o.format)
	}
	if o.peakTime <= 0 {
		return commandUsageError(stderr, "info", "-peak-time must be positive")
	}
	in := gatherInfo(o)
	if o.format == "json" {
		e := json.NewEncoder(stdout)
		e.SetIndent("", "  ")
		if err := e.Encode(in); err != nil {
			fmt.Fprintf(stderr, "convkit info: %v\n", err)
			return 1
		}
		return 0
	}
	writeInfoTable(stdout, in)
	return 0
}

func gatherInfo(o *infoOpts) *Info {
	in := &Info{}
	c := &cpuid.CPU
	in.CPU.Brand = strings.TrimSpace(c.BrandName)
	in.CPU.Vendor = c.VendorString
	in.CPU.Family, in.CPU.Model = c.Family, c.Model
	in.CPU.Features = map[string]bool{}
	for _, f := range infoFeatures {
		in.CPU.Features[f.name] = c.Supports(f.id)
	}
	size := func(n int) *int {
		if n <= 0 {
			return nil
		}
		return &n
	}
	in.CPU.L1D, in.CPU.L1I, in.CPU.L2, in.CPU.L3 = size(c.Cache.L1D), size(c.Cache.L1I), size(c.Cache.L2), size(c.Cache.L3)
	in.LogicalCPUs = runtime.NumCPU()
	in.GOMAXPROCS = runtime.GOMAXPROCS(0)
	in.GoVersion, in.GOOS, in.GOARCH = runtime.Version(), runtime.GOOS, runtime.GOARCH
	for _, i := range kernels.Available() {
		in.Available = append(in.Available, i.String())
	}
	in.Bound = kernels.Current().String()
	in.Kernels = boundKernels()
	in.Peaks = []bench.PeakResult{}
	if o.peak {
		m := bench.NewPeakMeter(o.peakTime)
		for _, i := range kernels.Available() {
			for _, t := range bench.DefaultThreads() {
				m.Probe(i, t)
			}
		}
		in.Peaks = m.Results()
		in.StreamGBs = conv.HostNow().StreamGBs
	}
	return in
}

// boundKernels names the function behind every primitive of the bound
// table: each field of its Vec, its Gemm.Micro (with the tile) and its
// Peak.
func boundKernels() []KernelInfo {
	var out []KernelInfo
	t := kernels.Bound()
	v := reflect.ValueOf(t.Vec)
	for i := 0; i < v.NumField(); i++ {
		out = append(out, KernelInfo{"Vec." + v.Type().Field(i).Name, funcName(v.Field(i))})
	}
	out = append(out, KernelInfo{
		fmt.Sprintf("Gemm.Micro (%dx%d)", t.Gemm.MR, t.Gemm.NR),
		funcName(reflect.ValueOf(t.Gemm.Micro)),
	})
	out = append(out, KernelInfo{"Peak", funcName(reflect.ValueOf(t.Peak))})
	for _, v := range winograd.Variants() {
		for _, k := range winograd.Kinds() {
			tr := winograd.NewTransform(v, k, kernels.Current())
			name := "asm." + tr.Name()
			if tr.Source == "go" {
				name = "winograd.Twin (" + tr.Name() + ")"
			}
			out = append(out, KernelInfo{fmt.Sprintf("Winograd.%s %s", v.Name, k), name})
		}
	}
	return out
}

func funcName(f reflect.Value) string {
	if f.Kind() != reflect.Func || f.IsNil() {
		return "(nil)"
	}
	fn := runtime.FuncForPC(f.Pointer())
	if fn == nil {
		return "(unknown)"
	}
	return fn.Name()
}

// modulePath is trimmed from function names in the table, which is for
// people.
const modulePath = "github.com/convkit/convkit/"

func writeInfoTable(w io.Writer, in *Info) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "CPU\t%s (%s, family %d, model %d)\n", in.CPU.Brand, in.CPU.Vendor, in.CPU.Family, in.CPU.Model)
	var feats []string
	for _, f := range infoFeatures {
		v := "no"
		if in.CPU.Features[f.name] {
			v = "yes"
		}
		feats = append(feats, f.name+"="+v)
	}
	fmt.Fprintf(tw, "Features\t%s\n", strings.Join(feats, " "))
	fmt.Fprintf(tw, "Caches\tL1D %s, L1I %s, L2 %s, L3 %s\n", bytesStr(in.CPU.L1D), bytesStr(in.CPU.L1I), bytesStr(in.CPU.L2), bytesStr(in.CPU.L3))
	fmt.Fprintf(tw, "Logical CPUs\t%d (GOMAXPROCS %d)\n", in.LogicalCPUs, in.GOMAXPROCS)
	fmt.Fprintf(tw, "Go\t%s %s/%s\n", in.GoVersion, in.GOOS, in.GOARCH)
	fmt.Fprintf(tw, "ISA paths\t%s\n", strings.Join(in.Available, " "))
	fmt.Fprintf(tw, "Bound path\t%s (override: %s=<path>)\n", in.Bound, kernels.EnvISA)
	tw.Flush()

	fmt.Fprintln(w, "\nBound kernels")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range in.Kernels {
		fmt.Fprintf(tw, "  %s\t%s\n", k.Primitive, strings.TrimPrefix(k.Func, modulePath))
	}
	tw.Flush()

	if len(in.Peaks) > 0 {
		fmt.Fprintln(w, "\nFMA peak, measured now (GFLOPS)")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  isa\tthreads\tgflops")
		for _, p := range in.Peaks {
			v := fmt.Sprintf("%.1f", p.GFLOPS)
			if p.Error != "" {
				v = "error: " + p.Error
			}
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", p.ISA, p.Threads, v)
		}
		tw.Flush()
		fmt.Fprintf(w, "\nStream rate past L2, measured now (the cost models'): %.1f GB/s\n", in.StreamGBs)
	}
	tw.Flush()
}

func bytesStr(n *int) string {
	switch {
	case n == nil:
		return "unknown"
	case *n >= 1<<20 && *n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", *n>>20)
	case *n >= 1<<10 && *n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", *n>>10)
	}
	return fmt.Sprintf("%d B", *n)
}
