package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/convkit/convkit/fft"
	"github.com/convkit/convkit/kernels"
	"gonum.org/v1/gonum/dsp/fourier"
)

// FFTResult is one row of `convkit bench fft`: one implementation, kind
// and size on one path and thread count.
type FFTResult struct {
	// Name is the implementation: "convkit" (package fft's plans, the
	// natural-order transforms of every length, on each -isa path: ISA
	// is the path the plan ran), "convkit-lanes" (its
	// batched lane transforms on the generated butterflies: a batch of
	// 16 signals per thread, the time per signal) or "gonum" (dsp/fourier,
	// float64).
	Name    string  `json:"name"`
	Kind    string  `json:"kind"` // r2c, c2r or c2c
	Size    string  `json:"size"` // as fft_bench.c writes it: 1024, 128x128
	ISA     string  `json:"isa"`  // the path the plan ran ("go": the Go plans), a peer's name
	Threads int     `json:"threads"`
	Runs    int     `json:"runs"`
	Median  float64 `json:"median_us"` // one transform, microseconds
	MFLOPS  float64 `json:"mflops"`    // 2.5 N log2 N real, 5 N log2 N complex
	Status  string  `json:"status"`
}

// FFTKinds are the transform kinds, in report order.
var FFTKinds = []string{"r2c", "c2r", "c2c"}

// DefaultFFTSizes are ../shared/anchors/fft_bench.c's sizes.
func DefaultFFTSizes() [][]int {
	return [][]int{{256}, {1024}, {4096}, {16384}, {65536}, {64, 64}, {128, 128}, {256, 256}, {512, 512}}
}

// ParseFFTSizes parses "-sizes": comma-separated sizes of x-separated
// dims (256,1024,128x128).
func ParseFFTSizes(s string) ([][]int, error) {
	var out [][]int
	for _, f := range strings.Split(s, ",") {
		var dims []int
		for _, d := range strings.Split(strings.TrimSpace(f), "x") {
			n, err := strconv.Atoi(d)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("size %q: want dims >= 1 joined by x (1024, 128x128)", f)
			}
			dims = append(dims, n)
		}
		out = append(out, dims)
	}
	return out, nil
}

// ParseFFTKinds parses "-kind": comma-separated kinds, or "all".
func ParseFFTKinds(s string) ([]string, error) {
	if strings.TrimSpace(s) == "all" || strings.TrimSpace(s) == "" {
		return FFTKinds, nil
	}
	var out []string
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		if k != "r2c" && k != "c2r" && k != "c2c" {
			return nil, fmt.Errorf("kind %q: want r2c, c2r or c2c", k)
		}
		out = append(out, k)
	}
	return out, nil
}

// FFTOptions say what RunFFT measures.
type FFTOptions struct {
	Kinds    []string
	ISAs     []kernels.ISA // the lane transforms' paths
	Threads  []int
	Peers    bool // gonum's rows (1D)
	Timing   Timing
	Progress func(FFTResult)
}

// fftSizeName is a size as fft_bench.c writes it.
func fftSizeName(dims []int) string {
	s := make([]string, len(dims))
	for i, d := range dims {
		s[i] = strconv.Itoa(d)
	}
	return strings.Join(s, "x")
}

// RunFFT measures every size and kind: package fft's plans, its lane
// transforms on each path and thread count (lengths of factors 2 and 3,
// 1D), and gonum where asked.
func RunFFT(sizes [][]int, o FFTOptions) []FFTResult {
	var out []FFTResult
	add := func(r FFTResult) {
		out = append(out, r)
		if o.Progress != nil {
			o.Progress(r)
		}
	}
	for _, dims := range sizes {
		for _, kind := range o.Kinds {
			for _, isa := range o.ISAs {
				for _, t := range o.Threads {
					call, path := planCall(kind, dims, isa)
					r := FFTResult{Name: "convkit", Kind: kind, Size: fftSizeName(dims), ISA: path, Threads: t}
					if t > 1 {
						r.Status = "not implemented: package fft's plans run one transform on one thread (the lane transforms spread a batch)"
						add(r)
						continue
					}
					add(o.measure(r, dims, call))
				}
			}
			if len(dims) == 1 {
				for _, isa := range o.ISAs {
					for _, t := range o.Threads {
						r := FFTResult{Name: "convkit-lanes", Kind: kind, Size: fftSizeName(dims), ISA: isa.String(), Threads: t}
						call, err := laneCall(kind, dims[0], isa, t)
						if err != nil {
							r.Status = "skipped: " + err.Error()
							add(r)
							continue
						}
						add(o.measure(r, dims, call))
					}
				}
				if o.Peers {
					r := FFTResult{Name: "gonum", Kind: kind, Size: fftSizeName(dims), ISA: "gonum", Threads: 1}
					add(o.measure(r, dims, gonumCall(kind, dims[0])))
				}
			}
		}
	}
	return out
}

// fftCall runs reps transforms and returns the transforms it ran.
type fftCall func(reps int) int

// measure times call in blocks of about 100 microseconds and fills r.
func (o FFTOptions) measure(r FFTResult, dims []int, call fftCall) FFTResult {
	reps := 1
	for {
		start := time.Now()
		call(reps)
		if time.Since(start) >= 100*time.Microsecond || reps >= 1<<20 {
			break
		}
		reps *= 2
	}
	done := 0
	med, runs, err := o.Timing.Measure(func() error { done = call(reps); return nil })
	if err != nil {
		r.Status = "error: " + err.Error()
		return r
	}
	n := 1
	for _, d := range dims {
		n *= d
	}
	r.Runs = runs
	r.Median = med.Seconds() * 1e6 / float64(done)
	flops := 2.5 * float64(n) * math.Log2(float64(n))
	if r.Kind == "c2c" {
		flops *= 2
	}
	r.MFLOPS = flops / r.Median
	r.Status = StatusOK
	return r
}

func randComplex(n int) []complex64 {
	out := make([]complex64, n)
	for i := range out {
		out[i] = complex(float32(math.Sin(float64(i))), float32(math.Cos(float64(3*i))))
	}
	return out
}

func randReal(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(math.Sin(float64(i)))
	}
	return out
}

// planCall is package fft's plan of kind over dims on path isa (1D:
// Plan, RealPlan; N-D: PlanND, RealPlanND), with the caller's scratch,
// and the path the plan runs (isa's kernels, a narrower ISA's for short
// sizes, or "go").
func planCall(kind string, dims []int, isa kernels.ISA) (fftCall, string) {
	n := 1
	for _, d := range dims {
		n *= d
	}
	if kind == "c2c" {
		p, _ := fft.NewPlanNDFor(isa, dims...)
		src, dst, work := randComplex(n), make([]complex64, n), make([]complex64, p.WorkLen())
		return func(reps int) int {
			for range reps {
				p.ForwardWith(dst, src, work)
			}
			return reps
		}, strings.ToLower(p.Path())
	}
	p, _ := fft.NewRealPlanNDFor(isa, dims...)
	x, spec, work := randReal(n), make([]complex64, p.SpectrumLen()), make([]complex64, p.WorkLen())
	p.ForwardWith(spec, x, work)
	back := make([]float32, n)
	return func(reps int) int {
		for range reps {
			if kind == "r2c" {
				p.ForwardWith(spec, x, work)
			} else {
				p.InverseWith(back, spec, work)
			}
		}
		return reps
	}, strings.ToLower(p.Path())
}

// laneSignals is the batch of one thread of the lane rows.
const laneSignals = 16

// laneCall is the lane transform of kind on path isa: threads goroutines
// each transforming a batch of laneSignals signals.
func laneCall(kind string, n int, isa kernels.ISA, threads int) (fftCall, error) {
	if !kernels.Supported(isa) {
		return nil, fmt.Errorf("this host cannot run %s", isa)
	}
	type batch struct {
		spec, src fft.Split
		x, work   []float32
	}
	var run func(b *batch)
	var mk func() *batch
	if kind == "c2c" {
		p, err := fft.NewLanePlan(n, isa)
		if err != nil {
			return nil, err
		}
		mk = func() *batch {
			return &batch{spec: fft.Dense(make([]float32, 2*n*laneSignals), n, laneSignals),
				src: fft.Dense(randReal(2*n*laneSignals), n, laneSignals), work: make([]float32, p.WorkLen(laneSignals))}
		}
		run = func(b *batch) { p.Forward(b.spec, b.src, laneSignals, b.work) }
	} else {
		p, err := fft.NewRealLanePlan(n, isa)
		if err != nil {
			return nil, err
		}
		m := p.SpectrumLen()
		mk = func() *batch {
			b := &batch{spec: fft.Dense(make([]float32, 2*m*laneSignals), m, laneSignals),
				x: randReal(n * laneSignals), work: make([]float32, p.WorkLen(laneSignals))}
			p.Forward(b.spec, b.x, laneSignals, laneSignals, b.work)
			return b
		}
		run = func(b *batch) { p.Forward(b.spec, b.x, laneSignals, laneSignals, b.work) }
		if kind == "c2r" {
			run = func(b *batch) { p.Inverse(b.x, laneSignals, b.spec, laneSignals, b.work) }
		}
	}
	batches := make([]*batch, threads)
	for i := range batches {
		batches[i] = mk()
	}
	return func(reps int) int {
		var wg sync.WaitGroup
		for _, b := range batches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range reps {
					run(b)
				}
			}()
		}
		wg.Wait()
		return reps * threads * laneSignals
	}, nil
}

// gonumCall is gonum's dsp/fourier transform of kind (float64).
func gonumCall(kind string, n int) fftCall {
	if kind == "c2c" {
		p := fourier.NewCmplxFFT(n)
		src, dst := make([]complex128, n), make([]complex128, n)
		for i, v := range randComplex(n) {
			src[i] = complex128(v)
		}
		return func(reps int) int {
			for range reps {
				p.Coefficients(dst, src)
			}
			return reps
		}
	}
	p := fourier.NewFFT(n)
	x, spec := make([]float64, n), make([]complex128, n/2+1)
	for i, v := range randReal(n) {
		x[i] = float64(v)
	}
	p.Coefficients(spec, x)
	return func(reps int) int {
		for range reps {
			if kind == "r2c" {
				p.Coefficients(spec, x)
			} else {
				p.Sequence(x, spec)
			}
		}
		return reps
	}
}

// FFTColumns are the header of the table and TSV formats.
func FFTColumns() []string {
	return []string{"name", "kind", "size", "isa", "threads", "runs", "median_us", "mflops", "status"}
}

// WriteFFT writes rows in format (table, tsv or json).
func WriteFFT(w io.Writer, rows []FFTResult, format string) error {
	if format == "json" {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(struct {
			FFT []FFTResult `json:"fft"`
		}{rows})
	}
	num := func(v float64, prec int) string {
		if v == 0 {
			return ""
		}
		return strconv.FormatFloat(v, 'f', prec, 64)
	}
	lines := [][]string{FFTColumns()}
	for _, r := range rows {
		lines = append(lines, []string{r.Name, r.Kind, r.Size, r.ISA, strconv.Itoa(r.Threads), strconv.Itoa(r.Runs),
			num(r.Median, 3), num(r.MFLOPS, 0), r.Status})
	}
	if format == "tsv" {
		for _, l := range lines {
			if _, err := fmt.Fprintln(w, strings.Join(l, "\t")); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range lines {
		fmt.Fprintln(tw, strings.Join(l, "\t"))
	}
	return tw.Flush()
}
