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
// the group, with its family, its tap table (whose weight offsets step
// over the block's B weights of each tap) and its bands of rows.
type dwBlock struct {
	k0    int
	f     *direct.DWFamily
	taps  *direct.Taps
	bands []dwBand // the output rows in runs of one table each (see layBands)
}

// dwBand is a run of output rows r0..r1-1 and a block's tap table for
// them: its whole table, or where the rows' filter rows meet zero
// padding rows, the table without those taps. A small plane padded for a
// "full" convolution spends much of its sum there: lenet_5x5_c6's
// backward-data, 14 rows from 10 padded by 4 with a filter of 5, meets
// padding on 29% of its filter rows.
type dwBand struct {
	r0, r1 int
	taps   *direct.Taps
}

// layBlocks splits a group's output channels into blocks of the widest
// OutChannels families (none below two channels: a last single channel
// runs on the plane sweep's Width or Rows kernels), or leaves none where
// there are no such families or a group has one output channel.
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
	l.layBands()
}

// layBands cuts the output rows of each block into dwBands: one of all
// the rows, or with zero padding runs of the rows whose filter rows meet
// the same padding rows, each with its own table.
func (l *dwLayout) layBands() {
	s := l.s
	d := s.Dims
	masks := l.rowMasks()
	for i := range l.blocks {
		blk := &l.blocks[i]
		if blk.f == nil {
			continue
		}
		whole := []dwBand{{r0: 0, r1: l.rows, taps: blk.taps}}
		if blk.bands = whole; masks == nil {
			continue
		}
		var bands []dwBand
		byMask := map[uint64]*direct.Taps{}
		all := uint64(1)<<s.Kernel[d-2] - 1
		for r0 := 0; r0 < l.rows; {
			// A band: the rows of one mask, or up to a tile of edge rows
			// whose masks nest, under the widest of them (a tile of U rows
			// sums faster than U tiles of one, a few zeros' taps more).
			r1, m := r0+1, masks[r0]
			for r1 < l.rows && (masks[r1] == m || (m != all && masks[r1] != all && r1-r0 < blk.f.U && nested(m, masks[r1]))) {
				m |= masks[r1]
				r1++
			}
			if byMask[m] == nil {
				byMask[m] = l.bandTaps(blk.f.B, m, s.Kernel[d-2], s.Kernel[d-1])
			}
			bands = append(bands, dwBand{r0: r0, r1: r1, taps: byMask[m]})
			r0 = r1
		}
		if bandCycles(blk.f, bands) < bandCycles(blk.f, whole) { // else the saved taps pay less than the calls
			blk.bands = bands
		}
	}
}

// bandCycles models a column of a block's vectors over bands: per tile
// of u rows and tap, max(u*B/2 FMA cycles, (u+B)/2 load cycles, the FMA
// chain), plus tileCall per tile, as directLayout.cycles.
func bandCycles(f *direct.DWFamily, bands []dwBand) float64 {
	var c float64
	b := float64(f.B)
	for _, bd := range bands {
		for r := bd.r0; r < bd.r1; r += f.U {
			u := float64(min(f.U, bd.r1-r))
			c += max(u*b/2, (u+b)/2, fmaChain)*float64(bd.taps.Len()) + tileCall
		}
	}
	return c
}

// nested reports whether one of the masks a and b holds the other.
func nested(a, b uint64) bool { return a&b == a || a&b == b }

// rowMasks is, per output row, the filter rows (bits) that meet input
// rows, where zero padding rows meet some; nil where none do (or the
// padding is not zeros, whose rows hold values).
func (l *dwLayout) rowMasks() []uint64 {
	s := l.s
	d := s.Dims
	if d < 2 || s.PaddingMode != Zeros || s.Kernel[d-2] > 64 {
		return nil
	}
	h, sh, dh, pt, kh := s.In[d-2], s.Stride[d-2], s.Dilation[d-2], s.PadBefore[d-2], s.Kernel[d-2]
	all := uint64(1)<<kh - 1
	masks := make([]uint64, l.rows)
	some := false
	for i := range masks {
		for r := 0; r < kh; r++ {
			if ir := i*sh + r*dh - pt; ir >= 0 && ir < h {
				masks[i] |= 1 << r
			}
		}
		some = some || masks[i] != all
	}
	if !some {
		return nil
	}
	return masks
}

// bandTaps is blockTaps(b) without the taps of the filter rows outside
// mask m (a tap's row is its index in the weights' order, over kw, modulo
// kh).
func (l *dwLayout) bandTaps(b int, m uint64, kh, kw int) *direct.Taps {
	src := l.taps.Offsets()
	var offs []int
	for i := 0; i < len(src); i += 2 {
		t := src[i+1] / 4 % l.s.KernelSize
		if m&(1<<(t/kw%kh)) != 0 {
			offs = append(offs, src[i], src[i+1]*b)
		}
	}
	return direct.NewTaps(offs)
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
		tiles := ceilDiv(l.rows, l.tailFam.U)
		if blk.f != nil {
			tiles = 0
			for _, bd := range blk.bands {
				tiles += ceilDiv(bd.r1-bd.r0, blk.f.U)
			}
		}
		calls += float64(s.N*s.Groups*l.outer) * cols * float64(tiles)
	}
	copies := float64(s.N*s.C) * float64(l.planeLen) / 4
	return vecs*l.bandTapsPerRow()/2 + calls*tileCall + copies
}

// bandTapsPerRow is the taps an output row of the blocks sums, on
// average over their bands.
func (l *dwLayout) bandTapsPerRow() float64 {
	for _, blk := range l.blocks {
		if blk.f == nil {
			continue
		}
		n := 0
		for _, bd := range blk.bands {
			n += (bd.r1 - bd.r0) * bd.taps.Len()
		}
		return float64(n) / float64(l.rows)
	}
	return float64(l.s.CPerG * l.s.KernelSize)
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
		e.blockPlanes(part, c, ng/s.Groups, k, bi)
	}
}

// blockPlanes computes the B output planes of block bi, from channel k of
// image n, from the copy: per outer slice, the row's vectors one column
// at a time, each down the block's bands (U rows per kernel call), the
// last ending with the row.
func (e *dwEngine) blockPlanes(part int, c *dwFwdCall, n, k, bi int) {
	blk := &e.blocks[bi]
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
			for _, bd := range blk.bands {
				a.Taps = bd.taps
				at := dst0 + bd.r0*ow + col
				var rt []float32
				if res != nil {
					rt = res[at:]
				}
				blk.f.Rows(bd.r1-bd.r0, y[at:], cp[src0+bd.r0*e.rowStep+col:], w, a, bias, rt)
			}
		}
		for v := 0; v < nv; v++ {
			run(v * e.L)
		}
		switch {
		case lastCol >= 0:
			run(lastCol)
		case nv*e.L < ow:
			e.blockTail(part, bi, a, y, cp, w, bias, res, src0, dst0, nv*e.L)
		}
	}
}

// blockTail computes a block's columns from col on (fewer than a vector),
// U rows at a time into the scratch tile (its B planes U vectors apart),
// and moves them out with the residual and ReLU applied as the kernels do.
func (e *dwEngine) blockTail(part, bi int, a *direct.DWArgs, y, cp, w, bias, res []float32, src0, dst0, col int) {
	s := e.s
	ow := s.Out[s.Dims-1]
	blk := &e.blocks[bi]
	f := blk.f
	buf := e.tails[part]
	ta := direct.DWArgs{SrcPix: a.SrcPix, DstPix: 4 * e.L, ChStride: 4 * e.L * f.U}
	relu := a.Flags&direct.ReLU != 0
	n := ow - col
	for _, bd := range blk.bands {
		ta.Taps = bd.taps
		for r := bd.r0; r < bd.r1; r += f.U {
			e.blockTailTile(f, &ta, min(f.U, bd.r1-r), r, buf, y, cp, w, bias, res, src0, dst0, col, n, relu)
		}
	}
}

// blockTailTile is one of blockTail's tiles: u rows from row r.
func (e *dwEngine) blockTailTile(f *direct.DWFamily, ta *direct.DWArgs, u, r int, buf, y, cp, w, bias, res []float32, src0, dst0, col, n int, relu bool) {
	s := e.s
	ow := s.Out[s.Dims-1]
	f.Tile(u, buf, cp[src0+r*e.rowStep+col:], w, ta, bias, nil)
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
