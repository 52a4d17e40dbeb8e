package conv

import "github.com/convkit/convkit/direct"

// The width engine's output-channel blocks. Where the output channels of
// a group read the same input planes (a channel multiplier, a single
// input channel as lenet's first layer, the flipped filter of a
// backward-data pass with few channels), the kernels of mode OutChannels
// compute B of them at once: each input vector of the copy is loaded once
// for B FMAs, where the Width kernels load it once per FMA (they are
// bound by the load ports; these, as the Rows kernels, by the FMA
// ports). A row is swept one vector at a time, the vector ending with the
// row covering its tail as the plane sweeps do.

// dwBlock is a block of B output channels of a group, from channel k0 of
// the group, with its family and its tap table (whose weight offsets
// step over the block's B weights of each tap).
type dwBlock struct {
	k0   int
	f    *direct.DWFamily
	taps *direct.Taps
}

// layBlocks splits a group's output channels into blocks of the widest
// OutChannels families (none below two channels: a last single channel
// runs on the plane sweep's Width or Rows kernels), or leaves none where there are no such
// families or a group has one output channel.
func (l *dwLayout) layBlocks(fs []*direct.DWFamily) {
	s := l.s
	if s.KPerG < 2 || direct.PickDW(fs, direct.OutChannels, s.KPerG) == nil {
		return
	}
	byB := map[int]*direct.Taps{}
	for k := 0; k < s.KPerG; {
		f := direct.PickDW(fs, direct.OutChannels, s.KPerG-k)
		if f == nil { // one channel left
			l.blocks = append(l.blocks, dwBlock{k0: k})
			break
		}
		if byB[f.B] == nil {
			byB[f.B] = l.blockTaps(f.B)
		}
		l.blocks = append(l.blocks, dwBlock{k0: k, f: f, taps: byB[f.B]})
		k += f.B
	}
}

// blockTaps is the tap table of blocks of b channels: the copy offsets of
// l.taps, the weights b floats per tap (the packing of packBlocks).
func (l *dwLayout) blockTaps(b int) *direct.Taps {
	offs := append([]int(nil), l.taps.Offsets()...)
	for i := 1; i < len(offs); i += 2 {
		offs[i] *= b
	}
	return direct.NewTaps(offs)
}

// packBlocks lays w (PyTorch's: a channel's CPerG*KernelSize weights in a
// row) out for the blocks into wk: each block in its channels' place, its
// channels' weights of each tap side by side.
func (l *dwLayout) packBlocks(wk, w []float32) {
	s := l.s
	per := s.CPerG * s.KernelSize
	for g := 0; g < s.Groups; g++ {
		for _, blk := range l.blocks {
			k := g*s.KPerG + blk.k0
			if blk.f == nil {
				copy(wk[k*per:(k+1)*per], w[k*per:(k+1)*per])
				continue
			}
			b := blk.f.B
			dst := wk[k*per : (k+b)*per]
			for o := 0; o < b; o++ {
				for t, v := range w[(k+o)*per : (k+o+1)*per] {
					dst[t*b+o] = v
				}
			}
		}
	}
}

// blockCycles models a forward pass on the blocks: the FMAs at two a
// cycle (each input loaded once per block), a call per row chunk, the
// copies.
func (l *dwLayout) blockCycles() float64 {
	s := l.s
	ow := s.Out[s.Dims-1]
	cols := float64(max(ceilDiv(ow, l.L), 1))
	rowsOut := float64(s.N*s.K) * float64(s.OutLen/ow)
	vecs := rowsOut * cols
	var calls float64
	for _, blk := range l.blocks {
		u := l.tailFam.U
		if blk.f != nil {
			u = blk.f.U
		}
		calls += float64(s.N*s.Groups*l.outer) * cols * float64(ceilDiv(l.rows, u))
	}
	copies := float64(s.N*s.C) * float64(l.planeLen) / 4
	return vecs*float64(s.CPerG*s.KernelSize)/2 + calls*tileCall + copies
}

// blockItems is the forward pass's work items: per image, group and
// block.
func (e *dwEngine) blockItems() int { return e.s.N * e.s.Groups * len(e.blocks) }

// runBlocks computes the items [lo, hi) of a part on the blocks.
func (e *dwEngine) runBlocks(part, lo, hi int) {
	s := e.s
	c := &e.call
	last := -1 // the image and group in the copy
	for i := lo; i < hi; i++ {
		ng, bi := i/len(e.blocks), i%len(e.blocks)
		if ng != last {
			e.copyGroup(e.copies[part], c.x, ng/s.Groups, ng%s.Groups)
			last = ng
		}
		blk := &e.blocks[bi]
		k := ng%s.Groups*s.KPerG + blk.k0
		if blk.f == nil {
			e.plane(part, c, ng/s.Groups, k)
			continue
		}
		e.blockPlanes(part, c, ng/s.Groups, k, blk)
	}
}

// blockPlanes computes the B output planes of block blk, from channel k of
// image n, from the copy: per outer slice, the row's vectors one column
// at a time (U rows per kernel call), the last ending with the row.
func (e *dwEngine) blockPlanes(part int, c *dwFwdCall, n, k int, blk *dwBlock) {
	s := e.s
	ow := s.Out[s.Dims-1]
	b := blk.f.B
	at := (n*s.K + k) * s.OutLen
	y := c.y[at : at+b*s.OutLen]
	w := c.w[k*s.CPerG*s.KernelSize:][:b*s.CPerG*s.KernelSize]
	var bias, res []float32
	if c.b != nil {
		bias = c.b[k : k+b]
	}
	a := e.args[part]
	*a = direct.DWArgs{Taps: blk.taps, SrcPix: 4 * e.rowStep, DstPix: 4 * ow, ChStride: 4 * s.OutLen}
	if c.ep != nil {
		if c.ep.ReLU {
			a.Flags = direct.ReLU
		}
		if c.ep.Residual != nil {
			res = c.ep.Residual[at : at+b*s.OutLen]
		}
	}
	cp := e.copies[part]
	nv := ow / e.L
	lastCol := -1 // the vector ending with the row, where it has a tail
	if nv*e.L < ow && nv > 0 && (res == nil || !overlaps(res, y)) {
		lastCol = ow - e.L
	}
	for o := 0; o < e.outer; o++ {
		src0, dst0 := e.outerOffset(o), o*e.rows*ow
		run := func(col int) {
			var rt []float32
			if res != nil {
				rt = res[dst0+col:]
			}
			blk.f.Rows(e.rows, y[dst0+col:], cp[src0+col:], w, a, bias, rt)
		}
		for v := 0; v < nv; v++ {
			run(v * e.L)
		}
		switch {
		case lastCol >= 0:
			run(lastCol)
		case nv*e.L < ow:
			e.blockTail(part, blk, a, y, cp, w, bias, res, src0, dst0, nv*e.L)
		}
	}
}

// blockTail computes a block's columns from col on (fewer than a vector),
// U rows at a time into the scratch tile (its B planes U vectors apart),
// and moves them out with the residual and ReLU applied as the kernels do.
func (e *dwEngine) blockTail(part int, blk *dwBlock, a *direct.DWArgs, y, cp, w, bias, res []float32, src0, dst0, col int) {
	s := e.s
	ow := s.Out[s.Dims-1]
	f := blk.f
	buf := e.tails[part]
	ta := direct.DWArgs{Taps: a.Taps, SrcPix: a.SrcPix, DstPix: 4 * e.L, ChStride: 4 * e.L * f.U}
	relu := a.Flags&direct.ReLU != 0
	n := ow - col
	for r := 0; r < e.rows; r += f.U {
		u := min(f.U, e.rows-r)
		f.Tile(u, buf, cp[src0+r*e.rowStep+col:], w, &ta, bias, nil)
		for o := 0; o < f.B; o++ {
			for i := 0; i < u; i++ {
				row := o*s.OutLen + dst0 + (r+i)*ow + col
				var rs []float32
				if res != nil {
					rs = res[row:][:n]
				}
				finishRun(y[row:][:n], buf[(o*f.U+i)*e.L:][:n], rs, relu)
			}
		}
	}
}

// blockTailLen is the floats of the blocks' scratch tile: B planes of U
// vectors.
func (l *dwLayout) blockTailLen() int {
	n := 0
	for _, blk := range l.blocks {
		if blk.f != nil {
			n = max(n, blk.f.B*blk.f.U*l.L)
		}
	}
	return n
}
