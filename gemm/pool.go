package gemm

import (
	"runtime"
	"time"
)

// pool is a Context's helper goroutines. They hold no reference to the
// Context, so an unreachable Context is collected and its cleanup stops
// them.
type pool struct {
	jobs chan *job
	done chan struct{}
}

// spinFor is how long a helper (and the caller, waiting for the helpers)
// polls before blocking on a channel. Waking a parked goroutine costs tens
// of microseconds on a VM (futex wake and reschedule), as much as a whole
// 128^3 product; back-to-back calls, the common case in a network, find
// the helpers still polling.
const spinFor = 50 * time.Microsecond

// recv takes one value from c, polling for up to spinFor before blocking.
func recv[T any](c chan T) (T, bool) {
	select {
	case v, ok := <-c:
		return v, ok
	default:
	}
	start := time.Now()
	for i := 0; ; i++ {
		select {
		case v, ok := <-c:
			return v, ok
		default:
		}
		if i&63 == 63 {
			if time.Since(start) > spinFor {
				break
			}
			runtime.Gosched()
		}
	}
	v, ok := <-c
	return v, ok
}

func (p *pool) worker() {
	for {
		j, ok := recv(p.jobs)
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
	for i := 1; i < t; i++ {
		recv(ctx.pool.done)
	}
}
