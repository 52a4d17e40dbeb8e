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
// contract allows at the tightest: every slice exactly n long, or as lens
// says.
var guardKernels = []struct {
	name string
	args []string
	call func(v *VecKernels, a [][]float32)
	lens func(n int) []int
}{
	{"Axpy", []string{"x", "y"}, func(v *VecKernels, a [][]float32) { v.Axpy(0.5, a[0], a[1]) }, nil},
	{"Dot", []string{"x", "y"}, func(v *VecKernels, a [][]float32) { guardSink += v.Dot(a[0], a[1]) }, nil},
	{"Scale", []string{"x"}, func(v *VecKernels, a [][]float32) { v.Scale(0.5, a[0]) }, nil},
	{"Add", []string{"dst", "x", "y"}, func(v *VecKernels, a [][]float32) { v.Add(a[0], a[1], a[2]) }, nil},
	{"Relu", []string{"dst", "x"}, func(v *VecKernels, a [][]float32) { v.Relu(a[0], a[1]) }, nil},
	{"ReluBackward", []string{"dx", "x", "dy"}, func(v *VecKernels, a [][]float32) { v.ReluBackward(a[0], a[1], a[2]) }, nil},
	{"Max", []string{"x"}, func(v *VecKernels, a [][]float32) { guardSink += v.Max(a[0]) }, nil},
	{"Sum", []string{"x"}, func(v *VecKernels, a [][]float32) { guardSink += v.Sum(a[0]) }, nil},
	// The stride-2 kernels' strided slice has 2n-1 elements: the missing
	// half of the last pair is the first float of the guard page.
	{"Gather2", []string{"dst", "src"}, func(v *VecKernels, a [][]float32) { v.Gather2(a[0], a[1]) }, row2},
	{"ScatterAdd2", []string{"dst", "src"}, func(v *VecKernels, a [][]float32) { v.ScatterAdd2(a[0], a[1]) }, strided2},
	{"Interleave2", []string{"dst", "even", "odd"}, func(v *VecKernels, a [][]float32) { v.Interleave2(a[0], a[1], a[2]) },
		func(n int) []int { return []int{2 * n, n, n} }},
	// The shifted dots at step 7: y ends its last window's n floats in.
	{"DotShifts3", []string{"x", "y", "sums"}, func(v *VecKernels, a [][]float32) { v.DotShifts3(a[0], a[1], 7, a[2]) },
		func(n int) []int { return []int{n, n + 2*7, 3} }},
	{"DotShifts5", []string{"x", "y", "sums"}, func(v *VecKernels, a [][]float32) { v.DotShifts5(a[0], a[1], 7, a[2]) },
		func(n int) []int { return []int{n, n + 4*7, 5} }},
	// DotGrid3 on n/3 floats, x's windows 5 apart, y's n/3: both end
	// their last window's n/3 floats in.
	{"DotGrid3", []string{"x", "y", "sums"}, func(v *VecKernels, a [][]float32) { n := len(a[1]) / 3; v.DotGrid3(a[0], a[1], n, 5, n, a[2]) },
		func(n int) []int { m := n / 3; return []int{m + 2*5, 3 * m, 9} }},
	// CopyRows: 3 rows of n/3, dst's 2 floats apart, src's back to back.
	{"CopyRows", []string{"dst", "src"}, func(v *VecKernels, a [][]float32) { w := len(a[1]) / 3; v.CopyRows(a[0], a[1], 3, w, w+2, w) },
		func(n int) []int { w := n / 3; return []int{2*(w+2) + w, 3 * w} }},
	// The pooling kernels run one output row of n on two input rows of
	// 2n, back to back (w = 2n): 4n floats, the tightest they allow.
	{"MaxPool2", []string{"y", "x"}, func(v *VecKernels, a [][]float32) { v.MaxPool2(a[0], a[1], 1, len(a[0]), 2*len(a[0])) },
		func(n int) []int { return []int{n, 4 * n} }},
	{"MaxPool2Backward", []string{"dx", "x", "dy"},
		func(v *VecKernels, a [][]float32) { v.MaxPool2Backward(a[0], a[1], a[2], 1, len(a[2]), 2*len(a[2])) },
		func(n int) []int { return []int{4 * n, 4 * n, n} }},
}

// row2 and strided2 are the lengths of the stride-2 kernels' (dst, src)
// for n elements of the row: Gather2 gathers into it, ScatterAdd2 adds
// it in.
func row2(n int) []int     { return []int{n, max(2*n-1, 0)} }
func strided2(n int) []int { return []int{max(2*n-1, 0), n} }

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
						lens := make([]int, len(k.args))
						for i := range lens {
							lens[i] = n
						}
						if k.lens != nil {
							lens = k.lens(n)
						}
						what := fmt.Sprintf("%s: %s n=%d (len %d) against the guard page at its %s", k.name, argName, n, lens[pos], place)
						guardCase(t, &tab.Vec, k.call, lens, pos, place == "End", what)
					}
				}
			}
		}
	})
}

func guardCase(t *testing.T, v *VecKernels, call func(*VecKernels, [][]float32), lens []int, pos int, end bool, what string) {
	t.Helper()
	args, ref := make([][]float32, len(lens)), make([][]float32, len(lens))
	for i, n := range lens {
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
