package conv

import (
	"math"

	"github.com/convkit/convkit/gemm"
	"github.com/convkit/convkit/im2col"
	"github.com/convkit/convkit/internal/shape"
	"github.com/convkit/convkit/internal/workers"
	"github.com/convkit/convkit/kernels"
)

// The im2col + SGEMM algorithm: each group of each image is lowered into
// column tiles that stay in L2 (never the whole lowered matrix) and
// multiplied by the weights on convkit's SGEMM, which reads a tile in
// place where the product is short (m <= 128) and packs it otherwise.
// Backward-data multiplies by the transposed weights and adds the columns
// back (col2im); backward-filter multiplies the gradient by the lowered
// input. A 1x1, stride-1, unpadded problem is a plain GEMM on the
// activations in either layout (no lowering, no copy); any other
// channels-last problem is converted to channels-first and back inside
// the call.
//
// Threads: the work is cut into items that share nothing: the column
// tiles of every image and group in the forward pass; the channel blocks
// of dx (at least 4 where there are 32+ channels) of every image and group
// in backward-data; the channel blocks of dW of every group in
// backward-filter. Where there are at least as many items as threads,
// each thread takes a run of them on a 1-thread GEMM; else they run in
// order on a GEMM of every thread, the lowering (or lift) of a call of
// one or two big tiles split by channels across the threads (lowerAll).
// The cut follows the problem and the cache sizes, never the thread
// count, and the GEMM's results do not depend on its thread count, so
// every result is bitwise the same for every thread count.
type im2colAlgo struct{}

func (im2colAlgo) Name() string { return "im2col" }
func (im2colAlgo) Exact() bool  { return true }

func (im2colAlgo) Supports(s *Shape, pass Pass) error {
	if rows, _ := shape.Product(s.longSizes()[:s.Dims-1]...); rows > math.MaxInt32 {
		return &UnsupportedError{Algorithm: "im2col", Pass: pass, Reason: "more than 2^31 rows in a plane (the row table is int32)"}
	}
	return nil
}

func (a im2colAlgo) Workspace(s *Shape, cfg Config) int64 {
	return im2colBlocking(s, newLowering(s), cfg).bytes
}

// Cost models the time as the GEMM at 80% of the peak (90% for the
// forward pass where the lowering is the identity: one GEMM on the
// activations themselves, no tiles; resnet_1x1_c256_k64's measures 92-94%
// on Zen 4, where at 80% it ranked behind the direct kernels, which ran
// it 5% slower; its backward GEMMs measure 80-86%) plus the
// lowering at about one element per two cycles, which is what the tiles
// measure on the hosts so far; it only ranks the algorithms. (A probe of
// the GEMM's rate would be truer, but on these VMs it moved 55-109 GFLOPS
// from process to process where the peak's moved a few percent.)
func (im2colAlgo) Cost(s *Shape, pass Pass, h Host, threads int) float64 {
	peak := h.PeakGFLOPS * 1e9 * float64(max(1, threads))
	low := newLowering(s)
	if low.Identity() && pass == PassForward {
		return s.FLOPs() / (0.9 * peak)
	}
	lowered := float64(s.N) * float64(s.Groups) * float64(s.im2colRows()) * float64(low.ShortLen())
	if low.Identity() {
		lowered = 0
	}
	// A cycle is about peak/32 FLOPs per thread on the FMA units.
	return s.FLOPs()/(0.8*peak) + lowered*2*32/peak
}

func (a im2colAlgo) New(s *Shape, cfg Config) (Engine, error) {
	low := newLowering(s)
	bl := im2colBlocking(s, low, cfg)
	if cfg.WorkspaceLimit > 0 && bl.bytes > cfg.WorkspaceLimit {
		return nil, s.op().Errorf("workspace_limit", "im2col needs at least %d bytes of workspace, the limit is %d", bl.bytes, cfg.WorkspaceLimit)
	}
	t := bl.workers
	e := &im2colEngine{s: s, low: low, blocking: bl, rows: s.im2colRows(), team: workers.NewTeam(t),
		all: gemm.NewContext(max(1, cfg.Threads)), one: make([]*gemm.Context, t), cols: make([][]float32, t)}
	e.channelsLastGEMM = s.Layout == ChannelsLast && e.low.Identity()
	tileRows := bl.chans * e.low.KernelSize()
	if bl.biasRow {
		tileRows++ // the ones
	}
	for i := range t {
		e.one[i] = gemm.NewContext(1)
		if !e.low.Identity() {
			e.cols[i] = make([]float32, tileRows*bl.tile)
		}
	}
	if s.Layout == ChannelsLast && !e.channelsLastGEMM {
		e.xcf, e.ycf = make([]float32, s.XLen), make([]float32, s.YLen)
	}
	if s.Layout == ChannelsFirst && s.Bias {
		e.ones = onesOf(s.OutLen)
	}
	if bl.biasRow {
		if e.ones == nil {
			e.ones = onesOf(s.OutLen)
		}
		e.wBias = make([]float32, s.K*(bl.chans*low.KernelSize()+1))
	}
	if s.Bias {
		e.biasAcc, e.biasPart = make([]float64, s.K), make([]float32, s.K)
	}
	if bl.phased {
		e.phasedLong = make([]float32, s.N*s.Groups*(s.im2colRows()/low.KernelSize())*low.LongPlane())
	}
	return e, nil
}

// blocking is how the im2col engine cuts a group's column matrix: tiles of
// tile short positions (columns) by chans long channels (chans*kernel
// rows). A tile of every row and the short tensor's slice of it stay in
// L2 where they fit; where only a narrow tile would (many rows: large
// filters, many channels), the tile keeps at least minTileCols columns
// and the rows come in blocks of channels, summed into the GEMM's result
// (or lifted, or multiplied into their block of dW) one block at a time.
// The blocking depends on the problem and the cache sizes only, never on
// the thread count, so neither do the sums.
type blocking struct {
	tile   int   // short positions per tile
	chans  int   // long channels per block
	blocks int   // blocks per group
	bytes  int64 // every buffer the engine holds
	// workers is how many threads get a tile of their own: the thread
	// count, or fewer where the workspace limit holds fewer tiles.
	workers int
	// Backward-data and backward-filter: channels per block and blocks
	// (never more channels than a forward block).
	splitChans, splitBlocks int
	// phased: the forward and backward-filter passes lower a copy of the
	// long tensor that the lowering's Phase has reordered, so that a
	// last-dim stride of 3 or more gathers by copies (alexnet_11x11s4).
	phased bool
	// biasRow: the forward pass sums the bias in the GEMM of block 0,
	// as one more row of its tile (see biasRowPays).
	biasRow bool
}

// splitBlocks is how many blocks backward-data and backward-filter cut
// the long channels into at least, each of at least minSplitChans.
const (
	splitBlocks   = 4
	minSplitChans = 8
)

// minTileCols is the narrowest tile the blocking accepts before it blocks
// the rows instead: each row of a tile costs a run setup (tens of ns) in
// the lowering and each tile a GEMM call, which a few hundred columns
// amortize.
const minTileCols = 256

// im2colBlocking sizes the tiles and blocks of s (lowered by low), narrowed to fit
// cfg.WorkspaceLimit, and counts the bytes of every buffer (tiles,
// channels-last copies, the epilogue's ones).
func im2colBlocking(s *Shape, low *im2col.Lowering, cfg Config) blocking {
	shortLen, ks := low.ShortLen(), low.KernelSize()
	lg := s.im2colRows() / ks
	var fixed int64
	if s.Layout == ChannelsLast && !low.Identity() {
		fixed = 4 * (int64(s.XLen) + int64(s.YLen))
	}
	if s.Layout == ChannelsFirst && s.Bias {
		fixed += 4 * int64(s.OutLen) // the epilogue's ones
	}
	if s.Bias {
		fixed += 12 * int64(s.K) // the bias gradient's float64 sums and float32 block sums
	}
	fixed += low.TableBytes()
	if low.Identity() {
		return blocking{tile: shortLen, chans: lg, blocks: 1, bytes: fixed, splitChans: lg, splitBlocks: 1, workers: max(1, cfg.Threads)}
	}
	m := s.shortChannelsPerGroup()
	_, l2, _ := kernels.Caches()
	budget := l2 / 2 / 4 // floats
	tile, chans := tileWidth(lg*ks+m, shortLen), lg
	if tile < min(minTileCols, shortLen) {
		tile = balancedTile(min(minTileCols, shortLen), shortLen)
		chans = max(1, (budget-m*tile)/(ks*tile))
	}
	if cfg.tile > 0 {
		tile = min(cfg.tile, shortLen)
	}
	if cfg.chans > 0 {
		chans = cfg.chans
	}
	// The limit narrows the blocks, then the tile, as if for one thread:
	// the sums follow the blocking, so it must not depend on the thread
	// count. Threads then get a tile each as far as the limit allows
	// (workers), the others' share of the items going to the ones that do.
	perTile := func() int64 { return 4 * int64(chans*ks) * int64(tile) }
	if lim := cfg.WorkspaceLimit; lim > 0 {
		for chans > 1 && fixed+perTile() > lim {
			chans = max(1, chans/2)
		}
		if fixed+perTile() > lim {
			tile = int(max(1, (lim-fixed)/(4*int64(ks))))
		}
	}
	chans = min(chans, lg)
	blocks := ceilDiv(lg, chans)
	chans = ceilDiv(lg, blocks) // balanced
	// The bias row, decided as for one thread too (it orders the sums):
	// one more row per tile (ones), block 0's weights with the bias
	// beside them, and the ones where the epilogue has none.
	biasRow, rowBytes, tileBytes := biasRowPays(s, chans*ks, cfg.pass), int64(0), perTile()
	if biasRow {
		rowBytes = 4 * int64(s.K) * int64(chans*ks+1)
		if s.Layout != ChannelsFirst {
			rowBytes += 4 * int64(s.OutLen)
		}
		if lim := cfg.WorkspaceLimit; lim > 0 && fixed+rowBytes+tileBytes+4*int64(tile) > lim {
			biasRow, rowBytes = false, 0
		} else {
			tileBytes += 4 * int64(tile)
		}
	}
	workers := max(1, cfg.Threads)
	if lim := cfg.WorkspaceLimit; lim > 0 {
		workers = int(max(1, min(int64(workers), (lim-fixed-rowBytes)/tileBytes)))
	}
	bl := blocking{tile: tile, chans: chans, blocks: blocks, workers: workers, biasRow: biasRow,
		bytes: fixed + rowBytes + tileBytes*int64(workers)}
	// Backward-data and backward-filter compute each block on its own
	// (a block of dx's channels, of dW's columns): at least splitBlocks
	// of them, from the problem alone, lets one image of one group run on
	// several threads with no reduction between them.
	bl.splitBlocks = max(blocks, min(splitBlocks, lg/minSplitChans))
	bl.splitChans = ceilDiv(lg, bl.splitBlocks)
	bl.splitBlocks = ceilDiv(lg, bl.splitChans)
	if pb := 4 * int64(s.N*s.Groups*lg) * int64(low.LongPlane()); phasedLowering(s, low, cfg) && (cfg.WorkspaceLimit <= 0 || bl.bytes+pb <= cfg.WorkspaceLimit) {
		bl.phased, bl.bytes = true, bl.bytes+pb
	}
	return bl
}

// biasRowPays reports whether s's forward pass sums its bias into the
// GEMM as one more row of the first block's column tile, a row of ones
// against a column of the bias beside the block's weights, rather than
// adding it in a pass over y: where the copy of those weights that each
// call makes (rows0+1 floats per output channel) is at most a quarter of
// one image's output plane (N plays no part, so that an image's result
// does not depend on the batch it came in). The engine must be made for
// the forward pass (Config.pass; a plan makes it for its first). The
// pass rereads and rewrites every tile of y
// (vgg_3x3_c3: a quarter of its forward time at one thread, its y rows
// 1024-float multiples apart); the row costs the GEMM 1/rows0 more FMAs.
// A big layer on a small plane (resnet_3x3_c512 at 7x7) keeps the pass.
func biasRowPays(s *Shape, rows0 int, pass Pass) bool {
	return pass == PassForward && s.Bias && !s.Transposed && 4*(rows0+1) <= s.OutLen
}

// phasedLowering reports whether the engine lowers s from a phased copy
// of its long tensor: where the last dim's stride is 3 or more. A copy
// of a phase's run beats the scalar gather of those strides by about a
// third (alexnet_11x11s4's lowering, its Phase pass included); stride 2
// gathers on the generated Gather2 at nearly the speed of a copy, and
// the Phase pass would cost more than it saves.
func phasedLowering(s *Shape, low *im2col.Lowering, cfg Config) bool {
	return low.Phased() && s.Stride[s.Dims-1] >= 3 && !cfg.noPhase
}

// tileWidth is the widest column tile whose floats, perCol per column
// (the tile and the GEMM's other operand or result, which the epilogue
// then reads), take about half of L2, in 16-column steps, balanced so
// that the last tile is not a sliver.
func tileWidth(perCol, shortLen int) int {
	_, l2, _ := kernels.Caches()
	return balancedTile(max(16, (l2/2)/(4*max(1, perCol))&^15), shortLen)
}

// balancedTile is the tile width of at most about widest columns that
// cuts shortLen into equal tiles, in 16-column steps.
func balancedTile(widest, shortLen int) int {
	if widest >= shortLen {
		return shortLen
	}
	tiles := ceilDiv(shortLen, widest)
	return min(shortLen, (ceilDiv(shortLen, tiles)+15)&^15)
}

// shortChannelsPerGroup is the channels per group of the short tensor:
// y's for a convolution, x's for a transposed one.
func (s *Shape) shortChannelsPerGroup() int {
	if s.Transposed {
		return s.CPerG
	}
	return s.KPerG
}

// newLowering is the lowering of s: a convolution lowers x (the long
// tensor) at y's positions, a transposed one y at x's.
func newLowering(s *Shape) *im2col.Lowering {
	mode := im2col.Mode(s.PaddingMode)
	if s.Transposed {
		mode = im2col.Zeros
	}
	return im2col.New(im2col.Geometry{Short: s.shortSizes(), Long: s.longSizes(), Kernel: s.Kernel,
		Stride: s.Stride, Dilation: s.Dilation, Pad: s.PadBefore, Mode: mode})
}

// shortSizes and longSizes are the spatial sizes of the short and the
// long tensor (reference.go): y and x for a convolution, x and y for a
// transposed one.
func (s *Shape) shortSizes() []int {
	if s.Transposed {
		return s.In
	}
	return s.Out
}

func (s *Shape) longSizes() []int {
	if s.Transposed {
		return s.Out
	}
	return s.In
}

// im2colRows is the rows of a group's column matrix: the long tensor's
// channels per group times the kernel offsets.
func (s *Shape) im2colRows() int {
	if s.Transposed {
		return s.KPerG * s.KernelSize
	}
	return s.CPerG * s.KernelSize
}

// im2colEngine holds one problem's tiles and GEMM contexts.
type im2colEngine struct {
	s   *Shape
	low *im2col.Lowering
	blocking
	rows int // rows of a group's column matrix
	team *workers.Team
	all  *gemm.Context   // every thread: for work that does not split
	one  []*gemm.Context // one thread each, per team member
	cols [][]float32     // one column tile per team member (nil: identity)
	// channelsLastGEMM: a channels-last identity problem, computed as
	// GEMMs on the activations as they are laid out.
	channelsLastGEMM bool
	// Channels-first copies of the activations of a channels-last
	// problem (nil otherwise).
	xcf, ycf []float32
	ones     []float32 // the epilogue's bias multiplier: one per output position of a tile
	// wBias is block 0's weights of every output channel with its bias
	// beside them, for the biasRow forward pass: K rows of
	// chans*kernel+1.
	wBias    []float32
	biasAcc  []float64 // biasGrad's scratch
	biasPart []float32 // and its float32 block sums
	call     call      // the call in progress, read by Run
	job      lowerJob  // lowerAll's split
	// phasedLong is the phased copy of the long tensor (nil: the
	// lowering reads the tensor itself), and phase its pass.
	phasedLong []float32
	phase      phaseJob
}

// callKind is the loop a call runs.
type callKind uint8

const (
	gatherCall  callKind = iota // dst = W * lower(src), per column tile
	scatterCall                 // dst = lift(W^T * src), per image and group
	filterCall                  // dW = short * lower(long)^T, per group
)

// call is the arguments of one pass, split into items: (image, group,
// tile) for gather, (image, group, channel block) for scatter, (group,
// channel block) for filter. For gather and scatter src (srcCh channels)
// is read and dst (dstCh) written with the weights w; for filter src is
// the long tensor (srcCh channels), w the short one (dstCh) and dst dW.
type call struct {
	kind         callKind
	dst, src, w  []float32
	srcCh, dstCh int
	b            []float32 // gather of a channels-first forward: the fused epilogue
	ep           *Epilogue
	fuse         bool
	biasRow      bool    // gather: the bias is in wBias, summed by block 0's GEMM
	beta         float32 // filter: 0 or 1 (accumulate)
	items, per   int     // items, and items per team member
	parallel     bool    // each team member runs items on its own 1-thread GEMM
	phased       bool    // src is phasedLong: lower it with LowerPhased
}

func (e *im2colEngine) Workspace() int64 { return e.bytes }

func (e *im2colEngine) tiles() int { return ceilDiv(e.low.ShortLen(), e.tile) }

// block returns the first long channel of forward block b and its
// channel count; splitBlock the same for the backward passes' blocks.
func (e *im2colEngine) block(b, lg int) (c0, n int) {
	c0 = b * e.chans
	return c0, min(e.chans, lg-c0)
}

func (e *im2colEngine) splitBlock(b, lg int) (c0, n int) {
	c0 = b * e.splitChans
	return c0, min(e.splitChans, lg-c0)
}

func (e *im2colEngine) Forward(y, x, w, b []float32, ep *Epilogue) {
	s := e.s
	if e.channelsLastGEMM {
		e.channelsLast(y, x, w, s.C, s.K, !s.Transposed)
		epilogueChannelsLast(s, y, b, ep)
		return
	}
	xs, ys := e.channelsFirst(x, e.xcf, s.C, s.InSize), e.orBuffer(y, e.ycf)
	biasRow := e.biasRow && b != nil
	if biasRow {
		e.packBias(w, b)
		b = nil // summed by the GEMM
	}
	fuse := s.Layout == ChannelsFirst && ep.active(b)
	if s.Transposed {
		e.run(call{kind: scatterCall, dst: ys, src: xs, w: w, srcCh: s.C, dstCh: s.K, b: b, ep: ep, fuse: fuse})
	} else {
		e.run(call{kind: gatherCall, dst: ys, src: xs, w: w, srcCh: s.C, dstCh: s.K, b: b, ep: ep, fuse: fuse, biasRow: biasRow})
	}
	if s.Layout == ChannelsLast {
		relayout(y, ys, s.N, s.K, s.OutLen, false)
		epilogueChannelsLast(s, y, b, ep)
	}
}

// packBias fills wBias: each output channel's weights of block 0, then
// its bias.
func (e *im2colEngine) packBias(w, b []float32) {
	rows0 := e.chans * e.low.KernelSize()
	for k := range e.s.K {
		row := e.wBias[k*(rows0+1):][:rows0+1]
		copy(row, w[k*e.rows:][:rows0])
		row[rows0] = b[k]
	}
}

func (e *im2colEngine) BackwardData(dx, dy, w []float32) {
	s := e.s
	if e.channelsLastGEMM {
		e.channelsLast(dx, dy, w, s.K, s.C, s.Transposed)
		return
	}
	dys, dxs := e.channelsFirst(dy, e.ycf, s.K, s.OutLen), e.orBuffer(dx, e.xcf)
	if s.Transposed {
		e.run(call{kind: gatherCall, dst: dxs, src: dys, w: w, srcCh: s.K, dstCh: s.C})
	} else {
		e.run(call{kind: scatterCall, dst: dxs, src: dys, w: w, srcCh: s.K, dstCh: s.C})
	}
	if s.Layout == ChannelsLast {
		relayout(dx, dxs, s.N, s.C, s.InSize, false)
	}
}

func (e *im2colEngine) BackwardFilter(dw, db, x, dy []float32, accumulate bool) {
	s := e.s
	beta := float32(0)
	if accumulate {
		beta = 1
	}
	if e.channelsLastGEMM {
		e.filterChannelsLast(dw, x, dy, beta)
	} else {
		xs := e.channelsFirst(x, e.xcf, s.C, s.InSize)
		dys := e.channelsFirst(dy, e.ycf, s.K, s.OutLen)
		short, long, shortCh, longCh := dys, xs, s.K, s.C
		if s.Transposed {
			short, long, shortCh, longCh = xs, dys, s.C, s.K
		}
		e.run(call{kind: filterCall, dst: dw, src: long, w: short, srcCh: longCh, dstCh: shortCh, beta: beta})
	}
	if s.Bias {
		biasGrad(s, db, dy, accumulate, e.biasAcc, e.biasPart)
	}
}

// run splits c into items and runs them: in runs, one per team member,
// where they split evenly enough, else in order on the all-thread GEMM.
func (e *im2colEngine) run(c call) {
	s := e.s
	switch c.kind {
	case gatherCall:
		c.items = s.N * s.Groups * e.tiles()
	case scatterCall:
		c.items = s.N * s.Groups * e.splitBlocks
	default:
		c.items = s.Groups * e.splitBlocks
	}
	if e.phasedLong != nil && c.kind != scatterCall {
		e.phaseAll(c.src, c.srcCh)
		c.src, c.phased = e.phasedLong, true
	}
	t := e.team.Size()
	c.parallel = t > 1 && c.items >= t
	c.per = c.items
	parts := 1
	if c.parallel {
		c.per = ceilDiv(c.items, t)
		parts = ceilDiv(c.items, c.per)
	}
	e.call = c
	if parts > 1 {
		e.team.Run(e, parts)
	} else {
		e.Run(0) // the team stays free for lowerAll
	}
	e.call = call{} // drop the caller's slices
}

// lowerJob is a lowering or lift of one tile split by channels across the
// team (workers.Task): for a call whose items run in order on the
// all-thread GEMM, so that the lowering does not run on one thread while
// the others wait.
type lowerJob struct {
	l            *im2col.Lowering
	col, long    []float32
	chans, per   int
	j0, cols     int
	lift, phased bool
}

// minSplitLowering is the smallest tile (in lowered elements: tens of
// microseconds of copying) that lowerAll splits across the team: a parked
// team takes about as long to wake (VGG's 3-channel tiles, split, ran
// bwd-data at 0.45x).
const minSplitLowering = 1 << 16

func (j *lowerJob) Run(part int) {
	c0 := part * j.per
	n := min(j.per, j.chans-c0)
	col := j.col[c0*j.l.KernelSize()*j.cols:]
	long := j.long[c0*j.l.LongPlane():]
	switch {
	case j.lift && j.l.Disjoint():
		j.l.Place(long, col, j.cols, n, j.j0, j.cols)
	case j.lift:
		j.l.Lift(long, col, j.cols, n, j.j0, j.cols)
	case j.phased:
		j.l.LowerPhased(col, j.cols, long, n, j.j0, j.cols)
	default:
		j.l.Lower(col, j.cols, long, n, j.j0, j.cols)
	}
}

// phaseJob is the Phase pass of a call's long tensor into phasedLong,
// split by channel planes across the team (workers.Task).
type phaseJob struct {
	l               *im2col.Lowering
	dst, src        []float32
	planes, perPart int
}

func (j *phaseJob) Run(part int) {
	p0, plane := part*j.perPart, j.l.LongPlane()
	n := min(j.perPart, j.planes-p0)
	j.l.Phase(j.dst[p0*plane:], j.src[p0*plane:], n)
}

// phaseAll phases the long tensor src (every image's ch channels) into
// phasedLong: on the team where it is big enough to pay for waking it.
func (e *im2colEngine) phaseAll(src []float32, ch int) {
	planes := e.s.N * ch
	e.phase = phaseJob{l: e.low, dst: e.phasedLong, src: src, planes: planes, perPart: planes}
	if t := e.team.Size(); t > 1 && planes > 1 && planes*e.low.LongPlane() >= minSplitLowering {
		e.phase.perPart = ceilDiv(planes, t)
		e.team.RunParked(&e.phase, ceilDiv(planes, e.phase.perPart))
	} else {
		e.phase.Run(0)
	}
	e.phase = phaseJob{}
}

// lowerAll lowers (or lifts) a tile of chans channels: split by channels
// across the team when the call's items run in order on the all-thread
// GEMM, in one or two tiles each big enough to pay for waking the team,
// which then parks so that it leaves the cores to the GEMM's goroutines
// (polling beside them made the split slower than none; waking it for
// every one of many tiles, too: the stem's bwd-data 0.91x).
func (e *im2colEngine) lowerAll(col, long []float32, chans, j0, cols int, lift bool) {
	t := e.team.Size()
	if e.call.parallel || t == 1 || chans == 1 || e.tiles() > 2 || chans*e.low.KernelSize()*cols < minSplitLowering {
		j := lowerJob{l: e.low, col: col, long: long, chans: chans, per: chans, j0: j0, cols: cols, lift: lift, phased: e.call.phased}
		j.Run(0)
		return
	}
	e.job = lowerJob{l: e.low, col: col, long: long, chans: chans, per: ceilDiv(chans, t), j0: j0, cols: cols, lift: lift, phased: e.call.phased}
	e.team.RunParked(&e.job, ceilDiv(chans, e.job.per))
	e.job = lowerJob{}
}

// Run computes one part of the call in progress (workers.Task).
func (e *im2colEngine) Run(part int) {
	c := &e.call
	ctx, col := e.all, e.cols[0]
	if c.parallel {
		ctx, col = e.one[part], e.cols[part]
	}
	for i := part * c.per; i < min(c.items, (part+1)*c.per); i++ {
		switch c.kind {
		case gatherCall:
			tiles := e.tiles()
			e.gather(c, ctx, col, i/(tiles*e.s.Groups), i/tiles%e.s.Groups, i%tiles)
		case scatterCall:
			e.scatter(c, ctx, col, i/(e.splitBlocks*e.s.Groups), i/e.splitBlocks%e.s.Groups, i%e.splitBlocks)
		default:
			e.filter(c, ctx, col, i/e.splitBlocks, i%e.splitBlocks)
		}
	}
}

// gather computes tile t of dst_g = W_g * lower(src_g) for image n and
// group g, block by block: the convolution's forward pass (src = x) and
// the transposed one's backward-data pass (src = dy). W_g is dg x
// (sg*kernel) as stored in both cases.
func (e *im2colEngine) gather(c *call, ctx *gemm.Context, col []float32, n, g, t int) {
	s, l := e.s, e.low
	ks := l.KernelSize()
	sg, dg := c.srcCh/s.Groups, c.dstCh/s.Groups
	shortLen, plane := l.ShortLen(), l.LongPlane()
	srcG := c.src[(n*c.srcCh+g*sg)*plane:][:sg*plane]
	dstG := c.dst[(n*c.dstCh+g*dg)*shortLen:][:dg*shortLen]
	wg := c.w[g*dg*e.rows:][:dg*e.rows]
	j0 := t * e.tile
	cols := min(e.tile, shortLen-j0)
	if l.Identity() {
		ctx.Sgemm(false, false, dg, cols, e.rows, 1, wg, e.rows, srcG[j0:], shortLen, 0, dstG[j0:], shortLen)
	} else {
		beta := float32(0)
		for b := range e.blocks {
			c0, nc := e.block(b, sg)
			rows, wb, ldw := nc*ks, wg[c0*ks:], e.rows
			e.lowerAll(col[:rows*cols], srcG[c0*plane:], nc, j0, cols, false)
			if b == 0 && c.biasRow {
				// The bias as one more row: ones against wBias's last column.
				copy(col[rows*cols:][:cols], e.ones)
				wb, ldw = e.wBias[g*dg*(rows+1):], rows+1
				rows++
			}
			ctx.Sgemm(false, false, dg, cols, rows, 1, wb, ldw, col[:rows*cols], cols, beta, dstG[j0:], shortLen)
			beta = 1
		}
	}
	if c.fuse {
		epilogueChannelsFirst(s, c.dst, c.b, c.ep, n, g*dg, dg, j0, cols, e.ones)
	}
}

// scatter computes block b of dst_g = lift(W_g^T * src_g) for image n and
// group g, tile by tile in order: the transposed convolution's forward
// pass (src = x) and the convolution's backward-data pass (src = dy). W_g
// is sg x (dg*kernel) as stored; block b is its columns of channels
// [c0, c0+nc) of dst.
func (e *im2colEngine) scatter(c *call, ctx *gemm.Context, col []float32, n, g, b int) {
	s, l := e.s, e.low
	ks := l.KernelSize()
	sg, dg := c.srcCh/s.Groups, c.dstCh/s.Groups
	shortLen, plane := l.ShortLen(), l.LongPlane()
	srcG := c.src[(n*c.srcCh+g*sg)*shortLen:][:sg*shortLen]
	dstG := c.dst[(n*c.dstCh+g*dg)*plane:][:dg*plane]
	wg := c.w[g*sg*e.rows:][:sg*e.rows]
	c0, nc := e.splitBlock(b, dg)
	if l.Identity() {
		ctx.Sgemm(true, false, e.rows, shortLen, sg, 1, wg, e.rows, srcG, shortLen, 0, dstG, shortLen)
	} else {
		dstB := dstG[c0*plane:][:nc*plane]
		// A disjoint lowering's columns are placed, not added: no
		// clear where they cover dst, and no pass reading it back (the
		// 2x2 stride-2 transposed convolution spent a fifth of its
		// forward pass clearing and adding).
		if !l.Covers() {
			clear(dstB)
		}
		for j0 := 0; j0 < shortLen; j0 += e.tile {
			cols := min(e.tile, shortLen-j0)
			ct := col[:nc*ks*cols]
			ctx.Sgemm(true, false, nc*ks, cols, sg, 1, wg[c0*ks:], e.rows, srcG[j0:], shortLen, 0, ct, cols)
			e.lowerAll(ct, dstB, nc, j0, cols, true)
		}
	}
	if c.fuse {
		epilogueChannelsFirst(s, c.dst, c.b, c.ep, n, g*dg+c0, nc, 0, plane, e.ones)
	}
}

// filter computes block b of the weight gradient of group g: for a
// convolution dW_g = dy_g * lower(x_g)^T, for a transposed one dW_g = x_g *
// lower(dy_g)^T, summed over the images and tiles in order. Block b is
// dW_g's columns of the long channels [c0, c0+nc).
func (e *im2colEngine) filter(c *call, ctx *gemm.Context, col []float32, g, b int) {
	s, l := e.s, e.low
	ks := l.KernelSize()
	long, short, longCh, shortCh := c.src, c.w, c.srcCh, c.dstCh
	lg, sg := longCh/s.Groups, shortCh/s.Groups
	shortLen, plane := l.ShortLen(), l.LongPlane()
	dwg := c.dst[g*sg*e.rows:][:sg*e.rows]
	c0, nc := e.splitBlock(b, lg)
	beta := c.beta
	for n := 0; n < s.N; n++ {
		longG := long[(n*longCh+g*lg)*plane:][:lg*plane]
		shortG := short[(n*shortCh+g*sg)*shortLen:][:sg*shortLen]
		for j0 := 0; j0 < shortLen; j0 += e.tile {
			cols := min(e.tile, shortLen-j0)
			if l.Identity() {
				ctx.Sgemm(false, true, sg, e.rows, cols, 1, shortG[j0:], shortLen, longG[j0:], plane, beta, dwg, e.rows)
			} else {
				ct := col[:nc*ks*cols]
				e.lowerAll(ct, longG[c0*plane:], nc, j0, cols, false)
				ctx.Sgemm(false, true, sg, nc*ks, cols, 1, shortG[j0:], shortLen, ct, cols, beta, dwg[c0*ks:], e.rows)
			}
			beta = 1
		}
	}
}

// channelsLast computes a channels-last identity problem's gather or
// scatter as one GEMM per image and group on the activations as laid out:
// dst (positions x dstCh) = src (positions x srcCh) * op(W_g), where W_g
// is dg x sg as stored for a gather (op = transpose) and sg x dg for a
// scatter, in order on the all-thread GEMM.
func (e *im2colEngine) channelsLast(dst, src, w []float32, srcCh, dstCh int, gather bool) {
	s := e.s
	sg, dg := srcCh/s.Groups, dstCh/s.Groups
	plane := e.low.ShortLen()
	for n := 0; n < s.N; n++ {
		for g := 0; g < s.Groups; g++ {
			srcG := src[n*plane*srcCh+g*sg:]
			dstG := dst[n*plane*dstCh+g*dg:]
			wg := w[g*sg*dg:][:sg*dg]
			if gather {
				e.all.Sgemm(false, true, plane, dg, sg, 1, srcG, srcCh, wg, sg, 0, dstG, dstCh)
			} else {
				e.all.Sgemm(false, false, plane, dg, sg, 1, srcG, srcCh, wg, dg, 0, dstG, dstCh)
			}
		}
	}
}

// filterChannelsLast is backward-filter of a channels-last identity
// problem: dW_g (sg x lg) = short_g^T * long_g, summed over the images.
func (e *im2colEngine) filterChannelsLast(dw, x, dy []float32, beta float32) {
	s := e.s
	short, long, shortCh, longCh := dy, x, s.K, s.C
	if s.Transposed {
		short, long, shortCh, longCh = x, dy, s.C, s.K
	}
	sg, lg := shortCh/s.Groups, longCh/s.Groups
	plane := e.low.ShortLen()
	for g := 0; g < s.Groups; g++ {
		b := beta
		for n := 0; n < s.N; n++ {
			e.all.Sgemm(true, false, sg, lg, plane, 1, short[n*plane*shortCh+g*sg:], shortCh,
				long[n*plane*longCh+g*lg:], longCh, b, dw[g*sg*lg:][:sg*lg], lg)
			b = 1
		}
	}
}

// channelsFirst returns v as channels-first: v itself, or its copy in buf
// for a channels-last problem.
func (e *im2colEngine) channelsFirst(v, buf []float32, ch, plane int) []float32 {
	if e.s.Layout != ChannelsLast {
		return v
	}
	relayout(buf, v, e.s.N, ch, plane, true)
	return buf
}

// orBuffer is where a pass writes a result: the result itself, or its
// channels-first buffer for a channels-last problem.
func (e *im2colEngine) orBuffer(v, buf []float32) []float32 {
	if e.s.Layout == ChannelsLast {
		return buf
	}
	return v
}

// relayout copies n images of ch channels of plane elements between the
// layouts: channels-last src into channels-first dst (toFirst), or back.
// It walks blocks of 16 channels by 64 positions, so both sides stream.
func relayout(dst, src []float32, n, ch, plane int, toFirst bool) {
	const bc, bp = 16, 64
	for img := 0; img < n; img++ {
		cf, cl := dst[img*ch*plane:][:ch*plane], src[img*ch*plane:][:ch*plane]
		if !toFirst {
			cf, cl = src[img*ch*plane:][:ch*plane], dst[img*ch*plane:][:ch*plane]
		}
		for p0 := 0; p0 < plane; p0 += bp {
			for c0 := 0; c0 < ch; c0 += bc {
				for p := p0; p < min(plane, p0+bp); p++ {
					for c := c0; c < min(ch, c0+bc); c++ {
						if toFirst {
							cf[c*plane+p] = cl[p*ch+c]
						} else {
							cl[p*ch+c] = cf[c*plane+p]
						}
					}
				}
			}
		}
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
