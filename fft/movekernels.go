package fft

import (
	"fmt"
	"math"
	"unsafe"
)

// The moves: block transposes of float planes and the conversion between
// interleaved complex values and split planes. They run the generated
// kernels on whole vectors and blocks, and Go on what is left over.

// planeReach reports whether rows rows of cols floats, pitch floats
// apart (signed), starting at off, lie inside a slice of size floats:
// every address is affine in the row, so the first and last rows bound
// them. Sizes are the plans' own, far from overflow, but the check is
// still term by term: an asm kernel trusts it.
func planeReach(size, off, pitch, rows, cols int) bool {
	if rows <= 0 || cols <= 0 {
		return true
	}
	if off < 0 || cols > size || off > size-cols {
		return false
	}
	if rows == 1 {
		return true
	}
	if pitch >= 0 {
		return pitch <= (size-cols-off)/(rows-1)
	}
	return pitch != math.MinInt && -pitch <= off/(rows-1)
}

// transpose sets dst[d0 + j*dp + i] = src[s0 + i*sp + j] for i < rows,
// j < cols (pitches in floats, signed): the generated kernel on whole
// blocks of Lanes x Lanes, Go on the edges. dst must not overlap src.
func (k laneKernels) transpose(dst []float32, d0, dp int, src []float32, s0, sp, rows, cols int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	if !planeReach(len(src), s0, sp, rows, cols) || !planeReach(len(dst), d0, dp, cols, rows) {
		panic(fmt.Sprintf("fft: transpose of %d x %d outside its slices (src %d floats at %d pitch %d, dst %d at %d pitch %d)",
			rows, cols, len(src), s0, sp, len(dst), d0, dp))
	}
	br, bc := 0, 0
	if k.set != nil {
		L := k.set.Lanes
		br, bc = rows/L, cols/L
		if br > 0 && bc > 0 {
			k.set.Transpose.Func(&dst[d0], &src[s0], br, bc, 4*sp, 4*dp)
		}
		br, bc = br*L, bc*L
		if br == 0 || bc == 0 {
			br, bc = 0, 0
		}
	}
	// The edges: rows past the blocks (every column), then the columns
	// past the blocks of the block rows.
	if br < rows {
		transposeGo(dst, d0+br, dp, src, s0+br*sp, sp, rows-br, cols)
	}
	if bc < cols {
		transposeGo(dst, d0+bc*dp, dp, src, s0+bc, sp, br, cols-bc)
	}
}

func transposeGo(dst []float32, d0, dp int, src []float32, s0, sp, rows, cols int) {
	for i := 0; i < rows; i++ {
		s := src[s0+i*sp:][:cols]
		for j, v := range s {
			dst[d0+j*dp+i] = v
		}
	}
}

// unzip splits n interleaved complex values into the planes re and im.
func (k laneKernels) unzip(re, im []float32, src []complex64) {
	k.unzipRows(re, im, len(src), src, len(src), len(src), 1)
}

// zip interleaves the planes re and im into the n complex values of dst.
func (k laneKernels) zip(dst []complex64, re, im []float32) {
	k.zipRows(dst, len(dst), re, im, len(dst), len(dst), 1)
}

// unzipRows splits rows rows of n complex values, row r at src[r*sp:],
// into the planes: re[r*dp + l], im[r*dp + l] (pitches >= n).
func (k laneKernels) unzipRows(re, im []float32, dp int, src []complex64, sp, n, rows int) {
	if n <= 0 || rows <= 0 {
		return
	}
	if dp < n || sp < n || !planeReach(len(re), 0, dp, rows, n) || !planeReach(len(im), 0, dp, rows, n) || !planeReach(len(src), 0, sp, rows, n) {
		panic(fmt.Sprintf("fft: split of %d rows of %d values (pitches %d, %d) outside its slices (%d values; planes of %d, %d)", rows, n, sp, dp, len(src), len(re), len(im)))
	}
	if k.set == nil {
		for r := 0; r < rows; r++ {
			unzipGo(re[r*dp:], im[r*dp:], src[r*sp:][:n])
		}
		return
	}
	k.set.Unzip.Func(&re[0], &im[0], (*float32)(unsafe.Pointer(&src[0])), n, rows, 8*sp, 4*dp)
}

// zipRows interleaves rows rows of n values of the planes, row r at
// re[r*sp:], im[r*sp:], into dst[r*dp:] (pitches >= n).
func (k laneKernels) zipRows(dst []complex64, dp int, re, im []float32, sp, n, rows int) {
	if n <= 0 || rows <= 0 {
		return
	}
	if dp < n || sp < n || !planeReach(len(re), 0, sp, rows, n) || !planeReach(len(im), 0, sp, rows, n) || !planeReach(len(dst), 0, dp, rows, n) {
		panic(fmt.Sprintf("fft: interleave of %d rows of %d values (pitches %d, %d) outside its slices (%d values; planes of %d, %d)", rows, n, sp, dp, len(dst), len(re), len(im)))
	}
	if k.set == nil {
		for r := 0; r < rows; r++ {
			zipGo(dst[r*dp:][:n], re[r*sp:], im[r*sp:])
		}
		return
	}
	k.set.Zip.Func((*float32)(unsafe.Pointer(&dst[0])), &re[0], &im[0], n, rows, 8*dp, 4*sp)
}

func unzipGo(re, im []float32, src []complex64) {
	re, im = re[:len(src)], im[:len(src)]
	for l, v := range src {
		re[l], im[l] = real(v), imag(v)
	}
}

func zipGo(dst []complex64, re, im []float32) {
	re, im = re[:len(dst)], im[:len(dst)]
	for l := range dst {
		dst[l] = complex(re[l], im[l])
	}
}

// TransposeTwin runs the twin of FFTTranspose<ISA> on its arguments:
// rows x cols blocks of lanes x lanes, pitches in bytes (non-negative:
// the slices start at the kernel's pointers).
func TransposeTwin(dst, src []float32, lanes, rows, cols, srcPitch, dstPitch int) {
	transposeGo(dst, 0, dstPitch/4, src, 0, srcPitch/4, rows*lanes, cols*lanes)
}

// UnzipTwin and ZipTwin run the twins of FFTUnzip<ISA> and FFTZip<ISA>
// on rows of n pairs, the pitches in bytes (whole values).
func UnzipTwin(re, im, src []float32, n, rows, srcPitch, dstPitch int) {
	c := unsafe.Slice((*complex64)(unsafe.Pointer(unsafe.SliceData(src))), len(src)/2)
	for r := 0; r < rows; r++ {
		unzipGo(re[r*dstPitch/4:], im[r*dstPitch/4:], c[r*srcPitch/8:][:n])
	}
}

// ZipTwin: see UnzipTwin.
func ZipTwin(dst, re, im []float32, n, rows, dstPitch, srcPitch int) {
	c := unsafe.Slice((*complex64)(unsafe.Pointer(unsafe.SliceData(dst))), len(dst)/2)
	for r := 0; r < rows; r++ {
		zipGo(c[r*dstPitch/8:][:n], re[r*srcPitch/4:], im[r*srcPitch/4:])
	}
}

// realHalf runs RealHalf on the frequencies k0 .. k0+count*L-1 (L the
// path's lanes; the twins take lanes) of one signal's split planes: A =
// src[k], B = src[m-k], beta = tw[k], out1 to dst[k], out2 to dst[m-k].
// The A and B windows of every vector must be disjoint (k0 >= 1 and
// k0+count*L <= m/2), and dst must not overlap src.
func (k laneKernels) realHalf(dst, src, tw run, m, k0, count, lanes int, alpha float32) {
	if count <= 0 {
		return
	}
	if k.set != nil {
		lanes = k.set.Lanes // the kernel's vectors, whatever the caller says
	}
	end := k0 + count*lanes
	if k0 < 1 || 2*(end-1) >= m || !dst.reach(1, m) || !src.reach(1, m) || !tw.reach(1, end) {
		panic(fmt.Sprintf("fft: real half step on %d..%d of %d outside its planes", k0, end, m))
	}
	if k.set == nil {
		realHalfGo(dst, src, tw, m, k0, end, alpha)
		return
	}
	b := m - k0 - (lanes - 1)
	k.set.RealHalf.Func(&dst.data[dst.re+k0], &dst.data[dst.re+b], &src.data[src.re+k0], &src.data[src.re+b], &tw.data[tw.re+k0], alpha,
		count, 4*(dst.im-dst.re), 4*(src.im-src.re), 4*(tw.im-tw.re))
}

// realHalfGo is RealHalf's twin, in RealPair's order of operations.
func realHalfGo(dst, src, tw run, m, k0, end int, alpha float32) {
	for k := k0; k < end; k++ {
		ar, ai := src.data[src.re+k], src.data[src.im+k]
		bRe, bIm := src.data[src.re+m-k], src.data[src.im+m-k]
		er, ei := ar+bRe, ai-bIm
		dr, di := ar-bRe, ai+bIm
		pr, pi := twiddleGo(dr, di, tw.data[tw.re+k], tw.data[tw.im+k])
		er, ei = float32(er*alpha), float32(ei*alpha)
		dst.data[dst.re+k], dst.data[dst.im+k] = er+pr, ei+pi
		dst.data[dst.re+m-k], dst.data[dst.im+m-k] = er-pr, pi-ei
	}
}

// RealHalfTwin runs the twin of FFTRealHalf<ISA> on planes of m values:
// dst's real plane at dst[0:], imaginary at dst[im:], src's and tw's the
// same, the vectors of lanes from frequency k0.
func RealHalfTwin(dst, src, tw []float32, im, twIm, m, k0, count, lanes int, alpha float32) {
	realHalfGo(run{data: dst, im: im}, run{data: src, im: im}, run{data: tw, im: twIm}, m, k0, k0+count*lanes, alpha)
}
