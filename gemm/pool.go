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
// With yield, the poll lets other goroutines run now and then
// (runtime.Gosched); without, it spins. The caller waits without yielding
// when every thread of the call has a P of its own: a caller locked to its
// OS thread (runtime.LockOSThread) cannot Gosched without handing its P
// over and sleeping until the scheduler gives it back, two futex calls
// that cost more than a 256^3 product split in two (measured: 2 threads
// ran at 0.57x the unlocked speed).
func recv[T any](c chan T, yield bool) (T, bool) {
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
			if yield {
				runtime.Gosched()
			}
		}
	}
	v, ok := <-c
	return v, ok
}

func (p *pool) worker() {
	for {
		j, ok := recv(p.jobs, true)
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
		recv(ctx.pool.done, yield)
	}
}
