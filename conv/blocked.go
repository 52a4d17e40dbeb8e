package conv

import (
	"fmt"

	"github.com/convkit/convkit/direct"
	"github.com/convkit/convkit/internal/workers"
	"github.com/convkit/convkit/kernels"
)

// Reorderer moves activations between channels-first order and a
// blocked layout (N x C x spatial <-> N x ceil(C/L) x spatial x L), on
// the generated transposing kernels where the path has them, split over
// a team of threads. The blocked side's lanes past C are written as zero
// and ignored when read. A Reorderer holds scratch: it serves one call at
// a time, and its calls allocate nothing.
type Reorderer struct {
	l    Layout
	L    int
	tr   []*direct.Transposer // per team member
	team *workers.Team
	call reorderCall
}

// reorderChunk is the pixels a reorder item moves: a block's plane is cut
// into chunks of it, so that images of few channel blocks still give
// every thread work and the transposers' scratch stays small.
const reorderChunk = 2048

// reorderCall is the call in progress, read by Run.
type reorderCall struct {
	toBlocked             bool
	dst, src, res         []float32
	relu                  bool
	n, c, spatial, chunks int
	items, per            int
}

// NewReorderer returns a Reorderer between channels-first order and the
// blocked layout l on threads threads (<= 0: 1). It panics if l is not
// blocked.
func NewReorderer(l Layout, threads int) *Reorderer {
	L := l.Lanes()
	if L == 0 {
		panic(fmt.Sprintf("conv: NewReorderer: layout %s is not blocked", l))
	}
	r := &Reorderer{l: l, L: L, team: workers.NewTeam(threads)}
	r.tr = make([]*direct.Transposer, r.team.Size())
	for i := range r.tr {
		r.tr[i] = direct.NewTransposer(kernels.Current(), L, reorderChunk)
	}
	return r
}

// Layout is the Reorderer's blocked layout.
func (r *Reorderer) Layout() Layout { return r.l }

// BlockedLen is the floats of n images of c channels of spatial pixels
// in the Reorderer's blocked layout.
func (r *Reorderer) BlockedLen(n, c, spatial int) int { return n * ceilDiv(c, r.L) * r.L * spatial }

// ToBlocked writes src (n images of c channels of spatial pixels,
// channels first) into dst in the blocked layout, zeros in the lanes
// past c.
func (r *Reorderer) ToBlocked(dst, src []float32, n, c, spatial int) {
	r.check("ToBlocked", len(dst), len(src), n, c, spatial)
	r.run(reorderCall{toBlocked: true, dst: dst, src: src, n: n, c: c, spatial: spatial})
}

// ToChannelsFirst writes src (blocked) into dst, channels first.
func (r *Reorderer) ToChannelsFirst(dst, src []float32, n, c, spatial int) {
	r.check("ToChannelsFirst", len(src), len(dst), n, c, spatial)
	r.run(reorderCall{dst: dst, src: src, n: n, c: c, spatial: spatial})
}

// toBlockedEpilogue is ToBlocked followed by dst += res (blocked, nil:
// none) and a ReLU where relu is set, per chunk while it is in cache:
// the adapter's output with the epilogue's residual and ReLU.
func (r *Reorderer) toBlockedEpilogue(dst, src, res []float32, relu bool, n, c, spatial int) {
	r.check("ToBlocked", len(dst), len(src), n, c, spatial)
	r.run(reorderCall{toBlocked: true, dst: dst, src: src, res: res, relu: relu, n: n, c: c, spatial: spatial})
}

// check panics, naming the call, unless the slices have the tensor's
// lengths (blocked: the blocked side's, first: the channels-first side's).
func (r *Reorderer) check(op string, blocked, first, n, c, spatial int) {
	if n < 0 || c < 1 || spatial < 0 {
		panic(fmt.Sprintf("conv: Reorderer.%s: n = %d, c = %d, spatial = %d", op, n, c, spatial))
	}
	if wb, wf := r.BlockedLen(n, c, spatial), n*c*spatial; blocked != wb || first != wf {
		panic(fmt.Sprintf("conv: Reorderer.%s of %d x %d x %d: the blocked slice has %d floats, want %d; the channels-first one %d, want %d",
			op, n, c, spatial, blocked, wb, first, wf))
	}
}

func (r *Reorderer) run(c reorderCall) {
	if c.n == 0 || c.spatial == 0 {
		return
	}
	c.chunks = ceilDiv(c.spatial, reorderChunk)
	c.items = c.n * ceilDiv(c.c, r.L) * c.chunks
	var parts int
	c.per, parts = splitItems(r.team, c.items)
	r.call = c
	runParts(r.team, r, parts)
	r.call = reorderCall{}
}

// Run moves one part of the call's items: chunks of one block's plane
// (workers.Task).
func (r *Reorderer) Run(part int) {
	c := &r.call
	L := r.L
	cb := ceilDiv(c.c, L)
	t := r.tr[part]
	for i := part * c.per; i < min(c.items, (part+1)*c.per); i++ {
		p0 := i % c.chunks * reorderChunk
		np := min(reorderChunk, c.spatial-p0)
		img, b := i/c.chunks/cb, i/c.chunks%cb
		nc := min(L, c.c-b*L)
		first := (img*c.c+b*L)*c.spatial + p0 // the chunk's first channel's pixel p0
		blk := ((img*cb+b)*c.spatial + p0) * L
		if !c.toBlocked {
			t.Deinterleave(c.dst[first:], c.spatial, nc, c.src[blk:][:np*L], np)
			continue
		}
		out := c.dst[blk:][:np*L]
		t.Interleave(out, c.src[first:], c.spatial, nc, np)
		if c.res != nil {
			kernels.Add(out, out, c.res[blk:][:np*L])
		}
		if c.relu {
			kernels.Relu(out, out)
		}
	}
}

// blockedAlgo runs an algorithm on a blocked problem: the passes the
// algorithm computes in the blocked layout itself (nativeBlocked) on the
// problem as given, the others on its channels-first twin between
// reorders, which count in their cost and workspace.
type blockedAlgo struct{ Algorithm }

// nativeBlocked is an Algorithm that computes some passes of a blocked
// problem in that layout.
type nativeBlocked interface {
	nativeBlocked(s *Shape, pass Pass) bool
}

// forLayout is a as the plan of s runs it: wrapped for a blocked s.
func forLayout(a Algorithm, s *Shape) Algorithm {
	if s.Layout.Lanes() == 0 {
		return a
	}
	return blockedAlgo{a}
}

// native reports whether a computes pass of the blocked s in place.
func (a blockedAlgo) native(s *Shape, pass Pass) bool {
	nb, ok := a.Algorithm.(nativeBlocked)
	return ok && nb.nativeBlocked(s, pass)
}

// channelsFirstTwin is s in channels-first order.
func channelsFirstTwin(s *Shape) *Shape {
	p := s.Problem
	p.Layout = ChannelsFirst
	t, err := p.Resolve()
	if err != nil {
		panic("conv: the channels-first twin of a valid problem: " + err.Error())
	}
	return t
}

func (a blockedAlgo) Supports(s *Shape, pass Pass) error {
	if a.native(s, pass) {
		return a.Algorithm.Supports(s, pass)
	}
	return a.Algorithm.Supports(channelsFirstTwin(s), pass)
}

func (a blockedAlgo) Workspace(s *Shape, cfg Config) int64 {
	if a.native(s, cfg.pass) {
		return a.Algorithm.Workspace(s, cfg)
	}
	t := channelsFirstTwin(s)
	return a.Algorithm.Workspace(t, cfg) + reorderBytes(t, cfg.Threads)
}

// reorderBytes is the adapter's buffers for the channels-first twin t:
// x and y in its order, and the reorderers' scratch.
func reorderBytes(t *Shape, threads int) int64 {
	return 4*(int64(t.XLen)+int64(t.YLen)) + int64(max(1, threads))*transposerBytes(16, reorderChunk)
}

// Cost adds the reorders' streams to a twin's pass: every tensor the pass
// reads or writes crosses memory once more each way.
func (a blockedAlgo) Cost(s *Shape, pass Pass, h Host, threads int) float64 {
	if a.native(s, pass) {
		return a.Algorithm.Cost(s, pass, h, threads)
	}
	t := channelsFirstTwin(s)
	moved := float64(s.XLen) + float64(s.YLen)
	if pass == PassForward {
		moved += float64(s.YLen) // a residual's read
	}
	return a.Algorithm.Cost(t, pass, h, threads) + 2*4*moved/(h.StreamGBs*1e9)/float64(max(1, threads))
}

// New makes cfg.pass's engine; an algorithm whose one engine runs every
// pass (not perPass) gets it for all three.
func (a blockedAlgo) New(s *Shape, cfg Config) (Engine, error) {
	e := &blockedEngine{a: a, s: s, threads: cfg.Threads}
	if _, err := e.addPass(cfg.pass, cfg); err != nil {
		return nil, err
	}
	if !perPass(a.Algorithm) {
		for pass := range numPasses {
			if _, err := e.addPass(pass, cfg); err != nil {
				return nil, err
			}
		}
	}
	return e, nil
}

// blockedEngine is blockedAlgo's Engine: per pass, the algorithm's engine
// of the blocked problem (native) or of its channels-first twin (twin),
// made on the pass's first use (one engine per kind and algorithm,
// passes added to it as the algorithm allows).
type blockedEngine struct {
	a       blockedAlgo
	s, t    *Shape
	threads int
	native  Engine // the algorithm's engine of s (nil: none yet)
	twin    Engine // of t
	bytes   int64
	on      [numPasses]Engine
	// The twin's operands: x (or dx) and y (or dy) in its order.
	xt, yt []float32
	ro     *Reorderer
}

func (e *blockedEngine) Workspace() int64 { return e.bytes }

// addPass makes pass's engine (or adds the pass to the one of its kind),
// returning the workspace it added.
func (e *blockedEngine) addPass(pass Pass, cfg Config) (int64, error) {
	if e.on[pass] != nil {
		return 0, nil
	}
	s, slot := e.s, &e.native
	var extra int64
	if !e.a.native(e.s, pass) {
		if e.t == nil {
			e.t = channelsFirstTwin(e.s)
			e.xt, e.yt = make([]float32, e.t.XLen), make([]float32, e.t.YLen)
			e.ro = NewReorderer(e.s.Layout, e.threads)
			extra = reorderBytes(e.t, e.threads)
			if cfg.WorkspaceLimit > 0 {
				cfg.WorkspaceLimit = max(1, cfg.WorkspaceLimit-extra)
			}
		}
		s, slot = e.t, &e.twin
	}
	n := int64(0)
	switch {
	case *slot == nil:
		en, err := e.a.Algorithm.New(s, cfg)
		if err != nil {
			return 0, err
		}
		*slot, n = en, en.Workspace()
	case perPass(e.a.Algorithm):
		var err error
		if n, err = (*slot).(passAdder).addPass(pass, cfg); err != nil {
			return 0, err
		}
	}
	e.on[pass] = *slot
	e.bytes += n + extra
	return n + extra, nil
}

// image sizes of the reorders: x's and y's channels and pixels.
func (e *blockedEngine) xDims() (int, int) { return e.s.C, e.s.InSize }
func (e *blockedEngine) yDims() (int, int) { return e.s.K, e.s.OutLen }

func (e *blockedEngine) Forward(y, x, w, b []float32, ep *Epilogue) {
	en := e.on[PassForward]
	if en != e.twin {
		en.Forward(y, x, w, b, ep)
		return
	}
	n := e.s.N
	c, p := e.xDims()
	e.ro.ToChannelsFirst(e.xt, x, n, c, p)
	en.Forward(e.yt, e.xt, w, b, nil)
	k, q := e.yDims()
	var res []float32
	relu := false
	if ep != nil {
		res, relu = ep.Residual, ep.ReLU
	}
	e.ro.toBlockedEpilogue(y, e.yt, res, relu, n, k, q)
}

func (e *blockedEngine) BackwardData(dx, dy, w []float32) {
	en := e.on[PassBackwardData]
	if en != e.twin {
		en.BackwardData(dx, dy, w)
		return
	}
	n := e.s.N
	k, q := e.yDims()
	e.ro.ToChannelsFirst(e.yt, dy, n, k, q)
	en.BackwardData(e.xt, e.yt, w)
	c, p := e.xDims()
	e.ro.ToBlocked(dx, e.xt, n, c, p)
}

func (e *blockedEngine) BackwardFilter(dw, db, x, dy []float32, accumulate bool) {
	en := e.on[PassBackwardFilter]
	if en != e.twin {
		en.BackwardFilter(dw, db, x, dy, accumulate)
		return
	}
	n := e.s.N
	c, p := e.xDims()
	k, q := e.yDims()
	e.ro.ToChannelsFirst(e.xt, x, n, c, p)
	e.ro.ToChannelsFirst(e.yt, dy, n, k, q)
	en.BackwardFilter(dw, db, e.xt, e.yt, accumulate)
}

// PackWeights packs w in every inner engine that packs its own.
func (e *blockedEngine) PackWeights(w []float32) {
	for _, en := range []Engine{e.native, e.twin} {
		if wp, ok := en.(weightPacker); ok {
			wp.PackWeights(w)
		}
	}
}

func (e *blockedEngine) packedFor(pass Pass) bool {
	wp, ok := e.on[pass].(weightPacker)
	return ok && wp.packedFor(pass)
}

// packs reports whether pass's engine packs its own weights (else the
// plan passes its copy).
func (e *blockedEngine) packs(pass Pass) bool {
	_, ok := e.on[pass].(weightPacker)
	return ok
}

func (e *blockedEngine) variant(pass Pass) string {
	if v, ok := e.on[pass].(variantNamer); ok {
		return v.variant(pass)
	}
	return e.a.Name()
}

// inPlace reports whether pass runs in the blocked layout itself, without
// the reorders (tests, reports).
func (e *blockedEngine) inPlace(pass Pass) bool { return e.on[pass] != nil && e.on[pass] == e.native }
