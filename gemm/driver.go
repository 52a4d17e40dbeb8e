package gemm

import (
	"unsafe"

	"github.com/convkit/convkit/asm"
)

// kernelFunc is one member of a generated kernel family: a rows x nr tile
// (nr <= NR) of C = alpha*A*B + beta*C, with A(i, p) = a[i+p*sa] (P
// kernels) or a[i*sa+p] (R kernels), B(p, j) = b[p*sb+j] and
// C(i, j) = c[i*ldc+j]; beta == 0 means C is not read. It repeats for
// tiles >= 1 tiles, advancing a, b and c by an, bn and cn elements between
// them, so one call covers a row or a column of tiles.
type kernelFunc func(k int, a *float32, sa int, b *float32, sb int, c *float32, ldc int, nr int, alpha, beta float32, tiles, an, bn, cn int)

// maxMR bounds the rows of every tile family.
const maxMR = 16

// tileKernels is one generated family: p[r-1] and r[r-1] compute r rows;
// q[r-1], where the family has it, is p[r-1] prefetching B's rows ahead,
// for a B read in place down a column of tiles.
type tileKernels struct {
	name    string
	mr, nr  int
	p, r, q [maxMR]kernelFunc
	role    asm.Role       // what the generated table lists it for
	rows    *asm.SgemmRows // the ISA's row kernels; nil: their Go twins
}

// job is one thread's share of a product: the rows [i0, i0+m) and columns
// [j0, j0+n) of C, or (part != nil) the k chunks [c0, c1) of an axpy form.
type job struct {
	p            *problem
	i0, m, j0, n int
	ws           *workspace
	c0, c1       int       // gemvSplitK: the k chunks (of p.kChunk) to sum
	part         []float32 // gemvSplitK: their sums, one q x out slot per chunk
}

// problem is one validated call and its plan.
type problem struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	c              []float32
	ldc            int

	plan
}

func (j *job) run() {
	if j.m == 0 || j.n == 0 {
		return
	}
	switch {
	case j.part != nil:
		j.ws.gemvPartial(j.p, j.c0, j.c1, j.part)
	case j.p.path == pathGemv:
		j.ws.runGemv(j.p, j.i0, j.m, j.j0, j.n)
	case j.p.path == pathSwapped:
		j.ws.runSwapped(j.p, j.i0, j.m, j.j0, j.n)
	case j.p.path == pathTiles:
		j.ws.runFast(j.p, j.i0, j.m, j.j0, j.n)
	default:
		j.ws.runMicro(j.p, j.i0, j.m, j.j0, j.n)
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
func roundUp(a, b int) int { return ceilDiv(a, b) * b }

// balance splits total into the fewest pieces of at most step (step a
// multiple of unit) and returns a piece size that makes them about equal,
// rounded up to unit: k = 257 with KC = 256 gives two blocks of 132, not
// 256 + 1.
func balance(total, step, unit int) int {
	if total <= step {
		return roundUp(total, unit)
	}
	return min(step, roundUp(ceilDiv(total, ceilDiv(total, step)), unit))
}

// runFast computes the block of C at rows [i0, i0+m) and columns
// [j0, j0+n) with the plan's tile family, in BLIS's loops: nc columns of
// B, then slabs of k (one packing pass over B each), then kc-deep slices,
// then mc rows of A, each block going to a macro-kernel.
func (w *workspace) runFast(p *problem, i0, m, j0, n int) {
	ncMax := balance(n, p.bl.nc, p.fast.nr)
	mcMax := balance(m, p.bl.mc, p.fast.mr)
	slab := w.sizeTiles(p, mcMax, ncMax)
	kcMax := p.tiles.kc
	for jc := 0; jc < n; jc += ncMax {
		nc := min(ncMax, n-jc)
		for ps := 0; ps < p.k; ps += slab {
			kcs := min(slab, p.k-ps)
			bps := w.packBSlab(p, j0+jc, nc, ps, kcs)
			for pc := ps; pc < ps+kcs; pc += kcMax {
				blk := macroBlock{j0: j0 + jc, n: nc, pc: pc, kc: min(kcMax, ps+kcs-pc), bk: pc - ps, bps: bps, beta: p.beta}
				if pc > 0 {
					blk.beta = 1
				}
				for ic := 0; ic < m; ic += mcMax {
					blk.i0, blk.m = i0+ic, min(mcMax, m-ic)
					if p.tiles.packA {
						blk.aps = w.packABlock(p, blk.i0, blk.m, pc, blk.kc)
						w.macroPackedA(p, &blk)
					} else {
						w.macroInPlaceA(p, &blk)
					}
				}
			}
		}
	}
}

// macroBlock is one block of runFast: rows [i0, i0+m) and columns
// [j0, j0+n) of C over the k slice [pc, pc+kc), which starts bk rows into
// B's packed slab; the packed panels of B and A are bps and aps floats
// apart.
type macroBlock struct {
	i0, m, j0, n int
	pc, kc, bk   int
	aps, bps     int
	beta         float32
}

// sizeTiles grows the workspace for runFast's blocks and returns slab,
// the depth of one packing pass over B.
func (w *workspace) sizeTiles(p *problem, mcMax, ncMax int) int {
	MR, NR, kcMax := p.fast.mr, p.fast.nr, p.tiles.kc
	if p.tiles.packA {
		w.ensureA(ceilDiv(mcMax, MR) * (kcMax*MR + 16)) // ensureA adds packSlack
	}
	// A transposed B is packed from its rows, one short run of kc floats
	// per row and pass: too short for the hardware prefetchers when B
	// comes from memory. Packing several kc slices in one pass (kept in L3)
	// makes the runs longer; the kernels still take kc at a time.
	slab := kcMax
	if p.tiles.packB && p.transB {
		slab = kcMax * max(1, min(4, p.bl.l3/4/(4*roundUp(ncMax, NR)*kcMax)))
	}
	if len(w.zero) < slab {
		w.zero = make([]float32, slab)
	}
	if p.tiles.packB {
		w.ensureB(ceilDiv(ncMax, NR) * (slab*NR + 16)) // ensureB adds packSlack
	}
	return slab
}

// packBSlab packs the rows [ps, ps+kcs) of B's columns [j, j+nc) into
// w.b when the plan packs B, and returns the stride of its panels.
func (w *workspace) packBSlab(p *problem, j, nc, ps, kcs int) int {
	NR := p.fast.nr
	// Row-order packing writes one row of every panel in turn; panels a
	// multiple of 4 KiB apart would put all those stores in one L1 set,
	// so such a stride gets one cache line more.
	bps := kcs * NR
	if !p.transB && bps%1024 == 0 {
		bps += 16
	}
	switch {
	case !p.tiles.packB:
	case p.transB:
		p.fast.packStridedFast(w.b, p.b, p.ldb, j, nc, ps, kcs, NR, w.zero)
	default:
		p.fast.packRowsFast(w.b, p.b, p.ldb, j, nc, ps, kcs, NR, bps)
	}
	return bps
}

// packABlock packs the rows [i, i+mc) of op(A) over the k slice
// [pc, pc+kc) into w.a and returns the stride of its panels (padded like
// B's when they are packed in row order).
func (w *workspace) packABlock(p *problem, i, mc, pc, kc int) int {
	MR := p.fast.mr
	aps := kc * MR
	if p.transA && aps%1024 == 0 {
		aps += 16
	}
	if p.transA {
		p.fast.packRowsFast(w.a, p.a, p.lda, i, mc, pc, kc, MR, aps)
	} else {
		p.fast.packStridedFast(w.a, p.a, p.lda, i, mc, pc, kc, MR, w.zero)
	}
	return aps
}

// bAt returns the tiles' right operand from column jr of the block: its
// address and row stride.
func (w *workspace) bAt(p *problem, blk *macroBlock, jr int) (*float32, int) {
	NR := p.fast.nr
	if p.tiles.packB {
		return &w.b[jr/NR*blk.bps+blk.bk*NR], NR
	}
	return &p.b[blk.pc*p.ldb+blk.j0+jr], p.ldb
}

// macroPackedA is the macro-kernel with A packed, in BLIS order: a
// kc x NR panel of B stays in L1 while the packed A block streams from
// L2; one kernel call runs down the whole column of full tiles.
func (w *workspace) macroPackedA(p *problem, blk *macroBlock) {
	tk := p.fast
	MR, NR := tk.mr, tk.nr
	full, remM := blk.m/MR, blk.m%MR
	fam := &tk.p
	if p.tiles.prefetchB && !p.bl.stripInL1(p.ldb, blk.kc) {
		// B in place, its strip evicted from L1 between the tiles by set
		// conflicts: prefetch its rows.
		fam = &tk.q
	}
	c := p.c[blk.i0*p.ldc+blk.j0:]
	for jr := 0; jr < blk.n; jr += NR {
		nr := min(NR, blk.n-jr)
		bp, sb := w.bAt(p, blk, jr)
		if full > 0 {
			fam[MR-1](blk.kc, &w.a[0], MR, bp, sb, &c[jr], p.ldc, nr, p.alpha, blk.beta, full, blk.aps, 0, MR*p.ldc)
		}
		if remM > 0 {
			fam[remM-1](blk.kc, &w.a[full*blk.aps], MR, bp, sb, &c[full*MR*p.ldc+jr], p.ldc, nr, p.alpha, blk.beta, 1, 0, 0, 0)
		}
	}
}

// macroInPlaceA is the macro-kernel with A read in place: each A
// micro-panel serves every column panel while it is in L1, so A (possibly
// coming from memory) is fetched once and evenly between the kernels
// rather than in one burst; one kernel call runs along the row of full
// tiles. A row-major A goes through the R kernels, a transposed one
// through the P kernels.
func (w *workspace) macroInPlaceA(p *problem, blk *macroBlock) {
	tk := p.fast
	MR, NR := tk.mr, tk.nr
	fullN, remN := blk.n/NR, blk.n%NR
	bn := NR
	if p.tiles.packB {
		bn = blk.bps
	}
	bp, sb := w.bAt(p, blk, 0)
	bpRem := bp
	if remN > 0 {
		bpRem, _ = w.bAt(p, blk, fullN*NR)
	}
	fam, rowStep, a0 := &tk.r, p.lda, blk.i0*p.lda+blk.pc // A(i, p) = a[i*lda+p]
	if p.transA {
		fam, rowStep, a0 = &tk.p, 1, blk.pc*p.lda+blk.i0 // A(i, p) = a[p*lda+i]
	}
	a := p.a[a0:]
	c := p.c[blk.i0*p.ldc+blk.j0:]
	for ir := 0; ir < blk.m; ir += MR {
		mr := min(MR, blk.m-ir)
		ap, cp := &a[ir*rowStep], c[ir*p.ldc:]
		if fullN > 0 {
			fam[mr-1](blk.kc, ap, p.lda, bp, sb, &cp[0], p.ldc, NR, p.alpha, blk.beta, fullN, 0, bn, NR)
		}
		if remN > 0 {
			fam[mr-1](blk.kc, ap, p.lda, bpRem, sb, &cp[fullN*NR], p.ldc, remN, p.alpha, blk.beta, 1, 0, 0, 0)
		}
	}
}

// runSwapped computes the same sub-block of C as runFast, as its transpose:
// C^T = op(B)^T op(A)^T, with op(B)^T = the stored B (n x k, row-major; B
// is transposed) read in place by the R kernels, and op(A)^T packed (or
// read in place when A is stored transposed and small). The kernels write
// a row of C^T tiles to a scratch block, which is added into C transposed.
func (w *workspace) runSwapped(p *problem, i0, m, j0, n int) {
	tk := p.fast
	MR, NR := tk.mr, tk.nr
	k := p.k
	mT, nT := n, m // C^T block: row r is column j0+r of C, column s row i0+s
	packBT, kcMax := p.tiles.packB, p.tiles.kc
	ncMax := balance(nT, p.bl.nc, NR)
	ld := roundUp(ncMax, NR)
	if len(w.scr) < MR*ld {
		w.scr = make([]float32, MR*ld)
	}
	if len(w.zero) < kcMax {
		w.zero = make([]float32, kcMax)
	}
	if packBT {
		w.ensureB(ld * kcMax)
	}
	for jc := 0; jc < nT; jc += ncMax {
		nc := min(ncMax, nT-jc)
		fullN, remN := nc/NR, nc%NR
		for pc := 0; pc < k; pc += kcMax {
			kc := min(kcMax, k-pc)
			beta := p.beta
			if pc > 0 {
				beta = 1
			}
			bp, sb, bn := (*float32)(nil), NR, NR*kc
			if packBT {
				if p.transA {
					tk.packContigFast(w.b, p.a, p.lda, i0+jc, nc, pc, kc, NR)
				} else {
					tk.packStridedFast(w.b, p.a, p.lda, i0+jc, nc, pc, kc, NR, w.zero)
				}
				bp = &w.b[0]
			} else {
				bp, sb, bn = &p.a[pc*p.lda+i0+jc], p.lda, NR
			}
			bAt := func(jr int) *float32 { return (*float32)(unsafe.Add(unsafe.Pointer(bp), 4*(jr/NR)*bn)) }
			for ir := 0; ir < mT; ir += MR {
				mr := min(MR, mT-ir)
				ap := &p.b[(j0+ir)*p.ldb+pc]
				if fullN > 0 {
					tk.r[mr-1](kc, ap, p.ldb, bAt(0), sb, &w.scr[0], ld, NR, 1, 0, fullN, 0, bn, NR)
				}
				if remN > 0 {
					tk.r[mr-1](kc, ap, p.ldb, bAt(fullN*NR), sb, &w.scr[fullN*NR], ld, remN, 1, 0, 1, 0, 0, 0)
				}
				// C(i0+jc+s, j0+ir+r) = alpha*scr[r][s] + beta*C.
				for s := 0; s < nc; s++ {
					off := (i0+jc+s)*p.ldc + j0 + ir
					row := p.c[off : off+mr]
					for r := range row {
						v := p.alpha * w.scr[r*ld+s]
						if beta != 0 {
							v += beta * row[r]
						}
						row[r] = v
					}
				}
			}
		}
	}
}

// runMicro computes a sub-block of C with kernels.Bound().Gemm.Micro on packed,
// zero-padded panels; edge tiles go through a scratch tile.
func (w *workspace) runMicro(p *problem, i0, m, j0, n int) {
	g := p.micro
	MR, NR := g.MR, g.NR
	k := p.k
	kcMax := p.tiles.kc
	mcMax := balance(m, p.bl.mc, MR)
	ncMax := balance(n, p.bl.nc, NR)
	w.ensureA(roundUp(mcMax, MR) * kcMax)
	w.ensureB(roundUp(ncMax, NR) * kcMax)
	if len(w.tile) < MR*NR {
		w.tile = make([]float32, MR*NR)
	}
	tile := w.tile[:MR*NR]
	for jc := 0; jc < n; jc += ncMax {
		nc := min(ncMax, n-jc)
		for pc := 0; pc < k; pc += kcMax {
			kc := min(kcMax, k-pc)
			beta := p.beta
			if pc > 0 {
				beta = 1
			}
			if p.transB {
				packStrided(w.b, p.b, p.ldb, j0+jc, nc, pc, kc, NR, true)
			} else {
				packContig(w.b, p.b, p.ldb, j0+jc, nc, pc, kc, NR, true)
			}
			for ic := 0; ic < m; ic += mcMax {
				mc := min(mcMax, m-ic)
				if p.transA {
					packContig(w.a, p.a, p.lda, i0+ic, mc, pc, kc, MR, true)
				} else {
					packStrided(w.a, p.a, p.lda, i0+ic, mc, pc, kc, MR, true)
				}
				for jr := 0; jr < nc; jr += NR {
					nr := min(NR, nc-jr)
					bp := w.b[jr*kc : jr*kc+kc*NR]
					for ir := 0; ir < mc; ir += MR {
						mr := min(MR, mc-ir)
						ap := w.a[ir*kc : ir*kc+kc*MR]
						off := (i0+ic+ir)*p.ldc + j0 + jc + jr
						if mr == MR && nr == NR {
							g.Micro(kc, ap, bp, p.c[off:], p.ldc, p.alpha, beta)
							continue
						}
						g.Micro(kc, ap, bp, tile, NR, p.alpha, 0)
						for i := 0; i < mr; i++ {
							dst := p.c[off+i*p.ldc : off+i*p.ldc+nr]
							src := tile[i*NR : i*NR+nr]
							if beta == 0 {
								copy(dst, src)
								continue
							}
							for j, v := range src {
								dst[j] = v + beta*dst[j]
							}
						}
					}
				}
			}
		}
	}
}

// scaleC computes C = beta*C over m x n (beta == 0 writes zeros without
// reading C): the whole product when alpha == 0 or k == 0.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// workspace holds one thread's packing buffers, 64-byte aligned, grown to
// the largest block seen and then reused: steady state allocates nothing
// (first-touch page faults are very expensive on the VMs this runs on).
type workspace struct {
	scr  []float32 // runSwapped's row of C^T tiles
	a, b []float32 // packed panels, with packSlack floats to spare
	tile []float32 // the portable path's edge tile
	zero []float32 // kc zeros: stand-in source rows for the transposing pack

	gx, gy, gacc []float32 // runGemv's gathered vectors and accumulator
	gpart        []float32 // sumK's sums of one k chunk
}

// packSlack is how far past its last panel a pack may write (see
// packStridedFast).
const packSlack = 16

func (w *workspace) ensureA(n int) {
	if len(w.a) < n+packSlack {
		w.a = alignedFloats(n + packSlack)
	}
}

func (w *workspace) ensureB(n int) {
	if len(w.b) < n+packSlack {
		w.b = alignedFloats(n + packSlack)
	}
}

// alignedFloats returns n float32 whose first element is 64-byte aligned.
func alignedFloats(n int) []float32 {
	s := make([]float32, n+16)
	off := int(uintptr(unsafe.Pointer(&s[0])) & 63 / 4)
	if off != 0 {
		off = 16 - off
	}
	return s[off : off+n : off+n]
}
