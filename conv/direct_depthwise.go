package conv

import (
	"unsafe"

	"github.com/convkit/convkit/direct"
	"github.com/convkit/convkit/internal/workers"
	"github.com/convkit/convkit/kernels"
)

// The direct algorithm's width engine: convolutions whose output
// channels each read few input planes (depthwise ones: groups = C, any
// number of output channels per group; a single input channel; few
// output channels per group, see byWidth) on channel planes, vectorized
// along each plane's rows (direct's Width kernels; for 3x3 and 5x5
// filters at row stride and dilation 1 the Rows kernels, on a
// column-major tap table), so that an NCHW
// caller pays no reorder. A group of input planes at a time, each thread
// copies them into a buffer of its own that stays in cache: padded by
// the padding mode, and split by the stride along the row into stride
// phases (padded column j at phase j%stride, index j/stride), so that
// every tap reads contiguous vectors at any stride. The kernels then
// sweep an output plane, the tap table running over every input plane of
// the group: U rows x B vectors per call, each plane's calls checked
// once (DWSweep); the row's last columns (past its whole vectors) by a
// vector ending with the row (AVX2's 8 lanes under AVX-512 where they
// cover them: narrowerLast), or through a scratch tile in rows narrower
// than a vector.
//
// Backward-filter takes the same copies, one input plane at a time (see
// dwFilter), and sums db from dy's planes in the same sweep; the images'
// sums add in float64, in image order, one thread per output channel, so
// dW and db are the same whatever the thread count.

// byWidth reports whether the width engine runs the forward problem s
// (channel planes in and out): where every output channel reads one
// input channel (a depthwise convolution, or a single-channel input:
// lenet_5x5_c1), and where a group has fewer output channels than a
// vector (the tile engine's vectors across them would be mostly padding)
// and the model finds the width engine the faster, its copy of a group's
// planes within half of L2.
func (s *Shape) byWidth() bool {
	switch {
	case s.Layout != ChannelsFirst:
		return false
	case s.CPerG == 1:
		return true
	case s.KPerG >= directLanes():
		return false
	}
	_, l2, _ := kernels.Caches()
	w := newDWLayout(s, 1)
	if 4*w.copyLen > l2/2 {
		return false
	}
	t := newDirectLayout(s, 1)
	return w.cycles() < t.modelCost()
}

// dwLayout is how the depthwise kernels sweep one plane of the forward
// problem s: the vector chunks of an output row, the tail, and the plane
// copy's geometry.
type dwLayout struct {
	s       *Shape
	L       int
	chunks  []dwChunk
	tailFam *direct.DWFamily // B = 1: the columns past the whole vectors
	// kh is the filter height of the Rows kernels that sweep the rows
	// (0: the Width kernels do); with them the tap table lists the
	// filter's columns (see rowsHeight).
	kh     int
	tailAt int      // the first of those columns (tail: ow - tailAt of them)
	last   *dwChunk // the vector ending with the row, maybe narrower than L (nil: none)
	taps   *direct.Taps
	offs   []int // per tap: its offset in the copy, in floats
	// The copy: padded dims padDims; the last dim split into sw phases
	// of wq floats; pitch[i] floats per index of dim i < Dims-1.
	padDims     []int
	sw, wq      int
	pitch       []int
	planeLen    int      // floats of one input plane's copy
	copyLen     int      // floats of a copy of a group's planes, with slack for the tail's vectors
	colSrc      []int    // per padded column: its input column, -1 for a zero
	srcRows     []int    // per padded row: its first input float, -1 for zeros
	rowRuns     []rowRun // the runs of padded rows that follow one another in the input
	margins     []int    // the padded columns outside the input
	rows, outer int      // output rows per outer slice (dim Dims-2), outer slices
	rowStep     int      // copy floats from one output row's input to the next's
	threads     int
	blocks      []dwBlock // a group's output channels in OutChannels blocks (none: one at a time)
}

// dwChunk is a run of B vectors of an output row, from column col: the
// row's whole vectors, and where the row has a tail and is at least a
// vector wide, a last vector ending with the row (it recomputes some of
// the columns before it, to the same bits).
type dwChunk struct {
	col int
	f   *direct.DWFamily
}

func newDWLayout(s *Shape, threads int) *dwLayout {
	fs := direct.DWFamilies(kernels.Current())
	l := &dwLayout{s: s, L: fs[0].Lanes, threads: max(1, threads)}
	d := s.Dims
	ow := s.Out[d-1]
	nv := ow / l.L
	mode := direct.Width
	if l.kh = rowsHeight(s, fs); l.kh > 0 {
		mode = direct.Rows
	}
	for v := 0; v < nv; {
		f := direct.PickRows(fs, mode, l.kh, nv-v)
		l.chunks = append(l.chunks, dwChunk{col: v * l.L, f: f})
		v += f.B
	}
	l.tailFam = direct.PickRows(fs, mode, l.kh, 1)
	l.tailAt = nv * l.L
	if l.tailAt < ow && nv > 0 {
		l.last = &dwChunk{col: ow - l.L, f: l.tailFam}
		if f := narrowerLast(mode, l.kh, ow-l.tailAt, l.L); f != nil {
			l.last = &dwChunk{col: ow - f.Lanes, f: f}
		}
	}
	l.rows, l.outer = 1, 1
	if d >= 2 {
		l.rows = s.Out[d-2]
		l.outer = s.OutLen / (ow * l.rows)
	}
	l.layCopy()
	l.layRowStep()
	l.layBlocks(fs)
	return l
}

// layCopy sets the copy's geometry and the tap table.
func (l *dwLayout) layCopy() {
	s := l.s
	d := s.Dims
	l.padDims = make([]int, d)
	for i := range l.padDims {
		l.padDims[i] = s.In[i] + s.PadBefore[i] + s.PadAfter[i]
	}
	l.sw = s.Stride[d-1]
	l.wq = ceilDiv(l.padDims[d-1], l.sw)
	l.pitch = make([]int, d)
	p := l.sw * l.wq
	for i := d - 2; i >= 0; i-- {
		l.pitch[i] = p
		p *= l.padDims[i]
	}
	l.planeLen = p
	l.copyLen = s.CPerG*p + l.L
	l.colSrc = make([]int, l.padDims[d-1])
	for j := range l.colSrc {
		l.colSrc[j] = paddedSource(j-s.PadBefore[d-1], s.In[d-1], s.PaddingMode)
	}
	l.layRows()
	l.offs = l.tapOffsets()
	tab := make([]int, 0, 2*s.CPerG*len(l.offs))
	order := l.tapOrder()
	for c := 0; c < s.CPerG; c++ {
		for _, t := range order {
			tab = append(tab, 4*(c*l.planeLen+l.offs[t]), 4*(c*len(l.offs)+t))
		}
	}
	l.taps = direct.NewTaps(tab)
}

// narrowerLast returns the family that computes a row's last rest
// columns (past its whole vectors of lanes) with the least work, where it
// is not the path's own: the B = 1 family of mode m (and height kh) of a
// generated path below the bound one whose vectors are narrower than
// lanes but still cover rest (AVX2's 8 lanes under AVX-512, for
// mobilenet's 56-float rows); nil if none. Its sums are those of the
// bound path's vector ending with the row, lane for lane, bit for bit.
func narrowerLast(m direct.Mode, kh, rest, lanes int) *direct.DWFamily {
	var best *direct.DWFamily
	for _, isa := range kernels.Available() {
		if isa == kernels.Generic || isa == kernels.Current() {
			continue // the Go twins; the bound path's own
		}
		fs := direct.DWFamilies(isa)
		f := direct.PickRows(fs, m, kh, 1)
		if f == nil || f.Source != "asm" || f.Lanes >= lanes || f.Lanes < rest {
			continue
		}
		if best == nil || f.Lanes < best.Lanes {
			best = f
		}
	}
	return best
}

// rowsHeight is the filter height of s's Rows families (those of fs),
// where they apply: a 2D or 3D filter whose rows (dim Dims-2) step by 1
// at stride 1; else 0.
func rowsHeight(s *Shape, fs []*direct.DWFamily) int {
	d := s.Dims
	if d < 2 || s.Stride[d-2] != 1 || s.Dilation[d-2] != 1 {
		return 0
	}
	kh := s.Kernel[d-2]
	if direct.PickRows(fs, direct.Rows, kh, 1) == nil {
		return 0
	}
	return kh
}

// tapOrder lists the filter's taps (their indices in the weights' order)
// as the kernels take them: in that order, or for the Rows kernels column
// by column, each column's kh taps from the top (the taps of the outer
// dims, before the rows, still in order).
func (l *dwLayout) tapOrder() []int {
	n := len(l.offs)
	order := make([]int, 0, n)
	kh, kw := max(l.kh, 1), l.s.Kernel[l.s.Dims-1] // columns of 1: the weights' order
	for o := 0; o < n; o += kh * kw {
		for x := range kw {
			for r := range kh {
				order = append(order, o+r*kw+x)
			}
		}
	}
	return order
}

// tapOffsets is each tap's offset in the copy, in floats, in the
// weights' order: the outer dims by their pitch, the last by its phase.
func (l *dwLayout) tapOffsets() []int {
	s := l.s
	d := s.Dims
	steps := make([]int, d)
	for i := 0; i < d-1; i++ {
		steps[i] = s.Dilation[i] * l.pitch[i]
	}
	offs := gridOffsets(s.Kernel, steps) // the last dim's step 0: added here
	kl := s.Kernel[d-1]
	for t := range offs {
		c := t % kl * s.Dilation[d-1]
		offs[t] += c%l.sw*l.wq + c/l.sw
	}
	return offs
}

// outerOffset is the copy offset (floats) of the first input row that
// outer slice o of the output (its coordinates in the dims before the
// last two) reads.
func (l *dwLayout) outerOffset(o int) int { return strideOffset(l.s, o, l.s.Dims-3, l.pitch) }

// strideOffset is the offset, in pitch units, of the input that the
// output position with coordinates o in dims 0..last (the last fastest)
// starts at in a padded copy: the sum of o_i*stride_i*pitch_i.
func strideOffset(s *Shape, o, last int, pitch []int) int {
	off := 0
	for i := last; i >= 0; i-- {
		off += o % s.Out[i] * s.Stride[i] * pitch[i]
		o /= s.Out[i]
	}
	return off
}

// layRowStep sets rowStep: the copy floats from one output row's input
// to the next's (0 in 1D: one row).
func (l *dwLayout) layRowStep() {
	if d := l.s.Dims; d >= 2 {
		l.rowStep = l.s.Stride[d-2] * l.pitch[d-2]
	}
}

// tailLen is the floats of a thread's scratch tile.
func (l *dwLayout) tailLen() int { return max(l.tailFam.U*l.L, l.blockTailLen()) }

// bytes is the workspace of the forward engine: a copy and a scratch tile
// per thread, and the packed weights.
func (l *dwLayout) bytes() int64 {
	return 4 * (int64(l.threads)*int64(l.copyLen+l.tailLen()) + int64(l.s.WLen))
}

// cycles models a forward pass: per tap one FMA per vector (two a cycle,
// bound by the loads of the Width kernels' inputs or by the FMA ports of
// the Rows kernels'), a call per tile, and the copy at about four floats
// a cycle.
func (l *dwLayout) cycles() float64 {
	if l.blocks != nil {
		return l.blockCycles()
	}
	s := l.s
	ow := s.Out[s.Dims-1]
	vecs := float64(s.N*s.K) * float64(s.OutLen) / float64(l.L)
	calls := float64(s.N*s.K*l.outer) * float64(len(l.chunks)+1) * float64(ceilDiv(l.rows, l.tailFam.U))
	if l.last != nil {
		vecs += float64(s.N*s.K) * float64(s.OutLen/ow)
	}
	copies := float64(s.N*s.C) * float64(l.planeLen) / 4
	return vecs*float64(s.CPerG*s.KernelSize)/2 + calls*tileCall + copies
}

// copyGroup copies the planes of conv group g of image n of x into dst.
func (l *dwLayout) copyGroup(dst, x []float32, n, g int) {
	s := l.s
	for c := 0; c < s.CPerG; c++ {
		l.copyPlane(dst[c*l.planeLen:], x[(n*s.C+g*s.CPerG+c)*s.InSize:][:s.InSize])
	}
}

// copyPlane copies the input plane x (InSize floats) into dst, padded
// and split into phases. It writes every float of the padded plane, so a
// buffer serves any plane after another; except that with zero padding
// and a row stride of 1 the padding is the same zeros for every plane,
// so it is not written: such a buffer must start zeroed (as make gives
// it) and be written by copyPlane alone. Lenet's planes are 10 to 28
// floats wide, where the zero rows and margins cost more than the copy.
func (l *dwLayout) copyPlane(dst, x []float32) {
	w := l.s.In[l.s.Dims-1]
	rowLen := l.sw * l.wq
	if l.zeroPadding() {
		// Each run of rows that follow one another in x is one CopyRows
		// (a plane's, in 2D): mobilenet_dw3x3_c256's copies took a third
		// of its forward pass as a memmove per 56-float row.
		pb := l.s.PadBefore[l.s.Dims-1]
		for _, run := range l.rowRuns {
			kernels.CopyRows(dst[run.row*rowLen+pb:], x[run.base:], run.n, w, rowLen, w)
		}
		return
	}
	for r, base := range l.srcRows {
		out := dst[r*rowLen : (r+1)*rowLen]
		if base < 0 {
			clear(out)
			continue
		}
		in := x[base : base+w]
		if l.sw > 1 {
			for j, m := range l.colSrc {
				out[j%l.sw*l.wq+j/l.sw] = valueAt(in, m)
			}
			continue
		}
		copy(out[l.s.PadBefore[l.s.Dims-1]:], in)
		for _, j := range l.margins {
			out[j] = valueAt(in, l.colSrc[j])
		}
	}
}

// zeroPadding reports whether the copies' padding is zeros that stay in
// place from plane to plane (see copyPlane).
func (l *dwLayout) zeroPadding() bool { return l.s.PaddingMode == Zeros && l.sw == 1 }

// valueAt is in[m], 0 for m < 0.
func valueAt(in []float32, m int) float32 {
	if m < 0 {
		return 0
	}
	return in[m]
}

// layRows lists each padded row's first input float (-1: a row of zero
// padding) and the padded columns outside the input (the margins).
func (l *dwLayout) layRows() {
	s := l.s
	d := s.Dims
	rows := 1
	for _, v := range l.padDims[:d-1] {
		rows *= v
	}
	l.srcRows = make([]int, rows)
	for r := range l.srcRows {
		l.srcRows[r] = paddedRowStart(s, l.padDims, r)
	}
	l.rowRuns = rowRunsOf(l.srcRows, s.In[d-1])
	pb := s.PadBefore[d-1]
	for j := range l.colSrc {
		if j < pb || j >= pb+s.In[d-1] {
			l.margins = append(l.margins, j)
		}
	}
}

// rowRun is n padded rows from row whose inputs follow one another from
// the input float base on.
type rowRun struct{ row, base, n int }

// rowRunsOf cuts the padded rows with input (srcRows >= 0) into runs whose
// input rows, w floats each, follow one another.
func rowRunsOf(srcRows []int, w int) []rowRun {
	var runs []rowRun
	for r := 0; r < len(srcRows); {
		base := srcRows[r]
		if base < 0 {
			r++
			continue
		}
		n := 1
		for r+n < len(srcRows) && srcRows[r+n] == base+n*w {
			n++
		}
		runs = append(runs, rowRun{row: r, base: base, n: n})
		r += n
	}
	return runs
}

// dwEngine is the depthwise forward pass of one problem.
type dwEngine struct {
	*dwLayout
	team   *workers.Team
	copies [][]float32      // per team member
	tails  [][]float32      // per team member
	args   []*direct.DWArgs // per team member, for the output-channel blocks
	sweeps [2]dwSweeps      // without and with the ReLU
	wp     []float32        // PackWeights' weights
	packed bool
	call   dwFwdCall
}

// dwFwdCall is the call in progress, read by Run.
type dwFwdCall struct {
	y, x, w, b []float32
	ep         *Epilogue
	per        int
}

func newDWEngine(l *dwLayout, threads int) *dwEngine {
	e := &dwEngine{dwLayout: l, team: workers.NewTeam(threads), wp: make([]float32, l.s.WLen)}
	for i := 0; i < e.team.Size(); i++ {
		e.copies = append(e.copies, make([]float32, l.copyLen))
		e.tails = append(e.tails, make([]float32, l.tailLen()))
		e.args = append(e.args, &new(paddedDWArgs).DWArgs)
	}
	e.laySweeps()
	return e
}

// paddedDWArgs keeps each team member's arguments on cache lines of
// their own.
type paddedDWArgs struct {
	direct.DWArgs
	_ [64]byte
}

// PackWeights keeps w for Forward calls with w == nil: as PyTorch stores
// them (a channel's taps in a row), or laid out for the output-channel
// blocks.
func (e *dwEngine) PackWeights(w []float32) {
	e.pack(w)
	e.packed = true
}

// pack puts w into wp as the kernels read it.
func (e *dwEngine) pack(w []float32) {
	if e.blocks != nil {
		e.packBlocks(e.wp, w)
		return
	}
	copy(e.wp, w)
}

func (e *dwEngine) packedWeights() bool { return e.packed }

func (e *dwEngine) Forward(y, x, w, b []float32, ep *Epilogue) {
	switch {
	case w == nil:
		w = e.wp
	case e.blocks != nil: // the blocks read their channels' weights side by side
		e.pack(w)
		w, e.packed = e.wp, false
	default:
		e.packed = false
	}
	items := e.s.N * e.s.K
	if e.blocks != nil {
		items = e.blockItems()
	}
	var parts int
	e.call = dwFwdCall{y: y, x: x, w: w, b: b, ep: ep}
	e.call.per, parts = splitItems(e.team, items)
	runParts(e.team, e, parts)
	e.call = dwFwdCall{}
}

// Run computes the output planes of one part (workers.Task).
func (e *dwEngine) Run(part int) {
	s := e.s
	c := &e.call
	if e.blocks != nil {
		e.runBlocks(part, part*c.per, min(e.blockItems(), (part+1)*c.per))
		return
	}
	lo, hi := part*c.per, min(s.N*s.K, (part+1)*c.per)
	last := -1 // the input plane in the copy
	for i := lo; i < hi; i++ {
		n, k := i/s.K, i%s.K
		if in := n*s.Groups + k/s.KPerG; in != last {
			e.copyGroup(e.copies[part], c.x, n, k/s.KPerG)
			last = in
		}
		e.plane(part, c, n, k)
	}
}

// plane computes output plane k of image n from the copy.
func (e *dwEngine) plane(part int, c *dwFwdCall, n, k int) {
	s := e.s
	d := s.Dims
	ow := s.Out[d-1]
	at := (n*s.K + k) * s.OutLen
	y := c.y[at:][:s.OutLen]
	w := c.w[k*s.CPerG*s.KernelSize:][:s.CPerG*s.KernelSize]
	var bias, res []float32
	if c.b != nil {
		bias = c.b[k : k+1]
	}
	relu := 0
	if c.ep != nil {
		if c.ep.ReLU {
			relu = 1
		}
		if c.ep.Residual != nil {
			res = c.ep.Residual[at:][:s.OutLen]
		}
	}
	sw := &e.sweeps[relu]
	cp := e.copies[part]
	// The vector ending with the row recomputes columns, so it needs a
	// residual apart from y (else they would add it twice).
	last := e.last
	if res != nil && overlaps(res, y) {
		last = nil
	}
	for o := 0; o < e.outer; o++ {
		src0 := e.outerOffset(o)
		dst0 := o * e.rows * ow
		run := func(ch *dwChunk, sweep *direct.DWSweep) {
			var rt []float32
			if res != nil {
				rt = res[dst0+ch.col:]
			}
			sweep.Run(y[dst0+ch.col:], cp[src0+ch.col:], w, bias, rt)
		}
		for i := range e.chunks {
			run(&e.chunks[i], sw.chunks[i])
		}
		switch {
		case last != nil:
			run(last, sw.last)
		case e.tailAt < ow:
			e.tail(part, &sw.args, y, cp, w, bias, res, src0, dst0)
		}
	}
}

// dwSweeps are the checked calls of a plane's row chunks, and their
// arguments, for one value of the ReLU flag.
type dwSweeps struct {
	args   direct.DWArgs
	chunks []*direct.DWSweep // per chunk
	last   *direct.DWSweep   // the vector ending with the row (nil: none)
}

// laySweeps checks the kernel calls of a plane once, without and with
// the ReLU.
func (e *dwEngine) laySweeps() {
	ow := e.s.Out[e.s.Dims-1]
	for relu := range e.sweeps {
		sw := &e.sweeps[relu]
		sw.args = direct.DWArgs{Taps: e.taps, SrcPix: 4 * e.rowStep, DstPix: 4 * ow}
		if relu == 1 {
			sw.args.Flags = direct.ReLU
		}
		for _, ch := range e.chunks {
			sw.chunks = append(sw.chunks, ch.f.Sweep(e.rows, &sw.args))
		}
		if e.last != nil {
			sw.last = e.last.f.Sweep(e.rows, &sw.args)
		}
	}
}

// overlaps reports whether a and b share memory.
func overlaps(a, b []float32) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	a0, b0 := uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&b[0]))
	return a0 < b0+4*uintptr(len(b)) && b0 < a0+4*uintptr(len(a))
}

// tail computes the columns past a row's whole vectors, U rows at a time
// into the scratch tile, and moves them out with the residual and ReLU
// applied as the kernels do.
func (e *dwEngine) tail(part int, a *direct.DWArgs, y, cp, w, bias, res []float32, src0, dst0 int) {
	ow := e.s.Out[e.s.Dims-1]
	f := e.tailFam
	buf := e.tails[part]
	ta := direct.DWArgs{Taps: a.Taps, SrcPix: a.SrcPix, DstPix: 4 * e.L}
	relu := a.Flags&direct.ReLU != 0
	for r := 0; r < e.rows; r += f.U {
		u := min(f.U, e.rows-r)
		f.Tile(u, buf, cp[src0+r*e.rowStep+e.tailAt:], w, &ta, bias, nil)
		for i := 0; i < u; i++ {
			row := (dst0 + (r+i)*ow) + e.tailAt
			n := ow - e.tailAt
			var rs []float32
			if res != nil {
				rs = res[row:][:n]
			}
			finishRun(y[row:][:n], buf[i*e.L:][:n], rs, relu)
		}
	}
}

// dwFilter is the depthwise backward-filter pass of the forward problem
// s: dW[k][t] = sum over n and output positions o of
// dy[n][k][o] * xpad[n][k/KPerG][o*stride + t*dilation].
//
// dy's plane goes into a buffer laid out as the copy's rows are (an
// output row every rowStep floats, zeros past its end), so that for each
// tap and outer slice the sum is one dot product of two contiguous runs:
// the buffer, and the copy from the tap's offset. The zeros meet inputs
// that the tap does not reach in PyTorch's sum, where an infinite or NaN
// input would make 0*Inf = NaN: a plane whose sums come out NaN is
// summed again a row at a time, exactly as PyTorch's (a NaN of its own
// comes back; one of those zeros' does not).
type dwFilter struct {
	*dwLayout
	team   *workers.Team
	copies [][]float32 // per team member: the input plane's copy
	dyRows [][]float32 // per team member: dy's plane at the copy's row pitch
	sums   [][]float64 // per team member: a channel's sums per tap
	saved  [][]float64 // per team member: a channel's sums before a plane, for the row-at-a-time redo
	// shift is the copy floats between the taps of a row of the filter
	// (its last dim) where they are evenly spaced (stride 1 in the last
	// dim: its dilation; or a stride whose phases happen to space them
	// evenly), so that DotShifts sums a row of taps in one pass; 0 where
	// they are not (they go one Dot each).
	shift int
	// grid is the copy floats between the filter's rows where DotGrid3
	// sums a 3x3 filter in one pass (see sumGrid), else 0.
	grid    int
	rowSums [][]float32 // per team member: DotShifts' (DotGrid3's) sums
	call    dwFilterCall
}

type dwFilterCall struct {
	dw, db, x, dy []float32 // db nil: no bias
	accumulate    bool
	per           int
}

func newDWFilter(s *Shape, threads int) *dwFilter {
	f := &dwFilter{dwLayout: newDWLayout(s, threads), team: workers.NewTeam(threads)}
	f.shift = evenShift(f.offs, s.Kernel[s.Dims-1])
	f.grid = f.gridStep()
	for i := 0; i < f.team.Size(); i++ {
		f.rowSums = append(f.rowSums, make([]float32, max(s.Kernel[s.Dims-1], 9)))
		f.copies = append(f.copies, make([]float32, f.filterCopyLen()))
		f.dyRows = append(f.dyRows, make([]float32, f.dyRowsLen()))
		f.sums = append(f.sums, make([]float64, s.CPerG*s.KernelSize))
		f.saved = append(f.saved, make([]float64, s.KernelSize))
	}
	return f
}

// addedNaN reports whether a sum of v is NaN where it was not in before:
// a NaN carried from an earlier image is not this plane's to redo.
func addedNaN(v, before []float64) bool {
	for i, x := range v {
		if x != x && before[i] == before[i] {
			return true
		}
	}
	return false
}

// evenShift is the spacing of each row of kl taps in offs (kl at a time)
// where every row's is the same and positive, else 0.
func evenShift(offs []int, kl int) int {
	if kl < 2 {
		return 0
	}
	step := offs[1] - offs[0]
	if step <= 0 {
		return 0
	}
	for t0 := 0; t0 < len(offs); t0 += kl {
		for k := 1; k < kl; k++ {
			if offs[t0+k]-offs[t0] != k*step {
				return 0
			}
		}
	}
	return step
}

// filterCopyLen is the floats of backward-filter's copy: one plane, with
// the slack.
func (l *dwLayout) filterCopyLen() int { return l.planeLen + l.L }

// gridStep is the copy floats between the rows of a 3x3 filter whose
// sums DotGrid3 takes in one pass (see dwFilter.sumGrid): a single outer
// slice (2D), the taps' columns evenly spaced (evenShift) and their rows
// too; 0 where it does not apply.
func (l *dwLayout) gridStep() int {
	s := l.s
	if len(l.offs) != 9 || s.Kernel[s.Dims-1] != 3 || l.outer != 1 || evenShift(l.offs, 3) == 0 {
		return 0
	}
	return evenShift([]int{l.offs[0], l.offs[3], l.offs[6]}, 3) // the first column, as a row
}

// dyRowsLen is the floats of dy's plane at the copy's row pitch (with
// DotGrid3, between 2*gridStep zeros on each side): an
// outer slice's rows, each rowStep floats but the last (a row's own).
func (l *dwLayout) dyRowsLen() int {
	ow := l.s.Out[l.s.Dims-1]
	return l.outer*((l.rows-1)*l.rowStep+ow) + 4*l.gridStep()
}

// dwFilterBytes is the backward-filter workspace on threads.
func dwFilterBytes(l *dwLayout) int64 {
	s := l.s
	perThread := 4*int64(l.filterCopyLen()+l.dyRowsLen()+s.Kernel[s.Dims-1]) + 8*int64(s.CPerG*s.KernelSize+s.KernelSize)
	return int64(l.threads) * perThread
}

func (f *dwFilter) backwardFilter(dw, db, x, dy []float32, accumulate bool) bool {
	var parts int
	f.call = dwFilterCall{dw: dw, db: db, x: x, dy: dy, accumulate: accumulate}
	f.call.per, parts = splitItems(f.team, f.s.K)
	runParts(f.team, f, parts)
	f.call = dwFilterCall{}
	return db != nil
}

// Run computes the filters of one part's output channels (workers.Task).
func (f *dwFilter) Run(part int) {
	s := f.s
	c := &f.call
	lo, hi := part*c.per, min(s.K, (part+1)*c.per)
	cp, dr, sums, rs := f.copies[part], f.dyRows[part], f.sums[part], f.rowSums[part]
	taps := s.KernelSize
	for k := lo; k < hi; k++ {
		clear(sums)
		g := k / s.KPerG
		var bsum float64
		for n := 0; n < s.N; n++ {
			dyp := c.dy[(n*s.K+k)*s.OutLen:][:s.OutLen]
			if c.db != nil {
				bsum += planeSum(dyp) // as biasGrad sums, to the same bits
			}
			spread := false
			for ci := 0; ci < s.CPerG; ci++ {
				f.copyPlane(cp, c.x[(n*s.C+g*s.CPerG+ci)*s.InSize:][:s.InSize])
				sc := sums[ci*taps:][:taps]
				if !spread {
					f.spreadRows(dr, dyp)
					spread = true
				}
				saved := f.saved[part]
				copy(saved, sc)
				f.sumSlices(sc, cp, dr, rs)
				if addedNaN(sc, saved) { // an infinite or NaN input
					copy(sc, saved)
					f.sumRows(sc, cp, dyp)
				}
			}
		}
		out := c.dw[k*len(sums):][:len(sums)]
		for t, v := range sums {
			if c.accumulate {
				v += float64(out[t])
			}
			out[t] = float32(v)
		}
		if c.db != nil {
			if !c.accumulate {
				c.db[k] = 0
			}
			c.db[k] += float32(bsum)
		}
	}
}

// sumSlices adds each tap's sums of one input plane's copy cp to sums:
// per outer slice, the dot product of dy's rows spread at the copy's
// pitch (dr) and the copy from the tap's offset; a row of evenly spaced
// taps in one DotShifts pass (rs: its sums), which loads each vector of
// dr once for the row's taps (mobilenet_dw3x3_c256's backward-filter at
// one thread, with the NaN test folded into the sums: 0.81-0.97 ->
// 0.65-0.72 ms).
func (f *dwFilter) sumSlices(sums []float64, cp, dr, rs []float32) {
	if f.grid > 0 {
		f.sumGrid(sums, cp, dr, rs)
		return
	}
	ow := f.s.Out[f.s.Dims-1]
	slice := (f.rows-1)*f.rowStep + ow
	kl := f.s.Kernel[f.s.Dims-1]
	rs = rs[:kl]
	for o := 0; o < f.outer; o++ {
		d := dr[o*slice:][:slice]
		x0 := f.outerOffset(o)
		if f.shift == 0 {
			for t, off := range f.offs {
				sums[t] += float64(kernels.Dot(d, cp[x0+off:][:slice]))
			}
			continue
		}
		for t0 := 0; t0 < len(f.offs); t0 += kl {
			kernels.DotShifts(d, cp[x0+f.offs[t0]:][:slice+(kl-1)*f.shift], f.shift, rs)
			for k, v := range rs {
				sums[t0+k] += float64(v)
			}
		}
	}
}

// sumGrid is sumSlices for a 3x3 filter in one DotGrid3 pass, which
// loads each vector of dy's and the copy's windows once for 3 FMAs (6
// loads per 9 FMAs, where three DotShifts3 load 12). Tap (r, c) sums
// d[i]*x[i + r*grid + c*shift] over dy's slice d; shifted by r*grid, that
// is d[i - r*grid]*x[i + c*shift] over i < slice + 2*grid, for every r,
// where dr holds d between 2*grid zeros on each side. The extra terms
// are zeros times inputs of the copy; a NaN they make (from an infinite
// input) sends the plane to sumRows, as the zeros of the rows' ends do.
func (f *dwFilter) sumGrid(sums []float64, cp, dr, rs []float32) {
	ow := f.s.Out[f.s.Dims-1]
	n := (f.rows-1)*f.rowStep + ow + 2*f.grid
	kernels.DotGrid3(dr, cp[f.offs[0]:], n, f.grid, f.shift, rs)
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			sums[3*r+c] += float64(rs[3*(2-r)+c])
		}
	}
}

// sumRows adds each tap's sums of one image's plane to sums a row at a
// time: dy's row against the run of the copy the tap meets.
func (f *dwFilter) sumRows(sums []float64, cp, dy []float32) {
	ow := f.s.Out[f.s.Dims-1]
	for t, off := range f.offs {
		for o := 0; o < f.outer; o++ {
			x0 := f.outerOffset(o) + off
			for r := 0; r < f.rows; r++ {
				d := dy[(o*f.rows+r)*ow:][:ow]
				sums[t] += float64(kernels.Dot(d, cp[x0+r*f.rowStep:][:ow]))
			}
		}
	}
}

// spreadRows copies dy's plane into dr at the copy's row pitch. The
// floats between rows are never written: they stay zero.
func (f *dwFilter) spreadRows(dr, dy []float32) {
	dr = dr[2*f.grid:] // DotGrid3's leading zeros
	ow := f.s.Out[f.s.Dims-1]
	step := f.rowStep
	slice := (f.rows-1)*step + ow
	for o := 0; o < f.outer; o++ {
		kernels.CopyRows(dr[o*slice:], dy[o*f.rows*ow:], f.rows, ow, step, ow)
	}
}

// dwFilterCycles models backward-filter: per vector and tap of every
// input plane a dot product's FMA (two loads each: 1.5 cycles with the
// calls), and the copies of x's planes.
func dwFilterCycles(l *dwLayout) float64 {
	s := l.s
	vecs := float64(s.N*s.K) * float64(s.OutLen) / float64(l.L)
	return vecs*float64(s.CPerG*s.KernelSize)*1.5 + float64(s.N*s.K*s.CPerG)*float64(l.planeLen)/4
}
