package fft

import (
	"math"

	"github.com/convkit/convkit/kernels"
)

// fsBlocks is the cache-blocked form of a fourStep's complex transform,
// for lengths whose buffers outgrow L1: each step above runs on blocks
// of columns small enough that a block's whole transform stays in L1,
// and the moves between interleaved values and split planes run on
// those blocks too (Unzip and Zip by rows), so that the signal crosses
// L2 three times (in, through the transpose, out) instead of once per
// butterfly pass.
//
//	phase 1, per block of w columns j2: Unzip the block's n1 rows into
//	  A (n1 x w, dense), the n1-point transforms A -> B, times the
//	  block's twiddles, transpose into rows j2 of C (n2 x n1);
//	phase 2, per block of w2 columns k1 of C: the n2-point transforms
//	  of C's block -> D (n2 x w2, dense), Zip D's rows into the output's
//	  columns k1 (row k2 of the output is X[k1 + n1 k2]).
type fsBlocks struct {
	w, w2      int
	twb        []float32     // the twiddles by phase-1 block: n1 x w real, then imaginary
	colCalls   []stageCall   // A -> B, the same for every block
	rowCalls   [][]stageCall // per phase-2 block: C's block -> D
	c, a, b, d Split         // the buffers' offsets in work (Data nil)
	lane       int           // the lane plans' scratch offset
	size       int           // work floats used
}

// newFSBlocks returns the blocked form of f, or nil where one of f's
// split buffers fits half of L1 (the plain form was faster there, with
// fewer calls: 1024 points 0.95 against 1.13 us blocked; past it the
// blocks won: 4096 6.3 -> 4.8, 16384 36.5 -> 24.5, 65536 182 -> 145, on
// a 48 KiB L1) or no block width divides both factors. The real
// transforms keep the plain form: blocked (their Z written by the
// second phase's columns, read by RealHalf), they measured 5-15%
// slower from 4096 to 131072 points.
func newFSBlocks(f *fourStep) *fsBlocks {
	l1, _, _ := kernels.Caches()
	if 2*f.n*4 <= l1/2 {
		return nil
	}
	L := f.k.set.Lanes
	width := func(n, pts int) int { // the widest multiple of L dividing n whose A, B, scratch fit half of L1
		best := 0
		for w := L; w <= n; w += L {
			if n%w == 0 && (best == 0 || 4*2*pts*w*4 <= l1/2) {
				best = w
			}
		}
		return best
	}
	g := &fsBlocks{w: width(f.n2, f.n1), w2: width(f.n1, f.n2)}
	if g.w == 0 || g.w2 == 0 {
		return nil
	}
	// Layout: C, then A, B (n1 x w), D (n2 x w2), the lane scratch.
	off := 0
	buf := func(rows, step int) Split {
		s := Split{Re: off, Im: off + rows*step + planePad, Step: step}
		off += 2 * (rows*step + planePad)
		return s
	}
	g.c = buf(f.n2, f.n1)
	g.a, g.b = buf(f.n1, g.w), buf(f.n1, g.w)
	g.d = buf(f.n2, g.w2)
	g.lane = off
	g.size = off + max(f.cols.WorkLen(g.w), f.rows.WorkLen(g.w2))
	work := make([]float32, g.size)
	with := func(s Split) Split { s.Data = work; return s }
	g.colCalls = f.cols.record(with(g.b), with(g.a), g.w, work, g.lane)
	at := func(s Split, c0, step int) Split { s.Data, s.Re, s.Im, s.Step = work, s.Re+c0, s.Im+c0, step; return s }
	for c0 := 0; c0 < f.n1; c0 += g.w2 {
		g.rowCalls = append(g.rowCalls, f.rows.record(with(g.d), at(g.c, c0, f.n1), g.w2, work, g.lane))
	}
	g.twb = make([]float32, 2*f.n)
	blk := f.n1 * g.w
	for c0, b := 0, 0; c0 < f.n2; c0, b = c0+g.w, b+1 {
		for k1 := 0; k1 < f.n1; k1++ {
			for j := 0; j < g.w; j++ {
				s, c := math.Sincos(-2 * math.Pi * float64(k1*(c0+j)%f.n) / float64(f.n))
				g.twb[2*b*blk+k1*g.w+j], g.twb[(2*b+1)*blk+k1*g.w+j] = float32(c), float32(s)
			}
		}
	}
	return g
}

// plane returns plane im of s in work, n floats.
func (g *fsBlocks) plane(work []float32, s Split, im bool, n int) []float32 {
	if im {
		return work[s.Im:][:n]
	}
	return work[s.Re:][:n]
}

// transform is fourStep.transform, blocked; work is aligned and at
// least g.size floats. Phase 1 reads all of src before phase 2 writes
// dst, so dst may be src.
func (g *fsBlocks) transform(f *fourStep, dst, src []complex64, work []float32, inverse bool) {
	n1, n2, w, w2 := f.n1, f.n2, g.w, g.w2
	blk := n1 * w
	for c0, b := 0, 0; c0 < n2; c0, b = c0+w, b+1 {
		f.k.unzipRows(g.plane(work, g.a, inverse, blk), g.plane(work, g.a, !inverse, blk), w, src[c0:], n2, w, n1)
		f.k.run(work, g.colCalls)
		bb := run{data: work, re: g.b.Re, im: g.b.Im}
		f.k.mul(Mul, bb, bb, run{data: g.twb, re: 2 * b * blk, im: (2*b + 1) * blk}, blk)
		for _, im := range []bool{false, true} {
			f.k.transpose(work, pick(g.c, im)+c0*n1, n1, work, pick(g.b, im), w, n1, w)
		}
	}
	for c0, b := 0, 0; c0 < n1; c0, b = c0+w2, b+1 {
		f.k.run(work, g.rowCalls[b])
		f.k.zipRows(dst[c0:], n1, g.plane(work, g.d, inverse, n2*w2), g.plane(work, g.d, !inverse, n2*w2), w2, w2, n2)
	}
}

// pick is s's real (or imaginary) plane offset.
func pick(s Split, im bool) int {
	if im {
		return s.Im
	}
	return s.Re
}
