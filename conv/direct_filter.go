package conv

import (
	"github.com/convkit/convkit/direct"
	"github.com/convkit/convkit/internal/workers"
	"github.com/convkit/convkit/kernels"
)

// directFilter is the direct algorithm's backward-filter pass of the
// forward problem s (a transposed problem's is that of the convolution it
// transposes, x and dy exchanged):
//
//	dW[k][c][t] = sum over images n and output positions o of
//	              dy[n][k][o] * xpad[n][c][o*stride + t*dilation]
//
// on the same tile kernels as the forward pass, with the roles moved: a
// tile is U input channels x B vectors of output channels at one filter
// tap, and its "taps" are the output positions (a table of the offsets of
// x and dy at each), summed with the images in registers. x is read as
// channel planes (padded by the padding mode, as the forward pass does),
// dy as pixels of whole channel blocks. Every dW element is one tile's
// sum in a fixed order, whatever the thread count.
type directFilter struct {
	s    *Shape
	in   *directEngine // the planes-form layout, copy and team of x
	fams []*direct.Family
	kb   int       // output-channel blocks per group
	ogs  []ocGroup // output-channel groups of a conv group
	uc   int       // input channels per tile
	kpad int       // dy's channels per pixel as the kernels read it: groups*kb*L
	dyb  []float32 // dy as pixels of whole blocks (nil: dy itself, channels-last)
	dwb  []float32 // dW as [group][tap][C/groups][kb*L]
	pos  *direct.Taps
	tap  []int                // per filter tap: its x offset in bytes
	tr   []*direct.Transposer // per team member, for rows of a whole plane
	args []*direct.Args
	call dwCall
}

// dwCall is the call in progress, read by Run.
type dwCall struct {
	dyPhase    bool
	x, dy      []float32
	items, per int
}

// filterShape is how directFilter cuts a problem: the families of the
// planes form by B, the output-channel groups, the channel tile (the
// narrowest U among the groups' families), and its buffers' floats.
type filterShape struct {
	l        *directLayout // x's planes-form layout
	fams     []*direct.Family
	ogs      []ocGroup
	uc, kpad int
	dyFloats int // the dy buffer (0: dy read in place)
	dwFloats int
}

func newFilterShape(s *Shape, threads int) filterShape {
	l := newDirectLayoutForm(s, threads, direct.Planes)
	fs := direct.Families(kernels.Current())
	widest := direct.Pick(fs, direct.Planes, maxB(fs))
	sh := filterShape{l: l, fams: make([]*direct.Family, widest.B), uc: 1 << 30}
	for b := 1; b <= widest.B; b++ {
		if g := direct.Pick(fs, direct.Planes, b); g != nil && g.B == b {
			sh.fams[b-1] = g
		}
	}
	for ob := 0; ob < l.kb; {
		b := min(widest.B, l.kb-ob)
		for sh.fams[b-1] == nil {
			b--
		}
		sh.ogs = append(sh.ogs, ocGroup{ob0: ob, b: b})
		sh.uc = min(sh.uc, sh.fams[b-1].U)
		ob += b
	}
	sh.kpad = s.Groups * l.kb * l.L
	if !(s.Layout == ChannelsLast && sh.kpad == s.K) {
		sh.dyFloats = s.N * s.OutLen * sh.kpad
	}
	sh.dwFloats = s.Groups * s.KernelSize * s.CPerG * sh.kpad / s.Groups
	return sh
}

// bytes is the workspace of the pass: x's copy, the dy and dW buffers
// and the position table.
func (sh filterShape) bytes(s *Shape) int64 {
	return sh.l.bytes() + 4*int64(sh.dyFloats+sh.dwFloats) + 16*int64(s.OutLen)
}

// cycles models the tiles' time as directLayout.cycles does: a step per
// image and output position, for every tap, channel tile and group.
func (sh filterShape) cycles(s *Shape) float64 {
	var perStep float64
	for _, og := range sh.ogs {
		for c0 := 0; c0 < s.CPerG; c0 += sh.uc {
			u, b := float64(min(sh.uc, s.CPerG-c0)), float64(og.b)
			perStep += max(u*b/2, (u+b)/2, fmaChain)
		}
	}
	return perStep * float64(s.N*s.OutLen) * float64(s.KernelSize*s.Groups)
}

func newDirectFilter(s *Shape, threads int) *directFilter {
	sh := newFilterShape(s, threads)
	in := newDirectEngine(sh.l, threads)
	f := &directFilter{s: s, in: in, kb: sh.l.kb, fams: sh.fams, ogs: sh.ogs, uc: sh.uc, kpad: sh.kpad}
	if sh.dyFloats > 0 {
		f.dyb = make([]float32, sh.dyFloats)
	}
	f.dwb = make([]float32, sh.dwFloats)
	f.positions()
	for range in.team.Size() {
		f.args = append(f.args, &new(paddedArgs).Args)
		f.tr = append(f.tr, direct.NewTransposer(kernels.Current(), sh.l.L, s.OutLen))
	}
	return f
}

// maxB is the most output-channel vectors of any family in fs.
func maxB(fs []*direct.Family) int {
	b := 1
	for _, f := range fs {
		b = max(b, f.B)
	}
	return b
}

// positions builds the table of output positions (x offset of the
// position's first tap, dy offset) and the filter taps' x offsets.
func (f *directFilter) positions() {
	s, l := f.s, f.in.directLayout
	d := s.Dims
	offs := make([]int, 0, 2*s.OutLen)
	o := make([]int, d)
	for p := 0; p < s.OutLen; p++ {
		off := 0
		for i := range o {
			off += o[i] * s.Stride[i] * l.pitch[i]
		}
		offs = append(offs, off*l.unit, p*f.kpad*4)
		for i := d - 1; i >= 0; i-- {
			if o[i]++; o[i] < s.Out[i] {
				break
			}
			o[i] = 0
		}
	}
	f.pos = direct.NewTaps(offs)
	f.tap = make([]int, s.KernelSize)
	k := make([]int, d)
	for t := range f.tap {
		off := 0
		for i := range k {
			off += k[i] * s.Dilation[i] * l.pitch[i]
		}
		f.tap[t] = off * l.unit
		for i := d - 1; i >= 0; i-- {
			if k[i]++; k[i] < s.Kernel[i] {
				break
			}
			k[i] = 0
		}
	}
}

func (f *directFilter) bytes() int64 {
	return f.in.bytes() + 4*int64(len(f.dyb)+len(f.dwb)) + 16*int64(f.s.OutLen)
}

// backwardFilter computes dW from x and dy; with accumulate it adds it.
// (The plan computes db: of a transposed problem, from its own dy.)
func (f *directFilter) backwardFilter(dw, x, dy []float32, accumulate bool) {
	s := f.s
	e := f.in
	src := x
	if e.copyX {
		e.run(directCall{phase: copyPhase, x: x, items: s.N * e.copyItems()})
		src = e.xp
	}
	dys := dy
	if f.dyb != nil {
		f.run(dwCall{dyPhase: true, dy: dy, items: s.N * s.Groups * f.kb})
		dys = f.dyb
	}
	f.run(dwCall{x: src, dy: dys, items: s.Groups * s.KernelSize * len(f.ogs) * ceilDiv(s.CPerG, f.uc)})
	f.unblock(dw, accumulate)
}

func (f *directFilter) run(c dwCall) {
	t := f.in.team.Size()
	c.per = ceilDiv(c.items, t)
	parts := ceilDiv(c.items, c.per)
	f.call = c
	if parts > 1 {
		f.in.team.Run(f, parts)
	} else {
		f.Run(0)
	}
	f.call = dwCall{}
}

// Run computes one part of the call in progress (workers.Task).
func (f *directFilter) Run(part int) {
	c := &f.call
	for i := part * c.per; i < min(c.items, (part+1)*c.per); i++ {
		if c.dyPhase {
			f.blockDy(part, c.dy, i/(f.s.Groups*f.kb), i%(f.s.Groups*f.kb))
		} else {
			f.tile(part, c, i)
		}
	}
}

var _ workers.Task = (*directFilter)(nil)

// blockDy moves output-channel block blk of image n of dy into the
// buffer's pixels (the padding channels zero).
func (f *directFilter) blockDy(part int, dy []float32, n, blk int) {
	s := f.s
	L := f.in.L
	g, ob := blk/f.kb, blk%f.kb
	k0, nk := g*s.KPerG+ob*L, max(0, min(L, s.KPerG-ob*L))
	dst := f.dyb[n*s.OutLen*f.kpad+blk*L:]
	if s.Layout == ChannelsFirst {
		f.tr[part].InterleaveTo(dst, f.kpad, dy[(n*s.K+k0)*s.OutLen:], s.OutLen, nk, s.OutLen)
		return
	}
	for p := 0; p < s.OutLen; p++ {
		px := dst[p*f.kpad:][:L]
		copy(px, dy[(n*s.OutLen+p)*s.K+k0:][:nk])
		clear(px[nk:])
	}
}

// tile computes item i: conv group g, filter tap t, output-channel group
// og and a tile of input channels, summed over every image and position.
func (f *directFilter) tile(part int, c *dwCall, i int) {
	s := f.s
	e := f.in
	L := e.L
	tiles := ceilDiv(s.CPerG, f.uc)
	ct := i % tiles
	i /= tiles
	og := f.ogs[i%len(f.ogs)]
	i /= len(f.ogs)
	t, g := i%s.KernelSize, i/s.KernelSize
	fam := f.fams[og.b-1]
	c0 := ct * f.uc
	u := min(f.uc, s.CPerG-c0)
	a := f.args[part]
	*a = direct.Args{Taps: f.pos, ICB: s.N, SrcICB: 4 * e.srcImage, WICB: 4 * s.OutLen * f.kpad,
		SrcPix: e.srcICB, DstPix: 4 * f.kb * L, DstOCB: 4 * L}
	src := c.x[(g*e.srcGroup+c0*e.srcICB+f.tap[t])/4:]
	dy := c.dy[(g*f.kb+og.ob0)*L:]
	dst := f.dwb[((g*s.KernelSize+t)*s.CPerG+c0)*f.kb*L+og.ob0*L:]
	fam.Tile(u, dst, src, dy, a, nil, nil)
}

// unblock moves dW from its blocked buffer into PyTorch's [K][C/groups]
// filters, adding with accumulate.
func (f *directFilter) unblock(dw []float32, accumulate bool) {
	s := f.s
	T, kbl := s.KernelSize, f.kb*f.in.L
	for g := 0; g < s.Groups; g++ {
		for kl := 0; kl < s.KPerG; kl++ {
			row := dw[(g*s.KPerG+kl)*s.CPerG*T:][:s.CPerG*T]
			for cl := 0; cl < s.CPerG; cl++ {
				for t := 0; t < T; t++ {
					v := f.dwb[((g*T+t)*s.CPerG+cl)*kbl+kl]
					if accumulate {
						v += row[cl*T+t]
					}
					row[cl*T+t] = v
				}
			}
		}
	}
}
