package conv

import (
	"github.com/convkit/convkit/direct"
	"github.com/convkit/convkit/im2col"
	"github.com/convkit/convkit/kernels"
)

// The direct algorithm's copies: the input into its padded copy, the
// weights into their packed blocks, the bias into whole blocks, and the
// channel-blocked output into y. Each is a loop over items that the team
// splits (Run), so no copy runs on one thread while the others wait.

// paddedSource maps index v of a padded dim of size n (v counted from the
// input's first element) to the input index it reads, -1 for a zero.
func paddedSource(v, n int, m PaddingMode) int { return im2col.MapIndex(v, n, im2col.Mode(m)) }

// copyItems is the copy's items per image: channel blocks (blocked form)
// or channels (planes).
func (e *directEngine) copyItems() int {
	switch {
	case e.form == direct.Blocked:
		return e.s.Groups * e.icb
	case e.s.Layout.Lanes() > 0: // planes from a blocked x: a block's planes at once
		return ceilDiv(e.s.C, e.s.Layout.Lanes())
	}
	return e.s.C
}

// copyInput copies item it of image n (a channel block, or a channel)
// into the padded copy. The margins of zeros padding are never written:
// they stay zero from the allocation.
func (e *directEngine) copyInput(t *direct.Transposer, x []float32, n, it int) {
	s := e.s
	d := s.Dims
	L := e.L
	if e.form == direct.Planes && s.Layout.Lanes() > 0 {
		e.copyBlockPlanes(t, x, n, it)
		return
	}
	c0, nc := it, 1 // the input channels of the item
	if e.form == direct.Blocked {
		g, i := it/e.icb, it%e.icb
		c0, nc = g*s.CPerG+i*L, min(L, s.CPerG-i*L)
	}
	wLast, padLast := s.In[d-1], s.PadBefore[d-1]
	plane := e.srcPlane
	dst := e.xp[n*e.srcImage+it*plane*e.itemLanes():][:plane*e.itemLanes()]
	rows := plane / e.srcDims[d-1]
	for ro := 0; ro < rows; ro++ {
		base, ok := e.sourceRow(ro)
		if !ok {
			continue
		}
		drow := ro * e.srcDims[d-1] // first pixel of the padded row
		for pw, m := range e.colMap[d-1] {
			if (pw < padLast || pw >= padLast+wLast) && m >= 0 {
				e.copyPixel(dst, x, n, c0, nc, drow+pw, base+m)
			}
		}
		e.copyRun(t, dst, x, n, c0, nc, drow+padLast, base, wLast)
	}
}

// copyBlockPlanes is copyInput of the planes form from a blocked x: block
// blk of image n into its channels' padded planes, each row's interior
// by the transposer (a lane at a time it cost a nanosecond a value).
func (e *directEngine) copyBlockPlanes(t *direct.Transposer, x []float32, n, blk int) {
	s := e.s
	d := s.Dims
	L := s.Layout.Lanes()
	c0, nc := blk*L, min(L, s.C-blk*L)
	wLast, padLast := s.In[d-1], s.PadBefore[d-1]
	plane := e.srcPlane
	dst := e.xp[n*e.srcImage+c0*plane:][:nc*plane]
	rows := plane / e.srcDims[d-1]
	for ro := 0; ro < rows; ro++ {
		base, ok := e.sourceRow(ro)
		if !ok {
			continue
		}
		drow := ro * e.srcDims[d-1]
		for pw, m := range e.colMap[d-1] {
			if (pw < padLast || pw >= padLast+wLast) && m >= 0 {
				src := x[blockedIndex(s, n, c0, base+m):][:nc]
				for l, v := range src {
					dst[l*plane+drow+pw] = v
				}
			}
		}
		t.Deinterleave(dst[drow+padLast:], plane, nc, x[blockedIndex(s, n, c0, base):][:wLast*L], wLast)
	}
}

// itemLanes is the floats per pixel of one copy item.
func (e *directEngine) itemLanes() int {
	if e.form == direct.Blocked {
		return e.L
	}
	return 1
}

// sourceRow maps padded row ro (the outer coordinates of the copy) to the
// input pixel its row starts at, false for a row of the zero padding.
func (e *directEngine) sourceRow(ro int) (int, bool) {
	base := paddedRowStart(e.s, e.srcDims, ro)
	return base, base >= 0
}

// paddedRowStart maps row r of a padded copy of s's input (its outer
// dims' coordinates; padDims the padded sizes, the last unused) to the
// input pixel that row starts at, -1 for a row of zero padding. The
// engines' copies share it.
func paddedRowStart(s *Shape, padDims []int, r int) int {
	base, pitch := 0, s.In[s.Dims-1]
	for i := s.Dims - 2; i >= 0; i-- {
		v := paddedSource(r%padDims[i]-s.PadBefore[i], s.In[i], s.PaddingMode)
		r /= padDims[i]
		if v < 0 {
			return -1
		}
		base += v * pitch
		pitch *= s.In[i]
	}
	return base
}

// copyPixel copies input pixel q of channels c0..c0+nc of image n to
// padded pixel p of the item.
func (e *directEngine) copyPixel(dst, x []float32, n, c0, nc, p, q int) {
	s := e.s
	k := e.itemLanes()
	for l := 0; l < nc; l++ {
		switch c := c0 + l; {
		case s.Layout == ChannelsFirst:
			dst[p*k+l] = x[(n*s.C+c)*s.InSize+q]
		case s.Layout == ChannelsLast:
			dst[p*k+l] = x[(n*s.InSize+q)*s.C+c]
		default:
			dst[p*k+l] = x[blockedIndex(s, n, c, q)]
		}
	}
}

// blockedIndex is the index of channel c of pixel q of image n in the
// blocked x of s.
func blockedIndex(s *Shape, n, c, q int) int {
	L := s.Layout.Lanes()
	return ((n*ceilDiv(s.C, L)+c/L)*s.InSize+q)*L + c%L
}

// copyRun copies cnt input pixels from q on (a row's interior) to padded
// pixels p on: contiguous runs where the layouts allow.
func (e *directEngine) copyRun(t *direct.Transposer, dst, x []float32, n, c0, nc, p, q, cnt int) {
	s := e.s
	k := e.itemLanes()
	switch {
	case s.Layout == ChannelsFirst && k == 1:
		copy(dst[p:p+cnt], x[(n*s.C+c0)*s.InSize+q:][:cnt])
	case k == 1 && s.Layout == ChannelsLast: // one channel per pixel
		for j := 0; j < cnt; j++ {
			dst[p+j] = x[(n*s.InSize+q+j)*s.C+c0]
		}
	case k == 1: // a blocked input's one lane per pixel
		L, at := s.Layout.Lanes(), blockedIndex(s, n, c0, q)
		for j := 0; j < cnt; j++ {
			dst[p+j] = x[at+j*L]
		}
	default:
		copyBlocked(t, dst[p*k:], x, s, n, c0, nc, q, cnt)
	}
}

// copyBlocked copies cnt input pixels from pixel q on (channels c0..c0+nc
// of image n) into blocked pixels of dst (t.L floats each), zeros in the
// missing channels: the transposing pack from channels-first x, whole
// vectors from channels-last (no call per pixel).
func copyBlocked(t *direct.Transposer, dst, x []float32, s *Shape, n, c0, nc, q, cnt int) {
	L := t.L
	switch {
	case s.Layout == ChannelsFirst:
		t.Interleave(dst, x[(n*s.C+c0)*s.InSize+q:], s.InSize, nc, cnt)
		return
	case s.Layout != ChannelsLast: // the kernels' own blocks (c0 starts one): whole pixels
		copy(dst[:cnt*L], x[blockedIndex(s, n, c0, q):][:cnt*L])
		for j := 0; nc < L && j < cnt; j++ {
			clear(dst[j*L+nc : (j+1)*L]) // x's padding lanes are not read
		}
		return
	}
	src := x[(n*s.InSize+q)*s.C+c0:]
	if nc == L && copyVectors(dst, L, src, s.C, cnt) {
		return
	}
	for j := 0; j < cnt; j++ {
		px := dst[j*L : (j+1)*L]
		copy(px, src[j*s.C:][:nc])
		clear(px[nc:])
	}
}

// packGroup packs the weights of channel group ogi of conv group g: for
// every input-channel group, tap and channel of the step, B*L output
// channels (the padding channels zero). It runs over blocks of L output
// channels and, inside, one input-channel group at a time, so that what
// it reads (L rows of cin*taps floats) and writes (cin*taps runs of L)
// stay in L1: in output order alone, each read was on a page of its own
// (resnet_3x3_c512 packed at 2 ns a float).
func (e *directEngine) packGroup(w []float32, g, ogi int) {
	s := e.s
	og := e.ogs[ogi]
	L := e.L
	cin := e.fams[og.b-1].Cin
	bl := og.b * L
	dst := e.wp[g*(len(e.wp)/s.Groups)+og.w:][:e.icb*e.taps*cin*bl]
	rowLen := s.CPerG * e.taps // floats per output channel
	for j0 := 0; j0 < bl; j0 += L {
		live := max(0, min(L, s.KPerG-og.ob0*L-j0)) // output channels that exist
		first := (g*s.KPerG + og.ob0*L + j0) * rowLen
		for i := 0; i < e.icb; i++ {
			for ci := 0; ci < cin; ci++ {
				cl := i*cin + ci
				for t := 0; t < e.taps; t++ {
					out := dst[((i*e.taps+t)*cin+ci)*bl+j0:][:L]
					if cl >= s.CPerG || live == 0 {
						clear(out)
						continue
					}
					idx := first + cl*e.taps + t
					for j := range out[:live] {
						out[j] = w[idx]
						idx += rowLen
					}
					clear(out[live:])
				}
			}
		}
	}
}

// padBias copies b into whole blocks per conv group (the padding 0).
func (e *directEngine) padBias(b []float32) {
	s := e.s
	for g := 0; g < s.Groups; g++ {
		copy(e.bias[g*e.kb*e.L:][:s.KPerG], b[g*s.KPerG:][:s.KPerG])
	}
}

// flushRows moves rows [r0, r0+nr) of channel group og (conv group g,
// image n) from the band buffer into y, columns [x0, x1) (a band has
// whole rows), then applies the residual and ReLU of a channels-first
// epilogue to them (channels-last has its epilogue after the whole call).
// The rows of a band lie one after another in every channel plane, so a
// band is one run per channel.
func (e *directEngine) flushRows(part int, c *directCall, n, g int, og ocGroup, r0, nr, x0, x1 int) {
	s := e.s
	L := e.L
	ow := s.Out[s.Dims-1]
	run := (nr-1)*ow + x1 - x0 // pixels
	buf := e.rowBuf[part]
	for bi := 0; bi < og.b; bi++ {
		kl := (og.ob0 + bi) * L
		k0, nk := g*s.KPerG+kl, min(L, s.KPerG-kl)
		src := buf[(bi*e.band*ow+x0)*L:][:run*L]
		first := r0*ow + x0 // the run's first pixel in the plane
		if s.Layout == ChannelsLast {
			for p := 0; p < run; p++ {
				copy(c.y[(n*s.OutLen+first+p)*s.K+k0:][:nk], src[p*L:][:nk])
			}
			continue
		}
		at := (n*s.K+k0)*s.OutLen + first
		e.tr[part].Deinterleave(c.y[at:], s.OutLen, nk, src, run)
		if ep := c.ep; ep != nil && (ep.Residual != nil || ep.ReLU) {
			for l := 0; l < nk; l++ {
				v := c.y[at+l*s.OutLen:][:run]
				if ep.Residual != nil {
					kernels.Add(v, v, ep.Residual[at+l*s.OutLen:][:run])
				}
				if ep.ReLU {
					kernels.Relu(v, v)
				}
			}
		}
	}
}
