package conv

import "github.com/convkit/convkit/im2col"

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
	if e.form == 'B' {
		return e.s.Groups * e.icb
	}
	return e.s.C
}

// copyInput copies item it of image n (a channel block, or a channel)
// into the padded copy. The margins of zeros padding are never written:
// they stay zero from the allocation.
func (e *directEngine) copyInput(x []float32, n, it int) {
	s := e.s
	d := s.Dims
	L := e.L
	c0, nc := it, 1 // the input channels of the item
	if e.form == 'B' {
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
		e.copyRun(dst, x, n, c0, nc, drow+padLast, base, wLast)
	}
}

// itemLanes is the floats per pixel of one copy item.
func (e *directEngine) itemLanes() int {
	if e.form == 'B' {
		return e.L
	}
	return 1
}

// sourceRow maps padded row ro (the outer coordinates of the copy) to the
// input pixel its row starts at, false for a row of the zero padding.
func (e *directEngine) sourceRow(ro int) (int, bool) {
	s := e.s
	base, pitch := 0, s.In[s.Dims-1]
	for i := s.Dims - 2; i >= 0; i-- {
		v := e.colMap[i][ro%e.srcDims[i]]
		ro /= e.srcDims[i]
		if v < 0 {
			return 0, false
		}
		base += v * pitch
		pitch *= s.In[i]
	}
	return base, true
}

// copyPixel copies input pixel q of channels c0..c0+nc of image n to
// padded pixel p of the item.
func (e *directEngine) copyPixel(dst, x []float32, n, c0, nc, p, q int) {
	s := e.s
	k := e.itemLanes()
	for l := 0; l < nc; l++ {
		if s.Layout == ChannelsFirst {
			dst[p*k+l] = x[(n*s.C+c0+l)*s.InSize+q]
		} else {
			dst[p*k+l] = x[(n*s.InSize+q)*s.C+c0+l]
		}
	}
}

// copyRun copies cnt input pixels from q on (a row's interior) to padded
// pixels p on: contiguous runs where the layouts allow.
func (e *directEngine) copyRun(dst, x []float32, n, c0, nc, p, q, cnt int) {
	s := e.s
	k := e.itemLanes()
	switch {
	case s.Layout == ChannelsFirst && k == 1:
		copy(dst[p:p+cnt], x[(n*s.C+c0)*s.InSize+q:][:cnt])
	case s.Layout == ChannelsFirst:
		for l := 0; l < nc; l++ {
			src := x[(n*s.C+c0+l)*s.InSize+q:][:cnt]
			out := dst[p*k+l:]
			for j, v := range src {
				out[j*k] = v
			}
		}
	default:
		for j := 0; j < cnt; j++ {
			copy(dst[(p+j)*k:][:nc], x[(n*s.InSize+q+j)*s.C+c0:][:nc])
		}
	}
}

// packGroup packs the weights of channel group ogi of conv group g: for
// every input-channel group, tap and channel of the step, B*L output
// channels (the padding channels zero).
func (e *directEngine) packGroup(w []float32, g, ogi int) {
	s := e.s
	og := e.ogs[ogi]
	cin := e.fams[og.b-1].Cin
	bl := og.b * e.L
	dst := e.wp[g*(len(e.wp)/s.Groups)+og.w:][:e.icb*e.taps*cin*bl]
	for j := 0; j < bl; j++ {
		kl := og.ob0*e.L + j
		if kl >= s.KPerG {
			for i := j; i < len(dst); i += bl {
				dst[i] = 0
			}
			continue
		}
		k := g*s.KPerG + kl
		for cl := 0; cl < s.CPerG; cl++ {
			src := w[(k*s.CPerG+cl)*e.taps:][:e.taps]
			out := dst[(cl/cin*e.taps*cin+cl%cin)*bl+j:]
			for t, v := range src {
				out[t*cin*bl] = v
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

// outputBlock moves output block blk (a conv group's block of L channels)
// of image n from the buffer into y, then applies the residual and ReLU
// of a channels-first epilogue to its channels.
func (e *directEngine) outputBlock(y []float32, ep *Epilogue, n, blk int) {
	s := e.s
	L := e.L
	g, ob := blk/e.kb, blk%e.kb
	k0, nk := g*s.KPerG+ob*L, min(L, s.KPerG-ob*L)
	src := e.yb[n*e.dstImage+blk*s.OutLen*L:][:s.OutLen*L]
	if s.Layout == ChannelsLast {
		for p := 0; p < s.OutLen; p++ {
			copy(y[(n*s.OutLen+p)*s.K+k0:][:nk], src[p*L:][:nk])
		}
		return
	}
	for l := 0; l < nk; l++ {
		row := y[(n*s.K+k0+l)*s.OutLen:][:s.OutLen]
		for p := range row {
			row[p] = src[p*L+l]
		}
	}
	if ep != nil {
		epilogueChannelsFirst(s, y, nil, ep, n, k0, nk, 0, s.OutLen, nil)
	}
}
