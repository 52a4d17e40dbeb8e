package conv

import (
	"github.com/convkit/convkit/direct"
	"github.com/convkit/convkit/internal/workers"
	"github.com/convkit/convkit/kernels"
	"github.com/convkit/convkit/winograd"
)

// The Winograd weight-gradient form F(3 x 3, m x m) computes the filter
// gradient of a 2D 3x3 stride-1 forward problem: dy is cut into tiles of
// m x m outputs, each with the alpha x alpha input patch its outputs
// read, and
//
//	dW[k][c] = A'^T [ sum over tiles of (G' dy_k G'^T) . (B^T x_c B) ] A'
//
// so that the sum over the images and positions runs in the transformed
// domain as alpha^2 matrix products, M[xi][k][c] = sum_t U[xi][t][k]
// V[xi][t][c], and the output transform runs once per filter. A pass
// runs conv group by conv group, each in chunks of whole images:
//
//  1. transforms (items: an image's channel block or output block, over a
//     band of R tile rows): the input patch (copyPatchBlock, as the
//     forward engine) through In into V[xi][c][t] (channel planes, the
//     products' broadcast side); dy's block, zero past its edge, through
//     GradDy into U[xi][t][Kp] (whole pixels of output blocks, the
//     products' vector side);
//  2. products (items: an output group by a group of gc input channels,
//     every xi inside): the direct package's planes-form tile kernels,
//     the chunk's tiles as the input channels of a 1x1 convolution whose
//     pixels are the input channels, adding to the item's sums after the
//     first chunk;
//  3. in the last chunk each product item finishes its sums: GradDw
//     turns them into 3 x 3 gradients, which move into dW (adding with
//     accumulate). With one chunk the sums stay in the thread's scratch.
//
// Every M element is one tile call's sum per chunk, the chunks in order,
// and the chunks do not follow the thread count: the result is bitwise
// the same on any number of threads.

// winoGradLayout is the tiling and buffers of the weight-gradient form
// of one forward problem and variant.
type winoGradLayout struct {
	s       *Shape
	d       derived // the pass's derivation (set by chooseGrad)
	v       *winograd.Variant
	L       int
	m, a    int // outputs and inputs per tile side
	cb, kb  int // channel blocks per group: input, output
	th, tw  int // tiles per image: rows, columns
	R       int // tile rows per band
	bands   int // bands per image
	imgs    int // images per chunk
	fams    []*direct.Family
	ogs     []ocGroup
	uc      int // input channels per product tile
	gc      int // input channels per product item (a multiple of uc)
	bmax    int // the most output blocks of a group
	threads int
}

func newWinoGradLayout(s *Shape, v *winograd.Variant, threads int) *winoGradLayout {
	fs := direct.Families(kernels.Current())
	L := fs[0].Lanes
	l := &winoGradLayout{s: s, v: v, L: L, m: v.M, a: v.Alpha, threads: max(1, threads)}
	l.cb, l.kb = ceilDiv(s.CPerG, L), ceilDiv(s.KPerG, L)
	l.th, l.tw = ceilDiv(s.Out[0], l.m), ceilDiv(s.Out[1], l.m)
	l.fams = familiesByB(fs, direct.Planes, direct.Pick(fs, direct.Planes, maxB(fs)).B)
	l.ogs = splitOCBlocks(l.kb, l.fams)
	l.uc = 1 << 30
	for _, og := range l.ogs {
		l.uc = min(l.uc, l.fams[og.b-1].U)
	}
	// A band's patch and transformed tiles take at most half of L2; a
	// chunk's transformed tiles at most L2, but one image at least.
	_, l2, _ := kernels.Caches()
	perRow := 4 * L * ((l.m+2)*(l.tw*l.m+2) + l.a*l.a*l.tw)
	l.R = max(1, min(l.th, l2/2/perRow))
	l.imgs = max(1, min(s.N, l2/(4*l.chunkLen(1))))
	if testGradCut[0] > 0 {
		l.R, l.imgs = min(l.th, testGradCut[0]), min(s.N, testGradCut[1])
	}
	l.bands = ceilDiv(l.th, l.R)
	l.bmax = 0
	for _, og := range l.ogs {
		l.bmax = max(l.bmax, og.b)
	}
	// A product item's sums (alpha^2 x its output blocks x gc channels)
	// take at most half of L2, so that the output transform reads them
	// from there; and the items are at least two per thread.
	perChan := 4 * l.a * l.a * l.bmax * L
	l.gc = max(l.uc, l2/2/perChan/l.uc*l.uc)
	for l.gc > l.uc && len(l.ogs)*ceilDiv(s.CPerG, l.gc) < 2*l.threads {
		l.gc -= l.uc
	}
	l.gc = min(l.gc, ceilDiv(s.CPerG, l.uc)*l.uc)
	return l
}

// chunks is the chunks of images of a pass.
func (l *winoGradLayout) chunks() int { return ceilDiv(l.s.N, l.imgs) }

// productItems is the products' items: output groups x channel groups.
func (l *winoGradLayout) productItems() int { return len(l.ogs) * ceilDiv(l.s.CPerG, l.gc) }

// itemMLen is the floats of one product item's sums.
func (l *winoGradLayout) itemMLen() int { return l.a * l.a * l.bmax * l.gc * l.L }

// testGradCut, when set, is the tile rows per band and the images per
// chunk (tests: several of each on small problems).
var testGradCut [2]int

// tilesPer is the tiles of one image.
func (l *winoGradLayout) tilesPer() int { return l.th * l.tw }

// chunkLen is the floats of V and U for a chunk of imgs images.
func (l *winoGradLayout) chunkLen(imgs int) int {
	return l.a * l.a * imgs * l.tilesPer() * (l.s.CPerG + l.kb*l.L)
}

// Buffer sizes, in floats: shared (V, U, and the items' sums between
// chunks), per thread (a band's patch, its transformed tiles and a
// transform's scratch; or a finishing item's gradients and their two
// reorders, and with one chunk the item's sums).
func (l *winoGradLayout) vLen() int { return l.a * l.a * l.s.CPerG * l.imgs * l.tilesPer() }
func (l *winoGradLayout) uLen() int { return l.a * l.a * l.imgs * l.tilesPer() * l.kb * l.L }

// mLen is the sums kept between chunks: none for one chunk, whose items
// sum in their thread's scratch.
func (l *winoGradLayout) mLen() int {
	if l.chunks() == 1 {
		return 0
	}
	return l.productItems() * l.itemMLen()
}
func (l *winoGradLayout) patchLen() int {
	return max((l.R*l.m+2)*(l.tw*l.m+2), l.R*l.m*l.tw*l.m) * l.L
}
func (l *winoGradLayout) bandLen() int { return l.a * l.a * l.R * l.tw * l.L }
func (l *winoGradLayout) tmpLen() int  { return l.a*l.a*l.L + 4*l.a }
func (l *winoGradLayout) finishLen() int {
	n := 3 * 9 * l.gc * l.L
	if l.chunks() == 1 {
		n += l.itemMLen()
	}
	return n
}
func (l *winoGradLayout) scratchLen() int {
	return max(l.patchLen()+l.bandLen(), l.finishLen()) + l.tmpLen()
}

// maxRow is the widest row a Transposer moves: a patch row, a band's
// tiles, or a block of dW's rows.
func (l *winoGradLayout) maxRow() int {
	return max(l.tw*l.m+2, l.R*l.tw, 9*l.gc)
}

// threadsOf is the threads the layout keeps buffers for.
func (l *winoGradLayout) threadsOf() int { return l.threads }

// bytes is the pass's workspace: V, U and M, and per thread its scratch
// and Transposer.
func (l *winoGradLayout) bytes() int64 {
	perThread := 4*int64(l.scratchLen()) + transposerBytes(l.L, l.maxRow())
	return 4*int64(l.vLen()+l.uLen()+l.mLen()) + int64(l.threadsOf())*perThread
}

// cycles models the pass on one thread, as winoLayout.itemCycles models
// the forward: the products as the direct model charges a tile (per
// step, the max of the FMA and load cycles and the FMA chain; tileCall a
// call), the transforms by their operations and memory accesses, and the
// copies and reorders by their vectors.
func (l *winoGradLayout) cycles() float64 {
	s := l.s
	tiles := float64(s.N * l.tilesPer())
	chunks := float64(ceilDiv(s.N, l.imgs))
	var perStep, calls float64
	for _, og := range l.ogs {
		for c0 := 0; c0 < s.CPerG; c0 += l.uc {
			u, b := float64(min(l.uc, s.CPerG-c0)), float64(og.b)
			perStep += max(u*b/2, (u+b)/2, fmaChain)
			calls++
		}
	}
	xi := float64(l.a * l.a)
	products := xi * (perStep*tiles + calls*chunks*tileCall)
	in := transformCycles(l.v, winograd.In) * float64(l.cb) * tiles
	dy := transformCycles(l.v, winograd.GradDy) * float64(l.kb) * tiles
	dw := transformCycles(l.v, winograd.GradDw) * float64(l.kb*s.CPerG)
	copies := float64(s.N*l.bands*l.patchLen()*(l.cb+l.kb)) / float64(l.L)
	reorders := 2 * float64(l.chunkLen(1)) * float64(s.N) / float64(l.L)
	return float64(s.Groups) * (products + in + dy + dw + copies + reorders)
}

// winoGrad runs a winoGradLayout on a team.
type winoGrad struct {
	*winoGradLayout
	team       *workers.Team
	in, gdy    *winograd.Transform
	gdw        *winograd.Transform
	dyShape    *Shape // dy as the input of a problem: its blocks copied as x's are
	taps       *direct.Taps
	v, u, mAcc []float32
	scratch    [][]float32
	tr         []*direct.Transposer
	args       []*direct.Args
	call       winoGradCall
}

// winoGradCall is the call in progress.
type winoGradCall struct {
	phase      int
	x, dy, dw  []float32
	accumulate bool
	g          int  // conv group
	n0, imgs   int  // the chunk's images
	first      bool // the first chunk: the sums start
	last       bool // the last chunk: the sums end in dW
	items, per int
}

// The phases of a chunk.
const (
	gradTransforms = iota
	gradProducts
)

func newWinoGrad(l *winoGradLayout) *winoGrad {
	isa := kernels.Current()
	e := &winoGrad{winoGradLayout: l, team: workers.NewTeam(l.threadsOf())}
	e.in = winograd.NewTransform(l.v, winograd.In, isa)
	e.gdy = winograd.NewTransform(l.v, winograd.GradDy, isa)
	e.gdw = winograd.NewTransform(l.v, winograd.GradDw, isa)
	if e.in.Lanes != l.L {
		panic("conv: the Winograd transforms and the tile kernels disagree on the vector width")
	}
	ds := *l.s
	ds.C, ds.CPerG, ds.In, ds.InSize = l.s.K, l.s.KPerG, l.s.Out, l.s.OutLen
	ds.PadBefore, ds.PadAfter, ds.PaddingMode = []int{0, 0}, []int{0, 0}, Zeros
	e.dyShape = &ds
	e.taps = direct.NewTaps([]int{0, 0})
	e.v, e.u = make([]float32, l.vLen()), make([]float32, l.uLen())
	if n := l.mLen(); n > 0 {
		e.mAcc = make([]float32, n)
	}
	e.args = newArgs(l.threadsOf())
	for range l.threadsOf() {
		e.scratch = append(e.scratch, make([]float32, l.scratchLen()))
		e.tr = append(e.tr, direct.NewTransposer(isa, l.L, l.maxRow()))
	}
	return e
}

// backwardFilter computes dW (adding it with accumulate) from the forward
// problem's input x and output gradient dy.
func (e *winoGrad) backwardFilter(dw, x, dy []float32, accumulate bool) {
	s := e.s
	for g := 0; g < s.Groups; g++ {
		for n0 := 0; n0 < s.N; n0 += e.imgs {
			imgs := min(e.imgs, s.N-n0)
			c := winoGradCall{x: x, dy: dy, dw: dw, accumulate: accumulate, g: g, n0: n0, imgs: imgs, first: n0 == 0, last: n0+imgs == s.N}
			c.phase, c.items = gradTransforms, imgs*e.bands*(e.cb+e.kb)
			e.run(c)
			c.phase, c.items = gradProducts, e.productItems()
			e.run(c)
		}
	}
}

func (e *winoGrad) run(c winoGradCall) {
	var parts int
	c.per, parts = splitItems(e.team, c.items)
	e.call = c
	runParts(e.team, e, parts)
	e.call = winoGradCall{}
}

// Run computes one part of the call in progress (workers.Task).
func (e *winoGrad) Run(part int) {
	c := &e.call
	lo, hi := part*c.per, min(c.items, (part+1)*c.per)
	for i := lo; i < hi; i++ {
		if c.phase == gradProducts {
			e.product(part, i)
			continue
		}
		blocks := e.cb + e.kb
		blk, band, img := i%blocks, i/blocks%e.bands, i/blocks/e.bands
		if x, j := e.transformOf(blk); x {
			e.transformX(part, img, band, j)
		} else {
			e.transformDy(part, img, band, j)
		}
	}
}

var _ workers.Task = (*winoGrad)(nil)

// transformOf maps block blk of a band's transforms to an input block
// (x true) or an output block of dy, alternating while both remain, so
// that a part of consecutive items holds some of each.
func (l *winoGradLayout) transformOf(blk int) (x bool, j int) {
	both := 2 * min(l.cb, l.kb)
	switch {
	case blk < both:
		return blk%2 == 0, blk / 2
	case l.cb > l.kb:
		return true, blk - both + l.kb
	}
	return false, blk - both + l.cb
}

// band is band b's first tile row and tile rows, and the chunk's tiles.
func (e *winoGrad) band(b int) (tr0, rows, tc int) {
	tr0 = b * e.R
	return tr0, min(e.R, e.th-tr0), e.call.imgs * e.tilesPer()
}

// transformX transforms channel block cb of image img of the chunk over
// tile band b into the channel planes of V[xi][c][t].
func (e *winoGrad) transformX(part, img, b, cb int) {
	c := &e.call
	L, a := e.L, e.a
	tr0, rows, tc := e.band(b)
	buf := e.scratch[part]
	patch, vb, tmp := buf[:e.patchLen()], buf[e.patchLen():][:e.bandLen()], buf[e.patchLen()+e.bandLen():][:e.tmpLen()]
	rowLen := (e.tw*e.m + 2) * L
	copyPatchBlock(e.tr[part], patch, c.x, e.s, rowLen, c.n0+img, c.g, cb, tr0*e.m, 0, rows*e.m+2, e.tw*e.m+2)
	bt := rows * e.tw // the band's tiles
	for r := 0; r < rows; r++ {
		e.in.Run(vb[r*e.tw*L:], patch[r*e.m*rowLen:], tmp, nil, e.tw, rowLen, e.R*e.tw*L)
	}
	t0 := img*e.tilesPer() + tr0*e.tw
	c0 := cb * L
	nch := min(L, e.s.CPerG-c0)
	for xi := 0; xi < a*a; xi++ {
		dst := e.v[(xi*e.s.CPerG+c0)*tc+t0:]
		e.tr[part].Deinterleave(dst, tc, nch, vb[xi*e.R*e.tw*L:][:bt*L], bt)
	}
}

// transformDy transforms output block ob of image img of the chunk over
// tile band b into U[xi][t][Kp] (the band's dy zero past its edge).
func (e *winoGrad) transformDy(part, img, b, ob int) {
	c := &e.call
	L := e.L
	tr0, rows, tc := e.band(b)
	buf := e.scratch[part]
	patch, tmp := buf[:e.patchLen()], buf[e.patchLen()+e.bandLen():][:e.tmpLen()]
	rowLen := e.tw * e.m * L
	copyPatchBlock(e.tr[part], patch, c.dy, e.dyShape, rowLen, c.n0+img, c.g, ob, tr0*e.m, 0, rows*e.m, e.tw*e.m)
	// A call per tile, straight into U's pixels: a call over a row wrote
	// its tiles a vector apart, and moving them into place cost three
	// times the transform (resnet_3x3_c64).
	kp := e.kb * L
	t0 := img*e.tilesPer() + tr0*e.tw
	for r := 0; r < rows; r++ {
		for j := 0; j < e.tw; j++ {
			t := t0 + r*e.tw + j
			e.gdy.Run(e.u[t*kp+ob*L:], patch[r*e.m*rowLen+j*e.m*L:], tmp, nil, 1, rowLen, tc*kp)
		}
	}
}

// product sums the chunk's tiles into product item i's sums, an output
// group's blocks by gc input channels for every xi ([xi][block][c][L]),
// xi by xi so that each reads V[xi] and
// U[xi] while in cache (a row of cn "pixels" under one check); after the
// last chunk, it finishes the item.
func (e *winoGrad) product(part, i int) {
	c := &e.call
	s, L := e.s, e.L
	cgs := ceilDiv(s.CPerG, e.gc)
	og, cg0 := e.ogs[i/cgs], i%cgs*e.gc
	cn := min(e.gc, s.CPerG-cg0)
	tc := c.imgs * e.tilesPer()
	kp := e.kb * L
	sums := e.itemSums(part, i)
	a := e.args[part]
	*a = direct.Args{Taps: e.taps, ICB: tc, SrcICB: 4, WICB: 4 * kp, SrcPix: 4 * tc, DstPix: 4 * L, DstOCB: 4 * cn * L}
	if !c.first {
		a.Flags = direct.Accumulate
	}
	fam := e.fams[og.b-1]
	xiLen := og.b * cn * L
	for xi := 0; xi < e.a*e.a; xi++ {
		w := e.u[xi*tc*kp+og.ob0*L:]
		fam.TileRow(cn, sums[xi*xiLen:], e.v[(xi*s.CPerG+cg0)*tc:], w, a, nil, nil)
	}
	if c.last {
		e.finish(part, og, cg0, cn, sums)
	}
}

// itemSums is product item i's sums: in the pass's buffer between
// chunks, else in the thread's scratch.
func (e *winoGrad) itemSums(part, i int) []float32 {
	if e.mAcc != nil {
		return e.mAcc[i*e.itemMLen():][:e.itemMLen()]
	}
	return e.scratch[part][3*9*e.gc*e.L:][:e.itemMLen()]
}

// finish turns an item's sums (output group og, input channels [c0,
// c0+cn)) into its 3 x 3 gradients and moves them into PyTorch's
// [K][C/groups][3][3] dW of the call's conv group (adding with
// accumulate): per output block, GradDw into [tap][c][L], reordered to
// [c][tap][L], then unpacked into L rows of dW.
func (e *winoGrad) finish(part int, og ocGroup, c0, cn int, sums []float32) {
	c := &e.call
	s, L := e.s, e.L
	buf := e.scratch[part]
	n := 9 * cn * L
	byTap, byChan, unb := buf[:n], buf[n:2*n], buf[2*n:3*n]
	tmp := buf[len(buf)-e.tmpLen():]
	rowLen := 9 * s.CPerG
	for o := 0; o < og.b; o++ {
		e.gdw.Run(byTap, sums[o*cn*L:], tmp, nil, cn, og.b*cn*L, cn*L)
		for t := 0; t < 9; t++ {
			copyVectors(byChan[t*L:], 9*L, byTap[t*cn*L:][:cn*L], L, cn)
		}
		kl := (og.ob0 + o) * L
		nk := min(L, s.KPerG-kl)
		dst := c.dw[(c.g*s.KPerG+kl)*rowLen+9*c0:]
		if !c.accumulate {
			e.tr[part].Deinterleave(dst, rowLen, nk, byChan, 9*cn)
			continue
		}
		e.tr[part].Deinterleave(unb, 9*cn, nk, byChan, 9*cn)
		for k := 0; k < nk; k++ {
			row := dst[k*rowLen:][:9*cn]
			kernels.Add(row, unb[k*9*cn:][:9*cn], row)
		}
	}
}
