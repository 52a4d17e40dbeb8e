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
	dwb  []float32 // dW as [group][block][C/groups][tap][L]
	// The reduction over images and output positions comes in chunks of
	// at most chunk positions of one image (a table each), every tile
	// summing a chunk before the next, so that the chunk's x and dy stay
	// in L2 while all of a thread's tiles sweep them.
	chunk int
	pos   []*direct.Taps       // per chunk of one image's positions
	unb   [][]float32          // per team member: a block of dW for accumulate (nil: none yet)
	tap   []int                // per filter tap: its x offset in bytes
	tr    []*direct.Transposer // per team member, for rows of a whole plane
	// calls are the tiles' calls checked once: per chunk, output-channel
	// group and tile of input channels (a whole one of uc, and the last).
	calls [][][2]*direct.TileCall
	call  dwCall
}

// dwCall is the call in progress, read by Run.
type dwCall struct {
	phase      dwPhase
	x, dy, dw  []float32
	accumulate bool
	items, per int
}

// dwPhase is one of a backward-filter call's parallel loops.
type dwPhase uint8

const (
	dyPhase      dwPhase = iota // dy into blocked pixels, per image and block
	sumPhase                    // the tiles, each over every chunk
	unblockPhase                // dW out of its blocks, per group and block
)

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
	chunk    int // positions per chunk of the reduction
}

func newFilterShape(s *Shape, threads int) filterShape {
	l := newDirectLayoutForm(s, threads, direct.Planes)
	fs := direct.Families(kernels.Current())
	widest := direct.Pick(fs, direct.Planes, maxB(fs))
	sh := filterShape{l: l, fams: familiesByB(fs, direct.Planes, widest.B), uc: 1 << 30}
	sh.ogs = splitOCBlocks(l.kb, sh.fams)
	for _, og := range sh.ogs {
		sh.uc = min(sh.uc, sh.fams[og.b-1].U)
	}
	sh.kpad = s.Groups * l.kb * l.L
	if !(s.Layout == ChannelsLast && sh.kpad == s.K) {
		sh.dyFloats = s.N * s.OutLen * sh.kpad
	}
	sh.dwFloats = s.Groups * s.KernelSize * s.CPerG * sh.kpad / s.Groups
	// A chunk's x rows (about stride x its positions per channel, all
	// channels of a group) and dy pixels take half of L2.
	_, l2, _ := kernels.Caches()
	stride := 1
	for _, v := range s.Stride {
		stride *= v
	}
	per := 4 * (sh.kpad + s.C*stride) // bytes a position brings
	sh.chunk = max(256, min(s.OutLen, l2/2/per))
	if testFilterChunk > 0 {
		sh.chunk = testFilterChunk
	}
	return sh
}

// testFilterChunk, when set, is the chunk of positions (tests: several
// chunks of a small problem).
var testFilterChunk int

// bytes is the workspace of the pass: x's copy and reorders, the dy and
// dW buffers, the position table and each thread's scratch.
func (sh filterShape) bytes(s *Shape) int64 {
	t := int64(sh.l.threads)
	perThread := 4*int64(sh.l.L*s.CPerG*s.KernelSize) + transposerBytes(sh.l.L, s.OutLen) // unblock's scratch, dy's reorder
	return sh.l.inputBytes() + 4*int64(sh.dyFloats+sh.dwFloats) + 16*int64(s.OutLen) + t*perThread
}

// cycles models the tiles' time as directLayout.cycles does: a step per
// image and output position, for every tap, channel tile and group, and
// tileCall cycles per call (a call per tile and chunk).
func (sh filterShape) cycles(s *Shape) float64 {
	var perStep float64
	tiles := 0
	for _, og := range sh.ogs {
		for c0 := 0; c0 < s.CPerG; c0 += sh.uc {
			u, b := float64(min(sh.uc, s.CPerG-c0)), float64(og.b)
			perStep += max(u*b/2, (u+b)/2, fmaChain)
			tiles++
		}
	}
	calls := float64(tiles*s.KernelSize*s.Groups) * float64(s.N*ceilDiv(s.OutLen, sh.chunk))
	return perStep*float64(s.N*s.OutLen)*float64(s.KernelSize*s.Groups) + calls*tileCall
}

// tileCall is the cycles of a tile call beyond its steps: the call and
// its check (a prepared one's of the slices only), the accumulators
// loaded and stored. A guess of the right size;
// it matters only where the steps are few (resnet_3x3_c512's 49
// positions: direct's backward-filter ran at 0.42x im2col's).
const tileCall = 200

func newDirectFilter(s *Shape, threads int) *directFilter {
	sh := newFilterShape(s, threads)
	in := newInputEngine(sh.l, threads)
	f := &directFilter{s: s, in: in, kb: sh.l.kb, fams: sh.fams, ogs: sh.ogs, uc: sh.uc, kpad: sh.kpad, chunk: sh.chunk}
	if sh.dyFloats > 0 {
		f.dyb = make([]float32, sh.dyFloats)
	}
	f.dwb = make([]float32, sh.dwFloats)
	f.positions()
	for range in.team.Size() {
		f.tr = append(f.tr, direct.NewTransposer(kernels.Current(), sh.l.L, s.OutLen))
		f.unb = append(f.unb, make([]float32, sh.l.L*s.CPerG*s.KernelSize))
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
// position's first tap, dy offset), cut into chunks, and the filter
// taps' x offsets.
func (f *directFilter) positions() {
	s, l := f.s, f.in.directLayout
	steps := make([]int, s.Dims)
	for i := range steps {
		steps[i] = s.Stride[i] * l.pitch[i] * l.unit
	}
	offs := make([]int, 0, 2*s.OutLen)
	for p, off := range gridOffsets(s.Out, steps) {
		offs = append(offs, off, p*f.kpad*4)
	}
	for p0 := 0; p0 < s.OutLen; p0 += f.chunk {
		f.pos = append(f.pos, direct.NewTaps(offs[2*p0:2*min(s.OutLen, p0+f.chunk)]))
	}
	f.tap = l.tapOffsets()
	f.prepareCalls()
}

// prepareCalls checks the tiles' calls once (see calls).
func (f *directFilter) prepareCalls() {
	s := f.s
	L := f.in.L
	T := s.KernelSize
	f.calls = make([][][2]*direct.TileCall, len(f.pos))
	for ch, pos := range f.pos {
		a := direct.Args{Taps: pos, ICB: 1, SrcPix: f.in.srcICB, DstPix: 4 * T * L, DstOCB: 4 * s.CPerG * T * L}
		for _, og := range f.ogs {
			fam := f.fams[og.b-1]
			var byU [2]*direct.TileCall
			byU[0] = fam.Prepare(min(f.uc, s.CPerG), &a)
			if rest := s.CPerG % f.uc; rest > 0 && s.CPerG > f.uc {
				byU[1] = fam.Prepare(rest, &a)
			}
			f.calls[ch] = append(f.calls[ch], byU)
		}
	}
}

// backwardFilter computes dW from x and dy; with accumulate it adds it.
// It leaves db to the plan's biasGrad (of a transposed problem, from its
// own dy).
func (f *directFilter) backwardFilter(dw, _, x, dy []float32, accumulate bool) bool {
	s := f.s
	e := f.in
	src := x
	if e.copyX {
		e.run(directCall{phase: copyPhase, x: x, items: s.N * e.copyItems()})
		src = e.xp
	}
	dys := dy
	if f.dyb != nil {
		f.run(dwCall{phase: dyPhase, dy: dy, items: s.N * s.Groups * f.kb})
		dys = f.dyb
	}
	f.run(dwCall{phase: sumPhase, x: src, dy: dys, items: s.Groups * s.KernelSize * len(f.ogs) * ceilDiv(s.CPerG, f.uc)})
	f.run(dwCall{phase: unblockPhase, dw: dw, accumulate: accumulate, items: s.Groups * f.kb})
	return false
}

func (f *directFilter) run(c dwCall) {
	var parts int
	c.per, parts = splitItems(f.in.team, c.items)
	f.call = c
	runParts(f.in.team, f, parts)
	f.call = dwCall{}
}

// Run computes one part of the call in progress (workers.Task).
func (f *directFilter) Run(part int) {
	c := &f.call
	lo, hi := part*c.per, min(c.items, (part+1)*c.per)
	switch c.phase {
	case dyPhase:
		for i := lo; i < hi; i++ {
			f.blockDy(part, c.dy, i/(f.s.Groups*f.kb), i%(f.s.Groups*f.kb))
		}
	case sumPhase:
		// Chunk by chunk, every tile of the part: a chunk's x and dy are
		// read by all of them while in L2.
		for n := 0; n < f.s.N; n++ {
			for ch := range f.pos {
				for i := lo; i < hi; i++ {
					f.tile(c, i, n, ch)
				}
			}
		}
	default:
		for i := lo; i < hi; i++ {
			f.unblock(part, c.dw, c.accumulate, i/f.kb, i%f.kb)
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
	switch {
	case s.Layout == ChannelsFirst:
		f.tr[part].InterleaveTo(dst, f.kpad, dy[(n*s.K+k0)*s.OutLen:], s.OutLen, nk, s.OutLen)
		return
	case s.Layout.Lanes() == L: // the block's pixels, as they are (k0 starts a block)
		src := dy[((n*ceilDiv(s.K, L)+k0/L)*s.OutLen)*L:][:s.OutLen*L]
		if nk == L && copyVectors(dst, f.kpad, src, L, s.OutLen) {
			return
		}
		for p := 0; p < s.OutLen; p++ {
			px := dst[p*f.kpad:][:L]
			copy(px, src[p*L:][:nk])
			clear(px[nk:])
		}
		return
	}
	for p := 0; p < s.OutLen; p++ {
		px := dst[p*f.kpad:][:L]
		copy(px, dy[(n*s.OutLen+p)*s.K+k0:][:nk])
		clear(px[nk:])
	}
}

// tile sums chunk ch of image n into item i: conv group g, filter tap t,
// output-channel group og and a tile of input channels (the first chunk
// starts the sums, the others add to them).
func (f *directFilter) tile(c *dwCall, i, n, ch int) {
	s := f.s
	e := f.in
	L := e.L
	tiles := ceilDiv(s.CPerG, f.uc)
	ct := i % tiles
	i /= tiles
	ogi := i % len(f.ogs)
	og := f.ogs[ogi]
	i /= len(f.ogs)
	t, g := i%s.KernelSize, i/s.KernelSize
	c0 := ct * f.uc
	call := f.calls[ch][ogi][0]
	if c0 > 0 && s.CPerG-c0 < f.uc { // the last, narrower tile of input channels
		call = f.calls[ch][ogi][1]
	}
	T := s.KernelSize
	// The chunk's table holds its positions' offsets from the image's
	// first: the bases are the image's.
	src := c.x[(n*4*e.srcImage+g*e.srcGroup+c0*e.srcICB+f.tap[t])/4:]
	dy := c.dy[n*s.OutLen*f.kpad+(g*f.kb+og.ob0)*L:]
	dst := f.dwb[((g*f.kb+og.ob0)*s.CPerG*T+c0*T+t)*L:]
	call.Run(dst, src, dy, n > 0 || ch > 0)
}

// unblock moves block ob of conv group g of dW out of its buffer into
// PyTorch's [K][C/groups] filters, adding with accumulate: the block's
// pixels (input channel, tap) are each L output channels, unpacked into
// L rows of the filters.
func (f *directFilter) unblock(part int, dw []float32, accumulate bool, g, ob int) {
	s := f.s
	L := f.in.L
	rowLen := s.CPerG * s.KernelSize
	kl := ob * L
	nk := min(L, s.KPerG-kl)
	src := f.dwb[(g*f.kb+ob)*rowLen*L:][:rowLen*L]
	dst := dw[(g*s.KPerG+kl)*rowLen:][:nk*rowLen]
	if !accumulate {
		f.tr[part].Deinterleave(dst, rowLen, nk, src, rowLen)
		return
	}
	tmp := f.unb[part][:nk*rowLen]
	f.tr[part].Deinterleave(tmp, rowLen, nk, src, rowLen)
	kernels.Add(dst, tmp, dst)
}
