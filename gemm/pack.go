package gemm

import "unsafe"

// Packing copies a kc-deep slice of one operand into panels of W
// consecutive "x" indices (rows of A, or columns of B): panel q holds
// element (x, p) at dst[q*kc*W + p*W + (x - q*W)], so a micro-kernel reads
// it with unit stride. With pad, the unused x slots of the last panel are
// zeroed (the portable path computes whole MR x NR tiles); without, they
// are left as they are (the generated kernels never read them).

// packContig packs a source whose x index is contiguous:
// element (x, p) = src[(p0+p)*ld + x0 + x] (B not transposed, A transposed).
func packContig(dst, src []float32, ld, x0, cnt, p0, kc, W int, pad bool) {
	for q := 0; q*W < cnt; q++ {
		w := min(W, cnt-q*W)
		d := dst[q*kc*W : (q+1)*kc*W]
		base := p0*ld + x0 + q*W
		_ = src[base+(kc-1)*ld+w-1] // one bounds check for the whole panel
		if w == W && copyRows(d, src, base, ld, kc, W) {
			continue
		}
		for p := 0; p < kc; p++ {
			row := d[p*W : p*W+W]
			copy(row, src[base+p*ld:base+p*ld+w])
			if pad {
				clear(row[w:])
			}
		}
	}
}

// copyRows copies kc rows of W floats with fixed-size array moves (inlined
// vector moves instead of a memmove call per row) for the widths the tiles
// use; it reports false for other widths.
func copyRows(d, src []float32, base, ld, kc, W int) bool {
	switch W {
	case 4:
		for p := 0; p < kc; p++ {
			*(*[4]float32)(d[p*4:]) = *(*[4]float32)(src[base+p*ld:])
		}
	case 6:
		for p := 0; p < kc; p++ {
			*(*[6]float32)(d[p*6:]) = *(*[6]float32)(src[base+p*ld:])
		}
	case 8:
		for p := 0; p < kc; p++ {
			*(*[8]float32)(d[p*8:]) = *(*[8]float32)(src[base+p*ld:])
		}
	case 12:
		for p := 0; p < kc; p++ {
			*(*[12]float32)(d[p*12:]) = *(*[12]float32)(src[base+p*ld:])
		}
	case 14:
		for p := 0; p < kc; p++ {
			*(*[14]float32)(d[p*14:]) = *(*[14]float32)(src[base+p*ld:])
		}
	case 16:
		for p := 0; p < kc; p++ {
			*(*[16]float32)(d[p*16:]) = *(*[16]float32)(src[base+p*ld:])
		}
	case 24:
		for p := 0; p < kc; p++ {
			*(*[24]float32)(d[p*24:]) = *(*[24]float32)(src[base+p*ld:])
		}
	case 32:
		for p := 0; p < kc; p++ {
			*(*[32]float32)(d[p*32:]) = *(*[32]float32)(src[base+p*ld:])
		}
	default:
		return false
	}
	return true
}

// packStrided packs a source whose p index is contiguous:
// element (x, p) = src[(x0+x)*ld + p0 + p] (A not transposed, B
// transposed). It is a transpose: each source row is read once, in order,
// and scattered with stride W into the panel.
func packStrided(dst, src []float32, ld, x0, cnt, p0, kc, W int, pad bool) {
	for q := 0; q*W < cnt; q++ {
		w := min(W, cnt-q*W)
		d := dst[q*kc*W : (q+1)*kc*W]
		dp := unsafe.Pointer(unsafe.SliceData(d))
		x := 0
		// Four source rows at a time: four independent load/store streams.
		for ; x+4 <= w; x += 4 {
			r0 := src[(x0+q*W+x)*ld+p0:][:kc]
			r1 := src[(x0+q*W+x+1)*ld+p0:][:kc]
			r2 := src[(x0+q*W+x+2)*ld+p0:][:kc]
			r3 := src[(x0+q*W+x+3)*ld+p0:][:kc]
			for p := range r0 {
				o := unsafe.Add(dp, 4*(p*W+x))
				*(*float32)(o) = r0[p]
				*(*float32)(unsafe.Add(o, 4)) = r1[p]
				*(*float32)(unsafe.Add(o, 8)) = r2[p]
				*(*float32)(unsafe.Add(o, 12)) = r3[p]
			}
		}
		for ; x < w; x++ {
			r := src[(x0+q*W+x)*ld+p0:][:kc]
			for p, v := range r {
				*(*float32)(unsafe.Add(dp, 4*(p*W+x))) = v
			}
		}
		if pad {
			for ; x < W; x++ {
				for p := 0; p < kc; p++ {
					d[p*W+x] = 0
				}
			}
		}
	}
}
