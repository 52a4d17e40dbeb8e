package conv

import (
	"math"

	"github.com/convkit/convkit/direct"
	"github.com/convkit/convkit/internal/workers"
	"github.com/convkit/convkit/kernels"
	"github.com/convkit/convkit/winograd"
)

// The Winograd engine computes a 2D 3x3 stride-1 forward problem in
// items of R x Cw tiles of one image and conv group, each item on one
// thread from start to end (where blocks are fewer than threads, a block's
// steps 1-2 are shared out by channel blocks and steps 3-5 by output
// parts, a barrier between):
//
//  1. copy: the item's input patch (R*m+2 rows, Cw*m+2 columns) into a
//     channel-blocked buffer [cb][row][col][L], its padding filled by the
//     padding mode, so that no transform reads outside the input and
//     tiles past the output's edge read zeros;
//  2. input transform: per channel block and tile row, the generated
//     kernel turns each tile's alpha x alpha patch into V[xi][cb][t][L];
//  3. products: per xi, M[xi] = V[xi] U[xi], the transformed filters U
//     packed for the direct package's blocked tile kernels, read as a 1x1
//     convolution whose pixels are the tiles (the sums over the input
//     channels stay in registers);
//  4. output transform: per output block and tile row, M's tiles into
//     m x m outputs (+ bias) in an output buffer [kb][row][col][L];
//  5. the outputs inside y move there with the residual and ReLU.
//
// The cost model cuts the items (R, Cw and an output-channel split ks):
// it charges V and M that spill L2 and the transformed filters each item
// streams from past it, so the products mostly read from L2. Every
// output's sums are the same whatever the item cut, so the result does
// not depend on the thread count.

// winoLayout is the tiling and buffers of one forward problem and
// variant.
type winoLayout struct {
	s       *Shape
	d       derived // the pass's derivation (set by choose)
	v       *winograd.Variant
	L       int
	m, a    int // outputs and inputs per tile side
	cb, kb  int // channel blocks per group: input, output
	th, tw  int // tiles per image: rows, columns
	R, Cw   int // tile rows and columns per item
	ri, ci  int // items per image and group: rows, columns
	ks      int // items per tile block: the output-channel groups split ks ways
	fam     *direct.Family
	fams    []*direct.Family
	ogs     []ocGroup
	threads int // the threads it was cut for
}

// newWinoLayout lays out s on variant v for threads, its item cut and
// family the model's fastest within limit bytes of workspace (0: no
// limit; where no cut fits, the smallest).
func newWinoLayout(s *Shape, v *winograd.Variant, threads int, limit int64) *winoLayout {
	fs := direct.Families(kernels.Current())
	L := fs[0].Lanes
	l := &winoLayout{s: s, v: v, L: L, m: v.M, a: v.Alpha}
	l.cb, l.kb = ceilDiv(s.CPerG, L), ceilDiv(s.KPerG, L)
	l.th, l.tw = ceilDiv(s.Out[0], l.m), ceilDiv(s.Out[1], l.m)
	l.threads = max(1, threads)
	l.choose(fs, limit)
	return l
}

// choose picks the products' family and the item cut that the model
// finds fastest on the layout's threads within limit: items of R whole
// tile rows, or of Cw tiles of one row, balanced.
func (l *winoLayout) choose(fs []*direct.Family, limit int64) {
	type cut struct {
		f         *direct.Family
		r, cw, ks int
	}
	var best, smallest cut
	bestCycles, leastBytes := math.Inf(1), int64(math.MaxInt64)
	try := func(c cut) {
		l.setFamily(fs, c.f)
		if c.ks > len(l.ogs) {
			return
		}
		l.setCut(c.r, c.cw, c.ks)
		if n := l.bytes(); n < leastBytes {
			smallest, leastBytes = c, n
		}
		if limit > 0 && l.bytes() > limit {
			return
		}
		if t := l.itemCycles() * float64(ceilDiv(l.items(), l.threads)); t < bestCycles {
			best, bestCycles = c, t
		}
	}
	for _, f := range fs {
		if f.Form != direct.Blocked {
			continue
		}
		// Splitting the output channels too lets threads share few
		// tiles, each reading part of the filters, at the price of
		// transforming the input once per part.
		for ks := 1; ks <= l.threads; ks++ {
			for n := 1; n <= l.th; n++ {
				try(cut{f, ceilDiv(l.th, n), l.tw, ks})
			}
			for n := 2; n <= l.tw; n++ {
				try(cut{f, 1, ceilDiv(l.tw, n), ks})
			}
		}
	}
	if best.f == nil {
		best = smallest
	}
	l.setFamily(fs, best.f)
	l.setCut(best.r, best.cw, best.ks)
}

func (l *winoLayout) setCut(r, cw, ks int) {
	l.R, l.Cw, l.ks = r, cw, ks
	l.ri, l.ci = ceilDiv(l.th, l.R), ceilDiv(l.tw, l.Cw)
}

// setFamily makes f the products' family: the output blocks in groups of
// its B (the last narrower), each group's packed filters after the
// last's.
func (l *winoLayout) setFamily(fs []*direct.Family, f *direct.Family) {
	l.fam = f
	l.fams, l.ogs = ocGroupsOf(fs, direct.Blocked, f, l.kb, l.cb)
}

func (l *winoLayout) items() int { return l.s.N * l.s.Groups * l.ri * l.ci * l.ks }

// ogPart is part k of ks of the output-channel groups: ogs[lo:hi], the
// output blocks [kb0, kb1).
func (l *winoLayout) ogPart(k int) (lo, hi, kb0, kb1 int) {
	lo, hi = k*len(l.ogs)/l.ks, (k+1)*len(l.ogs)/l.ks
	last := l.ogs[hi-1]
	return lo, hi, l.ogs[lo].ob0, last.ob0 + last.b
}

// Per-item buffer sizes, in floats.
func (l *winoLayout) inRows() int  { return l.R*l.m + 2 }
func (l *winoLayout) inCols() int  { return l.Cw*l.m + 2 }
func (l *winoLayout) tiles() int   { return l.R * l.Cw }
func (l *winoLayout) inLen() int   { return l.cb * l.inRows() * l.inCols() * l.L }
func (l *winoLayout) vLen() int    { return l.a * l.a * l.cb * l.tiles() * l.L }
func (l *winoLayout) mLen() int    { return l.a * l.a * l.kb * l.tiles() * l.L }
func (l *winoLayout) outLen() int  { return l.kb * l.R * l.m * l.Cw * l.m * l.L }
func (l *winoLayout) packLen() int { return l.s.Groups * l.a * l.a * l.cb * l.kb * l.L * l.L }
func (l *winoLayout) scratchLen() int {
	tmp := l.a*l.a*l.L + 4*l.a // a transform's (its twin's operands beside)
	items := l.inLen() + l.vLen() + l.mLen() + l.outLen() + tmp
	pack := (9+l.a*l.a)*l.kb*l.L + tmp // packChannel's rows and the transform's tmp
	return max(items, pack)
}

// bytes is the engine's workspace on threads' buffers: the packed
// filters, the padded bias (twice: with and without), and per thread the
// item buffers and a Transposer's scratch.
func (l *winoLayout) bytes() int64 {
	perThread := 4*int64(l.scratchLen()) + transposerBytes(l.L, l.maxRow())
	shared := 2 * l.s.Groups * l.kb * l.L
	if l.ks > 1 {
		shared += l.vLen()
	}
	return 4*int64(l.packLen()+shared) + int64(l.threadsOf())*perThread
}

// maxRow is the widest row a Transposer moves: a patch row or an output
// row.
func (l *winoLayout) maxRow() int { return max(l.inCols(), l.Cw*l.m) }

// threadsOf is how many threads' buffers the layout was cut for: at most
// one per item.
func (l *winoLayout) threadsOf() int { return max(1, min(l.threads, l.items())) }

// cycles models the kernels of every item on one thread (see
// itemCycles).
func (l *winoLayout) cycles() float64 { return l.itemCycles() * float64(l.items()) }

// winoStreamBytes is the model's bytes a cycle of a stream from past L2
// (L3 or memory), the host's measured stream rate (HostNow): it charges
// the transformed filters each item reads when they do not stay in L2
// (past the filters' own bytes, which every algorithm reads), and an
// item's V and M when they spill. A constant of 6 (what one VM
// sustained) ranked F(2x2) and direct above F(4x4) on a host with 4 times
// its rate (resnet_3x3_c512: direct 2.07 ms, F(4x4) 1.20 ms).
func winoStreamBytes() float64 { return max(1, HostNow().streamBytesPerCycle()) }

// itemCycles models one item: the products as the direct model charges a
// tile (per channel step, the max of the FMA and load cycles and the FMA
// chain; per call tileCall), the transforms by their operations and
// memory accesses, the copies by their floats, and the streams from past
// L2: the transformed filters where they do not fit half of it, V and M
// where they do not fit three quarters.
func (l *winoLayout) itemCycles() float64 {
	tb := l.tiles()
	var perXi float64
	for _, og := range l.ogs {
		calls := ceilDiv(tb, l.fams[og.b-1].U)
		u, b := float64(ceilDiv(tb, calls)), float64(og.b)
		perXi += (max(u*b/2, (u+b)/2, fmaChain)*float64(l.cb*l.L) + tileCall) * float64(calls)
	}
	ks := float64(l.ks)
	// A split block's input is shared out too (its first phase).
	in := transformCycles(l.v, winograd.In) * float64(l.cb*tb) / ks
	out := transformCycles(l.v, winograd.Out) * float64(l.kb*tb) / ks
	copies := float64(l.inLen()+l.outLen()) / float64(l.L) / ks
	_, l2, _ := kernels.Caches()
	var stream float64
	if w := 4 * l.packLen() / l.s.Groups; w > l2/2 {
		// What past the filters' own size every algorithm reads once.
		stream += (float64(w) - 4*float64(l.s.WLen/l.s.Groups)) / ks
	}
	if vm := 4 * (l.vLen() + l.mLen()); vm > 3*l2/4 {
		stream += 2 * float64(vm)
	}
	var barriers float64
	if l.ks > 1 {
		barriers = 2 * winoBarrier / ks
	}
	return perXi*float64(l.a*l.a)/ks + in + out + copies + stream/winoStreamBytes() + barriers
}

// winoBarrier is the model's cycles of one hand-over between the team's
// threads (a split block has two).
const winoBarrier = 10000

// transformCycles models one tile-vector's transform: its FMA-port
// operations and its loads and stores, two a cycle each.
func transformCycles(v *winograd.Variant, k winograd.Kind) float64 {
	p, r, c := v.Matrix(k)
	nnz := 0
	for _, x := range p {
		if x != 0 {
			nnz++
		}
	}
	ops := float64((c + r) * nnz)
	mem := float64(c*c + 2*c*r + r*r)
	return max(ops, mem) / 2
}

// winoEngine runs a winoLayout on a team.
type winoEngine struct {
	*winoLayout
	team    *workers.Team
	in, out *winograd.Transform
	filter  *winograd.Transform
	taps    *direct.Taps
	u       []float32   // packed transformed filters [g][xi][og blocks]
	packed  bool        // u holds PackWeights' filters
	bias    []float32   // the bias, padded to whole blocks per group
	zeroB   []float32   // no bias
	scratch [][]float32 // per thread
	sharedV []float32   // a split block's V (ks > 1)
	tr      []*direct.Transposer
	call    winoCall
}

// winoCall is the call in progress.
type winoCall struct {
	y, x, w []float32
	ep      *Epilogue
	bias    []float32 // bias or zeroB
	packing bool
	per     int // items per part
	phase   int // phaseItems, or a phase of block
	block   int
	parts   int // phaseInput's parts
}

func newWinoEngine(l *winoLayout) *winoEngine {
	isa := kernels.Current()
	e := &winoEngine{winoLayout: l, team: workers.NewTeam(l.threadsOf())}
	e.in = winograd.NewTransform(l.v, winograd.In, isa)
	e.out = winograd.NewTransform(l.v, winograd.Out, isa)
	e.filter = winograd.NewTransform(l.v, winograd.Filter, isa)
	if e.in.Lanes != l.L {
		panic("conv: the Winograd transforms and the tile kernels disagree on the vector width")
	}
	e.taps = direct.NewTaps([]int{0, 0})
	e.u = make([]float32, l.packLen())
	e.bias = make([]float32, l.s.Groups*l.kb*l.L)
	e.zeroB = make([]float32, l.s.Groups*l.kb*l.L)
	if l.ks > 1 {
		e.sharedV = make([]float32, l.vLen())
	}
	for range l.threadsOf() {
		e.scratch = append(e.scratch, make([]float32, l.scratchLen()))
		e.tr = append(e.tr, direct.NewTransposer(isa, l.L, l.maxRow()))
	}
	return e
}

// forward computes y from x with filters w (nil: the packed ones), then
// bias and the epilogue.
func (e *winoEngine) forward(y, x, w, b []float32, ep *Epilogue) {
	if w != nil {
		e.pack(w)
		e.packed = false
	}
	s := e.s
	bias := e.zeroB
	if b != nil {
		bias = e.bias
		for g := 0; g < s.Groups; g++ {
			copy(bias[g*e.kb*e.L:][:s.KPerG], b[g*s.KPerG:(g+1)*s.KPerG])
		}
	}
	e.call = winoCall{y: y, x: x, ep: ep, bias: bias}
	if e.ks == 1 {
		e.runItems(e.items())
	} else {
		// Few blocks: each block's input transform shared out by channel
		// blocks, then its output parts, a barrier (Team.Run) between.
		for b := 0; b < e.items()/e.ks; b++ {
			parts := min(e.team.Size(), e.cb)
			e.call.phase, e.call.block, e.call.parts = phaseInput, b, parts
			runParts(e.team, e, parts)
			e.call.phase = phaseOutputs
			runParts(e.team, e, e.ks)
		}
	}
	e.call = winoCall{}
}

// pack transforms and packs the filters w on the team.
func (e *winoEngine) pack(w []float32) {
	e.call = winoCall{w: w, packing: true}
	e.runItems(e.s.Groups * e.s.CPerG)
	e.call = winoCall{}
}

func (e *winoEngine) runItems(items int) {
	var parts int
	e.call.per, parts = splitItems(e.team, items)
	runParts(e.team, e, parts)
}

// Run computes one part of the call in progress (workers.Task).
func (e *winoEngine) Run(part int) {
	c := &e.call
	if c.packing {
		lo, hi := part*c.per, min(e.s.Groups*e.s.CPerG, (part+1)*c.per)
		for i := lo; i < hi; i++ {
			e.packChannel(e.scratch[part], c.w, i/e.s.CPerG, i%e.s.CPerG)
		}
		return
	}
	switch c.phase {
	case phaseInput:
		e.inputPart(part, c.parts, c.block)
	case phaseOutputs:
		e.outputs(part, e.sharedV, c.block*e.ks+part)
	default:
		lo, hi := part*c.per, min(e.items(), (part+1)*c.per)
		for i := lo; i < hi; i++ {
			e.item(part, i)
		}
	}
}

// The phases of a split block (ks > 1): its input on every thread, then
// its ks output parts.
const (
	phaseItems = iota
	phaseInput
	phaseOutputs
)

// packChannel transforms the filters of input channel c of group g: its
// 3x3 taps of every output channel gathered tap-major (9 rows of Kp),
// one filter-transform call over all Kp/L vectors into alpha^2 rows of
// Kp, then each row into its xi's packed blocks, in runs of B*L floats.
// Transforming straight into the blocks stored a vector per xi per call,
// 36 pages apart. Where the packed filters pass L2 the stores into them
// bound it (resnet_3x3_c256: 9.4 MB in about 3 ms here).
func (e *winoEngine) packChannel(scratch, w []float32, g, c int) {
	s, L := e.s, e.L
	kp := e.kb * L
	gbuf, rest := scratch[:9*kp], scratch[9*kp:]
	rows, tmp := rest[:e.a*e.a*kp], rest[e.a*e.a*kp:][:e.filter.TmpLen()]
	for k := 0; k < s.KPerG; k++ {
		for t, v := range w[((g*s.KPerG+k)*s.CPerG+c)*9:][:9] {
			gbuf[t*kp+k] = v
		}
	}
	for t := 0; t < 9; t++ { // the padding channels
		clear(gbuf[t*kp+s.KPerG : (t+1)*kp])
	}
	e.filter.Run(rows, gbuf, tmp, nil, e.kb, kp, kp)
	xiLen := e.cb * L * kp
	base := g * e.a * e.a * xiLen
	icb, cin := c/L, c%L
	for xi := 0; xi < e.a*e.a; xi++ {
		row := rows[xi*kp:][:kp]
		dst := e.u[base+xi*xiLen:][:xiLen]
		for _, og := range e.ogs {
			n := og.b * L
			copy(dst[og.w+(icb*L+cin)*n:][:n], row[og.ob0*L:][:n])
		}
	}
}

// block is tile block b's image, group, first tile row and column, and
// tile rows and columns.
func (l *winoLayout) block(b int) (n, g, tr0, tc0, rows, cols int) {
	ci := b % l.ci
	b /= l.ci
	ri := b % l.ri
	b /= l.ri
	g, n = b%l.s.Groups, b/l.s.Groups
	tr0, tc0 = ri*l.R, ci*l.Cw
	return n, g, tr0, tc0, min(l.R, l.th-tr0), min(l.Cw, l.tw-tc0)
}

// buffers cuts thread part's scratch into the item buffers.
func (e *winoEngine) buffers(part int) (in, v, mb, out, tmp []float32) {
	l, buf := e.winoLayout, e.scratch[part]
	in, buf = buf[:l.inLen()], buf[l.inLen():]
	v, buf = buf[:l.vLen()], buf[l.vLen():]
	mb, buf = buf[:l.mLen()], buf[l.mLen():]
	return in, v, mb, buf[:l.outLen()], buf[l.outLen():]
}

// item computes item i (tile block i/ks, output part i%ks) on thread
// part's buffers, from the input on: the layouts whose blocks outnumber
// the threads (ks = 1).
func (e *winoEngine) item(part, i int) {
	inB, vB, _, _, tmp := e.buffers(part)
	n, g, tr0, tc0, rows, cols := e.block(i / e.ks)
	e.copyPatch(e.tr[part], inB, n, g, tr0*e.m, tc0*e.m, rows*e.m+2, cols*e.m+2, 0, e.cb)
	e.transformIn(inB, vB, tmp, rows, cols, 0, e.cb)
	e.outputs(part, vB, i)
}

// outputs computes item i's products, output transform and move into y
// from the transformed input v.
func (e *winoEngine) outputs(part int, v []float32, i int) {
	_, _, mB, outB, tmp := e.buffers(part)
	n, g, tr0, tc0, rows, cols := e.block(i / e.ks)
	lo, hi, kb0, kb1 := e.ogPart(i % e.ks)
	e.products(v, mB, g, e.ogs[lo:hi])
	e.transformOut(mB, outB, tmp, g, rows, cols, kb0, kb1)
	e.moveOut(e.tr[part], outB, n, g, tr0*e.m, tc0*e.m, rows*e.m, cols*e.m, kb0, kb1)
}

// inputPart transforms part of tile block b's input channel blocks into
// the shared V (the first phase of a split block, ks > 1).
func (e *winoEngine) inputPart(part, parts, b int) {
	inB, _, _, _, tmp := e.buffers(part)
	n, g, tr0, tc0, rows, cols := e.block(b)
	cb0, cb1 := part*e.cb/parts, (part+1)*e.cb/parts
	e.copyPatch(e.tr[part], inB, n, g, tr0*e.m, tc0*e.m, rows*e.m+2, cols*e.m+2, cb0, cb1)
	e.transformIn(inB, e.sharedV, tmp, rows, cols, cb0, cb1)
}

// copyPatch copies the input rows [y0, y0+nr) and columns [x0, x0+nc)
// of the padded input (output coordinates: input index + padding) of
// image n, group g, into buf [cb][row][col][L] (row pitch inCols): the
// padding by the padding mode, and zeros past the padded input, where
// only outputs past y's edge read.
func (e *winoEngine) copyPatch(t *direct.Transposer, buf []float32, n, g, y0, x0, nr, nc, cb0, cb1 int) {
	rowLen := e.inCols() * e.L
	for cb := cb0; cb < cb1; cb++ {
		plane := buf[cb*e.inRows()*rowLen:]
		copyPatchBlock(t, plane, e.call.x, e.s, rowLen, n, g, cb, y0, x0, nr, nc)
	}
}

// copyPatchBlock copies channel block cb (t.L channels) of a patch of
// image n, group g of x, the input of s, into plane [row][col][L] of row
// pitch rowLen floats: the rows [y0, y0+nr) and columns [x0, x0+nc) of
// the padded input, as copyPatch.
func copyPatchBlock(t *direct.Transposer, plane, x []float32, s *Shape, rowLen, n, g, cb, y0, x0, nr, nc int) {
	L := t.L
	H, W := s.In[0], s.In[1]
	pt, pl := s.PadBefore[0], s.PadBefore[1]
	c0 := g*s.CPerG + cb*L
	nch := min(L, s.CPerG-cb*L)
	for r := 0; r < nr; r++ {
		row := plane[r*rowLen:][:nc*L]
		sy := padSource(y0+r-pt, H, pt, s.PadAfter[0], s.PaddingMode)
		if sy < 0 {
			clear(row)
			continue
		}
		// The interior: input columns [lo, hi) at patch columns from lo+pl-x0.
		lo, hi := max(0, x0-pl), min(W, x0-pl+nc)
		for j := 0; j < nc; j++ {
			v := x0 + j - pl
			if v >= lo && v < hi {
				continue
			}
			px := row[j*L : (j+1)*L]
			if sx := padSource(v, W, pl, s.PadAfter[1], s.PaddingMode); sx >= 0 {
				copyBlocked(t, px, x, s, n, c0, nch, sy*W+sx, 1)
			} else {
				clear(px)
			}
		}
		if hi > lo {
			copyBlocked(t, row[(lo+pl-x0)*L:], x, s, n, c0, nch, sy*W+lo, hi-lo)
		}
	}
}

// padSource maps index v of a dim of size n padded by before and after
// to the input index it reads: the padding mode inside the padding, -1
// for zero padding and past it.
func padSource(v, n, before, after int, m PaddingMode) int {
	if v < -before || v >= n+after {
		return -1
	}
	return paddedSource(v, n, m)
}

// copyVectors copies n vectors of lanes floats, dst's dstStride floats
// apart and src's srcStride, as whole arrays (no call per vector; a
// channels-last row's per-pixel copies took a fifth of winograd's time),
// reporting whether it has a width for lanes.
func copyVectors(dst []float32, dstStride int, src []float32, srcStride, n int) bool {
	if n <= 0 {
		return true
	}
	switch lanes := min(dstStride, srcStride); {
	case lanes >= 16 && (dstStride == 16 || srcStride == 16):
		// Two halves: the compiler moves 32 bytes inline, 64 with a call
		// to memmove.
		for j := 0; j < n; j++ {
			d, s := dst[j*dstStride:], src[j*srcStride:]
			*(*[8]float32)(d) = *(*[8]float32)(s)
			*(*[8]float32)(d[8:]) = *(*[8]float32)(s[8:])
		}
	case lanes >= 8 && (dstStride == 8 || srcStride == 8):
		for j := 0; j < n; j++ {
			*(*[8]float32)(dst[j*dstStride:]) = *(*[8]float32)(src[j*srcStride:])
		}
	case lanes >= 4 && (dstStride == 4 || srcStride == 4):
		for j := 0; j < n; j++ {
			*(*[4]float32)(dst[j*dstStride:]) = *(*[4]float32)(src[j*srcStride:])
		}
	default:
		return false
	}
	return true
}

// transformIn transforms the patch's tiles (rows x cols of them, laid
// out in the item's R x Cw grid) into V[xi][cb][t][L].
func (e *winoEngine) transformIn(in, v, tmp []float32, rows, cols, cb0, cb1 int) {
	L, tb := e.L, e.tiles()
	rowLen := e.inCols() * L
	xiStride := e.cb * tb * L
	for cb := cb0; cb < cb1; cb++ {
		plane := in[cb*e.inRows()*rowLen:]
		for r := 0; r < rows; r++ {
			dst := v[(cb*tb+r*e.Cw)*L:]
			e.in.Run(dst, plane[r*e.m*rowLen:], tmp, nil, cols, rowLen, xiStride)
		}
	}
}

// products computes M[xi] = V[xi] U[xi] for every xi on the blocked
// tile kernels: the tiles are the pixels of a 1x1 convolution with the
// item's input channels (one tap), u of them per call.
func (e *winoEngine) products(v, mb []float32, g int, ogs []ocGroup) {
	L, tb := e.L, e.tiles()
	xiLen := e.cb * L * e.kb * L
	args := direct.Args{Taps: e.taps, ICB: e.cb, SrcICB: 4 * tb * L, SrcPix: 4 * L, DstPix: 4 * L, DstOCB: 4 * tb * L}
	for xi := 0; xi < e.a*e.a; xi++ {
		src := v[xi*e.cb*tb*L:][:e.cb*tb*L]
		dst := mb[xi*e.kb*tb*L:][:e.kb*tb*L]
		w := e.u[(g*e.a*e.a+xi)*xiLen:][:xiLen]
		for _, og := range ogs {
			f := e.fams[og.b-1]
			a := args
			a.WICB = f.WBytes()
			f.TileRow(tb, dst[og.ob0*tb*L:], src, w[og.w:], &a, nil, nil)
		}
	}
}

// transformOut transforms M's tiles into outputs + bias, [kb][row][col][L]
// (R*m rows of Cw*m columns).
func (e *winoEngine) transformOut(mb, out, tmp []float32, g, rows, cols, kb0, kb1 int) {
	L, tb := e.L, e.tiles()
	rowLen := e.Cw * e.m * L
	xiStride := e.kb * tb * L
	for kb := kb0; kb < kb1; kb++ {
		bias := e.call.bias[(g*e.kb+kb)*L:][:L]
		plane := out[kb*e.R*e.m*rowLen:]
		for r := 0; r < rows; r++ {
			e.out.Run(plane[r*e.m*rowLen:], mb[(kb*tb+r*e.Cw)*L:], tmp, bias, cols, xiStride, rowLen)
		}
	}
}

// moveOut moves the outputs inside y (rows [y0, y0+nr), columns [x0,
// x0+nc), cut to y) of image n, group g, from out into y with the
// residual and ReLU.
func (e *winoEngine) moveOut(t *direct.Transposer, out []float32, n, g, y0, x0, nr, nc, kb0, kb1 int) {
	s, L := e.s, e.L
	OH, OW := s.Out[0], s.Out[1]
	nr, nc = min(nr, OH-y0), min(nc, OW-x0)
	rowLen := e.Cw * e.m * L
	ep := e.call.ep
	var res []float32
	relu := false
	if ep != nil {
		res, relu = ep.Residual, ep.ReLU
	}
	y := e.call.y
	for kb := kb0; kb < kb1; kb++ {
		k0 := g*s.KPerG + kb*L
		nk := min(L, s.KPerG-kb*L)
		plane := out[kb*e.R*e.m*rowLen:]
		for r := 0; r < nr; r++ {
			src := plane[r*rowLen:][:nc*L]
			p := (y0+r)*OW + x0
			if s.Layout.Lanes() == L { // the kernels' own blocks: the row as one run
				o := ((n*ceilDiv(s.K, L)+k0/L)*s.OutLen + p) * L
				finishRun(y[o:o+nc*L], src, sliceOrNil(res, o, nc*L), relu)
				continue
			}
			if s.Layout == ChannelsFirst {
				base := (n*s.K+k0)*s.OutLen + p
				t.Deinterleave(y[base:], s.OutLen, nk, src, nc)
				if res != nil || relu {
					for k := 0; k < nk; k++ {
						o := base + k*s.OutLen
						finishRun(y[o:o+nc], y[o:o+nc], sliceOrNil(res, o, nc), relu)
					}
				}
				continue
			}
			o := (n*s.OutLen+p)*s.K + k0
			if res == nil && !relu && nk == L && copyVectors(y[o:], s.K, src, L, nc) {
				continue
			}
			for j := 0; j < nc; j++ {
				o := (n*s.OutLen+p+j)*s.K + k0
				finishRun(y[o:o+nk], src[j*L:j*L+nk], sliceOrNil(res, o, nk), relu)
			}
		}
	}
}

// sliceOrNil is v[o:o+n], or nil for a nil v.
func sliceOrNil(v []float32, o, n int) []float32 {
	if v == nil {
		return nil
	}
	return v[o : o+n]
}
