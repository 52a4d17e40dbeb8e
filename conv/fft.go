package conv

import (
	"fmt"
	"math"
	"slices"

	"github.com/convkit/convkit/fft"
	"github.com/convkit/convkit/internal/workers"
)

// fftAlgo is FFT convolution: per image and conv group, each channel's
// padded input on a grid of F (per dim the smallest 2,3,5,7-smooth
// length >= the padded input, so that the circular correlation never
// wraps onto an output), its real transform, then per frequency the sum
// over the channels of spectrum times filter spectrum, and the inverse:
//
//	forward:         Y_k  = sum_c X_c conj(W_kc)      y = crop(IFFT(Y))
//	backward-data:   DX_c = sum_k DY_k W_kc           dx = fold(IFFT(DX))
//	backward-filter: DW_kc = sum_n conj(DY_nk) X_nc   dw = taps(IFFT(DW))
//
// x is padded by the padding mode on the grid; backward-data folds the
// padding's gradient back onto the positions it copies (any mode). The
// filter spectra are kept (PackWeights) with the 1/|F| of the inverse.
// Each output channel (input channel for backward-data, filter for
// backward-filter) is summed by one thread in a fixed order, so the bits
// do not follow the thread count. Transforms run on package fft's Go
// path; the generated codelets come later.
type fftAlgo struct{}

func (fftAlgo) Name() string   { return "fft" }
func (fftAlgo) Exact() bool    { return false }
func (fftAlgo) perPassEngine() {}

// fftBound is the documented error bound of FFT convolution on a grid of
// cells points whose per-frequency sums run over chans channels (the
// input channels forward, the output channels backward-data, the images
// for the filter gradient): max|y - ref| / max|ref| against the float64
// oracle for inputs like the golden sets'. The transforms' rounding
// grows with log2 of the grid (their butterflies sum in complex128, so
// it stays under direct's: TestFFTErrorBound measured 1.1e-7..1.9e-7 on
// grids of 576 to 16384 points, direct 6.8e-8..3.4e-6); k is twice the
// largest error / log2(cells) measured.
func fftBound(cells, chans int) float64 {
	return 4e-8 * math.Log2(float64(max(cells, 2))) * max(1, math.Sqrt(float64(chans)/16))
}

func (a fftAlgo) Supports(s *Shape, pass Pass) error {
	no := func(format string, args ...any) error {
		return &UnsupportedError{Algorithm: a.Name(), Pass: pass, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case s.Transposed:
		return no("transposed convolutions are not built on FFT yet (im2col and direct run them)")
	case slices.ContainsFunc(s.Stride, func(v int) bool { return v != 1 }):
		return no("stride %v: an FFT computes every output position, so a stride gains nothing (NNPACK#17): the other algorithms run it", s.Stride)
	case s.KernelSize == 1:
		return no("kernel %v: a single tap needs no transform", s.Kernel)
	}
	return nil
}

// fftGridLen is the grid's length for a padded input of n: the smallest
// length >= n of factors 2 and 3, whose butterflies the Go path
// specialises (a radix-5 or radix-7 stage runs the generic one, and
// audio_1d_k255_c4 on 67500 = 2^2 3^3 5^4 points took 2.3x its model).
func fftGridLen(n int) int {
	for m := fft.GoodLen(n); ; m = fft.GoodLen(m + 1) {
		if m%5 != 0 && m%7 != 0 {
			return m
		}
	}
}

// fftLayout is the grid of one problem.
type fftLayout struct {
	s       *Shape
	pad     []int // the padded input per dim
	grid    []int // F per dim
	cells   int   // prod(grid)
	spec    int   // the half spectrum's values
	plan    *fft.RealPlanND
	threads int
}

func newFFTLayout(s *Shape, threads int) *fftLayout {
	l := &fftLayout{s: s, threads: max(1, threads), cells: 1}
	for d := range s.In {
		p := s.In[d] + s.PadBefore[d] + s.PadAfter[d]
		l.pad = append(l.pad, p)
		l.grid = append(l.grid, fftGridLen(p))
		l.cells *= l.grid[d]
	}
	l.plan, _ = fft.NewRealPlanND(l.grid...)
	l.spec = l.plan.SpectrumLen()
	return l
}

// Floats and complex values of the buffers: the filter spectra (or the
// filter gradient's), one image's spectra of its inputs, and per thread
// a grid and a spectrum.
func (l *fftLayout) filterLen() int { return l.s.Groups * l.s.KPerG * l.s.CPerG * l.spec }
func (l *fftLayout) imageLen(pass Pass) int {
	switch pass {
	case PassForward:
		return l.s.CPerG * l.spec
	case PassBackwardData:
		return l.s.KPerG * l.spec
	}
	return (l.s.CPerG + l.s.KPerG) * l.spec
}

func (l *fftLayout) bytes(pass Pass) int64 {
	perThread := 4*int64(l.cells) + 8*int64(l.spec+l.plan.WorkLen())
	return 8*int64(l.filterLen()+l.imageLen(pass)) + 4*int64(l.s.OutLen) + int64(l.threads)*perThread
}

// Workspace is the bytes of the layout New makes: on the most of
// cfg.Threads whose buffers fit the limit (the bits do not follow the
// thread count), one thread's where none fits.
func (a fftAlgo) Workspace(s *Shape, cfg Config) int64 {
	if a.Supports(s, cfg.pass) != nil {
		return 0
	}
	return fitFFTLayout(s, cfg.pass, cfg.Threads, cfg.WorkspaceLimit).bytes(cfg.pass)
}

// fitFFTLayout is the layout of s on the most threads, at most threads,
// whose buffers for pass fit limit (0: no limit); one thread's where
// none fits.
func fitFFTLayout(s *Shape, pass Pass, threads int, limit int64) *fftLayout {
	l := newFFTLayout(s, 1)
	if limit <= 0 {
		l.threads = max(1, threads)
		return l
	}
	for t := max(1, threads); t > 1; t-- {
		if l.threads = t; l.bytes(pass) <= limit {
			return l
		}
	}
	l.threads = 1
	return l
}

// Cost models a pass from the host's measured FFT rates (small and large
// grids) and complex multiply-add rate: a transform per channel per image and the
// spectra's products, plus the grids' copies.
func (a fftAlgo) Cost(s *Shape, pass Pass, h Host, threads int) float64 {
	if a.Supports(s, pass) != nil || h.FFTGFLOPS <= 0 || h.FFTGFLOPSL <= 0 || h.CMACsPerSec <= 0 {
		return math.Inf(1)
	}
	l := newFFTLayout(s, 1)
	cells := float64(l.cells)
	// The rate between the two probes (4096 and 65536 points) by log2 of
	// the grid, held past them.
	f := min(1, max(0, (math.Log2(cells)-12)/4))
	rate := h.FFTGFLOPS + f*(h.FFTGFLOPSL-h.FFTGFLOPS)
	transform := 2.5 * cells * math.Log2(max(cells, 2)) / (rate * 1e9)
	copyGrid := cells * 1e-9 // about a nanosecond a point
	chans := float64(s.CPerG + s.KPerG)
	macs := float64(s.KPerG*s.CPerG) * float64(l.spec) / h.CMACsPerSec
	perImage := chans*(transform+copyGrid) + macs
	total := float64(s.N*s.Groups) * perImage
	if pass == PassBackwardFilter { // and the filters' inverses
		total += float64(s.Groups*s.KPerG*s.CPerG) * (transform + copyGrid)
	}
	return total / float64(max(1, threads))
}

func (a fftAlgo) New(s *Shape, cfg Config) (Engine, error) {
	pl := &fftPlan{s: s}
	if _, err := pl.addPass(cfg.pass, cfg); err != nil {
		return nil, err
	}
	return pl, nil
}

// fftPlan is the FFT algorithm's Engine: an engine per pass.
type fftPlan struct {
	s        *Shape
	passes   [numPasses]*fftEngine
	biasAcc  []float64
	biasPart []float32
}

func (pl *fftPlan) Workspace() int64 {
	var n int64
	for pass, e := range pl.passes {
		if e != nil {
			n += e.bytes(Pass(pass))
		}
	}
	if pl.biasAcc != nil {
		n += 12 * int64(pl.s.K)
	}
	return n
}

func (pl *fftPlan) addPass(pass Pass, cfg Config) (int64, error) {
	if pl.passes[pass] != nil {
		return 0, nil
	}
	if err := (fftAlgo{}).Supports(pl.s, pass); err != nil {
		return 0, err
	}
	l := fitFFTLayout(pl.s, pass, cfg.Threads, cfg.WorkspaceLimit)
	if lim := cfg.WorkspaceLimit; lim > 0 && l.bytes(pass) > lim {
		return 0, pl.s.op().Errorf("workspace_limit", "fft needs %d bytes of workspace for %s, the limit is %d", l.bytes(pass), pass, lim)
	}
	e, err := newFFTEngine(l, pass)
	if err != nil {
		return 0, err
	}
	pl.passes[pass] = e
	n := l.bytes(pass)
	if pass == PassBackwardFilter && pl.s.Bias {
		pl.biasAcc, pl.biasPart = make([]float64, pl.s.K), make([]float32, pl.s.K)
		n += 12 * int64(pl.s.K)
	}
	return n, nil
}

func (pl *fftPlan) pass(pass Pass) *fftEngine {
	e := pl.passes[pass]
	if e == nil {
		panic(fmt.Sprintf("conv: the fft engine was not made for %s", pass))
	}
	return e
}

func (pl *fftPlan) Forward(y, x, w, b []float32, ep *Epilogue) {
	pl.pass(PassForward).forward(y, x, w, b, ep)
}

func (pl *fftPlan) BackwardData(dx, dy, w []float32) {
	pl.pass(PassBackwardData).backwardData(dx, dy, w)
}

func (pl *fftPlan) BackwardFilter(dw, db, x, dy []float32, accumulate bool) {
	pl.pass(PassBackwardFilter).backwardFilter(dw, x, dy, accumulate)
	if pl.s.Bias && db != nil {
		biasGrad(pl.s, db, dy, accumulate, pl.biasAcc, pl.biasPart)
	}
}

// PackWeights transforms w for the passes that read it (Forward and
// BackwardData then take w == nil).
func (pl *fftPlan) PackWeights(w []float32) {
	for _, pass := range []Pass{PassForward, PassBackwardData} {
		if e := pl.passes[pass]; e != nil {
			e.packFilters(w)
			e.packed = true
		}
	}
}

func (pl *fftPlan) packedFor(pass Pass) bool {
	e := pl.passes[pass]
	return e != nil && e.packed
}

// fftEngine runs one pass of an fftLayout on a team.
type fftEngine struct {
	*fftLayout
	pass   Pass
	team   *workers.Team
	works  [][]complex64 // per thread: the transforms' scratch
	filt   []complex64   // the filter spectra [g][k][c] (scaled by 1/cells), or the filter gradient's
	img    []complex64   // one image's spectra: x's channels, or dy's, or both (x's first)
	packed bool          // filt holds PackWeights' filters
	grids  [][]float32   // per thread
	specs  [][]complex64
	ones   []float32
	tapAt  []int // per filter tap, its cell on the grid (tapCells)
	call   fftCall
}

// fftCall is the call in progress: its phase and operands.
type fftCall struct {
	phase      int
	x, y, w, b []float32
	ep         *Epilogue
	n, g       int
	accumulate bool
	items, per int
	dw         []float32
}

// The phases of a call.
const (
	fftPackPhase     = iota // filter spectra, per (g, k, c)
	fftInputPhase           // one image's input spectra, per channel
	fftOutputPhase          // one image's products and inverses, per output channel
	fftGradPhase            // dW's spectra += one image's products, per filter row k
	fftGradTapsPhase        // dW's inverses into the taps, per (g, k, c)
)

func newFFTEngine(l *fftLayout, pass Pass) (*fftEngine, error) {
	if l.plan == nil {
		return nil, fmt.Errorf("conv: fft: no plan for the grid %v", l.grid)
	}
	e := &fftEngine{fftLayout: l, pass: pass, team: workers.NewTeam(l.threads)}
	e.filt = make([]complex64, l.filterLen())
	e.img = make([]complex64, l.imageLen(pass))
	for range l.threads {
		e.grids = append(e.grids, make([]float32, l.cells))
		e.specs = append(e.specs, make([]complex64, l.spec))
		e.works = append(e.works, make([]complex64, l.plan.WorkLen()))
	}
	e.ones = onesOf(l.s.OutLen)
	e.tapAt = e.tapCells()
	return e, nil
}

func (e *fftEngine) run(c fftCall) {
	var parts int
	c.per, parts = splitItems(e.team, c.items)
	e.call = c
	runParts(e.team, e, parts)
	e.call = fftCall{}
}

// Run computes one part of the call in progress (workers.Task).
func (e *fftEngine) Run(part int) {
	c := &e.call
	for i := part * c.per; i < min(c.items, (part+1)*c.per); i++ {
		switch c.phase {
		case fftPackPhase:
			e.packFilter(part, i)
		case fftInputPhase:
			e.inputSpectrum(part, i)
		case fftOutputPhase:
			e.output(part, i)
		case fftGradPhase:
			e.gradProducts(i)
		default:
			e.gradTaps(part, i)
		}
	}
}

var _ workers.Task = (*fftEngine)(nil)

// packFilters transforms every filter of w into filt, scaled by the
// inverse's 1/cells.
func (e *fftEngine) packFilters(w []float32) {
	s := e.s
	e.run(fftCall{phase: fftPackPhase, w: w, items: s.Groups * s.KPerG * s.CPerG})
}

// packFilter transforms filter i = (g*KPerG + k)*CPerG + c: its taps at
// their dilated positions on the grid.
func (e *fftEngine) packFilter(part, i int) {
	s := e.s
	grid := e.grids[part]
	clear(grid)
	taps := e.call.w[i*s.KernelSize:][:s.KernelSize]
	scale := float32(1 / float64(e.cells))
	for t, v := range taps {
		grid[e.tapAt[t]] = v * scale
	}
	e.plan.ForwardWith(e.filt[i*e.spec:][:e.spec], grid, e.works[part])
}

// tapCells is every filter tap's cell on the grid: tap t (row-major
// over the kernel) at t's index times the dilation per dim. Made once:
// the packing and the filter gradient read it per tap.
func (e *fftEngine) tapCells() []int {
	s := e.s
	cells := make([]int, s.KernelSize)
	for t := range cells {
		cell, rest := 0, t
		for d := len(s.Kernel) - 1; d >= 0; d-- {
			cell, rest = cell+rest%s.Kernel[d]*s.Dilation[d]*e.stride(d), rest/s.Kernel[d]
		}
		cells[t] = cell
	}
	return cells
}

// stride is the grid's step between neighbours in dim d.
func (e *fftEngine) stride(d int) int {
	st := 1
	for _, g := range e.grid[d+1:] {
		st *= g
	}
	return st
}

// forward computes y from x with filters w (nil: the packed ones), image
// by image and group by group.
func (e *fftEngine) forward(y, x, w, b []float32, ep *Epilogue) {
	e.eachImage(w, fftCall{x: x}, e.s.CPerG, fftCall{y: y, b: b, ep: ep}, e.s.KPerG)
	if e.s.Layout == ChannelsLast {
		epilogueChannelsLast(e.s, y, b, ep)
	}
}

// backwardData computes dx from dy with filters w (nil: the packed ones).
func (e *fftEngine) backwardData(dx, dy, w []float32) {
	e.eachImage(w, fftCall{x: dy}, e.s.KPerG, fftCall{y: dx}, e.s.CPerG)
}

// eachImage runs the filters' transforms when w is given, then per image
// and group the input spectra (in, ins channels) and the outputs (out,
// outs channels).
func (e *fftEngine) eachImage(w []float32, in fftCall, ins int, out fftCall, outs int) {
	s := e.s
	if w != nil {
		e.packFilters(w)
		e.packed = false
	}
	in.phase, in.items = fftInputPhase, ins
	out.phase, out.items = fftOutputPhase, outs
	for n := 0; n < s.N; n++ {
		for g := 0; g < s.Groups; g++ {
			in.n, in.g, out.n, out.g = n, g, n, g
			e.run(in)
			e.run(out)
		}
	}
}

// backwardFilter computes dW (adding it with accumulate): the spectra of
// every image's x and dy, their products summed over the images in
// order, then the inverses.
func (e *fftEngine) backwardFilter(dw, x, dy []float32, accumulate bool) {
	s := e.s
	clear(e.filt)
	for n := 0; n < s.N; n++ {
		for g := 0; g < s.Groups; g++ {
			c := fftCall{phase: fftInputPhase, x: x, y: dy, n: n, g: g, items: s.CPerG + s.KPerG}
			e.run(c)
			e.run(fftCall{phase: fftGradPhase, g: g, items: s.KPerG})
		}
	}
	e.run(fftCall{phase: fftGradTapsPhase, dw: dw, accumulate: accumulate, items: s.Groups * s.KPerG * s.CPerG})
}

// inputSpectrum transforms channel i of the call's image and group: of x
// padded by the padding mode (forward; the first CPerG of
// backward-filter), or of dy at the grid's origin (backward-data; the
// rest of backward-filter).
func (e *fftEngine) inputSpectrum(part, i int) {
	s, c := e.s, &e.call
	grid := e.grids[part]
	ofX := e.pass == PassForward || e.pass == PassBackwardFilter && i < s.CPerG
	if ofX {
		e.padInput(grid, c.x, c.n, c.g*s.CPerG+i)
	} else {
		src, k := c.x, i
		if e.pass == PassBackwardFilter {
			src, k = c.y, i-s.CPerG
		}
		e.placeOutput(grid, src, c.n, c.g*s.KPerG+k)
	}
	e.plan.ForwardWith(e.img[i*e.spec:][:e.spec], grid, e.works[part])
}

// output computes output channel i of the call's image and group: the
// spectra's products summed over the other side's channels, the
// inverse, then the crop into y with the epilogue (forward) or the fold
// into dx (backward-data).
func (e *fftEngine) output(part, i int) {
	s, c := e.s, &e.call
	acc := e.specs[part]
	clear(acc)
	if e.pass == PassForward {
		for ch := 0; ch < s.CPerG; ch++ {
			w := e.filt[((c.g*s.KPerG+i)*s.CPerG+ch)*e.spec:][:e.spec]
			macConj(acc, e.img[ch*e.spec:][:e.spec], w)
		}
	} else {
		for k := 0; k < s.KPerG; k++ {
			w := e.filt[((c.g*s.KPerG+k)*s.CPerG+i)*e.spec:][:e.spec]
			mac(acc, e.img[k*e.spec:][:e.spec], w)
		}
	}
	grid := e.grids[part]
	e.plan.InverseWith(grid, acc, e.works[part])
	if e.pass == PassForward {
		k := c.g*s.KPerG + i
		e.cropOutput(c.y, grid, c.n, k)
		if s.Layout == ChannelsFirst {
			epilogueChannelsFirst(s, c.y, c.b, c.ep, c.n, k, 1, 0, s.OutLen, e.ones)
		}
		return
	}
	e.foldInput(c.y, grid, c.n, c.g*s.CPerG+i)
}

// gradProducts adds one image's products into filter row k's gradient
// spectra: DW_kc += conj(DY_k) X_c.
func (e *fftEngine) gradProducts(k int) {
	s, g := e.s, e.call.g
	dy := e.img[(s.CPerG+k)*e.spec:][:e.spec]
	for c := 0; c < s.CPerG; c++ {
		macConj(e.filt[((g*s.KPerG+k)*s.CPerG+c)*e.spec:][:e.spec], e.img[c*e.spec:][:e.spec], dy)
	}
}

// gradTaps inverts filter i's gradient spectrum and reads its taps.
func (e *fftEngine) gradTaps(part, i int) {
	s, c := e.s, &e.call
	grid := e.grids[part]
	e.plan.InverseWith(grid, e.filt[i*e.spec:][:e.spec], e.works[part])
	scale := float32(1 / float64(e.cells))
	dst := c.dw[i*s.KernelSize:][:s.KernelSize]
	for t := range dst {
		v := grid[e.tapAt[t]] * scale
		if c.accumulate {
			v += dst[t]
		}
		dst[t] = v
	}
}

// mac is acc += a*b, element by element.
func mac(acc, a, b []complex64) {
	a, b = a[:len(acc)], b[:len(acc)]
	for f := range acc {
		acc[f] += a[f] * b[f]
	}
}

// macConj is acc += a*conj(b), element by element.
func macConj(acc, a, b []complex64) {
	a, b = a[:len(acc)], b[:len(acc)]
	for f := range acc {
		x, y := a[f], b[f]
		acc[f] += complex(real(x)*real(y)+imag(x)*imag(y), imag(x)*real(y)-real(x)*imag(y))
	}
}
