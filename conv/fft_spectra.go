package conv

import (
	"fmt"
	"math"

	"github.com/convkit/convkit/direct"
	"github.com/convkit/convkit/fft"
	"github.com/convkit/convkit/kernels"
)

// gridFFT is the FFT engine's real transform of a grid (row-major) into
// a spectrum of a layout of its own, and back. Only the pointwise
// products read a spectrum, so its order is free, and every pass runs on
// package fft's lane transforms (the generated butterflies, many signals
// per vector, no shuffles):
//
//   - the real transform along dim 0, the signals the lanes0 columns (the
//     other dims' cells), into m1 = dims[0]/2+1 rows of split complex;
//   - each middle dim along its own axis, per block of the dims before;
//   - the last dim after a transpose that makes it the outer one, so
//     that the spectrum is [last][the rest], its rows padded to a
//     multiple of 16 lanes: every vector of the butterflies whole and
//     aligned (a row of 193 lanes ran 1.8x slower than one of 192). The
//     padding lanes hold zeros, and no lane mixes with another.
//
// A 1D grid of N cells runs as n1 x n2 (a four-step transform): dim 0
// on n1 rows of n2 lanes, then the twiddles w_N^(k1*i2), then the n2
// axis. The inverse runs the same backwards, unnormalized (a round trip
// multiplies by the cells).
type gridFFT struct {
	dims   []int // the grid's dims; a 1D grid's n1, n2
	cells  int
	m1     int // dims[0]/2 + 1
	lanes0 int // prod(dims[1:])
	half   int // the half spectrum's complex values: m1 * lanes0
	pitch  int // the spectrum's row: half / its last dim, padded to 16
	spec   int // complex values of a spectrum (and of each plane of a buffer): last dim * pitch
	real0  *fft.RealLanePlan
	axes   []*fft.LanePlan // dims[1:]
	tw     []float32       // the four-step twiddles, m1 x n2 split; nil for 2D and 3D
	ops    fft.SplitOps
	isa    kernels.ISA
	workN  int // floats of a gridWork's lane scratch
}

// gridWork is one thread's scratch for a gridFFT.
type gridWork struct {
	x, t []float32 // two spectra
	work []float32 // the lane transforms'
	tr   *direct.Transposer
}

// fourStep splits a 1D grid of n cells (even) into n1 x n2: n1 even,
// n2 a multiple of 16 where one is (the lanes of the first pass, whole
// vectors), the closest such to sqrt(2n), so that both passes have lanes.
func fourStep(n int) (n1, n2 int) {
	best, bestScore := 2, math.Inf(1)
	for d := 2; d <= n; d += 2 {
		if n%d != 0 {
			continue
		}
		score := math.Abs(float64(d) - math.Sqrt(2*float64(n)))
		if (n/d)%16 != 0 {
			score += float64(n) // only where no aligned split exists
		}
		if score < bestScore {
			best, bestScore = d, score
		}
	}
	return best, n / best
}

// newGridFFT returns the transform of a grid of dims on path isa; dims[0]
// must be even, every dim a product of 2s and 3s.
func newGridFFT(grid []int, isa kernels.ISA) (*gridFFT, error) {
	g := &gridFFT{dims: grid, cells: 1, ops: fft.SplitOpsFor(isa), isa: isa}
	if len(grid) == 1 {
		n1, n2 := fourStep(grid[0])
		g.dims = []int{n1, n2}
	}
	for _, d := range g.dims {
		g.cells *= d
	}
	var err error
	if g.real0, err = fft.NewRealLanePlan(g.dims[0], isa); err != nil {
		return nil, err
	}
	g.m1, g.lanes0 = g.dims[0]/2+1, g.cells/g.dims[0]
	g.half = g.m1 * g.lanes0
	last := g.dims[len(g.dims)-1]
	g.pitch = (g.half/last + 15) / 16 * 16
	g.spec = last * g.pitch
	g.workN = g.real0.WorkLen(g.lanes0)
	for a, d := range g.dims[1:] {
		p, err := fft.NewLanePlan(d, isa)
		if err != nil {
			return nil, err
		}
		g.axes = append(g.axes, p)
		lanes := g.half / d // a middle dim's inner blocks at most
		if a == len(g.dims)-2 {
			lanes = g.pitch
		}
		g.workN = max(g.workN, p.WorkLen(lanes))
	}
	if len(grid) == 1 {
		g.tw = g.fourStepTwiddles(grid[0])
	}
	return g, nil
}

// fourStepTwiddles are w_N^(k1*i2) for k1 < m1, i2 < n2, split.
func (g *gridFFT) fourStepTwiddles(n int) []float32 {
	n2 := g.dims[1]
	tw := make([]float32, 2*g.spec)
	for k1 := 0; k1 < g.m1; k1++ {
		for i2 := 0; i2 < n2; i2++ {
			s, c := math.Sincos(-2 * math.Pi * float64(k1*i2%n) / float64(n))
			tw[k1*n2+i2], tw[g.spec+k1*n2+i2] = float32(c), float32(s)
		}
	}
	return tw
}

// newWork returns one thread's scratch.
func (g *gridFFT) newWork() *gridWork {
	// The transposes' rows: the last dim's length one way, the rest's
	// the other.
	n := g.dims[len(g.dims)-1]
	maxCols := max(n, g.pitch)
	return &gridWork{
		x: make([]float32, 2*g.spec), t: make([]float32, 2*g.spec), work: make([]float32, g.workN),
		tr: direct.NewTransposer(g.isa, transposeLanes(g.isa), maxCols),
	}
}

// workBytes is the bytes of one gridWork.
func (g *gridFFT) workBytes() int64 { return 4 * int64(4*g.spec+g.workN) }

// transposeLanes is the block of path isa's transposer.
func transposeLanes(isa kernels.ISA) int { return max(4, isa.VectorBytes()/4) }

// dense is the spectrum-shaped split view of buf: n elements of lanes.
func (g *gridFFT) dense(buf []float32, n, lanes int) fft.Split {
	return fft.Split{Data: buf, Re: 0, Im: g.spec, Step: lanes}
}

// block is block o of a middle axis in buf: n elements of inner lanes.
func (g *gridFFT) block(buf []float32, o, n, inner int) fft.Split {
	return fft.Split{Data: buf, Re: o * n * inner, Im: g.spec + o*n*inner, Step: inner}
}

// forward transforms grid (cells floats) into spec (2*spec floats).
func (g *gridFFT) forward(spec, grid []float32, w *gridWork) {
	if len(spec) < 2*g.spec || len(grid) < g.cells {
		panic(fmt.Sprintf("conv: fft grid transform: spectrum %d floats (need %d), grid %d (need %d)", len(spec), 2*g.spec, len(grid), g.cells))
	}
	cur, other := w.x, w.t
	g.real0.Forward(g.dense(cur, g.m1, g.lanes0), grid, g.lanes0, g.lanes0, w.work)
	if g.tw != nil {
		x := g.dense(cur, g.m1, g.lanes0)
		g.ops.Mul(fft.Mul, x, x, g.dense(g.tw, g.m1, g.lanes0), g.m1, g.lanes0)
	}
	outer := g.m1
	for a, p := range g.axes {
		n := g.dims[a+1]
		inner := g.half / (outer * n)
		if a < len(g.axes)-1 {
			for o := 0; o < outer; o++ {
				p.Forward(g.block(other, o, n, inner), g.block(cur, o, n, inner), inner, w.work)
			}
			cur, other = other, cur
			outer *= n
			continue
		}
		transposePlanes(w.tr, other, cur, g.spec, outer, n, n, g.pitch)
		p.Forward(g.dense(spec, n, g.pitch), g.dense(other, n, g.pitch), g.pitch, w.work)
	}
}

// inverse transforms spec back into grid, unnormalized; spec is read
// only.
func (g *gridFFT) inverse(grid, spec []float32, w *gridWork) {
	if len(spec) < 2*g.spec || len(grid) < g.cells {
		panic(fmt.Sprintf("conv: fft grid inverse: spectrum %d floats (need %d), grid %d (need %d)", len(spec), 2*g.spec, len(grid), g.cells))
	}
	cur, other := w.x, w.t
	last := len(g.axes) - 1
	n := g.dims[last+1]
	outer := g.half / n
	g.axes[last].Inverse(g.dense(other, n, g.pitch), g.dense(spec, n, g.pitch), g.pitch, w.work)
	transposePlanes(w.tr, cur, other, g.spec, n, outer, g.pitch, n)
	for a := last - 1; a >= 0; a-- {
		n := g.dims[a+1]
		outer /= n
		inner := g.half / (outer * n)
		for o := 0; o < outer; o++ {
			g.axes[a].Inverse(g.block(other, o, n, inner), g.block(cur, o, n, inner), inner, w.work)
		}
		cur, other = other, cur
	}
	x := g.dense(cur, g.m1, g.lanes0)
	if g.tw != nil {
		g.ops.Mul(fft.MulConj, x, x, g.dense(g.tw, g.m1, g.lanes0), g.m1, g.lanes0)
	}
	g.real0.Inverse(grid, g.lanes0, x, g.lanes0, w.work)
}

// transposePlanes is transposePlane on both planes, plane floats apart.
func transposePlanes(tr *direct.Transposer, dst, src []float32, plane, rows, cols, srcPitch, dstPitch int) {
	for _, off := range []int{0, plane} {
		transposePlane(tr, dst[off:], src[off:], rows, cols, srcPitch, dstPitch)
	}
}

// transposePlane writes the rows x cols matrix of src (rows srcPitch
// apart; they may overlap) transposed into dst (rows dstPitch apart),
// dst[c*dstPitch+r] = src[r*srcPitch+c], zeros in the padding of each dst
// row past rows; on the transposer's kernels, L source rows at a time.
func transposePlane(tr *direct.Transposer, dst, src []float32, rows, cols, srcPitch, dstPitch int) {
	d, s := dst[:(cols-1)*dstPitch+rows], src[:(rows-1)*srcPitch+cols]
	if L := tr.L; rows >= L && dstPitch >= L {
		// The last block ends at rows, rewriting the overlap with the
		// same values.
		for r0 := 0; r0 < rows; r0 += L {
			r0 = min(r0, rows-L)
			tr.InterleaveTo(d[r0:], dstPitch, s[r0*srcPitch:], srcPitch, L, cols)
		}
	} else {
		for r := 0; r < rows; r++ {
			for c, v := range s[r*srcPitch : r*srcPitch+cols] {
				d[c*dstPitch+r] = v
			}
		}
	}
	if dstPitch > rows {
		for c := 0; c < cols; c++ {
			clear(dst[c*dstPitch+rows : (c+1)*dstPitch])
		}
	}
}

// prunes reports whether inverseTaps runs for this grid: 2D and 3D (a 1D
// grid's four steps would keep whole rows).
func (g *gridFFT) prunes() bool { return g.tw == nil }

// inverseTaps is inverse restricted to the cells whose index in each dim
// d >= 1 is below ext[d] (dim 0 whole), written into grid row-major as
// dims[0] x ext[1] x ... (the filter gradient's taps lie there): the last
// axis' inverse runs whole, then only its kept rows go on, and the real
// transform of dim 0 runs on the kept lanes alone (15 of 144 for a 15x15
// filter on a 144 x 144 grid).
func (g *gridFFT) inverseTaps(grid, spec []float32, w *gridWork, ext []int) {
	cur, other := w.x, w.t
	last := len(g.axes) - 1
	n := g.dims[last+1]
	outer := g.half / n
	keep := ext[last+1]
	g.axes[last].Inverse(g.dense(other, n, g.pitch), g.dense(spec, n, g.pitch), g.pitch, w.work)
	transposePlanes(w.tr, cur, other, g.spec, keep, outer, g.pitch, keep)
	inner := keep // the kept cells of the dims after the current one
	for a := last - 1; a >= 0; a-- {
		n := g.dims[a+1]
		outer /= n
		for o := 0; o < outer; o++ {
			g.axes[a].Inverse(g.block(other, o, n, inner), g.block(cur, o, n, inner), inner, w.work)
		}
		e := ext[a+1]
		for o := 0; o < outer; o++ { // each block's first e elements, packed
			for _, plane := range []int{0, g.spec} {
				copy(cur[plane+o*e*inner:][:e*inner], other[plane+o*n*inner:][:e*inner])
			}
		}
		inner *= e
	}
	g.real0.Inverse(grid, inner, g.dense(cur, g.m1, inner), inner, w.work)
}
