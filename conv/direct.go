package conv

import (
	"fmt"
	"math"

	"github.com/convkit/convkit/direct"
	"github.com/convkit/convkit/internal/workers"
	"github.com/convkit/convkit/kernels"
)

// directAlgo is the direct convolution: the generated tile kernels of
// package direct (U output pixels x B vectors of output channels, summed
// over the input channels and the filter taps in registers), with the
// input in the layout the kernel's form reads:
//
//   - the blocked form reads channel blocks of the vector width,
//     interleaved per pixel: a channels-last input as it is (when the
//     channels per group are a multiple of the block and there is no
//     padding), else a channel-blocked copy (nCdhw<L>c);
//   - the planes form reads one channel at a time: the first layer (fewer
//     channels per group than a block would hold), read in place from a
//     channels-first input without padding, else from a copy.
//
// The copy includes the padding, filled by the padding mode, so that
// every tap of every output pixel reads inside the buffer and the kernels
// need no edge cases; the tiles along a row end with a narrower kernel.
// The output goes channel-blocked into a buffer and is reordered into y
// (with the residual and ReLU of the epilogue), except channels-last
// output whose channels per group are a multiple of the block, which the
// kernels write in place with the epilogue fused.
type directAlgo struct{}

func (directAlgo) Name() string   { return "direct" }
func (directAlgo) perPassEngine() {}
func (directAlgo) Exact() bool    { return true }

// directLanes is the vector width of the host's direct kernels: the
// channel block.
func directLanes() int { return direct.Families(kernels.Current())[0].Lanes }

// nativeBlocked reports whether pass of the blocked s runs on the tile
// engines in the layout itself. Forward and backward-data: x read in
// place or copied by whole blocks, y written in place with the epilogue
// fused; that needs the blocked form (channels per group a multiple of
// the block, or one group of at least two blocks' worth) and whole
// output blocks per group. Backward-filter: x copied into its planes a
// lane at a time, dy's blocks moved by whole vectors; whole output blocks
// per group. Everything needs the kernels' own block. The stride phases
// and the depthwise engines run on the channels-first twin
// (blockedAlgo).
func (directAlgo) nativeBlocked(s *Shape, pass Pass) bool {
	L := directLanes()
	if s.Layout.Lanes() != L {
		return false
	}
	d, err := derive(s, pass)
	if err != nil || d.phases != nil {
		return false
	}
	ds := d.s
	switch {
	case ds.Groups > 1 && ds.CPerG%L != 0: // depthwise and small groups: the twin
		return false
	case pass == PassBackwardFilter:
		return ds.Groups == 1 || ds.KPerG%L == 0
	case ds.Groups == 1:
		return blockedForm(ds, L) == direct.Blocked
	}
	return ds.KPerG%L == 0
}

// blockedForm is the input form the tile engine takes for s: blocked,
// or planes for the first layer (fewer channels per group than a block
// would fill).
func blockedForm(s *Shape, L int) direct.Form {
	if s.CPerG%L != 0 && (s.Groups > 1 || s.CPerG < 2*L) {
		return direct.Planes
	}
	return direct.Blocked
}

func (directAlgo) Supports(s *Shape, pass Pass) error {
	_, err := deriveSupported(s, pass)
	return err
}

// deriveSupported is pass's forward problem of s, checked against what
// the kernels compute.
func deriveSupported(s *Shape, pass Pass) (derived, error) {
	d, err := derive(s, pass)
	if err != nil {
		return d, err
	}
	if d.phases == nil {
		return d, directSupports(d.s, pass)
	}
	for _, ph := range d.phases {
		if ph.s != nil {
			if err := directSupports(ph.s, pass); err != nil {
				return d, err
			}
		}
	}
	return d, nil
}

// directSupports checks that the kernels compute the forward problem s
// (pass names the plan's pass in the reason).
func directSupports(s *Shape, pass Pass) error {
	no := func(format string, a ...any) error {
		return &UnsupportedError{Algorithm: "direct", Pass: pass, Reason: fmt.Sprintf(format, a...)}
	}
	L := directLanes()
	switch {
	case s.byChannels():
		return nil
	case s.Groups > 1 && s.CPerG == 1 && s.Layout != ChannelsFirst:
		return no("channels-last depthwise with %d output channels per group: the channel kernels pair each output channel with its input channel (im2col runs it)", s.KPerG)
	case s.byWidth():
		return nil
	case s.Groups > 1 && s.KPerG%L != 0:
		return no("%d output channels per group: not a multiple of the %d-channel block", s.KPerG, L)
	}
	return nil
}

// Workspace is the bytes of cfg.pass on as many of cfg.Threads as fit
// the limit (fitThreads): the results do not depend on the thread count,
// so neither does whether direct is admitted.
func (a directAlgo) Workspace(s *Shape, cfg Config) int64 {
	d, err := derive(s, cfg.pass)
	if err != nil {
		return 0
	}
	return passBytes(s, cfg.pass, d, fitThreads(s, cfg.pass, d, cfg))
}

// passBytes is the workspace of pass (derived problem d) on threads.
func passBytes(s *Shape, pass Pass, d derived, threads int) int64 {
	var n int64
	switch {
	case d.phases != nil:
		n = phasedBytes(d.phases, threads)
	case d.s.byChannels() && pass == PassBackwardFilter:
		n = dcFilterBytes(newDCLayoutFor(d.s, dcFilterThreads(d.s, threads), false))
	case d.s.byWidth() && pass == PassBackwardFilter:
		n = dwFilterBytes(newDWLayout(d.s, threads))
	case pass == PassBackwardFilter:
		n = newFilterShape(d.s, threads).bytes(d.s)
	default:
		n = forwardBytes(d.s, threads)
	}
	switch {
	case pass == PassBackwardFilter && s.Bias:
		n += 12 * int64(s.K) // biasGrad's sums
	case d.flip:
		n += 4 * int64(s.WLen)
	}
	return n
}

// fitThreads is the most of cfg.Threads whose per-thread buffers fit
// cfg.WorkspaceLimit (1 where none does: the limit then refuses direct).
func fitThreads(s *Shape, pass Pass, d derived, cfg Config) int {
	t := max(1, cfg.Threads)
	for lim := cfg.WorkspaceLimit; lim > 0 && t > 1 && passBytes(s, pass, d, t) > lim; t-- {
	}
	return t
}

// Cost models the pass's cycles on the engine that runs it (the kernels
// and the activations' copies), at 4*Lanes FLOPs a cycle at the peak (2
// FMAs of Lanes lanes); it only ranks the algorithms. The weights'
// packing is left out: a plan packs them once (PackWeights) for all its
// calls, or once per optimizer step.
func (directAlgo) Cost(s *Shape, pass Pass, h Host, threads int) float64 {
	d, err := derive(s, pass)
	if err != nil {
		return math.Inf(1)
	}
	var c float64
	switch {
	case d.phases != nil:
		c = phasesCost(s, d.phases, threads)
	case d.s.byChannels() && pass == PassBackwardFilter:
		c = dcFilterCycles(newDCLayoutFor(d.s, threads, false))
	case d.s.byWidth() && pass == PassBackwardFilter:
		c = dwFilterCycles(newDWLayout(d.s, threads))
	case pass == PassBackwardFilter:
		sh := newFilterShape(d.s, threads)
		c = sh.cycles(d.s) + float64(sh.l.xCopyLen()+sh.dyFloats+sh.dwFloats)
	default:
		c = forwardCycles(d.s, threads)
	}
	perCycle := h.PeakGFLOPS * 1e9 / float64(4*directLanes())
	return c / (perCycle * float64(max(1, threads)))
}

// New makes the engine for cfg.pass; the plan adds its other passes
// (addPass).
func (a directAlgo) New(s *Shape, cfg Config) (Engine, error) {
	pl := &directPlan{s: s}
	if _, err := pl.addPass(cfg.pass, cfg); err != nil {
		return nil, err
	}
	return pl, nil
}

// directLayout is how the direct algorithm lays a problem out for its
// kernels: the form, the family of each output-channel group, the
// buffers and every byte stride the kernels take.
type directLayout struct {
	s    *Shape
	form direct.Form
	L    int
	fam  *direct.Family   // the widest family chosen; fams[b-1] has b vectors
	fams []*direct.Family // per vector count 1..fam.B (nil where the ISA has none)
	// icb is the channel groups per conv group the kernel steps through:
	// blocks of L (blocked form) or channels (planes).
	icb int
	kb  int // output-channel blocks per conv group
	ogs []ocGroup
	// The input the kernels read: a copy (padded, in the form's layout)
	// or x itself.
	copyX    bool
	srcDims  []int // spatial sizes of that input (padded for a copy)
	unit     int   // bytes from one input pixel to the next
	srcICB   int   // bytes from one channel group to the next
	srcImage int   // floats per image
	srcPlane int   // pixels per channel
	srcGroup int   // bytes from one conv group's input to the next
	pitch    []int // input pixels per step of each spatial dim
	// The output the kernels write: a row buffer per thread
	// (channel-blocked, moved into y after each row) or y itself
	// (channels-last, the blocks of a group whole).
	bufY           bool
	dstPix, dstOCB int // bytes
	dstImage       int // floats per image of y (in place)
	threads        int
	taps           int // prod(kernel)
	// A row's columns come in chunks of chunkW (a multiple of the
	// family's U) when rows alone are too few items for the threads;
	// short rows come in bands of band rows, moved into y together.
	chunks, chunkW int
	band, bands    int
}

// ocGroup is a run of B output-channel blocks of one conv group, computed
// by one kernel call per tile.
type ocGroup struct {
	ob0, b int // first block (within the conv group), blocks
	w      int // float offset of its packed weights within the conv group's
}

// newDirectLayout lays s out for the tile kernels on threads, in the
// form blockedForm gives, or in planes where that reads x in place and
// models cheaper.
func newDirectLayout(s *Shape, threads int) *directLayout {
	l := newDirectLayoutForm(s, threads, blockedForm(s, directLanes()))
	if l.form == direct.Blocked && l.copyX && s.Groups == 1 && s.Layout == ChannelsFirst && !s.padded() {
		// The planes form reads such an x in place, where the blocked
		// one copies it into blocks: take it where the model, the copy
		// counted, finds it cheaper (wavenet_1d_k2_d8_c64, two taps
		// per channel: the copy was a tenth of its time).
		if p := newDirectLayoutForm(s, threads, direct.Planes); p.modelCost() < l.modelCost() {
			return p
		}
	}
	return l
}

// modelCost is the model's time of the layout's forward pass: the
// kernels' cycles and the elements reordered (about a cycle each).
func (l *directLayout) modelCost() float64 { return l.cycles() + float64(l.reordered()) }

// newDirectLayoutForm is newDirectLayout with the input form given.
func newDirectLayoutForm(s *Shape, threads int, form direct.Form) *directLayout {
	fs := direct.Families(kernels.Current())
	L := fs[0].Lanes
	l := &directLayout{s: s, L: L, taps: s.KernelSize, threads: max(1, threads), form: form}
	l.kb = ceilDiv(s.KPerG, L)
	l.icb = s.CPerG
	if l.form == direct.Blocked {
		l.icb = ceilDiv(s.CPerG, L)
	}
	l.chooseFamily(fs)
	l.chunkRows()
	l.layInput()
	l.layOutput()
	return l
}

// chooseFamily picks the family whose tiles the model finds fastest for
// the output row and channel blocks (see cycles), and splits each conv
// group's blocks into ocGroups of its B (the last one narrower).
func (l *directLayout) chooseFamily(fs []*direct.Family) {
	var best *direct.Family
	bestCycles := 0.0
	for _, f := range fs {
		if f.Form != l.form {
			continue
		}
		l.setFamily(fs, f)
		if c := l.cycles(); best == nil || c < bestCycles {
			best, bestCycles = f, c
		}
	}
	l.setFamily(fs, best)
}

func (l *directLayout) setFamily(fs []*direct.Family, f *direct.Family) {
	l.fam = f
	l.fams, l.ogs = ocGroupsOf(fs, l.form, f, l.kb, l.icb*l.taps)
}

// ocGroupsOf splits kb output-channel blocks into groups of f's B (the
// last narrower, on the families of form in fs by B), each group's packed
// weights (steps tap steps of its family's WBytes) after the last's.
func ocGroupsOf(fs []*direct.Family, form direct.Form, f *direct.Family, kb, steps int) ([]*direct.Family, []ocGroup) {
	fams := familiesByB(fs, form, f.B)
	ogs := splitOCBlocks(kb, fams)
	w := 0
	for i, og := range ogs {
		ogs[i].w = w
		w += steps * fams[og.b-1].WBytes() / 4
	}
	return fams, ogs
}

// familiesByB returns the families of form in fs by vector count:
// [b-1] has b vectors, nil where fs has none, for b up to top.
func familiesByB(fs []*direct.Family, form direct.Form, top int) []*direct.Family {
	by := make([]*direct.Family, top)
	for b := 1; b <= top; b++ {
		if g := direct.Pick(fs, form, b); g != nil && g.B == b {
			by[b-1] = g
		}
	}
	return by
}

// splitOCBlocks splits kb output-channel blocks into groups of the widest
// vector count in fams (by B, as familiesByB returns them), the last
// narrower (or split further where no family has its count).
func splitOCBlocks(kb int, fams []*direct.Family) []ocGroup {
	var ogs []ocGroup
	for ob := 0; ob < kb; {
		b := min(len(fams), kb-ob)
		for fams[b-1] == nil {
			b--
		}
		ogs = append(ogs, ocGroup{ob0: ob, b: b})
		ob += b
	}
	return ogs
}

// cycles models the kernels' time in cycles: per tap and input channel
// step, a tile of u pixels x b vectors needs max(u*b/2 FMA cycles, (u+b)/2
// load cycles, fmaChain cycles of FMA latency) (two FMA and two load
// ports: every x86 and arm64 core this project meets), plus tileCall per
// call, over every tile of every row and output-channel group. (The call
// cost matters for a few steps per tile: lenet_5x5_c1's 25.)
func (l *directLayout) cycles() float64 {
	s := l.s
	ow := s.Out[s.Dims-1]
	rows := s.OutLen / ow
	steps := float64(l.icb*l.fam.Cin) * float64(l.taps)
	var perRow float64
	for _, og := range l.ogs {
		u := l.fams[og.b-1].U
		for x := 0; x < ow; x += u {
			n := float64(min(u, ow-x))
			b := float64(og.b)
			perRow += max(n*b/2, (n+b)/2, fmaChain)*steps + tileCall
		}
	}
	return perRow * float64(rows) * float64(s.N*s.Groups)
}

// chunkRows groups short rows into bands, so that the output reorder
// moves runs of at least 4 blocks of pixels (a 10-pixel row alone took
// the unpacking kernel's Go tail: lenet_5x5_c6 spent a quarter of its
// time there), and cuts long rows into column chunks where there are too
// few rows for the threads to share evenly (1D signals, a small image
// with few channel groups): at least 8 items per thread where the rows
// are long enough, no chunk narrower than 4 tiles. Every output pixel's
// sums are the same whatever the cut.
func (l *directLayout) chunkRows() {
	s := l.s
	ow := s.Out[s.Dims-1]
	rows := s.OutLen / ow
	l.chunks, l.chunkW = 1, ow
	l.band = 1
	if ow < 4*l.L {
		l.band = min(rows, ceilDiv(4*l.L, ow))
	}
	l.bands = ceilDiv(rows, l.band)
	items := s.N * s.Groups * len(l.ogs) * l.bands
	if want := 8 * l.threads; l.band == 1 && l.threads > 1 && items < want {
		n := min(ceilDiv(want, items), max(1, ow/(4*l.fam.U)))
		l.chunkW = ceilDiv(ceilDiv(ow, n), l.fam.U) * l.fam.U
		l.chunks = ceilDiv(ow, l.chunkW)
	}
}

// fmaChain is the cycles a step takes at least, each accumulator's FMAs
// being a chain: 4 cycles of FMA latency in theory, which 8 accumulators
// on two ports just cover; measured (resnet_3x3_c256 on the AVX-512
// Xeon), a 2x4 tile ran 1.5x slower per FMA than a 6x4 one, so the model
// charges 6.
const fmaChain = 6

// padded reports whether the problem reads past the input's edge.
func (s *Shape) padded() bool {
	for i := range s.PadBefore {
		if s.PadBefore[i] != 0 || s.PadAfter[i] != 0 {
			return true
		}
	}
	return false
}

// layInput decides whether the kernels read x in place and sets the input
// strides.
func (l *directLayout) layInput() {
	s := l.s
	L := l.L
	inPlace := !s.padded()
	blockedX := l.form == direct.Blocked && s.Layout.Lanes() == L // x in the kernels' own blocks
	switch {
	case l.form == direct.Blocked:
		inPlace = inPlace && (s.Layout == ChannelsLast || blockedX) && s.CPerG%L == 0
	default:
		inPlace = inPlace && s.Layout == ChannelsFirst
	}
	l.copyX = !inPlace
	l.srcDims = append([]int(nil), s.In...)
	if l.copyX {
		for i := range l.srcDims {
			l.srcDims[i] += s.PadBefore[i] + s.PadAfter[i]
		}
	}
	plane := 1
	l.pitch = make([]int, s.Dims)
	for i := s.Dims - 1; i >= 0; i-- {
		l.pitch[i] = plane
		plane *= l.srcDims[i]
	}
	switch {
	case (l.copyX || blockedX) && l.form == direct.Blocked: // [N][G*icb][plane][L]
		l.unit, l.srcICB = 4*L, 4*L*plane
		l.srcImage = s.Groups * l.icb * plane * L
	case l.copyX || s.Layout == ChannelsFirst: // planes: [N][C][plane]
		l.unit, l.srcICB = 4, 4*plane
		l.srcImage = s.C * plane
	default: // channels-last in place: [N][plane][C]
		l.unit = 4 * s.C
		l.srcICB = 4 * l.fam.Cin
		l.srcImage = s.C * plane
	}
	l.srcGroup = l.icb * l.srcICB
	l.srcPlane = plane
}

// layOutput decides whether the kernels write y in place and sets the
// output strides.
func (l *directLayout) layOutput() {
	s := l.s
	L := l.L
	blockedY := s.Layout.Lanes() == L && (s.Groups == 1 || s.KPerG%L == 0)
	l.bufY = !(s.Layout == ChannelsLast && s.KPerG%L == 0 || blockedY)
	switch {
	case l.bufY: // a band of rows: [B][band*ow][L]
		l.dstPix, l.dstOCB = 4*L, 4*L*l.band*s.Out[s.Dims-1]
	case blockedY: // [N][ceil(K/L)][plane][L]
		l.dstPix, l.dstOCB = 4*L, 4*L*s.OutLen
		l.dstImage = s.YLen / s.N
	default:
		l.dstPix, l.dstOCB = 4*s.K, 4*L
		l.dstImage = s.K * s.OutLen
	}
}

// xCopyLen and yBufLen are the floats of the input copy and output buffer
// (0: none).
func (l *directLayout) xCopyLen() int {
	if !l.copyX {
		return 0
	}
	return l.s.N * l.srcImage
}

func (l *directLayout) yBufLen() int {
	if !l.bufY {
		return 0
	}
	return l.threads * l.fam.B * l.L * l.band * l.s.Out[l.s.Dims-1]
}

// reordered is the floats the reorders move per call: the input copy,
// and y through the row buffers.
func (l *directLayout) reordered() int {
	n := l.xCopyLen()
	if l.bufY {
		n += l.s.YLen
	}
	return n
}

// wLen is the floats of the packed weights: every conv group's.
func (l *directLayout) wLen() int {
	last := l.ogs[len(l.ogs)-1]
	return l.s.Groups * (last.w + l.icb*l.taps*l.fams[last.b-1].WBytes()/4)
}

// bytes is the workspace: the copies, the packed weights, the padded
// bias and the tap tables.
func (l *directLayout) bytes() int64 {
	floats := int64(l.yBufLen()) + int64(l.wLen()) + int64(l.s.Groups*l.kb*l.L)
	return l.inputBytes() + 4*floats + int64(8*2*l.taps*len(l.fams))
}

// inputBytes is the workspace of the input side alone: the copy and the
// reorders' scratch (an input-only engine: backward-filter's x).
func (l *directLayout) inputBytes() int64 {
	return 4*int64(l.xCopyLen()) + int64(l.threads)*transposerBytes(l.L, l.maxRow())
}

// maxRow is the longest row the engine's reorders move.
func (l *directLayout) maxRow() int { return max(l.s.In[l.s.Dims-1], l.s.Out[l.s.Dims-1]) }

// transposerBytes is a direct.Transposer's scratch for rows of maxRow
// pixels of lanes channels.
func transposerBytes(lanes, maxRow int) int64 { return 4 * int64(maxRow+lanes*direct.PartRun) }

// directEngine runs one problem's direct convolution.
type directEngine struct {
	*directLayout
	team   *workers.Team
	xp     []float32            // the input copy (nil: none)
	rowBuf [][]float32          // per team member: a row of output (nil: none)
	tr     []*direct.Transposer // per team member
	wp     []float32            // packed weights
	packed bool                 // wp holds PackWeights' weights
	bias   []float32            // the bias padded to whole blocks
	tables []*direct.Taps       // tap tables per vector count (tables[b-1])
	args   []*direct.Args       // per team member, apart (no false sharing)
	colMap [][]int              // per spatial dim: padded index -> input index or -1 (copies)
	call   directCall
}

// paddedArgs keeps each team member's tile arguments on cache lines of
// their own: written every row, they would otherwise bounce between the
// cores.
type paddedArgs struct {
	direct.Args
	_ [64]byte
}

// newArgs returns n tile arguments, one per team member, apart.
func newArgs(n int) []*direct.Args {
	args := make([]*direct.Args, n)
	for i := range args {
		args[i] = &new(paddedArgs).Args
	}
	return args
}

// directCall is the call in progress, read by Run.
type directCall struct {
	phase      directPhase
	y, x, w, b []float32
	ep         *Epilogue
	items, per int
}

// directPhase is one of a Forward call's parallel loops.
type directPhase uint8

const (
	copyPhase directPhase = iota // x into the padded copy, per image and channel group
	tilePhase                    // the tiles, per image, conv group, channel group and row
	packPhase                    // the weights, per conv group and channel group
)

func newDirectEngine(l *directLayout, threads int) *directEngine {
	e := newInputEngine(l, threads)
	s := l.s
	for range e.tr {
		if l.bufY {
			e.rowBuf = append(e.rowBuf, make([]float32, l.fam.B*l.L*l.band*s.Out[s.Dims-1]))
		}
	}
	e.wp = make([]float32, l.wLen())
	if s.Bias {
		e.bias = make([]float32, s.Groups*l.kb*l.L)
	}
	e.tables = make([]*direct.Taps, len(l.fams))
	for b, f := range l.fams {
		if f != nil {
			e.tables[b] = direct.NewTaps(l.tapTable(f))
		}
	}
	e.args = newArgs(e.team.Size())
	return e
}

// newInputEngine is an engine with the input side alone (the copy, the
// reorders, the team): backward-filter's x.
func newInputEngine(l *directLayout, threads int) *directEngine {
	s := l.s
	e := &directEngine{directLayout: l, team: workers.NewTeam(threads)}
	if l.copyX {
		e.xp = make([]float32, l.xCopyLen())
		e.colMap = make([][]int, s.Dims)
		for i := range e.colMap {
			e.colMap[i] = make([]int, l.srcDims[i])
			for v := range e.colMap[i] {
				e.colMap[i][v] = paddedSource(v-s.PadBefore[i], s.In[i], s.PaddingMode)
			}
		}
	}
	e.tr = make([]*direct.Transposer, e.team.Size())
	for i := range e.tr {
		e.tr[i] = direct.NewTransposer(kernels.Current(), l.L, l.maxRow())
	}
	return e
}

// tapTable lists every tap's byte offsets (input, weights) for family f,
// in the weights' order (PyTorch's: the last dim fastest).
func (l *directLayout) tapTable(f *direct.Family) []int {
	src := l.tapOffsets()
	tab := make([]int, 0, 2*len(src))
	for t, off := range src {
		tab = append(tab, off, t*f.WBytes())
	}
	return tab
}

// tapOffsets is each filter tap's input offset in bytes, in the weights'
// order.
func (l *directLayout) tapOffsets() []int {
	s := l.s
	steps := make([]int, s.Dims)
	for i := range steps {
		steps[i] = s.Dilation[i] * l.pitch[i] * l.unit
	}
	return gridOffsets(s.Kernel, steps)
}

// gridOffsets is, for every point of the grid of the given sizes (the
// last dim fastest), the sum over dims of its index times the dim's step.
func gridOffsets(sizes, steps []int) []int {
	n := 1
	for _, v := range sizes {
		n *= v
	}
	out := make([]int, n)
	idx := make([]int, len(sizes))
	for p := range out {
		for i, k := range idx {
			out[p] += k * steps[i]
		}
		for i := len(idx) - 1; i >= 0; i-- { // the next point
			if idx[i]++; idx[i] < sizes[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

func (e *directEngine) Forward(y, x, w, b []float32, ep *Epilogue) {
	s := e.s
	if w != nil {
		e.pack(w)
		e.packed = false // over PackWeights' weights
	}
	if b != nil {
		e.padBias(b)
	}
	src := x
	if e.copyX {
		e.run(directCall{phase: copyPhase, x: x, items: s.N * e.copyItems()})
		src = e.xp
	}
	e.run(directCall{phase: tilePhase, y: y, x: src, b: b, ep: ep, items: s.N * s.Groups * len(e.ogs) * e.bands * e.chunks})
	if e.bufY && s.Layout == ChannelsLast {
		epilogueChannelsLast(s, y, nil, ep)
	}
}

// PackWeights keeps w packed for Forward calls with w == nil.
func (e *directEngine) PackWeights(w []float32) {
	e.pack(w)
	e.packed = true
}

func (e *directEngine) packedWeights() bool { return e.packed }

// pack packs w into the engine's blocks, split over the team.
func (e *directEngine) pack(w []float32) {
	e.run(directCall{phase: packPhase, w: w, items: e.s.Groups * len(e.ogs)})
}

// run splits c into items and runs them on the team.
func (e *directEngine) run(c directCall) {
	var parts int
	c.per, parts = splitItems(e.team, c.items)
	e.call = c
	runParts(e.team, e, parts)
	e.call = directCall{}
}

// splitItems cuts items into at most one run per team member: per items
// each, parts runs.
func splitItems(team *workers.Team, items int) (per, parts int) {
	per = max(1, ceilDiv(items, team.Size()))
	return per, ceilDiv(items, per)
}

// runParts runs parts of t on the team, or one part on the caller alone.
func runParts(team *workers.Team, t workers.Task, parts int) {
	if parts > 1 {
		team.Run(t, parts)
	} else {
		t.Run(0)
	}
}

// Run computes one part of the call in progress (workers.Task).
func (e *directEngine) Run(part int) {
	c := &e.call
	lo, hi := part*c.per, min(c.items, (part+1)*c.per)
	switch c.phase {
	case copyPhase:
		per := e.copyItems()
		for i := lo; i < hi; i++ {
			e.copyInput(e.tr[part], c.x, i/per, i%per)
		}
	case tilePhase:
		rows := e.s.OutLen / e.s.Out[e.s.Dims-1]
		ow := e.s.Out[e.s.Dims-1]
		for i := lo; i < hi; i++ {
			x0 := i % e.chunks * e.chunkW
			x1 := min(ow, x0+e.chunkW)
			j := i / e.chunks
			r0 := j % e.bands * e.band
			nr := min(e.band, rows-r0)
			j /= e.bands
			og := j % len(e.ogs)
			j /= len(e.ogs)
			n, g := j/e.s.Groups, j%e.s.Groups
			e.bandRows(part, c, n, g, og, r0, nr, x0, x1)
			if e.bufY {
				e.flushRows(part, c, n, g, e.ogs[og], r0, nr, x0, x1)
			}
		}
	default:
		for i := lo; i < hi; i++ {
			e.packGroup(c.w, i/len(e.ogs), i%len(e.ogs))
		}
	}
}

// bandRows computes columns [x0, x1) of output rows [r0, r0+nr) (a row:
// the positions of the last spatial dim at fixed outer coordinates) of
// image n, conv group g and channel group og: into y, or the band buffer
// (row r at its row r-r0). Rows whose inputs lie a fixed step apart (those
// of one plane: every row of a 2D problem) run as one TileBand.
func (e *directEngine) bandRows(part int, c *directCall, n, g, ogi, r0, nr, x0, x1 int) {
	s := e.s
	d := s.Dims
	for r, end := r0, r0+nr; r < end; {
		rows := end - r
		if d >= 2 {
			inner := s.Out[d-2]
			rows = min(rows, inner-r%inner)
		}
		e.rows(part, c, n, g, ogi, r, r-r0, rows, x0, x1)
		r += rows
	}
}

// rows computes columns [x0, x1) of output rows [r, r+rows), all in one
// plane of the outer dims (their inputs a fixed step apart), into y or the
// band buffer from its row rr.
func (e *directEngine) rows(part int, c *directCall, n, g, ogi, r, rr, rows, x0, x1 int) {
	s := e.s
	a := e.args[part]
	og := e.ogs[ogi]
	f := e.fams[og.b-1]
	d := s.Dims
	ow := s.Out[d-1]
	// The first row's first input pixel: the outer coordinates of r times
	// the strides (the copy holds the padding, so no offset).
	srcOff, rem := 0, r
	for i := d - 2; i >= 0; i-- {
		o := rem % s.Out[i]
		rem /= s.Out[i]
		srcOff += o * s.Stride[i] * e.pitch[i]
	}
	srcOff = (n*e.srcImage)*4 + g*e.srcGroup + srcOff*e.unit
	b := direct.Band{Rows: rows, Pixels: x1 - x0, DstRow: ow * e.dstPix}
	if d >= 2 {
		b.SrcRow = s.Stride[d-2] * e.pitch[d-2] * e.unit
	}
	blk := g*e.kb + og.ob0
	y, dstOff := c.y, rr*ow*e.dstPix
	if e.bufY {
		y = e.rowBuf[part]
	} else {
		dstOff = n*e.dstImage*4 + (g*s.KPerG/e.L+og.ob0)*e.dstOCB + r*ow*e.dstPix
	}
	*a = direct.Args{Taps: e.tables[og.b-1], ICB: e.icb,
		SrcICB: e.srcICB, WICB: e.taps * f.WBytes(), SrcPix: s.Stride[d-1] * e.unit,
		DstPix: e.dstPix, DstOCB: e.dstOCB}
	w := e.wp[g*(len(e.wp)/s.Groups)+og.w:]
	var bias, res []float32
	if c.b != nil {
		bias = e.bias[blk*e.L:]
	}
	if !e.bufY && c.ep != nil {
		if c.ep.ReLU {
			a.Flags |= direct.ReLU
		}
		res = c.ep.Residual
	}
	so, do := (srcOff+x0*a.SrcPix)/4, (dstOff+x0*e.dstPix)/4
	if res != nil {
		res = res[do:]
	}
	f.TileBand(b, y[do:], c.x[so:], w, a, bias, res)
}
