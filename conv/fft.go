package conv

import (
	"fmt"
	"math"
	"slices"

	"github.com/convkit/convkit/fft"
	"github.com/convkit/convkit/internal/workers"
	"github.com/convkit/convkit/kernels"
)

// fftAlgo is FFT convolution: per image and conv group, each channel's
// padded input on a grid of F (per dim a length of 2s and 3s >= the
// padded input, so that the circular correlation never wraps onto an
// output: fftGridLen), its real transform, then per frequency the sum
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
// do not follow the thread count. The transforms are gridFFT's, on
// package fft's lane transforms (the generated butterflies), and the
// products its split complex kernels.
type fftAlgo struct{}

func (fftAlgo) Name() string   { return "fft" }
func (fftAlgo) Exact() bool    { return false }
func (fftAlgo) perPassEngine() {}

// fftBound is the documented error bound of FFT convolution on a grid of
// cells points whose per-frequency sums run over chans channels (the
// input channels forward, the output channels backward-data, the images
// for the filter gradient): max|y - ref| / max|ref| against the float64
// oracle for inputs like the golden sets'. The transforms' rounding
// grows with log2 of the grid (float32 butterflies: TestFFTErrorBound
// measured 1.7e-7..3.2e-7 on grids of 576 to 4374 points, direct
// 6.8e-8..2.2e-6); k is twice the largest error / log2(cells) measured.
func fftBound(cells, chans int) float64 {
	return 6e-8 * math.Log2(float64(max(cells, 2))) * max(1, math.Sqrt(float64(chans)/16))
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

// fftGridLen is the grid's length for a padded input of n: of factors 2
// and 3 (the radices of the generated butterflies), even where it is the
// real transform's (dim 0), and of the least modelled cost among those
// up to a quarter longer than n: its cells times its transform's passes
// over them (one per butterfly stage: a length of many 2s takes fewer
// passes a cell than one of many 3s), half again where align (at least
// 64) is not a divisor: the length of the rows that are the lanes of
// the first transform (whole vectors run 1.8x faster than a ragged end).
func fftGridLen(n int, even bool, align int) int {
	best, bestCost := 0, math.Inf(1)
	for m := fft.GoodLen(n); m <= n+n/4 || best == 0; m = fft.GoodLen(m + 1) {
		if m%5 == 0 || m%7 == 0 || even && m%2 != 0 {
			continue
		}
		c := float64(m) * float64(fftPasses(m))
		if align > 1 && m >= 64 && m%align != 0 {
			c *= 1.5
		}
		if c < bestCost {
			best, bestCost = m, c
		}
	}
	return best
}

// fftPasses is the butterfly stages of a lane transform of m points of
// factors 2 and 3 (radix 4 while it divides, then 2, then 3s), at least
// one.
func fftPasses(m int) int {
	p := 0
	for ; m%4 == 0; m /= 4 {
		p++
	}
	if m%2 == 0 {
		m, p = m/2, p+1
	}
	for ; m%3 == 0; m /= 3 {
		p++
	}
	return max(p, 1)
}

// fftLayout is the grid of one problem.
type fftLayout struct {
	s       *Shape
	pad     []int // the padded input per dim
	grid    []int // F per dim
	cells   int   // prod(grid)
	spec    int   // the half spectrum's complex values
	block   int   // the products' frequencies per item (blocks)
	g       *gridFFT
	tiles   *fftTiles // the forward pass's overlap-save tiles (1D, long signals); nil: the whole grid
	threads int
}

func newFFTLayout(s *Shape, threads int) *fftLayout {
	l := &fftLayout{s: s, threads: max(1, threads), cells: 1}
	for d := range s.In {
		p := s.In[d] + s.PadBefore[d] + s.PadAfter[d]
		l.pad = append(l.pad, p)
		// The last dim's rows are the lanes of the real transform (and a
		// 1D grid's n2 of its four steps): whole vectors of 16.
		align := 0
		switch {
		case len(s.In) == 1:
			align = 32
		case d == len(s.In)-1:
			align = 16
		}
		l.grid = append(l.grid, fftGridLen(p, d == 0, align))
		l.cells *= l.grid[d]
	}
	l.g, _ = newGridFFT(l.grid, kernels.Current())
	if l.g != nil {
		l.spec = l.g.spec
	}
	l.tiles = newFFTTiles(s, l.cells)
	// A block of every spectrum of one image fits half of L2, so that the
	// products stream the filter spectra alone.
	_, l2, _ := kernels.Caches()
	l.block = min(max(l2/2/(8*(s.CPerG+s.KPerG))/16*16, 512), max(l.spec, 1))
	return l
}

// tiledFor is the tiles pass runs on: the forward pass's, if any.
func (l *fftLayout) tiledFor(pass Pass) *fftTiles {
	if pass == PassForward {
		return l.tiles
	}
	return nil
}

// blocks is the number of frequency blocks.
func (l *fftLayout) blocks() int {
	return (l.spec + l.block - 1) / l.block
}

// Floats and complex values of the buffers: the filter spectra (or the
// filter gradient's), one image's spectra of its inputs, and per thread
// a grid and a spectrum.
func (l *fftLayout) filterLen() int { return l.s.Groups * l.s.KPerG * l.s.CPerG * l.spec }

// imageLen is one image's spectra: its inputs' and its outputs' (x's
// then y's forward, dy's then dx's backward-data, x's then dy's for the
// filter gradient).
func (l *fftLayout) imageLen(pass Pass) int { return (l.s.CPerG + l.s.KPerG) * l.spec }

func (l *fftLayout) bytes(pass Pass) int64 {
	if t := l.tiledFor(pass); t != nil {
		perThread := 4*int64(t.threadLen()) + 8*int64(t.T/2+1+t.T)
		return 4*int64(t.filterLen(l.s)+t.imageLen(l.s)) + 4*int64(l.s.OutLen) + int64(l.threads)*perThread
	}
	perThread := 4*int64(l.cells) + l.g.workBytes()
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
	// The rate between the two probes (4096 and 65536 points) by log2 of
	// the transform, held past them.
	rate := func(points float64) float64 {
		f := min(1, max(0, (math.Log2(points)-12)/4))
		return (h.FFTGFLOPS + f*(h.FFTGFLOPSL-h.FFTGFLOPS)) * 1e9
	}
	cells := float64(l.cells)
	transform := 2.5 * cells * math.Log2(max(cells, 2)) / rate(cells)
	copyGrid := cells * 1e-9 // about a nanosecond a point
	spec, filterSpec := float64(l.spec), float64(l.spec)
	tiled := l.tiledFor(pass)
	if t := tiled; t != nil { // the tiles: P lanes of T points
		cells = float64(t.P * t.T)
		transform = 2.5 * cells * math.Log2(float64(t.T)) / rate(float64(t.T))
		// Every tile meets the same filter spectrum of m rows.
		copyGrid, spec, filterSpec = cells*1e-9, float64(t.P*t.m), float64(t.m)
	}
	chans := float64(s.CPerG + s.KPerG)
	// The products read each filter spectrum once per image: from L2
	// where every group's fit, else from past it, at the rate measured
	// for that (CMACsFarPerSec: volume_3d_3x3x3_c16's 101 MB of spectra
	// ran its products at about half the in-L2 rate, and auto took the
	// FFT at 17 ms over direct's 10). The tiles' products use each
	// filter row across all their lanes, so they stay at the L2 rate.
	wb := 8 * float64(s.KPerG*s.CPerG) * filterSpec
	macRate := h.CMACsPerSec
	if tiled == nil && wb*float64(s.Groups) > float64(h.L2) && h.CMACsFarPerSec > 0 {
		macRate = min(macRate, h.CMACsFarPerSec)
	}
	macs := float64(s.KPerG*s.CPerG) * spec / macRate
	// The filters' spectra (complex64 per point) stream in from past the
	// caches once per image and group where every group's together exceed
	// L3, at the stream rate measured at best (L3's; memory's is slower and
	// unmeasured, its probe's page faults costing more than the models
	// may): the probe behind CMACsPerSec runs in L2. (volume_3d_3x3x3_c16's
	// are 101 MB: the model put its forward pass at 10 ms, and it ran 19.)
	if wb*float64(s.Groups) > float64(h.L3) && h.StreamGBs > 0 {
		macs += wb / (h.StreamGBs * 1e9)
	}
	perImage := chans*(transform+copyGrid) + macs
	total := float64(s.N*s.Groups) * perImage
	if pass == PassBackwardFilter { // and the filters' inverses
		total += float64(s.Groups*s.KPerG*s.CPerG) * (l.inverseShare()*transform + copyGrid)
	}
	return total / float64(max(1, threads))
}

// inverseShare is the part of a whole transform the filter gradient's
// inverses cost: all where they do not prune; else the last axis (a
// share of the passes by the dims) whole and the rest on the kept lanes.
func (l *fftLayout) inverseShare() float64 {
	if !l.g.prunes() {
		return 1
	}
	d := len(l.grid)
	kept := 1.0
	for j := 1; j < d; j++ {
		kept *= float64((l.s.Kernel[j]-1)*l.s.Dilation[j]+1) / float64(l.grid[j])
	}
	last := 1 / float64(d)
	return last + (1-last)*kept
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
	works  []*gridWork // per thread: the transforms' scratch
	filt   []float32   // the filter spectra [g][k][c] (scaled by 1/cells), or the filter gradient's
	img    []float32   // one image's spectra: x's channels, or dy's, or both (x's first)
	packed bool        // filt holds PackWeights' filters
	grids  [][]float32 // per thread
	ones   []float32
	tapAt  []int // per filter tap, its cell on the grid (tapCells)
	// The tiled forward pass's: its layout (nil: the whole grid), per
	// thread its scratch, and the plain real transform of T points that
	// packs the filters (with its spectrum and scratch per thread).
	tiles          *fftTiles
	tileWorks      []*tileWork
	tileFilterPlan *fft.RealPlan
	tileSpec       [][]complex64
	tileFFTWork    [][]complex64
	// The filter gradient's inverses keep the taps' extent per dim
	// (gridFFT.inverseTaps, where it prunes) and read tap t at keptAt[t].
	tapExt []int
	keptAt []int
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
	fftProductPhase         // one image's output spectra, per frequency block
	fftOutputPhase          // one image's inverses, per output channel
	fftGradPhase            // dW's spectra += one image's products, per frequency block
	fftGradTapsPhase        // dW's inverses into the taps, per (g, k, c)
)

func newFFTEngine(l *fftLayout, pass Pass) (*fftEngine, error) {
	if l.g == nil {
		return nil, fmt.Errorf("conv: fft: no transform of the grid %v", l.grid)
	}
	e := &fftEngine{fftLayout: l, pass: pass, team: workers.NewTeam(l.threads)}
	e.ones = onesOf(l.s.OutLen)
	if t := l.tiledFor(pass); t != nil {
		e.tiles = t
		e.filt, e.img = make([]float32, t.filterLen(l.s)), make([]float32, t.imageLen(l.s))
		var err error
		if e.tileFilterPlan, err = fft.NewRealPlan(t.T); err != nil {
			return nil, err
		}
		for range l.threads {
			e.tileWorks = append(e.tileWorks, t.newWork())
			e.tileSpec = append(e.tileSpec, make([]complex64, t.T/2+1))
			e.tileFFTWork = append(e.tileFFTWork, make([]complex64, e.tileFilterPlan.WorkLen()))
		}
		return e, nil
	}
	e.filt = make([]float32, 2*l.filterLen())
	e.img = make([]float32, 2*l.imageLen(pass))
	for range l.threads {
		e.grids = append(e.grids, make([]float32, l.cells))
		e.works = append(e.works, l.g.newWork())
	}
	e.tapAt = e.tapCells()
	if l.g.prunes() {
		e.tapExt, e.keptAt = e.keptCells()
	}
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
	if c.phase == fftOutputPhase && e.tiles != nil {
		e.tiledOutputs(part, part*c.per, min(c.items, (part+1)*c.per))
		return
	}
	for i := part * c.per; i < min(c.items, (part+1)*c.per); i++ {
		switch c.phase {
		case fftPackPhase:
			if e.tiles != nil {
				e.packTiledFilter(part, i)
			} else {
				e.packFilter(part, i)
			}
		case fftInputPhase:
			if e.tiles != nil {
				e.tiledInput(part, i)
			} else {
				e.inputSpectrum(part, i)
			}
		case fftProductPhase:
			e.products(i)
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
	e.g.forward(e.spectrum(e.filt, i), grid, e.works[part])
}

// spectrum is the i-th spectrum of buf (2*spec floats each, split).
func (e *fftEngine) spectrum(buf []float32, i int) []float32 {
	return buf[2*i*e.spec:][:2*e.spec]
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

// keptCells is the taps' extent per dim, (kernel-1)*dilation+1 (dim 0:
// the grid's), and each tap's cell on the grid inverseTaps keeps.
func (e *fftEngine) keptCells() (ext, cells []int) {
	s := e.s
	d := len(s.Kernel)
	ext = make([]int, d)
	ext[0] = e.grid[0]
	for j := 1; j < d; j++ {
		ext[j] = (s.Kernel[j]-1)*s.Dilation[j] + 1
	}
	cells = make([]int, s.KernelSize)
	for t := range cells {
		cell, rest, stride := 0, t, 1
		for j := d - 1; j >= 0; j-- {
			cell += rest % s.Kernel[j] * s.Dilation[j] * stride
			rest /= s.Kernel[j]
			stride *= ext[j]
		}
		cells[t] = cell
	}
	return ext, cells
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
			if e.tiles == nil { // the tiles' products are their outputs'
				e.run(fftCall{phase: fftProductPhase, g: g, items: e.blocks()})
			}
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
			e.run(fftCall{phase: fftGradPhase, g: g, items: e.blocks()})
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
	e.g.forward(e.spectrum(e.img, i), grid, e.works[part])
}

// blockOf is frequency block blk of spectrum i of buf: its first
// frequency and its split view.
func (e *fftEngine) blockOf(buf []float32, i, blk int) (fft.Split, int) {
	f0 := blk * e.block
	n := min(e.block, e.spec-f0)
	return fft.Split{Data: buf, Re: 2*i*e.spec + f0, Im: (2*i+1)*e.spec + f0, Step: n}, n
}

// products computes frequency block blk of the call's output spectra,
// each the sum over the other side's channels in order:
//
//	forward:       Y_k  = sum_c X_c conj(W_kc)
//	backward-data: DX_c = sum_k DY_k W_kc
//
// A block of every spectrum of the image stays in cache; the filters'
// stream by once.
func (e *fftEngine) products(blk int) {
	s, g := e.s, e.call.g
	ins, outs := s.CPerG, s.KPerG
	first, rest := fft.MulConj, fft.MulAddConj
	filter := func(o, in int) int { return (g*s.KPerG+o)*s.CPerG + in }
	if e.pass == PassBackwardData {
		ins, outs = s.KPerG, s.CPerG
		first, rest = fft.Mul, fft.MulAdd
		filter = func(o, in int) int { return (g*s.KPerG+in)*s.CPerG + o }
	}
	for o := 0; o < outs; o++ {
		acc, n := e.blockOf(e.img, ins+o, blk)
		for in := 0; in < ins; in++ {
			x, _ := e.blockOf(e.img, in, blk)
			w, _ := e.blockOf(e.filt, filter(o, in), blk)
			kind := rest
			if in == 0 {
				kind = first
			}
			e.g.ops.Mul(kind, acc, x, w, 1, n)
		}
	}
}

// output computes output channel i of the call's image and group from
// its spectrum: the inverse, then the crop into y with the epilogue
// (forward) or the fold into dx (backward-data).
func (e *fftEngine) output(part, i int) {
	s, c := e.s, &e.call
	ins := s.CPerG
	if e.pass == PassBackwardData {
		ins = s.KPerG
	}
	grid := e.grids[part]
	e.g.inverse(grid, e.spectrum(e.img, ins+i), e.works[part])
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

// gradProducts adds one image's products into frequency block blk of
// every filter's gradient spectrum: DW_kc += X_c conj(DY_k).
func (e *fftEngine) gradProducts(blk int) {
	s, g := e.s, e.call.g
	for k := 0; k < s.KPerG; k++ {
		dy, n := e.blockOf(e.img, s.CPerG+k, blk)
		for c := 0; c < s.CPerG; c++ {
			acc, _ := e.blockOf(e.filt, (g*s.KPerG+k)*s.CPerG+c, blk)
			x, _ := e.blockOf(e.img, c, blk)
			e.g.ops.Mul(fft.MulAddConj, acc, x, dy, 1, n)
		}
	}
}

// gradTaps inverts filter i's gradient spectrum and reads its taps.
func (e *fftEngine) gradTaps(part, i int) {
	s, c := e.s, &e.call
	grid := e.grids[part]
	at := e.tapAt
	if e.keptAt != nil {
		e.g.inverseTaps(grid, e.spectrum(e.filt, i), e.works[part], e.tapExt)
		at = e.keptAt
	} else {
		e.g.inverse(grid, e.spectrum(e.filt, i), e.works[part])
	}
	scale := float32(1 / float64(e.cells))
	dst := c.dw[i*s.KernelSize:][:s.KernelSize]
	for t := range dst {
		v := grid[at[t]] * scale
		if c.accumulate {
			v += dst[t]
		}
		dst[t] = v
	}
}
