package gemm

import "runtime"

// pool is a Context's helper goroutines. They hold no reference to the
// Context, so an unreachable Context is collected and its cleanup stops
// them.
type pool struct {
	jobs chan *job
	done chan struct{}
}

func (p *pool) worker() {
	for j := range p.jobs {
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
	for i := 1; i < t; i++ {
		<-ctx.pool.done
	}
}
