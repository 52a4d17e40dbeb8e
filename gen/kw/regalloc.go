package kw

import (
	"fmt"
	"sort"
)

// vreg is a virtual register of a backend that allocates its own (NEON).
type vreg struct {
	vector     bool
	phys       int // assigned by allocate; -1 before
	start, end int // live interval, instruction indices
}

// inst is one recorded instruction: the registers it names, the label it
// places or jumps to (for the loop rule below), and its text, produced
// once the registers have physical numbers.
type inst struct {
	regs   []*vreg
	label  string // this instruction places label
	target string // this instruction may jump to target
	emit   func()
}

// allocate assigns physical registers by linear scan over live intervals.
// A register's interval runs from its first mention to its last; a
// register live into a loop (mentioned before the loop's label and inside
// or after it) is extended to the loop's backward branch, since the next
// iteration may read it again. The kernels use each virtual register as
// one variable, so this is exact enough and never unsafe. vecs and gps are
// the physical registers of each class, in allocation order.
func allocate(fn string, code []inst, vecs, gps []int) {
	var regs []*vreg
	seen := map[*vreg]bool{}
	for i, in := range code {
		for _, r := range in.regs {
			if !seen[r] {
				seen[r] = true
				r.start = i
				regs = append(regs, r)
			}
			r.end = i
		}
	}
	extendOverLoops(code, regs)
	sort.SliceStable(regs, func(i, j int) bool { return regs[i].start < regs[j].start })
	var active []*vreg
	free := map[bool][]int{true: append([]int(nil), vecs...), false: append([]int(nil), gps...)}
	for _, r := range regs {
		// Expire the intervals that ended before r starts (strictly: an
		// instruction's inputs and output never share a register).
		keep := active[:0]
		for _, a := range active {
			if a.end < r.start {
				free[a.vector] = append(free[a.vector], a.phys)
				sort.Ints(free[a.vector])
			} else {
				keep = append(keep, a)
			}
		}
		active = keep
		pool := free[r.vector]
		if len(pool) == 0 {
			panic(fmt.Sprintf("kw: %s needs more than %d live %s registers at instruction %d",
				fn, map[bool]int{true: len(vecs), false: len(gps)}[r.vector], map[bool]string{true: "vector", false: "general"}[r.vector], r.start))
		}
		r.phys, free[r.vector] = pool[0], pool[1:]
		active = append(active, r)
	}
}

// extendOverLoops applies the loop rule until nothing changes (nested
// loops may need several rounds).
func extendOverLoops(code []inst, regs []*vreg) {
	labels := map[string]int{}
	for i, in := range code {
		if in.label != "" {
			labels[in.label] = i
		}
	}
	checkLoopEntries(code, labels)
	for changed := true; changed; {
		changed = false
		for i, in := range code {
			top, ok := labels[in.target]
			if in.target == "" || !ok || top > i {
				continue
			}
			for _, r := range regs {
				if r.start < top && r.end >= top && r.end < i {
					r.end, changed = i, true
				}
			}
		}
	}
}

// checkLoopEntries panics if a branch from outside a loop (a label and a
// backward branch to it) targets a label strictly inside it: the loop
// rule of extendOverLoops assumes every loop is entered at its top.
func checkLoopEntries(code []inst, labels map[string]int) {
	for i, back := range code {
		top, ok := labels[back.target]
		if back.target == "" || !ok || top > i {
			continue
		}
		for j, in := range code {
			at, ok := labels[in.target]
			if in.target == "" || !ok || (j >= top && j <= i) {
				continue
			}
			if at > top && at <= i {
				panic(fmt.Sprintf("kw: the loop %s (instructions %d..%d) is entered in the middle, at %s, from instruction %d", back.target, top, i, in.target, j))
			}
		}
	}
}
