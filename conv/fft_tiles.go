package conv

import (
	"math"

	"github.com/convkit/convkit/direct"
	"github.com/convkit/convkit/fft"
	"github.com/convkit/convkit/kernels"
)

// fftTiles is the overlap-save layout of a 1D forward pass whose signal
// is long beside its filter: the padded input cut into tiles of T points
// that overlap by the filter's extent minus one, so that each tile's
// circular correlation with the filter (on T points) yields H = T - span
// + 1 outputs that never wrap. The tiles are the lanes of one real lane
// transform of T points (tile t's point j at G[j][t]), so the transform
// stays in cache whatever the signal's length, and a filter's spectrum
// is T/2+1 values shared by every tile: the products take one conjugated
// filter value per frequency row (SplitOps.MulAddConjRows) and the
// filter spectra, K*C*(T/2+1) values, stay in cache too.
type fftTiles struct {
	T, H   int // transform length, outputs per tile
	nt, P  int // tiles, lanes (nt padded to whole vectors of 16)
	m      int // spectrum rows: T/2 + 1
	padLen int // the padded input's points read: (nt-1)*H + T
	chunk  int // output channels whose sums one pass of products fills (tiledOutputs)
	rows   int // frequency rows per block of those products
	plan   *fft.RealLanePlan
	isa    kernels.ISA
}

// newFFTTiles returns the tiled layout of s's forward pass, or nil where
// tiles do not pay: a signal under eight tiles' transform length (the
// whole grid is then about as small), or no tile length fits. Among
// lengths of 4, 8 and 16 spans, it takes the least modelled cost: lanes
// times length times butterfly passes.
func newFFTTiles(s *Shape, grid int) *fftTiles {
	if len(s.In) != 1 {
		return nil
	}
	span := (s.Kernel[0]-1)*s.Dilation[0] + 1
	out := s.Out[0]
	var best *fftTiles
	bestCost := math.Inf(1)
	for _, mult := range []int{4, 8, 16} {
		T := fftGridLen(max(mult*(span-1), 64), true, 16)
		H := T - span + 1
		nt := (out + H - 1) / H
		t := &fftTiles{T: T, H: H, nt: nt, P: (nt + 15) / 16 * 16, m: T/2 + 1, padLen: (nt-1)*H + T}
		if c := float64(t.P*T) * float64(fftPasses(T/2)+2); c < bestCost && grid >= 8*T {
			best, bestCost = t, c
		}
	}
	if best == nil {
		return nil
	}
	var err error
	if best.plan, err = fft.NewRealLanePlan(best.T, kernels.Current()); err != nil {
		return nil
	}
	best.chunk, best.rows = best.productBlocks(s)
	best.isa = kernels.Current()
	return best
}

// Floats of the tiled buffers: the filter spectra (interleaved re, im per
// frequency), one image's input spectra, and per thread the tile grid,
// the padded input, a spectrum's sums and the transform's scratch.
func (t *fftTiles) filterLen(s *Shape) int { return s.Groups * s.KPerG * s.CPerG * 2 * t.m }
func (t *fftTiles) imageLen(s *Shape) int  { return s.CPerG * 2 * t.m * t.P }
func (t *fftTiles) threadLen() int {
	return t.T*t.P + t.padLen + t.chunk*2*t.m*t.P + t.plan.WorkLen(t.P) + max(t.T, t.P) // the transposer's
}

// productBlocks sizes the products' passes: chunk output channels' sums
// at once (as many as half of L2 holds whole, at least 1, at most
// KPerG), filled by blocks of rows frequency rows whose every input
// spectrum and sum fit half of L2 together. Channel by channel over
// whole spectra, each output channel streamed every input spectrum from
// L3 (audio_1d_k255_c4: half of its time in the products).
func (t *fftTiles) productBlocks(s *Shape) (chunk, rows int) {
	_, l2, _ := kernels.Caches()
	sum := 2 * t.m * t.P * 4
	chunk = min(s.KPerG, max(1, l2/2/sum))
	rows = min(t.m, max(1, l2/2/((s.CPerG+chunk)*t.P*8)))
	return chunk, rows
}

// tileWork is one thread's tiled scratch.
type tileWork struct {
	grid, padded, work []float32
	accs               [][]float32 // chunk sums of spectra
	tr                 *direct.Transposer
}

func (t *fftTiles) newWork() *tileWork {
	w := &tileWork{
		grid: make([]float32, t.T*t.P), padded: make([]float32, t.padLen),
		work: make([]float32, t.plan.WorkLen(t.P)),
		tr:   direct.NewTransposer(t.isa, transposeLanes(t.isa), max(t.T, t.P)),
	}
	for range t.chunk {
		w.accs = append(w.accs, make([]float32, 2*t.m*t.P))
	}
	return w
}

// spectrum is input channel c's spectrum in img.
func (t *fftTiles) spectrum(img []float32, c int) fft.Split {
	return fft.Dense(img[c*2*t.m*t.P:][:2*t.m*t.P], t.m, t.P)
}

// packTiledFilter transforms filter i (taps at their dilated positions on
// T points, scaled by the inverse's 1/T) into dst's 2*m floats.
func (e *fftEngine) packTiledFilter(part, i int) {
	s, t := e.s, e.tiles
	w := e.tileWorks[part]
	x := w.grid[:t.T]
	clear(x)
	scale := float32(1 / float64(t.T))
	for j, v := range e.call.w[i*s.KernelSize:][:s.KernelSize] {
		x[j*s.Dilation[0]] = v * scale
	}
	out := e.tileSpec[part]
	e.tileFilterPlan.ForwardWith(out, x, e.tileFFTWork[part])
	dst := e.filt[i*2*t.m:][:2*t.m]
	for f, v := range out[:t.m] {
		dst[2*f], dst[2*f+1] = real(v), imag(v)
	}
}

// tiledInput transforms input channel i of the call's image and group:
// its padded signal, cut into tiles by a transposing gather, then the
// tiles' real transform.
func (e *fftEngine) tiledInput(part, i int) {
	s, t, c := e.s, e.tiles, &e.call
	w := e.tileWorks[part]
	base, step := tensorChannel(s.Layout, c.n, c.g*s.CPerG+i, s.C, s.InSize)
	padRow(w.padded, c.x[base:], step, s)
	// G[j][t] = padded[t*H + j]: nt source rows H apart, T long.
	transposePlane(w.tr, w.grid, w.padded, t.nt, t.T, t.H, t.P)
	t.plan.Forward(t.spectrum(e.img, i), w.grid, t.P, t.P, w.work)
}

// tiledOutputs computes output channels i0..i1-1 of the call's image
// and group, chunk at a time: the sums of the products over the input
// channels (one filter value per frequency row, MulConjRowsSum, which
// writes every float of a sum) by blocks of rows, every channel of the
// chunk per block; then each channel's tiles' inverse, the
// tiles' first H outputs into y, and the epilogue (tiledOutput).
func (e *fftEngine) tiledOutputs(part, i0, i1 int) {
	s, t, c := e.s, e.tiles, &e.call
	w := e.tileWorks[part]
	for k0 := i0; k0 < i1; k0 += t.chunk {
		ks := min(t.chunk, i1-k0)
		for r0 := 0; r0 < t.m; r0 += t.rows {
			nr := min(t.rows, t.m-r0)
			// Every input channel's spectrum: channel ch at ch*2*m*P.
			img := rowsFrom(fft.Split{Data: e.img, Re: 0, Im: t.m * t.P, Step: t.P}, r0)
			for a := range ks {
				acc := rowsFrom(fft.Dense(w.accs[a], t.m, t.P), r0)
				k := c.g*s.KPerG + k0 + a
				f := k*s.CPerG*2*t.m + 2*r0
				e.g.ops.MulConjRowsSum(acc, img, 2*t.m*t.P, e.filt[f:], 2*t.m, s.CPerG, nr, t.P)
			}
		}
		for a := range ks {
			e.tiledOutput(part, k0+a, fft.Dense(w.accs[a], t.m, t.P))
		}
	}
}

// rowsFrom is s from its row r0 on.
func rowsFrom(s fft.Split, r0 int) fft.Split {
	s.Re += r0 * s.Step
	s.Im += r0 * s.Step
	return s
}

// tiledOutput finishes output channel i from its spectra's sum acc.
func (e *fftEngine) tiledOutput(part, i int, acc fft.Split) {
	s, t, c := e.s, e.tiles, &e.call
	w := e.tileWorks[part]
	k := c.g*s.KPerG + i
	bias := c.b
	if bias != nil && s.Layout == ChannelsFirst {
		// The bias on the spectra: the unnormalized inverse adds X[0] to
		// every point of a tile, so b on each tile's X[0] is b on every
		// output, without a pass over y (audio_1d_k255_c4: 4% of it).
		dc := acc.Data[acc.Re:][:t.P]
		for l := range dc {
			dc[l] += bias[k]
		}
		bias = nil
	}
	t.plan.Inverse(w.grid, t.P, acc, t.P, w.work)
	// y[tile*H + j] = G[j][tile] for j < H, within the output.
	base, step := tensorChannel(s.Layout, c.n, k, s.K, s.OutLen)
	out := s.Out[0]
	full := out / t.H // whole tiles, straight into y where it is contiguous
	if step == 1 && full > 0 {
		transposePlane(w.tr, c.y[base:base+full*t.H], w.grid, t.H, full, t.P, t.H)
	} else {
		full = 0
	}
	for p := full * t.H; p < out; p++ {
		c.y[base+p*step] = w.grid[(p%t.H)*t.P+p/t.H]
	}
	if s.Layout == ChannelsFirst {
		epilogueChannelsFirst(s, c.y, bias, c.ep, c.n, k, 1, 0, s.OutLen, e.ones)
	}
}
