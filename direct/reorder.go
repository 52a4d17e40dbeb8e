package direct

import (
	"fmt"

	"github.com/convkit/convkit/kernels"
)

// Transposer moves channels between planes (one channel's pixels
// contiguous) and channel-blocked pixels (L channels of a pixel
// contiguous): the reorders around the blocked form. Where the path has
// generated kernels it runs on them (the SGEMM's transposing pack one
// way, gen/direct's unpacking kernel the other: an L x L block in
// registers per step), else in Go. A Transposer holds scratch:
// one per goroutine.
type Transposer struct {
	L      int
	packT  packTFunc          // the SGEMM's transposing pack of L lanes (nil: none)
	unpack unpackFunc         // the generated unpacking kernel of L lanes (nil: none)
	ptrs   [maxLanes]*float32 // the pack's row pointers
	zeros  []float32          // a missing channel's row
	part   []float32          // L rows of PartRun pixels: a partial block's unpacking
}

// PartRun is the pixels a partial block is unpacked in at a time: a
// Transposer holds L x PartRun floats of scratch beside maxRow.
const PartRun = 256

// The generated kernels' signatures (asm.SgemmPackTFunc, asm.DirectUnpackFunc).
type (
	packTFunc  = func(dst *float32, w int, rows **float32, blocks int)
	unpackFunc = func(dst *float32, stride int, src *float32, blocks int)
)

// maxLanes is the widest vector of any path (AVX-512).
const maxLanes = 16

// NewTransposer returns a Transposer for blocks of lanes channels on path
// isa, for rows of up to maxRow pixels.
func NewTransposer(isa kernels.ISA, lanes, maxRow int) *Transposer {
	p, u := reorderKernels(isa, lanes)
	t := &Transposer{L: lanes, packT: p, unpack: u, zeros: make([]float32, maxRow)}
	if u != nil {
		t.part = make([]float32, lanes*PartRun)
	}
	return t
}

// Interleave writes n pixels of nc <= L channel planes into blocked
// pixels, the missing channels as zeros:
//
//	dst[p*L+r] = src[r*stride+p] (r < nc), 0 (nc <= r < L)    for p < n
func (t *Transposer) Interleave(dst, src []float32, stride, nc, n int) {
	t.InterleaveTo(dst, t.L, src, stride, nc, n)
}

// InterleaveTo is Interleave into pixels dstStride >= L floats apart (a
// block of a pixel's channels). dst and src must not overlap (a row's
// last block is written again over the one before):
//
//	dst[p*dstStride+r] = src[r*stride+p] (r < nc), 0 (nc <= r < L)    for p < n
func (t *Transposer) InterleaveTo(dst []float32, dstStride int, src []float32, stride, nc, n int) {
	L := t.L
	if n <= 0 {
		return
	}
	if nc < 1 || nc > L || dstStride < L || stride < 0 || !reach(len(dst), n-1, dstStride, L) || !reach(len(src), nc-1, stride, n) || n > len(t.zeros) {
		panic(fmt.Sprintf("direct: Interleave of %d channels x %d pixels (stride %d) from %d floats into %d (pixel stride %d, scratch %d)", nc, n, stride, len(src), len(dst), dstStride, len(t.zeros)))
	}
	full := 0
	if t.packT != nil {
		full = n / L * L
	}
	if full > 0 {
		t.packFrom(dst, dstStride, src, stride, nc, 0, full/L)
		if full < n { // the last pixels as one more block ending at n: the overlap rewrites the same values
			t.packFrom(dst, dstStride, src, stride, nc, n-L, 1)
			full = n
		}
		clear(t.ptrs[:])
	}
	for p := full; p < n; p++ {
		px := dst[p*dstStride : p*dstStride+L]
		for r := range px {
			px[r] = 0
			if r < nc {
				px[r] = src[r*stride+p]
			}
		}
	}
}

// packFrom runs the transposing pack on blocks of pixels from pixel p0
// of the nc planes (zeros for the missing ones).
func (t *Transposer) packFrom(dst []float32, dstStride int, src []float32, stride, nc, p0, blocks int) {
	for r := 0; r < t.L; r++ {
		if r < nc {
			t.ptrs[r] = &src[r*stride+p0]
		} else {
			t.ptrs[r] = &t.zeros[p0]
		}
	}
	t.packT(&dst[p0*dstStride], dstStride, &t.ptrs[0], blocks)
}

// Deinterleave writes n blocked pixels' first nk <= L channels into
// planes, stride >= n floats apart; dst and src must not overlap (a
// row's last block is written again over the one before):
//
//	dst[r*stride+p] = src[p*L+r]    for r < nk, p < n
func (t *Transposer) Deinterleave(dst []float32, stride, nk int, src []float32, n int) {
	L := t.L
	if n <= 0 {
		return
	}
	if nk < 1 || nk > L || stride < 0 || !reach(len(src), n, L, 0) || !reach(len(dst), nk-1, stride, n) {
		panic(fmt.Sprintf("direct: Deinterleave of %d channels x %d pixels (stride %d) from %d floats into %d", nk, n, stride, len(src), len(dst)))
	}
	full := 0
	if t.unpack != nil {
		full = n / L * L
	}
	switch {
	case full > 0 && nk == L:
		t.unpack(&dst[0], stride, &src[0], full/L)
		if full < n { // one more block ending at n, rewriting the overlap's same values
			t.unpack(&dst[n-L], stride, &src[(n-L)*L], 1)
			full = n
		}
	case full > 0: // a partial block: all L rows into scratch, then nk of them
		for p0 := 0; p0 < full; p0 += PartRun {
			m := min(PartRun, full-p0)
			t.unpack(&t.part[0], PartRun, &src[p0*L], m/L)
			for r := 0; r < nk; r++ {
				copy(dst[r*stride+p0:][:m], t.part[r*PartRun:][:m])
			}
		}
	}
	for r := 0; r < nk; r++ {
		row := dst[r*stride : r*stride+n]
		for p := full; p < n; p++ {
			row[p] = src[p*L+r]
		}
	}
}

// reach reports whether a*b + c floats fit in a slice of n, without
// overflowing.
func reach(n, a, b, c int) bool {
	p, ok := sumOfProducts(a, b, c, 1)
	return ok && p <= n
}
