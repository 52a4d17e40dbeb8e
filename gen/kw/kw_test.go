package kw

import (
	"strings"
	"testing"
)

func TestParseSig(t *testing.T) {
	s := parseSig("F", "func(alpha float32, x, y []float32, n int, p *float32) float32")
	want := []Param{{"alpha", Float32, "float32"}, {"x", Float32Slice, "[]float32"}, {"y", Float32Slice, "[]float32"}, {"n", Int, "int"}, {"p", Float32Ptr, "*float32"}}
	if len(s.Params) != len(want) {
		t.Fatalf("params %v, want %v", s.Params, want)
	}
	for i := range want {
		if s.Params[i] != want[i] {
			t.Errorf("param %d = %v, want %v", i, s.Params[i], want[i])
		}
	}
	if s.Result == nil || *s.Result != Float32 || !s.hasPointers() {
		t.Errorf("result %v, pointers %v", s.Result, s.hasPointers())
	}
	if s := parseSig("G", "func(iters int) int"); s.hasPointers() || *s.Result != Int {
		t.Errorf("func(iters int) int: %+v", s)
	}
	for _, bad := range []string{"func(x []float64)", "func(x)", "fun(x int)", "func(x int) (int, int)"} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "signature") {
					t.Errorf("%q: panic %v, want a signature error", bad, r)
				}
			}()
			parseSig("H", bad)
		}()
	}
}

// code builds an instruction list from a compact script: "r0 r1" mentions
// registers, "L:name" places a label, "J:name" jumps to it.
func code(regs []*vreg, script ...string) []inst {
	var out []inst
	for _, s := range script {
		in := inst{emit: func() {}}
		for _, f := range strings.Fields(s) {
			switch {
			case strings.HasPrefix(f, "L:"):
				in.label = f[2:]
			case strings.HasPrefix(f, "J:"):
				in.target = f[2:]
			default:
				in.regs = append(in.regs, regs[int(f[1]-'0')])
			}
		}
		out = append(out, in)
	}
	return out
}

func vregs(n int) []*vreg {
	rs := make([]*vreg, n)
	for i := range rs {
		rs[i] = &vreg{vector: true, phys: -1}
	}
	return rs
}

// TestAllocateLoop: r0 is defined before a loop and read inside it, r1 is a
// temporary of the loop body, r2 lives only after the loop. r1 must not take
// r0's register (r0 is read again next iteration); r2 may reuse anything.
func TestAllocateLoop(t *testing.T) {
	r := vregs(3)
	c := code(r, "r0", "L:top", "r0", "r1", "r1 J:top", "r2")
	allocate("loop", c, []int{0, 1}, nil)
	if r[0].end != 4 {
		t.Errorf("r0 live to %d, want the backward branch at 4", r[0].end)
	}
	if r[0].phys == r[1].phys {
		t.Errorf("r0 and r1 share register %d across the loop", r[0].phys)
	}
}

// TestAllocateReuse: registers whose intervals do not overlap share one.
func TestAllocateReuse(t *testing.T) {
	r := vregs(3)
	allocate("seq", code(r, "r0", "r0", "r1", "r1", "r2"), []int{7}, nil)
	for i, x := range r {
		if x.phys != 7 {
			t.Errorf("r%d got %d, want the only register 7", i, x.phys)
		}
	}
}

func TestAllocateExhausted(t *testing.T) {
	r := vregs(3)
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(string), "more than 2 live vector") {
			t.Errorf("panic %v, want a register-pressure error", p)
		}
	}()
	allocate("pressure", code(r, "r0 r1 r2"), []int{0, 1}, nil)
}

// TestAllocateMidEntry: a loop entered other than at its top is refused
// (the loop rule would let r1 and r2 share a register: r1 is written
// after the entry point and read next time round before r2's use).
func TestAllocateMidEntry(t *testing.T) {
	r := vregs(3)
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(string), "entered in the middle") {
			t.Errorf("panic %v, want a mid-loop entry error", p)
		}
	}()
	allocate("mid", code(r, "r0", "J:mid", "L:top", "r2", "r2", "r1", "L:mid", "r1", "r0 J:top"), []int{0, 1}, nil)
}
