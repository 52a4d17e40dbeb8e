package conv

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/convkit/convkit/fft"
	"github.com/convkit/convkit/internal/prng"
	"github.com/convkit/convkit/kernels"
)

// pick returns the algorithm of pass under opt: the named one, checked
// against the problem, the precision and the workspace limit, or auto's
// choice among the algorithms that pass those checks; and why
// (Plan.Reason).
//
// chosen names the algorithms earlier passes took: their engines need no
// more workspace, but for an engine made per pass (perPass), whose new
// pass must fit what is left.
func pick(s *Shape, pass Pass, opt Options, cfg Config, chosen map[string]bool) (Algorithm, string, error) {
	admitted := func(a Algorithm) error {
		c := cfg
		if chosen[a.Name()] && !perPass(a) {
			c.WorkspaceLimit = 0 // the pass runs on what the engine holds
		}
		return admits(a, s, pass, opt, c)
	}
	if opt.Algorithm != "" && opt.Algorithm != "auto" {
		a, err := Lookup(opt.Algorithm)
		if err != nil {
			return nil, "", err
		}
		a = forLayout(a, s)
		return a, "named by Options.Algorithm", admitted(a)
	}
	var cands []Algorithm
	var reasons []error
	var declined []string
	for _, a := range registry {
		a = forLayout(a, s)
		if err := admitted(a); err != nil {
			reasons = append(reasons, err)
			declined = append(declined, fmt.Sprintf("%s: %s", a.Name(), declineReason(err)))
			continue
		}
		cands = append(cands, a)
	}
	why := func(how string) string {
		if len(declined) == 0 {
			return how
		}
		return how + "; declined: " + strings.Join(declined, "; ")
	}
	switch {
	case len(cands) == 0:
		return nil, "", fmt.Errorf("%s: no algorithm computes %s: %w", s.op(), pass, errors.Join(reasons...))
	case len(cands) == 1:
		return cands[0], why("the only algorithm admitted"), nil
	case opt.Autotune:
		a, err := tuned(s, pass, opt, cfg, cands)
		return a, why("autotune: the fastest measured"), err
	}
	h := HostNow()
	best, bestCost := cands[0], math.Inf(1)
	costs := make([]string, 0, len(cands))
	for _, a := range cands {
		// Ranked on one thread: a choice that followed the thread count
		// would make the result's bits follow it too.
		c := a.Cost(s, pass, h, 1)
		costs = append(costs, fmt.Sprintf("%s %.3g ms", a.Name(), 1e3*c))
		if c < bestCost {
			best, bestCost = a, c
		}
	}
	return best, why("the cost model's fastest on one thread (" + strings.Join(costs, ", ") + ")"), nil
}

// declineReason is an admission error's reason alone: an
// UnsupportedError's Reason, else the error's text.
func declineReason(err error) string {
	var ue *UnsupportedError
	if errors.As(err, &ue) {
		return ue.Reason
	}
	return err.Error()
}

// admits checks that a computes pass of s within the precision and the
// workspace limit.
func admits(a Algorithm, s *Shape, pass Pass, opt Options, cfg Config) error {
	if err := a.Supports(s, pass); err != nil {
		return err
	}
	if opt.Precision == Exact && !a.Exact() {
		return &UnsupportedError{Algorithm: a.Name(), Pass: pass, Reason: "not exact (Precision is Exact)"}
	}
	if lim := cfg.WorkspaceLimit; lim > 0 {
		if need := a.Workspace(s, cfg); need > lim {
			return s.op().Errorf("workspace_limit", "%s needs at least %d bytes of workspace, the limit is %d", a.Name(), need, lim)
		}
	}
	return nil
}

var host struct {
	sync.Mutex
	byISA map[kernels.ISA]Host
}

// HostNow returns the cost models' view of this machine under the bound
// ISA: the cache sizes, and the FMA peak and stream rate of one thread,
// measured on the first call per ISA (a few milliseconds to tens).
func HostNow() Host {
	isa := kernels.Current()
	host.Lock()
	defer host.Unlock()
	if h, ok := host.byISA[isa]; ok {
		return h
	}
	if host.byISA == nil {
		host.byISA = map[kernels.ISA]Host{}
	}
	l1, l2, l3 := kernels.Caches()
	stream, far := measureStream(l2)
	h := Host{PeakGFLOPS: measurePeak(), StreamGBs: stream, L1: l1, L2: l2, L3: l3}
	h.FFTGFLOPS, h.FFTGFLOPSL, h.CMACsPerSec = measureFFT()
	h.CMACsFarPerSec = measureFarMACs(far)
	host.byISA[isa] = h
	return h
}

// measurePeak times the bound FMA-peak kernel: the best of a few 1 ms
// runs, in GFLOPS.
func measurePeak() float64 {
	peak := kernels.Bound().Peak
	best := 0.0
	for iters := 1 << 10; ; iters *= 2 {
		start := time.Now()
		flops := peak(iters)
		el := time.Since(start)
		if el < time.Millisecond {
			continue
		}
		for range 3 {
			start = time.Now()
			flops = peak(iters)
			best = max(best, float64(flops)/time.Since(start).Seconds()/1e9)
		}
		return max(best, float64(flops)/el.Seconds()/1e9)
	}
}

// measureStream times one thread's reads of a buffer of 4 x L2 (at
// least 8 MiB, at most 32 MiB: past L2, where the models' streams come
// from; L3 on most hosts), the best of five passes after it is written,
// in GB/s, and the buffer (for measureFarMACs). The buffer's first touch
// costs a few milliseconds to tens (its page faults), once per process
// and ISA.
func measureStream(l2 int) (float64, []float32) {
	n := min(max(4*l2, 8<<20), 32<<20) / 4
	buf := make([]float32, n)
	for i := range buf {
		buf[i] = 1
	}
	best := 0.0
	for range 5 {
		start := time.Now()
		kernels.Sum(buf)
		best = max(best, float64(4*n)/time.Since(start).Seconds()/1e9)
	}
	return best, buf
}

// farMACBlock is the block of measureFarMACs' calls, in complex values:
// about the FFT engine's frequency blocks (fftLayout.block).
const farMACBlock = 1024

// measureFarMACs times the FFT engine's split multiply-add with its
// filter operand read from far, a block at a time from a new place of
// far (measureStream's buffer, past L2: its start, which the stream's
// last pass evicted from L2 first), the accumulator and the image in L1:
// the engine's product loop over filter spectra that do not stay in L2.
// In complex multiply-adds a second, the best of three passes of 32
// blocks, each block read once.
func measureFarMACs(far []float32) float64 {
	const n, calls = farMACBlock, 32
	if len(far) < 3*calls*2*n {
		return 0
	}
	ops := fft.SplitOpsFor(kernels.Current())
	x, acc := fft.Dense(make([]float32, 2*n), 1, n), fft.Dense(make([]float32, 2*n), 1, n)
	best := time.Duration(math.MaxInt64)
	for pass := range 3 {
		start := time.Now()
		for i := range calls {
			off := (pass*calls + i) * 2 * n
			w := fft.Split{Data: far, Re: off, Im: off + n, Step: n}
			ops.Mul(fft.MulAddConj, acc, x, w, 1, n)
		}
		best = min(best, time.Since(start))
	}
	return calls * n / best.Seconds()
}

// measureFFT times the FFT engine's grid transforms (gridFFT) of a 64 x
// 64 grid and of 65536 points (1D), and its split spectrum
// multiply-add on 4096 values, on the bound path, the best of a few
// runs each (a few milliseconds).
func measureFFT() (small, large, macs float64) {
	isa := kernels.Current()
	rate := func(grid []int, reps int) float64 {
		g, err := newGridFFT(grid, isa)
		if err != nil {
			return 0
		}
		w, cells, spec := g.newWork(), make([]float32, g.cells), make([]float32, 2*g.spec)
		best := time.Duration(math.MaxInt64)
		for range reps {
			start := time.Now()
			g.forward(spec, cells, w)
			best = min(best, time.Since(start))
		}
		n := float64(g.cells)
		return 2.5 * n * math.Log2(n) / best.Seconds() / 1e9
	}
	small, large = rate([]int{64, 64}, 20), rate([]int{65536}, 4)
	const n = 4096
	ops := fft.SplitOpsFor(isa)
	a, b, acc := fft.Dense(make([]float32, 2*n), 1, n), fft.Dense(make([]float32, 2*n), 1, n), fft.Dense(make([]float32, 2*n), 1, n)
	bestMAC := time.Duration(math.MaxInt64)
	for range 10 {
		start := time.Now()
		ops.Mul(fft.MulAddConj, acc, a, b, 1, n)
		bestMAC = min(bestMAC, time.Since(start))
	}
	return small, large, n / bestMAC.Seconds()
}

// The autotune cache: choices by key, and the files already read.
var tune struct {
	sync.Mutex
	choice map[string]string
	read   map[string]bool
}

// tuneKey names what a choice holds for: the problem, the pass, the
// thread count and the ISA.
func tuneKey(s *Shape, pass Pass, threads int) string {
	p := s.Problem
	return fmt.Sprintf("%s n=%d c=%d k=%d in=%v kernel=%v stride=%v dil=%v pad=%v/%v groups=%d bias=%t mode=%s outpad=%v layout=%s %s t=%d isa=%s",
		s.op(), p.N, p.C, p.K, p.In, p.Kernel, s.Stride, s.Dilation, s.PadBefore, s.PadAfter, s.Groups, p.Bias,
		p.PaddingMode, p.OutputPadding, p.Layout, pass, threads, kernels.Current())
}

// tuned returns autotune's choice among cands: kept from before (in
// memory or opt.TuneFile), or timed now and kept.
func tuned(s *Shape, pass Pass, opt Options, cfg Config, cands []Algorithm) (Algorithm, error) {
	key := tuneKey(s, pass, cfg.Threads)
	tune.Lock()
	defer tune.Unlock()
	if tune.choice == nil {
		tune.choice, tune.read = map[string]string{}, map[string]bool{}
	}
	if f := opt.TuneFile; f != "" && !tune.read[f] {
		if err := readTuneFile(f); err != nil {
			return nil, err
		}
		tune.read[f] = true
	}
	if name, ok := tune.choice[key]; ok {
		for _, a := range cands {
			if a.Name() == name {
				return a, nil
			}
		}
	}
	best, err := timeCandidates(s, pass, cfg, cands)
	if err != nil {
		return nil, err
	}
	tune.choice[key] = best.Name()
	if f := opt.TuneFile; f != "" {
		if err := appendTuneFile(f, key, best.Name()); err != nil {
			return nil, err
		}
	}
	return best, nil
}

// timeCandidates runs pass of s once per candidate to warm up, then times
// it at least 3 times and 20 ms, and returns the fastest by median-free
// minimum (the least disturbed run).
func timeCandidates(s *Shape, pass Pass, cfg Config, cands []Algorithm) (Algorithm, error) {
	fill := func(n int, seed uint32) []float32 {
		v := make([]float32, n)
		prng.Fill(v, seed)
		return v
	}
	x, w, y := fill(s.XLen, 1), fill(s.WLen, 2), fill(s.YLen, 3)
	var b []float32
	if s.Bias {
		b = fill(s.K, 4)
	}
	var best Algorithm
	bestT := time.Duration(math.MaxInt64)
	for _, a := range cands {
		e, err := a.New(s, cfg)
		if err != nil {
			return nil, err
		}
		run := func() {
			switch pass {
			case PassForward:
				e.Forward(y, x, w, b, nil)
			case PassBackwardData:
				e.BackwardData(x, y, w)
			default:
				e.BackwardFilter(w, b, x, y, false)
			}
		}
		run()
		least, total := time.Duration(math.MaxInt64), time.Duration(0)
		for i := 0; i < 3 || total < 20*time.Millisecond; i++ {
			start := time.Now()
			run()
			el := time.Since(start)
			least, total = min(least, el), total+el
		}
		if least < bestT {
			best, bestT = a, least
		}
	}
	return best, nil
}

// readTuneFile loads the choices of a tune file (key TAB algorithm per
// line); a missing file holds none.
func readTuneFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("conv: autotune file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		key, name, ok := strings.Cut(sc.Text(), "\t")
		if !ok || key == "" || name == "" {
			return fmt.Errorf("conv: autotune file %s:%d: want key<TAB>algorithm", path, line)
		}
		tune.choice[key] = name
	}
	return sc.Err()
}

func appendTuneFile(path, key, name string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("conv: autotune file: %w", err)
	}
	_, err = fmt.Fprintf(f, "%s\t%s\n", key, name)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("conv: autotune file: %w", err)
	}
	return nil
}
