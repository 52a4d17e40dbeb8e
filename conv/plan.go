package conv

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
)

// Options configure a plan. The zero value is auto on every thread, for
// every pass, without a workspace limit.
type Options struct {
	// Threads is the plan's thread count (<= 0: GOMAXPROCS). The results
	// are bitwise the same for every thread count.
	Threads int
	// Algorithm is "auto" (or "") or the name of one algorithm
	// (Algorithms), which then runs every pass the plan is for.
	Algorithm string
	// Precision bounds the algorithms auto may pick; a named algorithm
	// must meet it too.
	Precision Precision
	// WorkspaceLimit caps the bytes of buffers the plan's algorithms may
	// hold (0: none). Over it a named algorithm is refused with an error;
	// auto picks among those that fit.
	WorkspaceLimit int64
	// Passes are the passes the plan will run (0: all three). A named
	// algorithm must support each of them.
	Passes Passes
	// Autotune makes auto time its candidates once per problem, pass,
	// thread count and ISA, and keep the fastest (in memory, and in
	// TuneFile when it is set), instead of ranking them by cost model.
	Autotune bool
	// TuneFile is where autotune's choices are kept between processes:
	// read when a plan first needs it, appended to on each new choice.
	TuneFile string
	tile     int  // tests: the im2col column tile (0: from the cache size)
	chans    int  // tests: the im2col channels per block (0: from the cache size)
	noPhase  bool // tests: im2col lowers from the long tensor itself, never a phased copy
}

// Plan computes the passes of one problem. NewPlan validates it, picks an
// algorithm per pass and builds its buffers; calls then allocate nothing.
//
// A Plan is not safe for concurrent use: its buffers serve one call at a
// time. A call that overlaps another call on the same Plan panics rather
// than returning a corrupted result. Use one Plan per goroutine.
type Plan struct {
	s       *Shape
	algos   [numPasses]Algorithm
	reasons [numPasses]string // why each pass runs its algorithm (Reason)
	engines [numPasses]Engine
	bytes   int64
	busy    atomic.Bool
	// packed is the copy PackWeights made; Forward and BackwardData use it
	// when given w == nil.
	packed []float32
}

// NewPlan validates p and returns its plan under opt.
func NewPlan(p Problem, opt Options) (*Plan, error) {
	s, err := p.Resolve()
	if err != nil {
		return nil, err
	}
	if opt.Threads <= 0 {
		opt.Threads = runtime.GOMAXPROCS(0)
	}
	cfg := Config{Threads: opt.Threads, WorkspaceLimit: opt.WorkspaceLimit, tile: opt.tile, chans: opt.chans, noPhase: opt.noPhase}
	pl, err := build(s, opt, cfg)
	var pe *Error
	if err != nil && opt.WorkspaceLimit > 0 && (opt.Algorithm == "" || opt.Algorithm == "auto") && errors.As(err, &pe) && pe.Param == "workspace_limit" {
		// Per-pass choices that do not fit together: the general algorithm
		// for every pass, one engine, as narrow as the limit needs.
		opt.Algorithm = "im2col"
		pl, err = build(s, opt, cfg)
		if err == nil {
			for pass := range pl.reasons {
				if pl.reasons[pass] != "" {
					pl.reasons[pass] = fmt.Sprintf("the passes' own choices do not fit the workspace limit of %d bytes together: im2col runs every pass", opt.WorkspaceLimit)
				}
			}
		}
	}
	return pl, err
}

// build picks the algorithm of every pass, then builds one engine per
// algorithm (an engine made per pass is given each further pass). Under a
// workspace limit the picks are made on each algorithm's least workspace
// (one thread's), which does not depend on the thread count, so neither
// do the picks nor the results' bits; each engine is then built within
// its share of the limit: its least and the slack in proportion.
func build(s *Shape, opt Options, cfg Config) (*Plan, error) {
	pl := &Plan{s: s}
	lim := cfg.WorkspaceLimit
	type choice struct {
		pass  Pass
		a     Algorithm
		least int64 // workspace on one thread (0: it shares an earlier pass's engine)
	}
	var picks []choice
	chosen := map[string]bool{}
	var leastSum int64
	for pass := range numPasses {
		if !opt.Passes.Has(pass) {
			continue
		}
		pc := cfg
		pc.pass = pass
		if lim > 0 {
			pc.WorkspaceLimit = max(1, lim-leastSum)
		}
		a, why, err := pick(s, pass, opt, pc, chosen)
		if err != nil {
			return nil, err
		}
		pl.reasons[pass] = why
		c := choice{pass: pass, a: a}
		if !chosen[a.Name()] || perPass(a) {
			one := pc
			one.Threads = 1
			c.least = a.Workspace(s, one)
		}
		chosen[a.Name()] = true
		leastSum += c.least
		picks = append(picks, c)
	}
	built := map[string]Engine{}
	for _, c := range picks {
		pc := cfg
		pc.pass = c.pass
		if lim > 0 && leastSum > 0 {
			// Each engine's share of the limit: its least and the slack in
			// proportion to it. The shares sum to the limit and do not
			// follow the thread count (the others' use does), so neither
			// does an engine's narrowing, nor the bits.
			// In float64: the slack times the least could overflow int64.
			share := float64(c.least) + float64(lim-leastSum)*(float64(c.least)/float64(leastSum))
			pc.WorkspaceLimit = max(1, int64(min(share, float64(lim))))
		}
		e, ok := built[c.a.Name()]
		switch {
		case !ok:
			var err error
			if e, err = c.a.New(s, pc); err != nil {
				return nil, err
			}
			built[c.a.Name()] = e
			pl.bytes += e.Workspace()
		case perPass(c.a):
			n, err := e.(passAdder).addPass(c.pass, pc)
			if err != nil {
				return nil, err
			}
			pl.bytes += n
		}
		pl.algos[c.pass], pl.engines[c.pass] = c.a, e
	}
	if lim > 0 && pl.bytes > lim {
		return nil, s.op().Errorf("workspace_limit", "the plan's algorithms need %d bytes of workspace together, the limit is %d", pl.bytes, lim)
	}
	return pl, nil
}

// perPassAlgorithm is an Algorithm whose engine is made per pass (its
// engines are passAdders): each pass it runs needs workspace of its own.
type perPassAlgorithm interface {
	perPassEngine()
}

func perPass(a Algorithm) bool {
	if b, ok := a.(blockedAlgo); ok {
		a = b.Algorithm
	}
	_, ok := a.(perPassAlgorithm)
	return ok
}

// Shape returns the plan's resolved problem.
func (pl *Plan) Shape() *Shape { return pl.s }

// Algorithm returns the name of the algorithm that runs pass ("" for a
// pass the plan is not for).
func (pl *Plan) Algorithm(pass Pass) string {
	if pass < numPasses && pl.algos[pass] != nil {
		return pl.algos[pass].Name()
	}
	return ""
}

// Reason says why pass runs its algorithm: named by the options, the only
// one admitted, autotune's measurement or the cost model's estimates
// (each candidate's milliseconds on one thread), followed by the reason
// each other algorithm declined the pass ("winograd: stride [2 2],
// dilation [1 1]: Winograd needs stride 1 and dilation 1"). It is "" for a pass the plan was not made for.
func (pl *Plan) Reason(pass Pass) string {
	if pass < numPasses {
		return pl.reasons[pass]
	}
	return ""
}

// Variant names what pass runs where its algorithm has variants, by the
// name that forces it (winograd's tile sizes: "winograd4"), else
// Algorithm(pass).
func (pl *Plan) Variant(pass Pass) string {
	if pass < numPasses {
		if v, ok := pl.engines[pass].(variantNamer); ok {
			return v.variant(pass)
		}
	}
	return pl.Algorithm(pass)
}

// variantNamer is an Engine whose passes run a variant of its algorithm.
type variantNamer interface {
	variant(pass Pass) string
}

// Workspace returns the bytes of buffers the plan holds. The GEMM's
// packing panels (a few hundred KiB per thread, from the cache sizes) come
// on top.
func (pl *Plan) Workspace() int64 { return pl.bytes }

// PackWeights keeps a copy of w for Forward and BackwardData, which then
// take w == nil. Call it again after every change of the weights, such as
// an optimizer step. (The im2col algorithm reads the weights as stored, so
// its packed form is the copy; direct packs them into its channel blocks
// here, flipped for its backward-data pass.) Like the other calls, it must
// not overlap another call on the plan.
func (pl *Plan) PackWeights(w []float32) {
	pl.need("w", w, pl.s.WLen)
	pl.acquire()
	defer pl.done()
	if pl.packed == nil {
		pl.packed = make([]float32, len(w))
	}
	copy(pl.packed, w)
	for i, e := range pl.engines {
		if wp, ok := e.(weightPacker); ok && !pl.sharedEngine(i) {
			wp.PackWeights(w)
		}
	}
}

// passAdder is the Engine of a perPass algorithm, made for one pass
// (Config.pass): the plan adds each further pass, which returns the
// workspace it added.
type passAdder interface {
	addPass(pass Pass, cfg Config) (int64, error)
}

// weightPacker is an Engine that keeps weights in a packed form of its
// own (PackWeights), which its Forward and BackwardData use when given
// w == nil. A call with w given may reuse that buffer: packedFor says
// whether the pass's packed form still holds PackWeights' weights.
type weightPacker interface {
	PackWeights(w []float32)
	packedFor(pass Pass) bool
}

// selectivePacker is a weightPacker whose passes may not all pack their
// own weights (the blocked adapter's inner engines).
type selectivePacker interface {
	packs(pass Pass) bool
}

// packedEngine returns w for engine e of pass: nil (the engine's packed
// form, packed again from the plan's copy if a call with explicit
// weights overwrote it) when the caller passed none and e packs its own,
// else the weights to pass on.
func (pl *Plan) packedEngine(e Engine, pass Pass, w []float32, given bool) []float32 {
	wp, ok := e.(weightPacker)
	if ps, sel := e.(selectivePacker); !ok || given || sel && !ps.packs(pass) {
		return w
	}
	if !wp.packedFor(pass) {
		wp.PackWeights(pl.packed)
	}
	return nil
}

// sharedEngine reports whether the engine of pass i also runs an earlier
// pass (one engine per algorithm).
func (pl *Plan) sharedEngine(i int) bool {
	for j := 0; j < i; j++ {
		if pl.engines[j] == pl.engines[i] {
			return true
		}
	}
	return false
}

// weights returns w, or the packed copy for nil.
func (pl *Plan) weights(w []float32) []float32 {
	if w == nil {
		if pl.packed == nil {
			panic(fmt.Sprintf("%s: w is nil and PackWeights was not called", pl.s.op()))
		}
		return pl.packed
	}
	pl.need("w", w, pl.s.WLen)
	return w
}

// engine returns the engine of pass, panicking for a pass the plan is not
// for, and marks the plan busy until done is called.
func (pl *Plan) engine(pass Pass) Engine {
	e := pl.engines[pass]
	if e == nil {
		panic(fmt.Sprintf("%s: the plan was made without the %s pass (Options.Passes)", pl.s.op(), pass))
	}
	pl.acquire()
	return e
}

// acquire marks the plan busy, panicking if a call is in progress.
func (pl *Plan) acquire() {
	if !pl.busy.CompareAndSwap(false, true) {
		panic(fmt.Sprintf("%s: a Plan used by two goroutines at once (make one Plan per goroutine)", pl.s.op()))
	}
}

func (pl *Plan) done() { pl.busy.Store(false) }

// need panics unless v has n elements: before any kernel runs, naming the
// argument.
func (pl *Plan) need(name string, v []float32, n int) {
	if len(v) != n {
		panic(fmt.Sprintf("%s: len(%s) = %d, want %d", pl.s.op(), name, len(v), n))
	}
}

// needBias checks a bias-shaped argument: K elements for a problem with
// bias, nil for one without.
func (pl *Plan) needBias(name string, v []float32) {
	if pl.s.Bias {
		pl.need(name, v, pl.s.K)
	} else if v != nil {
		panic(fmt.Sprintf("%s: %s given for a problem without bias", pl.s.op(), name))
	}
}

// Forward computes y = conv(x, w) + b, then the epilogue (nil: none). b
// must be nil for a problem without bias, else have K elements; w nil
// means the weights of PackWeights.
func (pl *Plan) Forward(y, x, w, b []float32, ep *Epilogue) {
	s := pl.s
	pl.need("y", y, s.YLen)
	pl.need("x", x, s.XLen)
	given := w != nil
	w = pl.weights(w)
	pl.needBias("b", b)
	if ep != nil && ep.Residual != nil {
		pl.need("residual", ep.Residual, s.YLen)
	}
	e := pl.engine(PassForward)
	w = pl.packedEngine(e, PassForward, w, given)
	defer pl.done()
	e.Forward(y, x, w, b, ep)
}

// BackwardData computes dx from dy and w (nil: the weights of
// PackWeights).
func (pl *Plan) BackwardData(dx, dy, w []float32) {
	s := pl.s
	pl.need("dx", dx, s.XLen)
	pl.need("dy", dy, s.YLen)
	given := w != nil
	w = pl.weights(w)
	e := pl.engine(PassBackwardData)
	w = pl.packedEngine(e, PassBackwardData, w, given)
	defer pl.done()
	e.BackwardData(dx, dy, w)
}

// BackwardFilter computes dw (and db, when the problem has bias) from x
// and dy; with accumulate it adds them to dw and db instead.
func (pl *Plan) BackwardFilter(dw, db, x, dy []float32, accumulate bool) {
	s := pl.s
	pl.need("dw", dw, s.WLen)
	pl.need("x", x, s.XLen)
	pl.need("dy", dy, s.YLen)
	pl.needBias("db", db)
	e := pl.engine(PassBackwardFilter)
	defer pl.done()
	e.BackwardFilter(dw, db, x, dy, accumulate)
}
