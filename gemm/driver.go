package gemm

import (
	"unsafe"

	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/kernels"
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

// Direct (unpacked) operands: below these sizes the packing traffic costs
// more than it saves. B read in place is re-read once per MR rows of C, so
// it pays to pack it only when m is large. A read in place is re-read once
// per NR columns of C; a row-major A streams well through the R kernels
// (each k step reads MR rows in order), a transposed one, read MR floats
// at a time at stride lda, does not. Measured on the AVX2 host, one thread,
// A/B in one process: reading a row-major A in place was 3-10% faster at
// n = 196..517 and even at n = 2048, 1-2% slower at n = 1024; reading a
// transposed A in place was 20-25% slower at n = 512.
var (
	directMaxM  = 128 // m <= directMaxM: B is read in place (when not transposed)
	directMaxN  = 768 // n <= directMaxN: a row-major A is read in place
	directMaxNT = 128 // n <= directMaxNT: a transposed A is read in place
)

// forcePacking overrides the direct/packed choice of the generated paths,
// for tests (so every kernel family member runs in every operand form).
var forcePacking packing

type packing int

const (
	packAuto packing = iota
	packAll          // pack A and B
	packNone         // read A and B in place (B is still packed when transposed)
	packSwap         // compute every transposed-B product as C^T (runSwapped)
)

// job is one thread's share of a product: the rows [i0, i0+m) and columns
// [j0, j0+n) of C.
type job struct {
	p            *problem
	i0, m, j0, n int
	ws           *workspace
	k0, k1       int // k1 > 0: a matrix-vector partial sum over k in [k0, k1) (gemvSplitK)
}

// problem is one validated call, with the kernels chosen for it.
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

	fast  *tileKernels        // nil: the portable path
	micro kernels.GemmKernels // the portable path's micro-kernel
	bl    blocking
	swap  bool                // compute C^T = op(B)^T op(A)^T (see runSwapped)
	gemv  gemvForm            // gemvNone: a tile path
	vec   *kernels.VecKernels // runGemv's kernels
}

func (j *job) run() {
	if j.m == 0 || j.n == 0 {
		return
	}
	switch {
	case j.k1 > 0:
		j.ws.gemvPartial(j.p, j.k0, j.k1)
	case j.p.gemv != gemvNone:
		j.ws.runGemv(j.p, j.p.vec, j.i0, j.m, j.j0, j.n)
	case j.p.fast != nil && j.p.swap:
		j.ws.runSwapped(j.p, j.i0, j.m, j.j0, j.n)
	case j.p.fast != nil:
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

// runFast computes a sub-block of C with a generated kernel family.
func (w *workspace) runFast(p *problem, i0, m, j0, n int) {
	tk := p.fast
	MR, NR := tk.mr, tk.nr
	k := p.k
	packA := n > directMaxN
	if p.transA {
		packA = n > directMaxNT
	}
	packB := p.transB || m > directMaxM
	switch forcePacking {
	case packAll:
		packA, packB = true, true
	case packNone:
		packA, packB = false, p.transB
	}
	ncMax := balance(n, p.bl.nc, NR)
	kcStep := kcStepFor(p, NR, ncMax, packA, packB)
	if forcePacking == packAuto {
		rows := min(k, kcStep)
		if !packB && !p.bl.readsBInPlace(p.b, j0, p.ldb, rows) {
			packB = true
			rows = min(k, kcStepFor(p, NR, ncMax, packA, packB))
		}
		// A transposed A read in place uses MR floats of each 64-byte line
		// it fetches; once its panel outgrows half of L1 every tile along
		// the row fetches those lines again from L2. Measured on the AVX2
		// host (one thread, interleaved, transA, m = n): in place 10% faster
		// at k = 96..256, packed 12-26% faster at k = 512..2048 (64..128
		// wide); at n = 32 (two column panels) in place stays 7% ahead.
		if !packA && p.transA && (n > 2*NR && rows*64 > p.bl.l1/2 || !p.bl.panelFits(p.lda, rows)) {
			packA = true
		}
		kcStep = kcStepFor(p, NR, ncMax, packA, packB)
	}
	kcMax := balance(k, kcStep, 4)
	mcMax := balance(m, p.bl.mc, MR)
	if packA {
		w.ensureA(ceilDiv(mcMax, MR)*(kcMax*MR+16) + packSlack)
	}
	// slab is the depth of one packing pass over B. A transposed B is
	// packed from its rows, one short run of kc floats per row and pass:
	// too short for the hardware prefetchers when B comes from memory.
	// Packing several kc slices in one pass (kept in L3) makes the runs
	// longer; the kernels still take kc at a time.
	slab := kcMax
	if packB && p.transB {
		slab = kcMax * max(1, min(4, p.bl.l3/4/(4*roundUp(ncMax, NR)*kcMax)))
	}
	if len(w.zero) < slab {
		w.zero = make([]float32, slab)
	}
	if packB {
		w.ensureB(ceilDiv(ncMax, NR)*(slab*NR+16) + packSlack)
	}
	for jc := 0; jc < n; jc += ncMax {
		nc := min(ncMax, n-jc)
		for ps := 0; ps < k; ps += slab {
			kcs := min(slab, k-ps)
			// bps is the stride of B's packed panels. Row-order packing
			// writes one row of every panel in turn; panels a multiple of
			// 4 KiB apart would put all those stores in one L1 set, so such
			// a stride gets one cache line more.
			bps := kcs * NR
			if !p.transB && bps%1024 == 0 {
				bps += 16
			}
			if packB {
				if p.transB {
					tk.packStridedFast(w.b, p.b, p.ldb, j0+jc, nc, ps, kcs, NR, w.zero)
				} else {
					tk.packRowsFast(w.b, p.b, p.ldb, j0+jc, nc, ps, kcs, NR, bps)
				}
			}
			for pc := ps; pc < ps+kcs; pc += kcMax {
				kc := min(kcMax, ps+kcs-pc)
				beta := p.beta
				if pc > 0 {
					beta = 1
				}
				for ic := 0; ic < m; ic += mcMax {
					mc := min(mcMax, m-ic)
					// aps is the stride of A's packed panels: padded like
					// B's (bps) when they are packed in row order.
					aps := kc * MR
					if p.transA && aps%1024 == 0 {
						aps += 16
					}
					if packA {
						if p.transA {
							tk.packRowsFast(w.a, p.a, p.lda, i0+ic, mc, pc, kc, MR, aps)
						} else {
							tk.packStridedFast(w.a, p.a, p.lda, i0+ic, mc, pc, kc, MR, w.zero)
						}
					}
					// aAt returns the A operand of the tile rows starting at ir:
					// its address, stride, and the kernel family to use.
					aAt := func(ir int) (*float32, int, *[maxMR]kernelFunc) {
						row := i0 + ic + ir
						switch {
						case packA:
							return &w.a[ir/MR*aps], MR, &tk.p
						case p.transA:
							return &p.a[pc*p.lda+row], p.lda, &tk.p
						default:
							return &p.a[row*p.lda+pc], p.lda, &tk.r
						}
					}
					bAt := func(jr int) (*float32, int) {
						if packB {
							return &w.b[jr/NR*bps+(pc-ps)*NR], NR
						}
						return &p.b[pc*p.ldb+j0+jc+jr], p.ldb
					}
					cAt := func(ir, jr int) *float32 { return &p.c[(i0+ic+ir)*p.ldc+j0+jc+jr] }
					full, remM := mc/MR, mc%MR
					if packA {
						// BLIS order: a kc x NR panel of B stays in L1 while
						// the packed A block streams from L2; one kernel call
						// runs down the whole column of full tiles.
						an := aps
						fam := &tk.p
						if !packB && tk.q[0] != nil && !p.bl.stripInL1(p.ldb, kc) {
							// B in place, its strip evicted from L1 between
							// the tiles by set conflicts: prefetch its rows.
							fam = &tk.q
						}
						for jr := 0; jr < nc; jr += NR {
							nr := min(NR, nc-jr)
							bp, sb := bAt(jr)
							if full > 0 {
								fam[MR-1](kc, &w.a[0], MR, bp, sb, cAt(0, jr), p.ldc, nr, p.alpha, beta, full, an, 0, MR*p.ldc)
							}
							if remM > 0 {
								fam[remM-1](kc, &w.a[full*aps], MR, bp, sb, cAt(full*MR, jr), p.ldc, nr, p.alpha, beta, 1, 0, 0, 0)
							}
						}
					} else {
						// A read in place: use each A micro-panel for every
						// column panel while it is in L1, so A (possibly
						// coming from memory) is fetched once and evenly
						// between the kernels rather than in one burst; one
						// kernel call runs along the row of full tiles.
						fullN, remN := nc/NR, nc%NR
						bn := NR
						if packB {
							bn = bps
						}
						for ir := 0; ir < mc; ir += MR {
							mr := min(MR, mc-ir)
							ap, sa, fam := aAt(ir)
							if fullN > 0 {
								bp, sb := bAt(0)
								fam[mr-1](kc, ap, sa, bp, sb, cAt(ir, 0), p.ldc, NR, p.alpha, beta, fullN, 0, bn, NR)
							}
							if remN > 0 {
								bp, sb := bAt(fullN * NR)
								fam[mr-1](kc, ap, sa, bp, sb, cAt(ir, fullN*NR), p.ldc, remN, p.alpha, beta, 1, 0, 0, 0)
							}
						}
					}
				}
			}
		}
	}
}

// kcStepFor is the k blocking of runFast for the chosen operand forms.
func kcStepFor(p *problem, NR, ncMax int, packA, packB bool) int {
	kcStep := p.bl.kc
	if !packA {
		// A read in place (n is small): nothing of A needs to stay in L1
		// between kernels, so let the kc x nc block of B fill half of L2
		// instead. Longer runs along each row of A let the hardware
		// prefetchers stream it from memory (tall-skinny products are
		// bound by that stream).
		kcStep = max(kcStep, min(1024, p.bl.l2/2/(4*roundUp(ncMax, NR)))&^7)
	}
	if !packB {
		// B read in place (m is small): its kc x NR panel is reused only
		// down one short column of tiles, so let it take all of L1: fewer
		// passes over C and fewer kernel calls (conv-shaped products,
		// 64 x 3136 x 576: +2.5% on the AVX2 host).
		kcStep = max(kcStep, p.bl.l1/(4*NR)&^7)
	}
	return kcStep
}

// swapFor reports whether runSwapped should compute the product: B
// transposed and m small. B then needs a transposing pack in runFast, and
// each of its elements is used only m times, so that pack (bound by the
// short runs it reads from memory) costs a fifth of the time; as C^T, the
// stored B is a row-major left operand that the R kernels stream in place,
// and only the small A is packed.
func swapFor(transB bool, m, n int) bool {
	if forcePacking == packSwap {
		return transB
	}
	return forcePacking == packAuto && transB && m <= directMaxM && n > m
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
	packBT := !p.transA || mT > directMaxM || !p.bl.readsBInPlace(p.a, i0, p.lda, min(k, p.bl.kc))
	ncMax := balance(nT, p.bl.nc, NR)
	kcStep := max(p.bl.kc, min(1024, p.bl.l2/2/(4*roundUp(ncMax, NR)))&^7)
	kcMax := balance(k, kcStep, 4)
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
	kcMax := balance(k, p.bl.kc, 1)
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
