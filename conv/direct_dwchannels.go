package conv

import (
	"github.com/convkit/convkit/direct"
	"github.com/convkit/convkit/internal/workers"
	"github.com/convkit/convkit/kernels"
)

// The direct algorithm's channel engine: channels-last depthwise
// convolutions (groups = C = K), vectorized across channels (direct's
// Channels kernels: a vector is a block of Lanes channels of one pixel,
// each with its own weight per tap, so every load is one aligned vector
// and every lane is useful). An item is one channel block of one image:
// the thread copies the block's pixels into a buffer of its own,
// channel-blocked (nCdhw<L>c, the block's plane) and padded by the
// padding mode, then sweeps the output rows, U pixels per tile at any
// stride, writing y in place with the epilogue fused; the last block,
// when C is not a multiple of the lanes, goes through a row buffer (a
// full vector would write the next pixel's channels).

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
}

func newDCLayout(s *Shape, threads int) *dcLayout {
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
		l.srcRows[r] = l.sourceRow(r)
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
	return l
}

// sourceRow is the first input pixel of padded row r (the outer dims'
// coordinates of the copy), -1 for a row of zero padding.
func (l *dcLayout) sourceRow(r int) int {
	s := l.s
	base, pitch := 0, s.In[s.Dims-1]
	for i := s.Dims - 2; i >= 0; i-- {
		v := paddedSource(r%l.padDims[i]-s.PadBefore[i], s.In[i], s.PaddingMode)
		r /= l.padDims[i]
		if v < 0 {
			return -1
		}
		base += v * pitch
		pitch *= s.In[i]
	}
	return base
}

// bytes is the engine's workspace: a copy and a row buffer per thread,
// the packed weights and bias.
func (l *dcLayout) bytes() int64 {
	ow := l.s.Out[l.s.Dims-1]
	return 4 * (int64(l.threads)*int64(l.pix*l.L+ow*l.L) + int64(l.cb*l.L*(l.s.KernelSize+1)))
}

// cycles models a forward pass: per output vector and tap an FMA (two a
// cycle), a call per row of each block, and the copy at about a vector
// a cycle.
func (l *dcLayout) cycles() float64 {
	s := l.s
	ow := s.Out[s.Dims-1]
	vecs := float64(s.N*l.cb) * float64(s.OutLen)
	calls := float64(s.N*l.cb) * float64(s.OutLen/ow) * float64(ceilDiv(ow, l.fam.U))
	return vecs*float64(s.KernelSize)/2 + calls*tileCall + float64(s.N*l.cb*l.pix)
}

// dcEngine is the channel engine's forward pass of one problem.
type dcEngine struct {
	*dcLayout
	team   *workers.Team
	copies [][]float32 // per team member: a block's padded plane
	rowBuf [][]float32 // per team member: a row of the last, partial block
	args   []*direct.DWArgs
	wp     []float32 // [block][tap][L]
	bias   []float32 // [block][L]
	packed bool
	call   dcCall
}

type dcCall struct {
	y, x, b []float32
	ep      *Epilogue
	per     int
}

func newDCEngine(l *dcLayout, threads int) *dcEngine {
	s := l.s
	e := &dcEngine{dcLayout: l, team: workers.NewTeam(threads),
		wp: make([]float32, l.cb*s.KernelSize*l.L), bias: make([]float32, l.cb*l.L)}
	for i := 0; i < e.team.Size(); i++ {
		e.copies = append(e.copies, make([]float32, l.pix*l.L))
		e.rowBuf = append(e.rowBuf, make([]float32, s.Out[s.Dims-1]*l.L))
		e.args = append(e.args, &new(paddedDWArgs).DWArgs)
	}
	return e
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
	var parts int
	e.call = dcCall{y: y, x: x, b: b, ep: ep}
	e.call.per, parts = splitItems(e.team, s.N*e.cb)
	runParts(e.team, e, parts)
	e.call = dcCall{}
}

// Run computes one part's channel blocks (workers.Task).
func (e *dcEngine) Run(part int) {
	s := e.s
	c := &e.call
	for i := part * c.per; i < min(s.N*e.cb, (part+1)*c.per); i++ {
		n, blk := i/e.cb, i%e.cb
		e.copyBlock(e.copies[part], c.x, n, blk)
		e.block(part, c, n, blk)
	}
}

// copyBlock copies channel block blk of image n into dst, padded.
func (e *dcEngine) copyBlock(dst, x []float32, n, blk int) {
	s := e.s
	L := e.L
	c0 := blk * L
	nc := min(L, s.C-c0)
	w := e.padDims[s.Dims-1]
	for r, base := range e.srcRows {
		out := dst[r*w*L : (r+1)*w*L]
		if base < 0 {
			clear(out)
			continue
		}
		for j, m := range e.colSrc {
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
		src := 0 // the row's first input pixel in the copy
		rem := r
		for i := d - 2; i >= 0; i-- {
			src += rem % s.Out[i] * s.Stride[i] * e.pitch[i]
			rem /= s.Out[i]
		}
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
		out := c.y[at+p*s.C:][:nc]
		in := buf[p*e.L:][:nc]
		for j, v := range in {
			if res != nil {
				v += res[at+p*s.C+j]
			}
			if relu && v <= 0 { // false for NaN, which passes through
				v = 0
			}
			out[j] = v
		}
	}
}
