package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/convkit/convkit/internal/shape"
	"github.com/convkit/convkit/internal/workers"
)

// Context runs SGEMMs with a fixed thread count and a workspace that is
// sized on first use and reused, so that steady-state calls allocate
// nothing. A Context must not be used by two goroutines at once.
type Context struct {
	threads int
	ws      []*workspace  // one per thread
	team    *workers.Team // the threads-1 helper goroutines, started on first need
	jobs    jobSet
	prob    problem // the call in progress (held here so it does not escape per call)
	last    plan    // the plan of the last call, for the tests

	force    forcing   // the tests' override of the planner
	partials []float32 // gemvSplitK's sums, one slot per k chunk
}

// NewContext returns a Context that runs on threads goroutines
// (threads <= 0 means runtime.GOMAXPROCS(0)).
func NewContext(threads int) *Context {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	ctx := &Context{threads: threads, ws: make([]*workspace, threads), team: workers.NewTeam(threads), jobs: make(jobSet, threads)}
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
	ctx.last = plan{}
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
	defer func() { ctx.last, ctx.prob = ctx.prob.plan, problem{} }() // drop the caller's slices
	p := &ctx.prob
	ctx.planFor(p, maxThreads)
	ctx.run(p)
}

// run carries out the plan of p on the Context's threads.
func (ctx *Context) run(p *problem) {
	s := p.split
	switch {
	case s.byK:
		ctx.gemvSplitK(p)
		return
	case s.jobs <= 1:
		ctx.jobs[0] = job{p: p, m: p.m, n: p.n, ws: ctx.ws[0]}
		ctx.jobs[0].run()
		ctx.jobs[0] = job{}
		return
	}
	for i := range s.jobs {
		j := job{p: p, m: p.m, n: p.n, ws: ctx.ws[i]}
		if s.byN {
			j.j0, j.n = s.piece(i, p.n)
		} else {
			j.i0, j.m = s.piece(i, p.m)
		}
		ctx.jobs[i] = j
	}
	ctx.runParallel(s.jobs)
	clear(ctx.jobs[:s.jobs])
}

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
