package workers

import (
	"sync/atomic"
	"testing"
	"time"
)

// counter counts the runs of each part.
type counter struct{ runs [8]atomic.Int32 }

func (c *counter) Run(part int) { c.runs[part].Add(1) }

// TestTeamRunsEveryPartOnce runs tasks of every part count, polling and
// parked in turn, and checks each part ran exactly once per task.
func TestTeamRunsEveryPartOnce(t *testing.T) {
	tm := NewTeam(4)
	for round := range 50 {
		parts := round%4 + 1
		var c counter
		if round%3 == 0 {
			tm.RunParked(&c, parts)
		} else {
			tm.Run(&c, parts)
		}
		for i := range c.runs {
			want := int32(0)
			if i < parts {
				want = 1
			}
			if got := c.runs[i].Load(); got != want {
				t.Fatalf("round %d, %d parts: part %d ran %d times", round, parts, i, got)
			}
		}
		if round%10 == 9 {
			time.Sleep(2 * SpinFor) // the helpers park in between
		}
	}
}

func TestTeamAllocatesNothing(t *testing.T) {
	tm := NewTeam(3)
	var c counter
	tm.Run(&c, 3) // start the helpers
	if n := testing.AllocsPerRun(20, func() { tm.Run(&c, 3); tm.RunParked(&c, 2) }); n != 0 {
		t.Errorf("%v allocations per Run", n)
	}
}

func TestTeamRefusesMoreParts(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("5 parts on a team of 4: no panic")
		}
	}()
	NewTeam(4).Run(&counter{}, 5)
}

// panicky panics in part 0 after the helpers' parts have started.
type panicky struct{ counter }

func (p *panicky) Run(part int) {
	p.counter.Run(part)
	if part == 0 {
		panic("part 0")
	}
	time.Sleep(time.Millisecond)
}

// TestTeamPanicInPartZero checks that a panic on the caller's part waits
// for the helpers, so that the next Run waits for its own.
func TestTeamPanicInPartZero(t *testing.T) {
	tm := NewTeam(3)
	func() {
		defer func() { recover() }()
		tm.Run(&panicky{}, 3)
	}()
	var c counter
	tm.Run(&slow{&c}, 3)
	for i := range 3 {
		if c.runs[i].Load() != 1 {
			t.Fatalf("after a panic: part %d ran %d times by the time Run returned", i, c.runs[i].Load())
		}
	}
}

// slow counts a part after a pause, so that a Run that returns early
// shows.
type slow struct{ c *counter }

func (s *slow) Run(part int) {
	time.Sleep(2 * time.Millisecond)
	s.c.Run(part)
}
