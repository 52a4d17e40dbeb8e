package conv

import (
	"fmt"
	"math"

	"github.com/convkit/convkit/gemm"
	"github.com/convkit/convkit/kernels"
)

// Epilogue is what Forward fuses after the convolution, in this order:
// the bias (Forward's b), then y += Residual (same shape and layout as y)
// when Residual is not nil, then ReLU when set.
type Epilogue struct {
	Residual []float32
	ReLU     bool
}

// Options configure a plan.
type Options struct {
	// Threads is the thread count of the plan's GEMMs (<= 0: GOMAXPROCS).
	// The results are bitwise the same for every thread count.
	Threads int
	tile    int // tests: the column tile width (0: from the cache size)
}

// Plan runs one problem with the im2col + SGEMM algorithm: each group of
// each image is lowered into column tiles that stay in cache (never the
// whole lowered matrix) and multiplied by the weights on convkit's SGEMM;
// backward-data adds the columns back (col2im), backward-filter multiplies
// the gradient by the lowered input. It covers every parameter of Problem.
// A channels-last problem is converted to channels-first and back, inside
// the call. Calls allocate nothing after NewPlan. A Plan must not be used
// by two goroutines at once (its workspace is shared by its calls).
type Plan struct {
	s    *Shape
	low  *lowering
	ctx  *gemm.Context
	tile int       // short positions per column tile
	col  []float32 // one column tile: rows x tile
	// Channels-first copies of the activations of a channels-last
	// problem (nil otherwise).
	xcf, ycf []float32
}

// NewPlan validates p and returns its plan.
func NewPlan(p Problem, opt Options) (*Plan, error) {
	s, err := p.Resolve()
	if err != nil {
		return nil, err
	}
	if long := max(s.InSize, s.OutLen); long > math.MaxInt32 {
		return nil, s.op().Errorf("in", "a spatial plane of %d elements: the im2col plan indexes planes with int32", long)
	}
	pl := &Plan{s: s, low: newLowering(s), ctx: gemm.NewContext(opt.Threads)}
	rows := s.CPerG * s.KernelSize
	if s.Transposed {
		rows = s.KPerG * s.KernelSize
	}
	shortLen := prod(pl.low.short)
	pl.tile = tileFor(rows, shortLen)
	if opt.tile > 0 {
		pl.tile = min(opt.tile, shortLen)
	}
	if pl.low.identity {
		pl.tile = shortLen // one GEMM per image and group, on the activations
	} else {
		pl.col = make([]float32, rows*pl.tile)
	}
	if s.Layout == ChannelsLast {
		pl.xcf, pl.ycf = make([]float32, s.XLen), make([]float32, s.YLen)
	}
	return pl, nil
}

// tileFor is the column tile width: a tile of rows x width floats takes
// about half of L2 (so the GEMM reads it from cache), in whole 16-column
// steps, and no more than the short positions there are.
func tileFor(rows, shortLen int) int {
	_, l2, _ := kernels.Caches()
	w := (l2 / 2) / (4 * max(1, rows)) &^ 15
	return max(1, min(shortLen, max(16, w)))
}

// Shape returns the plan's resolved problem.
func (pl *Plan) Shape() *Shape { return pl.s }

// need panics unless v has n elements: before any kernel runs, naming the
// argument.
func (pl *Plan) need(name string, v []float32, n int) {
	if len(v) != n {
		panic(fmt.Sprintf("%s: len(%s) = %d, want %d", pl.s.op(), name, len(v), n))
	}
}

// needBias checks a bias-shaped argument: K elements for a problem with
// bias, nil for one without.
func (pl *Plan) needBias(name string, v []float32) {
	if pl.s.Bias {
		pl.need(name, v, pl.s.K)
	} else if v != nil {
		panic(fmt.Sprintf("%s: %s given for a problem without bias", pl.s.op(), name))
	}
}

// Forward computes y = conv(x, w) + b, then the epilogue (nil: none). b
// must be nil for a problem without bias, else have K elements.
func (pl *Plan) Forward(y, x, w, b []float32, ep *Epilogue) {
	s := pl.s
	pl.need("y", y, s.YLen)
	pl.need("x", x, s.XLen)
	pl.need("w", w, s.WLen)
	pl.needBias("b", b)
	if ep != nil && ep.Residual != nil {
		pl.need("residual", ep.Residual, s.YLen)
	}
	xs, ys := pl.channelsFirst(x, pl.xcf, s.C, s.In), pl.ycfOr(y)
	if s.Transposed {
		pl.scatter(ys, xs, w, s.C, s.K)
	} else {
		pl.gather(ys, xs, w, s.C, s.K)
	}
	pl.channelsLast(y, ys, s.K, s.Out)
	pl.epilogue(y, b, ep)
}

// BackwardData computes dx from dy and w.
func (pl *Plan) BackwardData(dx, dy, w []float32) {
	s := pl.s
	pl.need("dx", dx, s.XLen)
	pl.need("dy", dy, s.YLen)
	pl.need("w", w, s.WLen)
	dys, dxs := pl.channelsFirst(dy, pl.ycf, s.K, s.Out), pl.xcfOr(dx)
	if s.Transposed {
		pl.gather(dxs, dys, w, s.K, s.C)
	} else {
		pl.scatter(dxs, dys, w, s.K, s.C)
	}
	pl.channelsLast(dx, dxs, s.C, s.In)
}

// BackwardFilter computes dw (and db, when the problem has bias) from x
// and dy; with accumulate it adds them to dw and db instead.
func (pl *Plan) BackwardFilter(dw, db, x, dy []float32, accumulate bool) {
	s := pl.s
	pl.need("dw", dw, s.WLen)
	pl.need("x", x, s.XLen)
	pl.need("dy", dy, s.YLen)
	pl.needBias("db", db)
	xs := pl.channelsFirst(x, pl.xcf, s.C, s.In)
	dys := pl.channelsFirst(dy, pl.ycf, s.K, s.Out)
	pl.filter(dw, xs, dys, accumulate)
	if s.Bias {
		pl.biasGrad(db, dy, accumulate)
	}
}

// gather computes dst = W * lower(src) for each image and group: the
// convolution's forward pass (src = x) and the transposed one's
// backward-data pass (src = dy). The long tensor src has srcCh channels,
// dst (dstCh channels) is indexed by short positions.
func (pl *Plan) gather(dst, src, w []float32, srcCh, dstCh int) {
	s, l := pl.s, pl.low
	ks := s.KernelSize
	sg, dg := srcCh/s.Groups, dstCh/s.Groups
	shortLen := prod(l.short)
	rows := sg * ks
	for n := 0; n < s.N; n++ {
		for g := 0; g < s.Groups; g++ {
			srcG := src[(n*srcCh+g*sg)*l.longPlane:][:sg*l.longPlane]
			dstG := dst[(n*dstCh+g*dg)*shortLen:][:dg*shortLen]
			// Convolution: W_g is dg x (sg*ks) as stored. Transposed
			// (backward-data): W_g (dg x sg*ks, the transposed problem's
			// C x K/g x kernel) as stored too.
			wg := w[g*dg*rows:][:dg*rows]
			if l.identity {
				pl.ctx.Sgemm(false, false, dg, shortLen, rows, 1, wg, rows, srcG, shortLen, 0, dstG, shortLen)
				continue
			}
			for j0 := 0; j0 < shortLen; j0 += pl.tile {
				cols := min(pl.tile, shortLen-j0)
				col := pl.col[:rows*cols]
				l.im2col(col, srcG, sg, j0, cols)
				pl.ctx.Sgemm(false, false, dg, cols, rows, 1, wg, rows, col, cols, 0, dstG[j0:], shortLen)
			}
		}
	}
}

// scatter computes dst = col2im(W^T * src) for each image and group: the
// transposed convolution's forward pass (src = x) and the convolution's
// backward-data pass (src = dy). src (srcCh channels) is indexed by short
// positions, dst (dstCh channels) is the long tensor.
func (pl *Plan) scatter(dst, src, w []float32, srcCh, dstCh int) {
	s, l := pl.s, pl.low
	ks := s.KernelSize
	sg, dg := srcCh/s.Groups, dstCh/s.Groups
	shortLen := prod(l.short)
	rows := dg * ks
	clear(dst)
	for n := 0; n < s.N; n++ {
		for g := 0; g < s.Groups; g++ {
			srcG := src[(n*srcCh+g*sg)*shortLen:][:sg*shortLen]
			dstG := dst[(n*dstCh+g*dg)*l.longPlane:][:dg*l.longPlane]
			wg := w[g*sg*rows:][:sg*rows] // sg x (dg*ks)
			if l.identity {
				pl.ctx.Sgemm(true, false, rows, shortLen, sg, 1, wg, rows, srcG, shortLen, 0, dstG, shortLen)
				continue
			}
			for j0 := 0; j0 < shortLen; j0 += pl.tile {
				cols := min(pl.tile, shortLen-j0)
				col := pl.col[:rows*cols]
				pl.ctx.Sgemm(true, false, rows, cols, sg, 1, wg, rows, srcG[j0:], shortLen, 0, col, cols)
				l.col2im(dstG, col, dg, j0, cols)
			}
		}
	}
}

// filter computes the weight gradient: for a convolution dW_g = dy_g *
// lower(x)^T, for a transposed one dW_g = x_g * lower(dy)^T, summed over
// the images and tiles in a fixed order.
func (pl *Plan) filter(dw, x, dy []float32, accumulate bool) {
	s, l := pl.s, pl.low
	ks := s.KernelSize
	short, long, shortCh, longCh := dy, x, s.K, s.C
	if s.Transposed {
		short, long, shortCh, longCh = x, dy, s.C, s.K
	}
	sg, lg := shortCh/s.Groups, longCh/s.Groups
	shortLen := prod(l.short)
	rows := lg * ks
	beta := float32(0)
	if accumulate {
		beta = 1
	}
	for g := 0; g < s.Groups; g++ {
		dwg := dw[g*sg*rows:][:sg*rows]
		b := beta
		for n := 0; n < s.N; n++ {
			longG := long[(n*longCh+g*lg)*l.longPlane:][:lg*l.longPlane]
			shortG := short[(n*shortCh+g*sg)*shortLen:][:sg*shortLen]
			if l.identity {
				pl.ctx.Sgemm(false, true, sg, rows, shortLen, 1, shortG, shortLen, longG, shortLen, b, dwg, rows)
				b = 1
				continue
			}
			for j0 := 0; j0 < shortLen; j0 += pl.tile {
				cols := min(pl.tile, shortLen-j0)
				col := pl.col[:rows*cols]
				l.im2col(col, longG, lg, j0, cols)
				pl.ctx.Sgemm(false, true, sg, rows, cols, 1, shortG[j0:], shortLen, col, cols, b, dwg, rows)
				b = 1
			}
		}
	}
}

// biasGrad sums dy over the images and positions, per channel, in a fixed
// order (image, position), in float64 rounded once: its error does not grow
// with the plane (a float32 sum of N*prod(out) terms would).
func (pl *Plan) biasGrad(db, dy []float32, accumulate bool) {
	s := pl.s
	if !accumulate {
		clear(db)
	}
	plane := s.OutLen
	for k := 0; k < s.K; k++ {
		var sum float64
		for n := 0; n < s.N; n++ {
			for p := 0; p < plane; p++ {
				i := layoutIndex(s.Layout, n, k, s.K, p, plane)
				sum += float64(dy[i])
			}
		}
		db[k] += float32(sum)
	}
}

// epilogue adds the bias and the residual and applies ReLU, on y in the
// problem's layout.
func (pl *Plan) epilogue(y, b []float32, ep *Epilogue) {
	s := pl.s
	var res []float32
	relu := false
	if ep != nil {
		res, relu = ep.Residual, ep.ReLU
	}
	if b == nil && res == nil && !relu {
		return
	}
	plane := s.OutLen
	for n := 0; n < s.N; n++ {
		for k := 0; k < s.K; k++ {
			for p := 0; p < plane; p++ {
				i := layoutIndex(s.Layout, n, k, s.K, p, plane)
				v := y[i]
				if b != nil {
					v += b[k]
				}
				if res != nil {
					v += res[i]
				}
				if relu && !(v > 0) && v == v {
					v = 0
				}
				y[i] = v
			}
		}
	}
}

// channelsFirst returns v as channels-first: v itself, or its copy in buf
// for a channels-last problem.
func (pl *Plan) channelsFirst(v, buf []float32, ch int, sizes []int) []float32 {
	if pl.s.Layout != ChannelsLast {
		return v
	}
	relayout(buf, v, pl.s.N, ch, prod(sizes), true)
	return buf
}

// channelsLast copies the channels-first result cf into dst for a
// channels-last problem (cf is dst itself otherwise).
func (pl *Plan) channelsLast(dst, cf []float32, ch int, sizes []int) {
	if pl.s.Layout == ChannelsLast {
		relayout(dst, cf, pl.s.N, ch, prod(sizes), false)
	}
}

// relayout copies n images of ch channels of plane elements between the
// layouts: channels-last src into channels-first dst (toFirst), or back.
func relayout(dst, src []float32, n, ch, plane int, toFirst bool) {
	for img := 0; img < n; img++ {
		for p := 0; p < plane; p++ {
			for c := 0; c < ch; c++ {
				first, last := layoutIndex(ChannelsFirst, img, c, ch, p, plane), layoutIndex(ChannelsLast, img, c, ch, p, plane)
				if toFirst {
					dst[first] = src[last]
				} else {
					dst[last] = src[first]
				}
			}
		}
	}
}

// ycfOr is where a pass writes a y-shaped result: y itself, or the
// channels-first buffer.
func (pl *Plan) ycfOr(y []float32) []float32 {
	if pl.s.Layout == ChannelsLast {
		return pl.ycf
	}
	return y
}

// xcfOr is ycfOr for x-shaped results.
func (pl *Plan) xcfOr(x []float32) []float32 {
	if pl.s.Layout == ChannelsLast {
		return pl.xcf
	}
	return x
}
