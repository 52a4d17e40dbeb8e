package gemm

import (
	"runtime"

	"github.com/convkit/convkit/internal/workers"
)

// pool is a Context's helper goroutines. They hold no reference to the
// Context, so an unreachable Context is collected and its cleanup stops
// them.
type pool struct {
	jobs chan *job
	done chan struct{}
}

func (p *pool) worker() {
	for {
		j, ok := workers.Recv(p.jobs, true)
		if !ok {
			return
		}
		j.run()
		p.done <- struct{}{}
	}
}

// runParallel runs ctx.jobs[0:t]: jobs 1.. on the helpers, job 0 on the
// calling goroutine, and returns when all are done. Channel hand-offs of
// pointers to the Context's own job slots allocate nothing.
func (ctx *Context) runParallel(t int) {
	if ctx.pool == nil {
		p := &pool{jobs: make(chan *job, ctx.threads), done: make(chan struct{}, ctx.threads)}
		for i := 1; i < ctx.threads; i++ {
			go p.worker()
		}
		runtime.AddCleanup(ctx, func(p *pool) { close(p.jobs) }, p)
		ctx.pool = p
	}
	for i := 1; i < t; i++ {
		ctx.pool.jobs <- &ctx.jobs[i]
	}
	ctx.jobs[0].run()
	yield := runtime.GOMAXPROCS(0) < t // else the helpers run beside this goroutine
	for i := 1; i < t; i++ {
		workers.Recv(ctx.pool.done, yield)
	}
}
