package conv

import (
	"slices"

	"github.com/convkit/convkit/direct"
	"github.com/convkit/convkit/internal/workers"
	"github.com/convkit/convkit/kernels"
)

// The direct algorithm's channel engine: channels-last depthwise
// convolutions (groups = C = K), vectorized across channels (direct's
// Channels kernels: a vector is a block of Lanes channels of one pixel,
// each with its own weight per tap, so every lane is useful), U pixels
// per tile at any stride, y written in place with the epilogue fused.
//
// With zero padding a whole block reads x in place: a tile's taps are
// those that land inside the input, the same for every output pixel of a
// run (the interior of a row; each edge pixel alone), so no tap reads
// the padding and no copy is made; an item is an output row of one
// image, all its channel blocks in turn while the input rows it reads
// are in cache. Other padding modes, and the last
// block when C is not a multiple of the lanes (its vectors would read
// past the tensor), copy the block's pixels into a buffer of their own,
// channel-blocked (nCdhw<L>c, the block's plane) and padded by the
// padding mode, an item per block of an image; the partial block's
// output goes through a row buffer (a full vector would write the next
// pixel's channels).

// byChannels reports whether the channel engine runs the forward problem
// s: channels-last, depthwise, one output channel per group.
func (s *Shape) byChannels() bool {
	return s.Layout == ChannelsLast && s.Groups > 1 && s.CPerG == 1 && s.KPerG == 1
}

// dcLayout is how the channel engine lays out the forward problem s.
type dcLayout struct {
	s       *Shape
	L, cb   int // lanes, channel blocks
	fam     *direct.DWFamily
	padDims []int
	pitch   []int // pixels per index step of each dim in the copy
	pix     int   // pixels of the copy
	srcRows []int // per padded row: its first input pixel, -1 for zeros
	colSrc  []int // per padded column: its input column, -1 for zero
	taps    *direct.Taps
	threads int
	// In place (zero padding): per dim and output index, the first valid
	// tap and the class of its valid range; per class combination
	// (mixed radix over the dims) a table; the last dim's runs of equal
	// class.
	inPlace bool
	k0, cls [][]int
	radix   []int
	tables  []*direct.Taps
	runs    []dcRun
}

// dcRun is a run of n output pixels of a row from x0 whose taps along
// the row are the same (class cls).
type dcRun struct{ x0, n, cls int }

// maxDCTables bounds the tables of the in-place form (a problem with more
// tap classes copies instead).
const maxDCTables = 4096

func newDCLayout(s *Shape, threads int) *dcLayout { return newDCLayoutFor(s, threads, true) }

// newDCLayoutFor is newDCLayout, with the in-place form's tables only
// where inPlace asks (backward-filter always copies).
func newDCLayoutFor(s *Shape, threads int, inPlace bool) *dcLayout {
	fs := direct.DWFamilies(kernels.Current())
	l := &dcLayout{s: s, L: fs[0].Lanes, fam: direct.PickDW(fs, direct.Channels, 1), threads: max(1, threads)}
	l.cb = ceilDiv(s.C, l.L)
	d := s.Dims
	l.padDims = make([]int, d)
	l.pitch = make([]int, d)
	l.pix = 1
	for i := d - 1; i >= 0; i-- {
		l.padDims[i] = s.In[i] + s.PadBefore[i] + s.PadAfter[i]
		l.pitch[i] = l.pix
		l.pix *= l.padDims[i]
	}
	l.colSrc = make([]int, l.padDims[d-1])
	for j := range l.colSrc {
		l.colSrc[j] = paddedSource(j-s.PadBefore[d-1], s.In[d-1], s.PaddingMode)
	}
	l.srcRows = make([]int, l.pix/l.padDims[d-1])
	for r := range l.srcRows {
		l.srcRows[r] = paddedRowStart(s, l.padDims, r)
	}
	steps := make([]int, d)
	for i := range steps {
		steps[i] = s.Dilation[i] * l.pitch[i] * 4 * l.L
	}
	offs := gridOffsets(s.Kernel, steps)
	tab := make([]int, 0, 2*len(offs))
	for t, off := range offs {
		tab = append(tab, off, 4*l.L*t)
	}
	l.taps = direct.NewTaps(tab)
	if inPlace {
		l.layInPlace()
	}
	return l
}

// layInPlace sets up the in-place form where the padding is zeros: per
// dim, each output index's valid tap range [k0, k1), the distinct ranges
// numbered as classes; a tap table per combination of classes (offsets
// from the first valid tap, weights at the tap's own index); the row's
// runs of equal class.
func (l *dcLayout) layInPlace() {
	s := l.s
	if s.padded() && s.PaddingMode != Zeros {
		return
	}
	d := s.Dims
	l.k0, l.cls = make([][]int, d), make([][]int, d)
	ranges := make([][][2]int, d) // per dim, per class: its range
	l.radix = make([]int, d)
	n := 1
	for i := d - 1; i >= 0; i-- {
		l.k0[i], l.cls[i] = make([]int, s.Out[i]), make([]int, s.Out[i])
		for o := range s.Out[i] {
			start := o*s.Stride[i] - s.PadBefore[i]
			k0, k1 := 0, s.Kernel[i]
			for k0 < k1 && start+k0*s.Dilation[i] < 0 {
				k0++
			}
			for k1 > k0 && start+(k1-1)*s.Dilation[i] >= s.In[i] {
				k1--
			}
			c := slices.Index(ranges[i], [2]int{k0, k1})
			if c < 0 {
				c = len(ranges[i])
				ranges[i] = append(ranges[i], [2]int{k0, k1})
			}
			l.k0[i][o], l.cls[i][o] = k0, c
		}
		l.radix[i] = n
		n *= len(ranges[i])
		if n > maxDCTables {
			l.k0, l.cls, l.radix = nil, nil, nil
			return
		}
	}
	inPitch := make([]int, d) // input pixels per index of each dim
	p := 1
	for i := d - 1; i >= 0; i-- {
		inPitch[i] = p
		p *= s.In[i]
	}
	l.tables = make([]*direct.Taps, n)
	idx := make([]int, d)
	for c := range n {
		rem := c
		for i := range d {
			idx[i] = rem / l.radix[i]
			rem %= l.radix[i]
		}
		var tab []int
		for t := range s.KernelSize { // the filter's taps, the last dim fastest
			off, ok, rt := 0, true, t
			for i := d - 1; i >= 0; i-- {
				k := rt % s.Kernel[i]
				rt /= s.Kernel[i]
				r := ranges[i][idx[i]]
				ok = ok && k >= r[0] && k < r[1]
				off += (k - r[0]) * s.Dilation[i] * inPitch[i]
			}
			if ok {
				tab = append(tab, 4*s.C*off, 4*l.L*t)
			}
		}
		l.tables[c] = direct.NewTaps(tab)
	}
	ow := s.Out[d-1]
	for x := 0; x < ow; {
		c := l.cls[d-1][x]
		e := x + 1
		for e < ow && l.cls[d-1][e] == c {
			e++
		}
		l.runs = append(l.runs, dcRun{x0: x, n: e - x, cls: c})
		x = e
	}
	l.inPlace = true
}

// rowStart is the first pixel in a block's padded copy that output row
// r (its outer dims' coordinates) reads.
func (l *dcLayout) rowStart(r int) int { return strideOffset(l.s, r, l.s.Dims-2, l.pitch) }

// bytes is the engine's workspace: a copy (where blocks are copied) and
// a row buffer per thread, the packed weights and bias, and the in-place
// form's tap tables (two ints a tap).
func (l *dcLayout) bytes() int64 {
	ow := l.s.Out[l.s.Dims-1]
	n := 4 * (int64(l.threads)*int64(l.copyLen()+ow*l.L) + int64(l.cb*l.L*(l.s.KernelSize+1)))
	for _, t := range l.tables {
		n += 16 * int64(t.Len())
	}
	return n
}

// copyLen is the floats of a thread's copy: a block's padded plane,
// where any block is copied (none in place with whole blocks).
func (l *dcLayout) copyLen() int {
	if l.inPlace && l.s.C%l.L == 0 {
		return 0
	}
	return l.pix * l.L
}

// cycles models a forward pass: per output vector and tap an FMA (two a
// cycle), a call per row of each block, and the copy at about a vector
// a cycle.
func (l *dcLayout) cycles() float64 {
	s := l.s
	ow := s.Out[s.Dims-1]
	vecs := float64(s.N*l.cb) * float64(s.OutLen)
	calls := float64(s.N*l.cb) * float64(s.OutLen/ow) * float64(ceilDiv(ow, l.fam.U))
	copies := float64(s.N*l.cb) * float64(l.pix)
	if l.inPlace {
		copies = float64(s.N) * float64(l.copyLen()) // the partial block's
		perRow := 0
		for _, r := range l.runs {
			perRow += ceilDiv(r.n, l.fam.U)
		}
		calls = float64(s.N*l.cb) * float64(s.OutLen/ow) * float64(perRow)
	}
	return vecs*float64(s.KernelSize)/2 + calls*tileCall + copies
}

// dcEngine is the channel engine's forward pass of one problem.
type dcEngine struct {
	*dcLayout
	team   *workers.Team
	copies [][]float32      // per team member: a block's padded plane
	rowBuf [][]float32      // per team member: a row of the last, partial block
	args   []*direct.DWArgs // per team member, for the copied blocks
	// sweeps are the in-place form's checked calls: [ReLU][table][run].
	sweeps [2][][]*direct.DWSweep
	wp     []float32 // [block][tap][L]
	bias   []float32 // [block][L]
	packed bool
	call   dcCall
}

type dcCall struct {
	y, x, b    []float32
	ep         *Epilogue
	phase      dcPhase
	items, per int
}

func newDCEngine(l *dcLayout, threads int) *dcEngine {
	s := l.s
	e := &dcEngine{dcLayout: l, team: workers.NewTeam(threads),
		wp: make([]float32, l.cb*s.KernelSize*l.L), bias: make([]float32, l.cb*l.L)}
	for i := 0; i < e.team.Size(); i++ {
		e.copies = append(e.copies, make([]float32, l.copyLen()))
		e.rowBuf = append(e.rowBuf, make([]float32, s.Out[s.Dims-1]*l.L))
		e.args = append(e.args, &new(paddedDWArgs).DWArgs)
	}
	e.laySweeps()
	return e
}

// laySweeps checks the in-place form's kernel calls once: per ReLU flag,
// tap table and run of the row (a mobilenet row is 3 runs of 16 channel
// blocks: 48 calls, whose checks took a third of the kernels' time).
func (e *dcEngine) laySweeps() {
	s := e.s
	d := s.Dims
	for relu := range e.sweeps {
		a := direct.DWArgs{SrcPix: 4 * s.C * s.Stride[d-1], DstPix: 4 * s.C}
		if relu == 1 {
			a.Flags = direct.ReLU
		}
		e.sweeps[relu] = make([][]*direct.DWSweep, len(e.tables))
		for t, tab := range e.tables {
			a.Taps = tab
			for _, run := range e.runs {
				e.sweeps[relu][t] = append(e.sweeps[relu][t], e.fam.Sweep(run.n, &a))
			}
		}
	}
}

// pack transposes w ([C][taps]) into blocks of tap vectors, the channels
// past C zero.
func (e *dcEngine) pack(w []float32) {
	s := e.s
	taps := s.KernelSize
	for c := 0; c < e.cb*e.L; c++ {
		for t := 0; t < taps; t++ {
			var v float32
			if c < s.C {
				v = w[c*taps+t]
			}
			e.wp[(c/e.L*taps+t)*e.L+c%e.L] = v
		}
	}
}

func (e *dcEngine) PackWeights(w []float32) {
	e.pack(w)
	e.packed = true
}

func (e *dcEngine) packedWeights() bool { return e.packed }

func (e *dcEngine) Forward(y, x, w, b []float32, ep *Epilogue) {
	s := e.s
	if w != nil {
		e.pack(w)
		e.packed = false
	}
	if b != nil {
		copy(e.bias, b[:s.C])
	}
	e.call = dcCall{y: y, x: x, b: b, ep: ep}
	if e.inPlace { // the whole blocks by rows, all blocks of a row together
		e.run(dcRows, s.N*(s.OutLen/s.Out[s.Dims-1]))
	}
	if n := e.copiedBlocks(); n > 0 {
		e.run(dcBlocks, s.N*n)
	}
	e.call = dcCall{}
}

// copiedBlocks is the channel blocks each image copies: all, or in place
// the partial last block alone (if any).
func (e *dcEngine) copiedBlocks() int {
	switch {
	case !e.inPlace:
		return e.cb
	case e.s.C%e.L != 0:
		return 1
	}
	return 0
}

// run splits the call's phase into items over the team.
func (e *dcEngine) run(phase dcPhase, items int) {
	var parts int
	e.call.phase, e.call.items = phase, items
	e.call.per, parts = splitItems(e.team, items)
	runParts(e.team, e, parts)
}

// dcPhase is one of a call's parallel loops.
type dcPhase uint8

const (
	dcRows   dcPhase = iota // in place: per image and output row, every whole block
	dcBlocks                // copied: per image and copied block, every row
)

// Run computes one part of the phase in progress (workers.Task).
func (e *dcEngine) Run(part int) {
	s := e.s
	c := &e.call
	rows := s.OutLen / s.Out[s.Dims-1]
	for i := part * c.per; i < min(c.items, (part+1)*c.per); i++ {
		if c.phase == dcRows {
			e.rowInPlace(part, c, i/rows, i%rows)
			continue
		}
		nb := e.copiedBlocks()
		n, blk := i/nb, e.cb-nb+i%nb
		e.copyBlock(e.copies[part], c.x, n, blk)
		e.block(part, c, n, blk)
	}
}

// copyBlock copies channel block blk of image n into dst, padded.
func (l *dcLayout) copyBlock(dst, x []float32, n, blk int) {
	s := l.s
	L := l.L
	c0 := blk * L
	nc := min(L, s.C-c0)
	w := l.padDims[s.Dims-1]
	for r, base := range l.srcRows {
		out := dst[r*w*L : (r+1)*w*L]
		if base < 0 {
			clear(out)
			continue
		}
		for j, m := range l.colSrc {
			px := out[j*L : (j+1)*L]
			if m < 0 {
				clear(px)
				continue
			}
			copy(px[:nc], x[((n*s.InSize)+base+m)*s.C+c0:][:nc])
			clear(px[nc:])
		}
	}
}

// block computes every output row of channel block blk of image n.
func (e *dcEngine) block(part int, c *dcCall, n, blk int) {
	s := e.s
	d := s.Dims
	L := e.L
	ow := s.Out[d-1]
	nc := min(L, s.C-blk*L)
	a := e.args[part]
	*a = direct.DWArgs{Taps: e.taps, SrcPix: 4 * L * s.Stride[d-1], DstPix: 4 * s.C}
	var bias, res []float32
	if c.b != nil {
		bias = e.bias[blk*L : (blk+1)*L]
	}
	if c.ep != nil {
		if c.ep.ReLU {
			a.Flags = direct.ReLU
		}
		res = c.ep.Residual
	}
	w := e.wp[blk*s.KernelSize*L:][:s.KernelSize*L]
	cp := e.copies[part]
	rows := s.OutLen / ow
	for r := 0; r < rows; r++ {
		src := e.rowStart(r)
		at := ((n*s.OutLen)+r*ow)*s.C + blk*L // the row's first output float
		// A whole block goes in place: each output float read (the
		// residual) and written once.
		if nc == L {
			var rt []float32
			if res != nil {
				rt = res[at:]
			}
			e.fam.Rows(ow, c.y[at:], cp[src*L:], w, a, bias, rt)
			continue
		}
		e.partialRow(part, a, c, cp[src*L:], w, bias, res, at, nc)
	}
}

// partialRow computes a row of the last block, nc < L channels: into the
// row buffer, then nc channels a pixel into y, with the residual and
// ReLU applied as the kernels do.
func (e *dcEngine) partialRow(part int, a *direct.DWArgs, c *dcCall, src, w, bias, res []float32, at, nc int) {
	s := e.s
	ow := s.Out[s.Dims-1]
	buf := e.rowBuf[part]
	ra := direct.DWArgs{Taps: a.Taps, SrcPix: a.SrcPix, DstPix: 4 * e.L}
	e.fam.Rows(ow, buf, src, w, &ra, bias, nil)
	relu := a.Flags&direct.ReLU != 0
	for p := 0; p < ow; p++ {
		var rs []float32
		if res != nil {
			rs = res[at+p*s.C:][:nc]
		}
		finishRun(c.y[at+p*s.C:][:nc], buf[p*e.L:][:nc], rs, relu)
	}
}

// rowInPlace computes output row r of image n for every whole channel
// block from x itself: the row's runs of pixels, each with the taps that
// land in the input, all blocks of the row while its input rows are in
// cache.
func (e *dcEngine) rowInPlace(part int, c *dcCall, n, r int) {
	s := e.s
	d := s.Dims
	L := e.L
	ow := s.Out[d-1]
	relu := 0
	if c.ep != nil && c.ep.ReLU {
		relu = 1
	}
	// The row's first valid input pixel along the outer dims and its
	// class there.
	pix, cls, rem, pitch := 0, 0, r, s.In[d-1]
	for i := d - 2; i >= 0; i-- {
		o := rem % s.Out[i]
		rem /= s.Out[i]
		pix += (o*s.Stride[i] - s.PadBefore[i] + e.k0[i][o]*s.Dilation[i]) * pitch
		pitch *= s.In[i]
		cls += e.cls[i][o] * e.radix[i]
	}
	row := (n*s.OutLen + r*ow) * s.C
	for ri, run := range e.runs {
		x := run.x0*s.Stride[d-1] - s.PadBefore[d-1] + e.k0[d-1][run.x0]*s.Dilation[d-1]
		t := cls + run.cls*e.radix[d-1]
		sweep := e.sweeps[relu][t][ri]
		for blk := 0; blk < s.C/L; blk++ {
			src := c.x // no tap lands in the input: not read, the outputs are the bias
			if e.tables[t].Len() > 0 {
				src = c.x[(n*s.InSize+pix+x)*s.C+blk*L:]
			}
			var bias, rt []float32
			if c.b != nil {
				bias = e.bias[blk*L : (blk+1)*L]
			}
			at := row + run.x0*s.C + blk*L
			if c.ep != nil && c.ep.Residual != nil {
				rt = c.ep.Residual[at:]
			}
			sweep.Run(c.y[at:], src, e.wp[blk*s.KernelSize*L:][:s.KernelSize*L], bias, rt)
		}
	}
}

// dcFilter is the channel engine's backward-filter pass of the forward
// problem s (channels-last depthwise, one output channel per group):
//
//	dW[c][t] = sum over n and output positions o of dy[n][o][c] * xpad[n][o*stride + t*dilation][c]
//
// on the same Channels kernels with the roles moved: per output row, a
// tile's U "pixels" are the filter taps along the row (dilation apart in
// the block's padded copy), its "weights" dy's vectors, its "taps" the
// row's output pixels. Each call's sums are added in float64, in a fixed
// order (image, filter row, output row), one thread per channel block,
// so dW is the same whatever the thread count. db is biasGrad's.
type dcFilter struct {
	*dcLayout
	team   *workers.Team
	copies [][]float32  // per team member: the block's padded plane of x
	dyb    [][]float32  // per team member: the partial block's dy pixels, [OutLen][L]
	out    [][]float32  // per team member: a call's tile
	sums   [][]float64  // per team member: [tap][L]
	inTab  *direct.Taps // a row's output pixels: x's offset (stride apart), dy's in place
	bufTab *direct.Taps // the same with dy's from dyb
	kwFam  *direct.DWFamily
	call   dcFilterCall
}

type dcFilterCall struct {
	dw, x, dy  []float32
	accumulate bool
	per        int
}

func newDCFilter(s *Shape, threads int) *dcFilter {
	l := newDCLayoutFor(s, dcFilterThreads(s, threads), false)
	f := &dcFilter{dcLayout: l, team: workers.NewTeam(l.threads), kwFam: l.fam}
	d := s.Dims
	ow := s.Out[d-1]
	in, buf := make([]int, 0, 2*ow), make([]int, 0, 2*ow)
	for x := 0; x < ow; x++ {
		in = append(in, 4*l.L*x*s.Stride[d-1], 4*s.C*x)
		buf = append(buf, 4*l.L*x*s.Stride[d-1], 4*l.L*x)
	}
	f.inTab, f.bufTab = direct.NewTaps(in), direct.NewTaps(buf)
	for i := 0; i < f.team.Size(); i++ {
		f.copies = append(f.copies, make([]float32, l.pix*l.L))
		f.dyb = append(f.dyb, make([]float32, dcFilterDyLen(l)))
		f.out = append(f.out, make([]float32, l.fam.U*l.L))
		f.sums = append(f.sums, make([]float64, s.KernelSize*l.L))
	}
	return f
}

// dcFilterThreads is the threads backward-filter uses: one channel block
// each at most.
func dcFilterThreads(s *Shape, threads int) int {
	return max(1, min(threads, ceilDiv(s.C, direct.DWFamilies(kernels.Current())[0].Lanes)))
}

// dcFilterDyLen is the floats of a thread's dy buffer: the partial
// block's pixels (0: no partial block).
func dcFilterDyLen(l *dcLayout) int {
	if l.s.C%l.L == 0 {
		return 0
	}
	return l.s.OutLen * l.L
}

// dcFilterBytes is the backward-filter workspace on threads.
func dcFilterBytes(l *dcLayout) int64 {
	per := 4*int64(l.pix*l.L+dcFilterDyLen(l)+l.fam.U*l.L) + 8*int64(l.s.KernelSize*l.L)
	return int64(l.threads) * per
}

// dcFilterCycles models backward-filter: an FMA per output vector and tap
// (two a cycle), a call per output row, filter row and run of taps along
// the row, and the copies.
func dcFilterCycles(l *dcLayout) float64 {
	s := l.s
	ow := s.Out[s.Dims-1]
	kw := s.Kernel[s.Dims-1]
	vecs := float64(s.N*l.cb) * float64(s.OutLen)
	calls := float64(s.N*l.cb) * float64(s.OutLen/ow) * float64(s.KernelSize/kw) * float64(ceilDiv(kw, l.fam.U))
	return vecs*float64(s.KernelSize)/2 + calls*tileCall + float64(s.N*l.cb*l.pix)
}

func (f *dcFilter) backwardFilter(dw, _, x, dy []float32, accumulate bool) bool {
	var parts int
	f.call = dcFilterCall{dw: dw, x: x, dy: dy, accumulate: accumulate}
	f.call.per, parts = splitItems(f.team, f.cb)
	runParts(f.team, f, parts)
	f.call = dcFilterCall{}
	return false
}

// Run computes the filters of one part's channel blocks (workers.Task).
func (f *dcFilter) Run(part int) {
	s := f.s
	c := &f.call
	L := f.L
	for blk := part * c.per; blk < min(f.cb, (part+1)*c.per); blk++ {
		sums := f.sums[part]
		clear(sums)
		for n := 0; n < s.N; n++ {
			f.copyBlock(f.copies[part], c.x, n, blk)
			f.sumImage(part, c, n, blk)
		}
		nc := min(L, s.C-blk*L)
		for l := 0; l < nc; l++ {
			out := c.dw[(blk*L+l)*s.KernelSize:][:s.KernelSize]
			for t := range out {
				v := sums[t*L+l]
				if c.accumulate {
					v += float64(out[t])
				}
				out[t] = float32(v)
			}
		}
	}
}

// sumImage adds image n's sums of channel block blk to the part's sums.
func (f *dcFilter) sumImage(part int, c *dcFilterCall, n, blk int) {
	s := f.s
	d := s.Dims
	L := f.L
	ow := s.Out[d-1]
	kw := s.Kernel[d-1]
	nc := min(L, s.C-blk*L)
	dy, tab, dyPix := c.dy[n*s.OutLen*s.C+blk*L:], f.inTab, s.C
	if nc < L { // the partial block: dy's pixels copied, whole vectors
		dy, tab, dyPix = f.dyb[part], f.bufTab, L
		for p := 0; p < s.OutLen; p++ {
			v := dy[p*L : (p+1)*L]
			copy(v[:nc], c.dy[(n*s.OutLen+p)*s.C+blk*L:][:nc])
			clear(v[nc:])
		}
	}
	a := direct.DWArgs{Taps: tab, SrcPix: 4 * L * s.Dilation[d-1], DstPix: 4 * L}
	cp, out, sums := f.copies[part], f.out[part], f.sums[part]
	outer := s.KernelSize / kw
	rows := s.OutLen / ow
	for r := 0; r < rows; r++ {
		row := f.rowStart(r)
		w := dy[r*ow*dyPix:]
		for to := 0; to < outer; to++ {
			off, rt := 0, to // the filter row's offset in the copy, its outer dims' taps
			for i := d - 2; i >= 0; i-- {
				off += rt % s.Kernel[i] * s.Dilation[i] * f.pitch[i]
				rt /= s.Kernel[i]
			}
			for k0 := 0; k0 < kw; k0 += f.kwFam.U {
				u := min(f.kwFam.U, kw-k0)
				f.kwFam.Tile(u, out, cp[(row+off+k0*s.Dilation[d-1])*L:], w, &a, nil, nil)
				acc := sums[(to*kw+k0)*L:][:u*L]
				for j, v := range out[:u*L] {
					acc[j] += float64(v)
				}
			}
		}
	}
}
