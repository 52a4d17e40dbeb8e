// Package workers runs a call's work on a fixed team of goroutines that
// poll briefly before parking, so back-to-back calls (the common case in a
// network) hand work over without a futex wake-up.
package workers

import (
	"runtime"
	"time"
)

// SpinFor is how long a worker (and a caller waiting for its workers)
// polls before blocking on a channel. Waking a parked goroutine costs tens
// of microseconds on a VM (futex wake and reschedule), as much as a whole
// 128^3 product.
const SpinFor = 50 * time.Microsecond

// Recv takes one value from c, polling for up to SpinFor before blocking.
// With yield, the poll lets other goroutines run now and then
// (runtime.Gosched); without, it spins. A caller should wait without
// yielding when every thread of the call has a P of its own: a caller
// locked to its OS thread (runtime.LockOSThread) cannot Gosched without
// handing its P over and sleeping until the scheduler gives it back, two
// futex calls that cost more than a 256^3 product split in two (measured:
// 2 threads ran at 0.57x the unlocked speed).
func Recv[T any](c chan T, yield bool) (T, bool) {
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
			if time.Since(start) > SpinFor {
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

// Task is work split into parts numbered from 0: Run(part) computes one.
type Task interface {
	Run(part int)
}

// Team runs the parts of a Task on up to Size goroutines: the caller and
// Size-1 helpers started on first need. The helpers hold no reference to
// the Team, so an unreachable Team is collected and its cleanup stops
// them. A Team runs one Task at a time: it must not be used by two
// goroutines at once. Run allocates nothing once the helpers exist.
type Team struct {
	size int
	crew *crew
}

type crew struct {
	parts chan part
	done  chan struct{}
}

type part struct {
	t    Task
	i    int
	park bool // after this part, wait for the next without polling
}

// NewTeam returns a team of size goroutines (at least 1).
func NewTeam(size int) *Team { return &Team{size: max(1, size)} }

// Size returns the team's goroutine count.
func (tm *Team) Size() int { return tm.size }

// Run computes parts [0, parts) of t, parts <= Size: part 0 on the calling
// goroutine, the others on the helpers, and returns when all are done.
func (tm *Team) Run(t Task, parts int) { tm.run(t, parts, false) }

// RunParked is Run, after which the helpers wait for the next task
// parked rather than polling: for a task followed by work on other
// goroutines (a multi-threaded GEMM), whose cores the polling would take.
func (tm *Team) RunParked(t Task, parts int) { tm.run(t, parts, true) }

func (tm *Team) run(t Task, parts int, park bool) {
	if parts > tm.size {
		panic("workers: more parts than the team has goroutines")
	}
	if parts <= 1 {
		if parts == 1 {
			t.Run(0)
		}
		return
	}
	if tm.crew == nil {
		c := &crew{parts: make(chan part, tm.size), done: make(chan struct{}, tm.size)}
		for range tm.size - 1 {
			go c.work()
		}
		runtime.AddCleanup(tm, func(c *crew) { close(c.parts) }, c)
		tm.crew = c
	}
	for i := 1; i < parts; i++ {
		tm.crew.parts <- part{t, i, park}
	}
	// Wait for the helpers even when part 0 panics: their done tokens
	// must not be left for the next Run to take.
	defer tm.crew.wait(parts)
	t.Run(0)
}

// wait takes the done tokens of parts-1 helpers.
func (c *crew) wait(parts int) {
	yield := runtime.GOMAXPROCS(0) < parts // else the helpers run beside this goroutine
	for i := 1; i < parts; i++ {
		Recv(c.done, yield)
	}
}

func (c *crew) work() {
	park := false
	for {
		var p part
		var ok bool
		if park {
			p, ok = <-c.parts
		} else {
			p, ok = Recv(c.parts, true)
		}
		if !ok {
			return
		}
		p.t.Run(p.i)
		park = p.park
		c.done <- struct{}{}
	}
}
