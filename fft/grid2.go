package fft

import (
	"fmt"

	"github.com/convkit/convkit/kernels"
)

// grid2 is the 2D transform of an n0 x n1 row-major array on the lane
// transforms: along dim 0 the n1 columns are the lanes as they lie;
// along dim 1 the array is transposed (Transpose, in blocks of
// registers) so that its rows become columns, and back. The complex
// transform runs in split form between Unzip and Zip; the real one
// halves the last dim as FFTW does, its real input transposed first so
// that the half spectrum comes out of RealLanePlan along dim 1. Every
// dim is a product of 2s and 3s and a multiple of the lanes
// (newGrid2).
type grid2 struct {
	n0, n1, n int
	h1        int       // the real spectrum's last dim, n1/2 + 1
	d0, d1    *LanePlan // n0 and n1 points
	r1        *RealLanePlan
	k         laneKernels
	// The complex transform's rows on the four-step of n1 where it has
	// one (rowFS), then the columns by blocks of blk: two passes over
	// memory where the transposes take six (transformRows).
	rowFS *fourStep
	blk   int
	// The real transform's the same way: each row's real four-step
	// (RealHalf) in cache, then the half spectrum's columns in blocks.
	rowRFS *realFourStep
}

// newGrid2 returns the 2D plan of n0 x n1 on path isa (real: the real
// transform's, n1 even), or nil where its dims do not qualify.
func newGrid2(n0, n1 int, isa kernels.ISA, real bool) *grid2 {
	for _, p := range []kernels.ISA{isa, kernels.AVX2} {
		if p != isa && isa != kernels.AVX512 {
			continue
		}
		k := kernelsFor(p)
		if k.set == nil || n0%k.set.Lanes != 0 || n1%k.set.Lanes != 0 {
			continue
		}
		d0, err0 := NewLanePlan(n0, p)
		d1, err1 := NewLanePlan(n1, p)
		if err0 != nil || err1 != nil {
			return nil
		}
		g := &grid2{n0: n0, n1: n1, n: n0 * n1, h1: n1/2 + 1, d0: d0, d1: d1, k: k}
		if !real {
			// Short rows would take AVX2's four-step beside AVX-512's
			// columns: measured slower than the transposes (64 x 64: 2x).
			// Rows under 16 vectors have four-steps of a few vectors a
			// side whose fixed costs lose to the transposes (AVX2 64 x 64:
			// 15 against 8.6 us; 128 x 128: 52 against 56).
			if g.rowFS = newFourStep(n1, isa); g.rowFS != nil && (g.rowFS.k.set != k.set || n1 < 16*k.set.Lanes) {
				g.rowFS = nil
			}
		}
		if real {
			var err error
			if g.r1, err = NewRealLanePlan(n1, p); err != nil {
				return nil
			}
			if fs := newFourStep(n1/2, isa); fs != nil && fs.k.set == k.set && n1/2 >= 16*k.set.Lanes {
				g.rowRFS = newRealFourStep(fs)
			}
		}
		_, l2, _ := kernels.Caches()
		g.blk = min(n1, max(k.set.Lanes, l2/2/(32*n0)/k.set.Lanes*k.set.Lanes))
		return g
	}
	return nil
}

// workLen is the scratch floats of a call: two split buffers and the
// lane plans' scratch.
func (g *grid2) workLen() int {
	// Each step aligns its part again (aligned): a slack each time.
	cols := 2*(2*g.n0*g.blk+2*planePad) + g.d0.WorkLen(g.blk) + alignSlack
	if g.rowFS != nil {
		return max(g.rowFS.workLen(), cols) + alignSlack
	}
	if g.rowRFS != nil {
		return g.specLen() + max(g.rowRFS.c.workLen(), cols) + alignSlack
	}
	lane := max(g.d0.WorkLen(g.n1), g.d1.WorkLen(g.n0))
	if g.r1 != nil {
		lane = max(lane, g.r1.WorkLen(g.n0))
	}
	return g.laneOff() + lane + alignSlack
}

// specLen is the floats of a half spectrum, interleaved: the real
// inverse's copy of its input's column transforms.
func (g *grid2) specLen() int { return 2*g.n0*g.h1 + alignSlack + 1 }

func (g *grid2) laneOff() int { return 2 * (2*g.n + 2*planePad) }

// buf returns split buffer i of work with rows of step.
func (g *grid2) buf(work []float32, i, step int) Split {
	base := i * (2*g.n + 2*planePad)
	return Split{Data: work, Re: base, Im: base + g.n + planePad, Step: step}
}

// checkWork panics if work is short, and returns it aligned.
func (g *grid2) checkWork(work []float32) []float32 {
	if len(work) < g.workLen() {
		panic(fmt.Sprintf("fft: 2D transform of %d x %d: len(work) = %d floats, need %d", g.n0, g.n1, len(work), g.workLen()))
	}
	return aligned(work)
}

// name is the plan's path: the columns' kernels, and the rows' where
// they differ.
func (g *grid2) name() string {
	if g.rowFS != nil && g.rowFS.k.set != g.k.set {
		return g.k.name() + "/" + g.rowFS.k.name()
	}
	return g.k.name()
}

// planes returns s's two planes of n floats (swapped: exchanged).
func planes(s Split, n int, swapped bool) (re, im []float32) {
	re, im = s.Data[s.Re:][:n], s.Data[s.Im:][:n]
	if swapped {
		return im, re
	}
	return re, im
}

// transposeSplit transposes both planes of a rows x cols split buffer.
func (g *grid2) transposeSplit(dst, src Split, rows, cols int) {
	g.k.transpose(dst.Data, dst.Re, rows, src.Data, src.Re, cols, rows, cols)
	g.k.transpose(dst.Data, dst.Im, rows, src.Data, src.Im, cols, rows, cols)
}

// transform computes the complex 2D DFT (inverse: the unnormalized
// inverse) of src into dst, n values each; dst may be src.
func (g *grid2) transform(dst, src []complex64, work []float32, inverse bool) {
	if g.rowFS != nil {
		g.transformRows(dst, src, work, inverse)
		return
	}
	work = g.checkWork(work)
	lane := work[g.laneOff():]
	a, b := g.buf(work, 0, g.n1), g.buf(work, 1, g.n1)
	re, im := planes(a, g.n, inverse)
	g.k.unzip(re, im, src[:g.n])
	g.d0.Forward(b, a, g.n1, lane)
	at, bt := g.buf(work, 0, g.n0), g.buf(work, 1, g.n0)
	g.transposeSplit(at, b, g.n0, g.n1)
	g.d1.Forward(bt, at, g.n0, lane)
	g.transposeSplit(a, bt, g.n1, g.n0)
	re, im = planes(a, g.n, inverse)
	g.k.zip(dst[:g.n], re, im)
}

// realForward computes the half spectrum dst (n0 x h1) of the real
// array x (n0 x n1).
func (g *grid2) realForward(dst []complex64, x []float32, work []float32) {
	if g.rowRFS != nil { // each row's half spectrum, then its columns
		work = g.checkWork(work)
		for i := 0; i < g.n0; i++ {
			g.rowRFS.forward(dst[i*g.h1:][:g.h1], x[i*g.n1:][:g.n1], work)
		}
		g.columnBlocks(dst, dst, g.h1, work, false)
		return
	}
	work = g.checkWork(work)
	lane := work[g.laneOff():]
	a := g.buf(work, 0, g.n0)
	g.k.transpose(work, a.Re, g.n0, x, 0, g.n1, g.n0, g.n1) // x^T: n1 x n0
	s := g.buf(work, 1, g.n0)
	g.r1.Forward(s, work[a.Re:][:g.n], g.n0, g.n0, lane) // h1 x n0
	st := g.buf(work, 0, g.h1)
	g.transposeSplit(st, s, g.h1, g.n0) // n0 x h1
	out := g.buf(work, 1, g.h1)
	g.d0.Forward(out, st, g.h1, lane)
	re, im := planes(out, g.n0*g.h1, false)
	g.k.zip(dst[:g.n0*g.h1], re, im)
}

// realInverse computes the real array x (n0 x n1) of the half spectrum
// src (n0 x h1), unnormalized, ignoring the imaginary parts the
// transform along dim 1 leaves undefined (those of its frequencies 0
// and n1/2, after the inverse along dim 0), as the Go path does.
func (g *grid2) realInverse(x []float32, src []complex64, work []float32) {
	if g.rowRFS != nil { // the columns into a copy, then each row's real inverse
		work = g.checkWork(work)
		spec := pairs(work[:2*g.n0*g.h1], g.n0*g.h1)
		rest := work[g.specLen():]
		g.columnBlocks(spec, src, g.h1, rest, true)
		for i := 0; i < g.n0; i++ {
			g.rowRFS.inverse(x[i*g.n1:][:g.n1], spec[i*g.h1:][:g.h1], rest)
		}
		return
	}
	work = g.checkWork(work)
	lane := work[g.laneOff():]
	in := g.buf(work, 0, g.h1)
	re, im := planes(in, g.n0*g.h1, false)
	g.k.unzip(re, im, src[:g.n0*g.h1])
	cols := g.buf(work, 1, g.h1)
	g.d0.Inverse(cols, in, g.h1, lane) // n0 x h1
	st := g.buf(work, 0, g.n0)
	g.transposeSplit(st, cols, g.n0, g.h1) // h1 x n0
	clear(work[st.Im:][:g.n0])
	clear(work[st.Im+(g.h1-1)*g.n0:][:g.n0])
	xt := g.buf(work, 1, g.n0)
	g.r1.Inverse(work[xt.Re:][:g.n], g.n0, st, g.n0, lane) // n1 x n0
	g.k.transpose(x, 0, g.n1, work, xt.Re, g.n0, g.n1, g.n0)
}

// transformRows is transform on the rows' four-step: each row's
// transform in cache, src row to dst row; then the columns of dst in
// blocks of blk, each block split into a dense buffer (its rows' Unzip),
// transformed there with the columns as lanes, and put back.
func (g *grid2) transformRows(dst, src []complex64, work []float32, inverse bool) {
	work = g.checkWork(work)
	for i := 0; i < g.n0; i++ {
		g.rowFS.transform(dst[i*g.n1:][:g.n1], src[i*g.n1:][:g.n1], work, inverse)
	}
	g.columnBlocks(dst, dst, g.n1, work, inverse)
}

// columnBlocks transforms the cols columns of the n0 x cols array src
// (complex, interleaved) into dst (which may be src) along dim 0, in
// blocks of blk columns: each block's rows split into a dense buffer
// (Unzip), transformed there with the columns as lanes, and put back.
func (g *grid2) columnBlocks(dst, src []complex64, cols int, work []float32, inverse bool) {
	work = aligned(work)
	half := 2*g.n0*g.blk + 2*planePad
	lane := work[2*half:]
	for c0 := 0; c0 < cols; c0 += g.blk {
		w := min(g.blk, cols-c0)
		a := Split{Data: work, Re: 0, Im: g.n0*w + planePad, Step: w}
		b := Split{Data: work, Re: half, Im: half + g.n0*w + planePad, Step: w}
		ar, ai := planes(a, g.n0*w, inverse)
		for j := 0; j < g.n0; j++ {
			g.k.unzip(ar[j*w:][:w], ai[j*w:][:w], src[j*cols+c0:][:w])
		}
		g.d0.Forward(b, a, w, lane)
		br, bi := planes(b, g.n0*w, inverse)
		for j := 0; j < g.n0; j++ {
			g.k.zip(dst[j*cols+c0:][:w], br[j*w:][:w], bi[j*w:][:w])
		}
	}
}
