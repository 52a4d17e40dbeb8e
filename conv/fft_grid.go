package conv

// The FFT engine's moves between the tensors and its grids (row-major,
// dims e.grid): a channel of x padded by the padding mode, a channel of
// dy at the origin, an output channel cropped out of a grid, and the
// gradient of a padded input folded back onto x.

// rows walks the rows of a row-major array of dims (all but the last
// dim, at most 8 of them): idx holds the current row's multi-index and r
// its number. A value on the stack, so that walking allocates nothing.
type rows struct {
	dims []int
	idx  [8]int
	r, n int
}

func newRows(dims []int) rows {
	w := rows{dims: dims[:len(dims)-1], r: -1, n: 1}
	for _, d := range w.dims {
		w.n *= d
	}
	return w
}

// next moves to the next row, reporting whether there is one.
func (w *rows) next() bool {
	if w.r++; w.r == 0 || w.r >= w.n {
		return w.r < w.n
	}
	for j := len(w.dims) - 1; j >= 0; j-- {
		if w.idx[j]++; w.idx[j] < w.dims[j] {
			break
		}
		w.idx[j] = 0
	}
	return true
}

// index is the current row's multi-index.
func (w *rows) index() []int { return w.idx[:len(w.dims)] }

// tensorChannel is where channel ch of image n of a tensor of spatial
// dims sizes and chans channels lies in layout: its first element and the
// step from one position to the next.
func tensorChannel(layout Layout, n, ch, chans, size int) (base, step int) {
	if layout == ChannelsFirst {
		return (n*chans + ch) * size, 1
	}
	return n*size*chans + ch, chans
}

// rowOffset is the position of multi-index idx (the leading dims) in a
// row-major array of dims, times the last dim.
func rowOffset(idx, dims []int) int {
	off := 0
	for j, v := range idx {
		off = off*dims[j] + v
	}
	return off * dims[len(dims)-1]
}

// padInput fills grid with channel ch of image n of x, padded by s's
// padding and mode, zeros past the padded input.
func (e *fftEngine) padInput(grid, x []float32, n, ch int) {
	s := e.s
	d := len(s.In)
	base, step := tensorChannel(s.Layout, n, ch, s.C, s.InSize)
	var srcIdx [8]int
rowLoop:
	for w := newRows(e.grid); w.next(); {
		row := grid[w.r*e.grid[d-1]:][:e.grid[d-1]]
		for j, v := range w.index() {
			if v >= e.pad[j] {
				clear(row)
				continue rowLoop
			}
			if srcIdx[j] = padSource(v-s.PadBefore[j], s.In[j], s.PadBefore[j], s.PadAfter[j], s.PaddingMode); srcIdx[j] < 0 {
				clear(row)
				continue rowLoop
			}
		}
		padRow(row, x[base+rowOffset(srcIdx[:d-1], s.In)*step:], step, s)
	}
}

// padRow fills row with one row of the input (src, its points step
// apart) padded along the last dim by s's padding and mode, zeros past
// the padded row: the interior copied, the padding's points by the mode.
func padRow(row, src []float32, step int, s *Shape) {
	d := len(s.In)
	W, pb, pa := s.In[d-1], s.PadBefore[d-1], s.PadAfter[d-1]
	if step == 1 {
		copy(row[pb:pb+W], src[:W])
	} else {
		for v := range W {
			row[pb+v] = src[v*step]
		}
	}
	for v := 0; v < pb+W+pa; v++ {
		if v == pb {
			v = pb + W - 1
			continue
		}
		row[v] = 0
		if sx := padSource(v-pb, W, pb, pa, s.PaddingMode); sx >= 0 {
			row[v] = src[sx*step]
		}
	}
	clear(row[min(pb+W+pa, len(row)):])
}

// placeOutput fills grid with channel k of image n of an output-shaped
// tensor (dy) at the origin, zeros elsewhere.
func (e *fftEngine) placeOutput(grid, dy []float32, n, k int) {
	s := e.s
	d := len(s.Out)
	base, step := tensorChannel(s.Layout, n, k, s.K, s.OutLen)
	OW := s.Out[d-1]
rowLoop:
	for w := newRows(e.grid); w.next(); {
		row := grid[w.r*e.grid[d-1]:][:e.grid[d-1]]
		idx := w.index()
		for j, v := range idx {
			if v >= s.Out[j] {
				clear(row)
				continue rowLoop
			}
		}
		src := dy[base+rowOffset(idx, s.Out)*step:]
		if step == 1 {
			copy(row[:OW], src[:OW])
		} else {
			for v := 0; v < OW; v++ {
				row[v] = src[v*step]
			}
		}
		clear(row[OW:])
	}
}

// cropOutput moves the outputs (the grid's first Out positions per dim)
// into channel k of image n of y.
func (e *fftEngine) cropOutput(y, grid []float32, n, k int) {
	s := e.s
	d := len(s.Out)
	base, step := tensorChannel(s.Layout, n, k, s.K, s.OutLen)
	OW := s.Out[d-1]
	for w := newRows(s.Out); w.next(); {
		idx := w.index()
		src := grid[rowOffset(idx, e.grid):][:OW]
		dst := y[base+rowOffset(idx, s.Out)*step:]
		if step == 1 {
			copy(dst[:OW], src)
			continue
		}
		for v, val := range src {
			dst[v*step] = val
		}
	}
}

// foldInput writes channel c of image n of dx from the gradient of its
// padded input (the grid's first pad positions per dim): each padded
// position adds onto the input position the padding mode copies there,
// in row-major order (zeros padding: the interior alone).
func (e *fftEngine) foldInput(dx, grid []float32, n, c int) {
	s := e.s
	d := len(s.In)
	base, step := tensorChannel(s.Layout, n, c, s.C, s.InSize)
	if step == 1 {
		clear(dx[base : base+s.InSize])
	} else {
		for p := 0; p < s.InSize; p++ {
			dx[base+p*step] = 0
		}
	}
	W, pb, pa := s.In[d-1], s.PadBefore[d-1], s.PadAfter[d-1]
	var srcIdx [8]int
rowLoop:
	for w := newRows(e.pad); w.next(); {
		idx := w.index()
		for j, v := range idx {
			if srcIdx[j] = padSource(v-s.PadBefore[j], s.In[j], s.PadBefore[j], s.PadAfter[j], s.PaddingMode); srcIdx[j] < 0 {
				continue rowLoop
			}
		}
		row := grid[rowOffset(idx, e.grid):][:e.pad[d-1]]
		dst := dx[base+rowOffset(srcIdx[:d-1], s.In)*step:]
		for v, val := range row {
			if sx := padSource(v-pb, W, pb, pa, s.PaddingMode); sx >= 0 {
				dst[sx*step] += val
			}
		}
	}
}
