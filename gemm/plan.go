package gemm

import "github.com/convkit/convkit/kernels"

// plan is how one call runs, decided by Context.planFor before any loop
// starts: the path, its kernels and blocking, how the tiles read their
// operands, and how the work is divided among the threads. The loops
// (runFast, runSwapped, runMicro, runGemv) only carry it out, so every
// decision is made once per call, in one place. Context.last keeps the
// plan of the last call, for the tests.
//
// Whatever the thread count, every element of C is summed in the same
// order: the k blocking (tiles.kc) and the k chunks of the axpy forms
// (kChunk) come from the whole problem, and the split only decides which
// thread computes which elements (or chunks), in whole tiles (or groups of
// four rows for the dot forms). Which operands are packed does not change
// a sum: the kernels read the same values in the same order from panels or
// in place. So the operand forms follow the block each thread computes.
type plan struct {
	path   pathKind
	fast   *tileKernels        // the generated tile family (nil: the portable path, and the portable loops of the matrix-vector forms)
	micro  kernels.GemmKernels // the portable path's micro-kernel
	vec    *kernels.VecKernels // the vector kernels of the matrix-vector forms
	bl     blocking            // the cache blocking of the tile shape
	gemv   gemvForm            // pathGemv: the form
	tiles  tilePlan            // pathTiles, pathSwapped, pathPortable: operand forms and k blocking
	kChunk int                 // pathGemv, axpy forms: k is summed in chunks of kChunk, added in order
	split  split
}

// pathKind is the driver that runs a call.
type pathKind int

const (
	pathNone     pathKind = iota // no product: m, n, k or alpha is 0 (C is only scaled)
	pathTiles                    // runFast: C with a generated tile family
	pathSwapped                  // runSwapped: C^T = op(B)^T op(A)^T with a generated tile family
	pathPortable                 // runMicro: kernels.GemmKernels.Micro on packed, zero-padded panels
	pathGemv                     // runGemv: a matrix-vector form (gemv.go)
)

var pathNames = [...]string{"none", "tiles", "swapped", "portable", "gemv"}

func (k pathKind) String() string { return pathNames[k] }

// tilePlan is how a tile path reads its operands and blocks k. It
// describes the product the kernels compute: C = op(A) op(B), or on
// pathSwapped C^T = op(B)^T op(A)^T, whose left operand (the stored B) is
// always read in place and whose right operand is op(A)^T.
type tilePlan struct {
	packA, packB  bool // the left / right operand is copied into panels (else read in place)
	addressPacksB bool // packB only because B's rows start off 64-byte lines in memory (no effect on kc)
	prefetchB     bool // a right operand read in place goes through the Q kernels wherever its strip cannot stay in L1 (stripInL1)
	kc            int  // k is summed in blocks of kc (the last one shorter), the same for every thread
}

// split is how a call's work is divided into jobs, one per thread.
type split struct {
	jobs  int  // 1: the calling goroutine computes everything
	byN   bool // the jobs take chunk columns of C each (else chunk rows)
	byK   bool // an axpy form's jobs take k chunks each, summed by the caller (gemvSplitK)
	chunk int  // rows or columns per job, one taking the rest (not byK; see piece)
}

// piece returns the start and size of job i's rows or columns out of
// total. The pieces start at multiples of chunk (the dot forms of the
// matrix-vector products sum in groups of rows from 0, so a start off the
// grid would change a sum); the last one takes what is left, which may be
// more than chunk (splitC). Job 0, which the calling goroutine runs while
// the helpers wake up, takes the largest: the first piece, or the last
// when that is the larger (then job i takes piece i-1).
func (s split) piece(i, total int) (start, size int) {
	last := s.jobs - 1
	if total-last*s.chunk > s.chunk {
		i = (i + last) % s.jobs
	}
	start = i * s.chunk
	if i == last {
		return start, total - start
	}
	return start, min(s.chunk, total-start)
}

// forcing overrides the planner for the tests: set on one Context
// (Context.force), it holds for that Context only, so tests that force
// different paths run in parallel. The zero value overrides nothing.
type forcing struct {
	sel  *selection // the kernels and blocking to plan with, instead of the bound path's (current)
	pack packing    // the tile operand forms; a forced one also turns the matrix-vector forms off
	gemv gemvForm   // this matrix-vector form wherever the shape admits it (gemvAdmits), else the tiles
}

type packing int

const (
	packAuto packing = iota
	packAll          // pack A and B
	packNone         // read A and B in place (B is still packed when transposed)
	packSwap         // compute every transposed-B product as C^T (runSwapped)
)

// planFor fills p.plan for the validated call in p, to run on at most
// maxThreads of the Context's threads.
func (ctx *Context) planFor(p *problem, maxThreads int) {
	sel := ctx.force.sel
	if sel == nil {
		sel = current.Load()
	}
	pl := &p.plan
	pl.fast, pl.micro, pl.bl, pl.vec = sel.fast, sel.micro, sel.bl, sel.vec
	if sel.narrow != nil && p.n <= sel.narrow.nr && (p.transA || p.k <= narrowMaxK) {
		// A row-major A is read in place at small n, MR rows at a time:
		// twelve long row streams at once lose to six (2048 x 8 x 2048:
		// 0.64x, 1000 x 5 x 4096: 0.66x), short ones win (3136 x 8 x 576:
		// 1.31x, 256 x 8 x 256: 1.40x), as does a packed, transposed A
		// (2048 x 8 x 2048: 1.49x); AVX2 host, interleaved.
		pl.fast, pl.bl = sel.narrow, sel.nbl
	}
	pl.path = pathPortable
	pl.tiles = tilePlan{packA: true, packB: true, kc: balance(p.k, pl.bl.kc, 1)}
	if pl.fast != nil {
		pl.path, pl.tiles = pathTiles, planTiles(p, p.m, p.n, 0, ctx.force.pack)
	}
	pl.gemv = ctx.gemvFor(p)
	switch {
	case pl.gemv != gemvNone:
		pl.path, pl.tiles = pathGemv, tilePlan{}
		pl.kChunk = gemvKChunk(p.k)
	case pl.fast != nil && swapFor(ctx.force.pack, p.transB, p.m, p.n):
		pl.path, pl.tiles = pathSwapped, planSwapped(p, p.m, p.n, 0)
	}
	pl.split = ctx.splitFor(p, min(ctx.threads, maxThreads))
	if pl.split.jobs > 1 && (pl.path == pathTiles || pl.path == pathSwapped) {
		pl.tiles = blockForms(p, ctx.force.pack)
	}
}

// blockForms is the tile plan of a call split over threads: the operand
// forms pay off by the size of the block each thread computes (the
// thresholds were measured per thread), while the k blocking stays the
// whole call's, so that C does not depend on the split.
func blockForms(p *problem, force packing) tilePlan {
	s := p.split
	total := p.m
	if s.byN {
		total = p.n
	}
	_, lead := s.piece(0, total) // the largest block
	m, n, offM, offN := p.m, lead, 0, s.chunk
	if !s.byN {
		m, n, offM, offN = lead, p.n, s.chunk, 0
	}
	var tp tilePlan
	if p.path == pathTiles {
		tp = planTiles(p, m, n, offN, force)
	} else {
		tp = planSwapped(p, m, n, offM)
	}
	tp.kc = p.tiles.kc
	return tp
}

// gemvFor is the matrix-vector form of the call: the forced one where the
// shape admits it, else gemvFormFor's choice, told whether the tiles would
// pack the matrix (none under a forced tile path).
func (ctx *Context) gemvFor(p *problem) gemvForm {
	if f := ctx.force.gemv; f != gemvNone {
		if gemvAdmits(f, p.transA, p.transB, p.m, p.n) {
			return f
		}
		return gemvNone
	}
	if ctx.force.pack != packAuto {
		return gemvNone
	}
	// The tiles' packing as the shape decides it (not where B happens to
	// start): the form orders the sums.
	return gemvFormFor(p.transA, p.transB, p.m, p.n, p.k, p.bl.l1, p.tiles.packA, p.tiles.packB && !p.tiles.addressPacksB)
}

// planTiles decides runFast's operand forms and k blocking for blocks of
// m x n of C, the columns of the later blocks starting off (a multiple of
// the first block's n; 0: one block).
//
// Direct (unpacked) operands: below directMaxM and the directMaxN pair the
// packing traffic costs more than it saves. B read in place is re-read
// once per MR rows of C, so it pays to pack it only when m is large. A read
// in place is re-read once per NR columns of C; a row-major A streams well
// through the R kernels (each k step reads MR rows in order), a transposed
// one, read MR floats at a time at stride lda, does not. An operand read in
// place must also map its rows to enough cache sets and, for B, start them
// on cache lines in every block (readsBInPlace, panelFits).
func planTiles(p *problem, m, n, off int, force packing) tilePlan {
	NR := p.fast.nr
	packA := n > directMaxN
	if p.transA {
		// A transposed A read in place takes MR floats from each of kc
		// rows lda apart: from memory or L3 that is a latency-bound walk
		// across pages, where packing it streams whole rows. So an A that
		// does not fit in L2 is packed whatever n (backward-data's W^T of
		// a conv layer with many channels and few positions:
		// 1152x49x512 in 4608-float rows, ...).
		packA = n > directMaxNT || 4*float64(m)*float64(p.k) > float64(p.bl.l2)
	}
	packB := p.transB || m > directMaxM
	switch force {
	case packAll:
		packA, packB = true, true
	case packNone:
		packA, packB = false, p.transB
	}
	ncMax := balance(n, p.bl.nc, NR)
	kcStep := kcStepFor(p, NR, ncMax, packA, packB)
	addressPacksB := false
	if force == packAuto {
		rows := min(p.k, kcStep)
		// The shape's own rules first: B's rows alias into few cache sets
		// or do not start 64-byte lines at every row (ldb % 16).
		if !packB && !(p.bl.panelFits(p.ldb, rows) && rowsOnLines(p.ldb)) {
			packB = true
			rows = min(p.k, kcStepFor(p, NR, ncMax, packA, packB))
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
		// Where the caller's B starts may still pack it (rows off 64-byte
		// lines split every vector load), but it changes neither kc nor
		// anything else that orders a sum: the same operands give the same
		// bits wherever they sit in memory.
		if !packB && !startsOnLine(p.b, off) {
			packB, addressPacksB = true, true
		}
	}
	return tilePlan{packA: packA, packB: packB, addressPacksB: addressPacksB, prefetchB: !packB && p.fast.q[0] != nil, kc: balance(p.k, kcStep, 4)}
}

// Measured on the AVX2 host, one thread, A/B in one process: reading a
// row-major A in place was 3-10% faster at n = 196..517 and even at
// n = 2048, 1-2% slower at n = 1024; reading a transposed A in place was
// 20-25% slower at n = 512.
var (
	directMaxM  = 128 // m <= directMaxM: B is read in place (when not transposed)
	directMaxN  = 768 // n <= directMaxN: a row-major A is read in place
	directMaxNT = 128 // n <= directMaxNT: a transposed A is read in place
)

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
		if packA && p.fast.q[0] != nil {
			// The Q kernels fetch the next strip while they sweep this
			// one, so a strip streams from L2 whatever its depth: let the
			// packed A block (m rows) fill half of L2 instead, down to one
			// pass over C. Zen 4, one thread, interleaved, 64x3136x576:
			// kc = 576 median 108.8 GFLOPS, 192 105.0, 96 96.0.
			kcStep = max(kcStep, min(1024, p.bl.l2/2/(4*roundUp(p.m, p.fast.mr)))&^7)
		}
	}
	return kcStep
}

// swapFor reports whether runSwapped should compute the product: B
// transposed and m small. B then needs a transposing pack in runFast, and
// each of its elements is used only m times, so that pack (bound by the
// short runs it reads from memory) costs a fifth of the time; as C^T, the
// stored B is a row-major left operand that the R kernels stream in place,
// and only the small A is packed.
func swapFor(force packing, transB bool, m, n int) bool {
	if force == packSwap {
		return transB
	}
	return force == packAuto && transB && m <= directMaxM && n > m
}

// planSwapped decides runSwapped's operand forms and k blocking for
// blocks of m x n of C, the rows of the later blocks starting off (0: one
// block): the right operand of C^T, op(A)^T, is read in place where A is
// stored transposed (its rows are then C^T's columns), short and readable
// in place in every block; the k blocking lets a kc x nc block of it fill
// half of L2.
func planSwapped(p *problem, m, n, off int) tilePlan {
	NR := p.fast.nr
	packBT := !p.transA || n > directMaxM || !(p.bl.readsBInPlace(p.a, 0, p.lda, min(p.k, p.bl.kc)) && startsOnLine(p.a, off))
	ncMax := balance(m, p.bl.nc, NR)
	kcStep := max(p.bl.kc, min(1024, p.bl.l2/2/(4*roundUp(ncMax, NR)))&^7)
	return tilePlan{packB: packBT, kc: balance(p.k, kcStep, 4)}
}

// splitFor divides the planned call among at most t threads.
func (ctx *Context) splitFor(p *problem, t int) split {
	if float64(p.m)*float64(p.n)*float64(p.k) < parallelMinWork { // in float64: no overflow
		t = 1
	}
	if t <= 1 {
		return split{jobs: 1}
	}
	mr, nr := p.micro.MR, p.micro.NR
	switch {
	case p.path == pathGemv:
		if s, ok := gemvSplitFor(p, t); ok {
			return s
		}
		mr, nr = gemvSplitUnit, gemvSplitUnit
	case p.fast != nil:
		mr, nr = p.fast.mr, p.fast.nr
	}
	return splitC(p.m, p.n, t, mr, nr)
}

// splitC splits C into at most t blocks of whole mr x nr units, one per
// thread, the last block taking what is left (split.piece says which job
// runs it). Each thread packs its own panels: the shared operand is packed
// once per thread, which costs about t/n (or t/m) of the work and needs no
// barrier. It splits the longer side, so the operand that every thread
// reads whole (A when splitting n, B when splitting m) is the smaller one,
// unless whole-unit chunks of it balance clearly worse than the other
// side's.
func splitC(m, n, t, mr, nr int) split {
	chunkN, largestN := chunkFor(n, t, nr, false)
	chunkM, largestM := chunkFor(m, t, mr, true)
	overN := float64(largestN*t) / float64(n) // largest share / fair share
	overM := float64(largestM*t) / float64(m)
	byN := n >= m
	if byN && overN > 1.03*overM {
		byN = false
	} else if !byN && overM > 1.03*overN {
		byN = true
	}
	switch {
	case byN && chunkN < n:
		return split{jobs: min(t, ceilDiv(n, chunkN)), byN: true, chunk: chunkN}
	case !byN && chunkM < m:
		return split{jobs: min(t, ceilDiv(m, chunkM)), chunk: chunkM}
	}
	return split{jobs: 1}
}

// chunkFor is the size, a multiple of unit, of the pieces that split
// total among at most t jobs, the last one taking the rest, and the size
// of the largest piece. With down, the fair share may be rounded down,
// the rest then being the larger piece, where that balances better: 256
// rows of 14-row tiles on two threads split 126 + 130, not 140 + 116
// (256 x 196 x 2304 on Zen 4, two threads: 0.90x -> 0.97x oneDNN). That
// suits rows, whose tiles cost about their row count whatever it is; a
// part strip of columns costs its vectors, and 333 x 517 x 129 split
// 256 + 261 columns ran 10% slower than 288 + 229.
func chunkFor(total, t, unit int, down bool) (chunk, largest int) {
	fair := ceilDiv(total, t)
	chunk = roundUp(fair, unit)
	largest = chunk
	if d := fair / unit * unit; down && d > 0 && total-(t-1)*d < largest {
		chunk, largest = d, total-(t-1)*d
	}
	return chunk, largest
}

// narrowMaxK bounds k for the narrow tile family with a row-major A.
const narrowMaxK = 1024

// parallelMinWork is the smallest m*n*k worth waking a second thread
// for: the hand-off costs a few microseconds, about what 64^3 takes on
// one core.
const parallelMinWork = 96 * 96 * 96
