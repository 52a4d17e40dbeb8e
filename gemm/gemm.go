package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/convkit/convkit/internal/shape"
)

// Context runs SGEMMs with a fixed thread count and a workspace that is
// sized on first use and reused, so that steady-state calls allocate
// nothing. A Context must not be used by two goroutines at once.
type Context struct {
	threads int
	ws      []*workspace // one per thread
	pool    *pool        // the threads-1 helper goroutines, started on first need
	jobs    []job
	prob    problem // the call in progress (held here so it does not escape per call)
}

// NewContext returns a Context that runs on threads goroutines
// (threads <= 0 means runtime.GOMAXPROCS(0)).
func NewContext(threads int) *Context {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	ctx := &Context{threads: threads, ws: make([]*workspace, threads), jobs: make([]job, threads)}
	for i := range ctx.ws {
		ctx.ws[i] = new(workspace)
	}
	return ctx
}

// Threads returns the Context's thread count.
func (ctx *Context) Threads() int { return ctx.threads }

// defaultContexts serve the package-level Sgemm: a pooled Context keeps its
// workspace between calls, so repeated calls do not page-fault fresh
// buffers in every time.
var defaultContexts = sync.Pool{New: func() any { return NewContext(0) }}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major float32
// matrices, where op(X) is X or its transpose, op(A) is m x k, op(B) is
// k x n and C is m x n. As in BLAS, beta == 0 means C is not read (NaN in C
// is overwritten) and alpha == 0 means A and B are not read.
// Invalid arguments panic with a message naming the parameter.
// It runs on runtime.GOMAXPROCS(0) threads; use a Context to choose.
//
// Concurrent calls share the GOMAXPROCS threads rather than each taking
// all of them: a call uses the threads that the calls already running
// leave free (at least one), so goroutines calling Sgemm side by side do
// not oversubscribe the CPU with spinning helpers.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	procs := runtime.GOMAXPROCS(0)
	ctx := defaultContexts.Get().(*Context)
	if ctx.threads != procs {
		ctx = NewContext(procs)
	}
	t := 1 // what a small product runs on anyway (parallelMinWork)
	if float64(m)*float64(n)*float64(k) >= parallelMinWork {
		t = max(1, procs-int(threadsInUse.Load()))
	}
	threadsInUse.Add(int32(t))
	defer threadsInUse.Add(-int32(t)) // also when the arguments panic
	ctx.sgemm(t, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	defaultContexts.Put(ctx)
}

// threadsInUse counts the threads held by package-level Sgemm calls in
// flight.
var threadsInUse atomic.Int32

// Sgemm is the package-level Sgemm on this Context's threads and workspace.
func (ctx *Context) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ctx.sgemm(ctx.threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemm runs on at most maxThreads of the Context's threads.
func (ctx *Context) sgemm(maxThreads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	ctx.prob = problem{
		transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
	}
	defer func() { ctx.prob = problem{} }() // drop the caller's slices
	p := &ctx.prob
	sel := current.Load()
	p.fast, p.micro, p.bl = sel.fast, sel.micro, sel.bl
	if sel.narrow != nil && n <= sel.narrow.nr && (transA || k <= narrowMaxK) {
		// A row-major A is read in place at small n, MR rows at a time:
		// twelve long row streams at once lose to six (2048 x 8 x 2048:
		// 0.64x, 1000 x 5 x 4096: 0.66x), short ones win (3136 x 8 x 576:
		// 1.31x, 256 x 8 x 256: 1.40x), as does a packed, transposed A
		// (2048 x 8 x 2048: 1.49x); AVX2 host, interleaved.
		p.fast, p.bl = sel.narrow, sel.nbl
	}
	p.swap = p.fast != nil && swapFor(transB, m, n)
	if forcePacking == packAuto {
		rows := min(k, sel.bl.kc)
		packA := !sel.bl.panelFits(lda, rows)
		packB := !sel.bl.readsBInPlace(b, 0, ldb, rows)
		p.gemv, p.vec = gemvFormFor(transA, transB, m, n, k, sel.bl.l1, packA, packB), sel.vec
	}
	mr, nr := p.micro.MR, p.micro.NR
	if p.fast != nil {
		mr, nr = p.fast.mr, p.fast.nr
	}

	// Split C into independent blocks, one per thread (in whole tiles).
	// Each thread packs its own panels: the shared operand is packed once
	// per thread, which costs about threads/n (or threads/m) of the work
	// and needs no barrier.
	t := min(ctx.threads, maxThreads)
	if float64(m)*float64(n)*float64(k) < parallelMinWork { // in float64: no overflow
		t = 1
	}
	if (p.gemv == gemvAxpyA || p.gemv == gemvAxpyB) && t > 1 {
		// Split along the output, each thread streams a piece of every
		// matrix row; pieces under about 4 KiB defeat the prefetchers.
		// Measured on the AVX2 host, 2 threads vs 1, interleaved:
		// 1 x 1000 x 4096 0.93x, 1 x 4096 x 4096 1.45x, 4096 x 1 x 4096
		// (A transposed) 1.32x. A short output splits k instead.
		if max(m, n)/gemvAxpyMinPiece < t {
			ctx.gemvSplitK(p, t, m, n)
			return
		}
	}
	// Split the longer side, so the operand that every thread reads whole
	// (A when splitting n, B when splitting m) is the smaller one, unless
	// whole-tile chunks of it balance clearly worse than the other side's.
	chunkN := roundUp(ceilDiv(n, t), nr)
	chunkM := roundUp(ceilDiv(m, t), mr)
	overN := float64(chunkN*t) / float64(n) // largest share / fair share
	overM := float64(chunkM*t) / float64(m)
	splitN := n >= m
	if splitN && overN > 1.03*overM {
		splitN = false
	} else if !splitN && overM > 1.03*overN {
		splitN = true
	}
	if t <= 1 || (splitN && chunkN >= n) || (!splitN && chunkM >= m) {
		ctx.jobs[0] = job{p: p, i0: 0, m: m, j0: 0, n: n, ws: ctx.ws[0]}
		ctx.jobs[0].run()
		ctx.jobs[0] = job{}
		return
	}
	chunk := chunkM
	if splitN {
		chunk = chunkN
		t = ceilDiv(n, chunk)
	} else {
		t = ceilDiv(m, chunk)
	}
	for i := 0; i < t; i++ {
		j := job{p: p, i0: 0, m: m, j0: 0, n: n, ws: ctx.ws[i]}
		if splitN {
			j.j0, j.n = i*chunk, min(chunk, n-i*chunk)
		} else {
			j.i0, j.m = i*chunk, min(chunk, m-i*chunk)
		}
		ctx.jobs[i] = j
	}
	ctx.runParallel(t)
	clear(ctx.jobs)
}

// narrowMaxK bounds k for the narrow tile family with a row-major A.
const narrowMaxK = 1024

// parallelMin is the smallest m*n*k worth waking a second thread for: the
// hand-off costs a few microseconds, about what 64^3 takes on one core.
const parallelMinWork = 96 * 96 * 96

// checkArgs panics in the caller's goroutine, naming the parameter and its
// values, on any argument that would make the kernels read or write
// outside a slice. The checks cannot overflow: with huge sizes or strides
// a wrapped length requirement would pass and the kernels would index out
// of range on a helper goroutine, or read at wrapped offsets.
func checkArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	const op = shape.Op("gemm")
	panicIf(op.NonNegative("m", m))
	panicIf(op.NonNegative("n", n))
	panicIf(op.NonNegative("k", k))
	rowsA, colsA, dimsA := m, k, "m x k"
	if transA {
		rowsA, colsA, dimsA = k, m, "k x m"
	}
	rowsB, colsB, dimsB := k, n, "k x n"
	if transB {
		rowsB, colsB, dimsB = n, k, "n x k"
	}
	panicIf(op.Matrix("a", dimsA, rowsA, colsA, lda, len(a)))
	panicIf(op.Matrix("b", dimsB, rowsB, colsB, ldb, len(b)))
	panicIf(op.Matrix("c", "m x n", m, n, ldc, len(c)))
}

// panicIf panics with a failed argument check.
func panicIf(err error) {
	if err != nil {
		panic(err)
	}
}
