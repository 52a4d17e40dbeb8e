//go:build unix

package kernels

import (
	"fmt"
	"runtime/debug"
	"testing"

	"github.com/convkit/convkit/internal/guardpage"
	"github.com/convkit/convkit/internal/prng"
)

// guardKernels calls each vector kernel with args of the lengths its
// contract allows at the tightest (every slice exactly n long).
var guardKernels = []struct {
	name string
	args []string
	call func(v *VecKernels, a [][]float32)
}{
	{"Axpy", []string{"x", "y"}, func(v *VecKernels, a [][]float32) { v.Axpy(0.5, a[0], a[1]) }},
	{"Dot", []string{"x", "y"}, func(v *VecKernels, a [][]float32) { guardSink += v.Dot(a[0], a[1]) }},
	{"Scale", []string{"x"}, func(v *VecKernels, a [][]float32) { v.Scale(0.5, a[0]) }},
	{"Add", []string{"dst", "x", "y"}, func(v *VecKernels, a [][]float32) { v.Add(a[0], a[1], a[2]) }},
	{"Relu", []string{"dst", "x"}, func(v *VecKernels, a [][]float32) { v.Relu(a[0], a[1]) }},
	{"ReluBackward", []string{"dx", "x", "dy"}, func(v *VecKernels, a [][]float32) { v.ReluBackward(a[0], a[1], a[2]) }},
	{"Max", []string{"x"}, func(v *VecKernels, a [][]float32) { guardSink += v.Max(a[0]) }},
	{"Sum", []string{"x"}, func(v *VecKernels, a [][]float32) { guardSink += v.Sum(a[0]) }},
}

var guardSink float32

// guardLengths: every length up to past two unrolled AVX-512 blocks' worth
// of tails, then a few large ones.
func guardLengths() []int {
	var ns []int
	for n := 0; n <= 70; n++ {
		ns = append(ns, n)
	}
	return append(ns, 127, 128, 129, 255, 1021, 4099, 65537)
}

// TestVecGuardPages places each argument of each kernel, in turn, flush
// against a PROT_NONE page, after its last element (End) and before its
// first (Start): a kernel that reads or writes one byte outside its slices
// faults, and the fault is reported with the case that caused it. The
// other arguments are ordinary slices; the result must match the kernel's
// run on ordinary slices.
func TestVecGuardPages(t *testing.T) {
	eachISA(t, func(t *testing.T, tab *Table) {
		for _, k := range guardKernels {
			for pos, argName := range k.args {
				for _, place := range []string{"End", "Start"} {
					for _, n := range guardLengths() {
						what := fmt.Sprintf("%s: %s n=%d against the guard page at its %s", k.name, argName, n, place)
						guardCase(t, &tab.Vec, k.call, len(k.args), pos, place == "End", n, what)
					}
				}
			}
		}
	})
}

func guardCase(t *testing.T, v *VecKernels, call func(*VecKernels, [][]float32), nargs, pos int, end bool, n int, what string) {
	t.Helper()
	args, ref := make([][]float32, nargs), make([][]float32, nargs)
	for i := range args {
		if i == pos {
			var buf *guardpage.Buffer
			if end {
				args[i], buf = guardpage.End(n)
			} else {
				args[i], buf = guardpage.Start(n)
			}
			defer buf.Free()
		} else {
			args[i] = make([]float32, n)
		}
		prng.Fill(args[i], uint32(17*n+i+1))
		ref[i] = clone(args[i])
	}
	guardSink = 0
	func() {
		// A fault in the kernel becomes a panic recovered here, not a
		// crash of the whole test binary (the setting is per goroutine).
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if e := recover(); e != nil {
				t.Fatalf("%s: %v", what, e)
			}
		}()
		call(v, args)
	}()
	got := guardSink
	guardSink = 0
	call(v, ref)
	if !sameBits(got, guardSink) {
		t.Errorf("%s: result %v, on ordinary slices %v", what, got, guardSink)
	}
	for i := range args {
		checkBits(t, what+fmt.Sprintf(" (arg %d after the call)", i), args[i], ref[i])
	}
}
