package kernels

import (
	"testing"

	"github.com/convkit/convkit/internal/asmemu"
)

// The generated amd64 vector kernels also run through the assembly
// interpreter, on every host: eachISA adds a path "emu-<isa>" per amd64
// ISA, so every vector test covers the AVX2 and AVX-512 kernels whether
// or not the host can run them.

// emulatedISAs are the generated amd64 paths and the suffix of their
// kernels' names.
var emulatedISAs = []struct {
	isa    ISA
	suffix string
}{{AVX2, "AVX2"}, {AVX512, "AVX512"}}

// eachEmulated runs f on the interpreted table of every generated amd64
// path and requires that the interpreter ran for it.
func eachEmulated(t *testing.T, f func(t *testing.T, tab *Table)) {
	p, err := asmemu.Generated()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range emulatedISAs {
		t.Run("emu-"+e.isa.String(), func(t *testing.T) {
			before := p.Stats()
			f(t, emuTable(t, p, e.isa, e.suffix))
			if p.Stats().Calls == before.Calls {
				t.Fatalf("no %s kernel ran in the interpreter", e.suffix)
			}
		})
	}
}

// emuTable is the table of path isa with each vector kernel and the peak
// probe interpreted; a fault (an access outside the slices) fails t. Gemm
// is left empty: packages gemm and asmemu interpret the micro-kernels.
func emuTable(t *testing.T, p *asmemu.Program, isa ISA, suffix string) *Table {
	call := func(op string, args ...any) []any {
		t.Helper()
		res, err := p.Call(op+suffix, args...)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	return &Table{
		ISA: isa,
		Vec: VecKernels{
			Axpy:         func(alpha float32, x, y []float32) { call("Axpy", alpha, x, y) },
			Dot:          func(x, y []float32) float32 { return call("Dot", x, y)[0].(float32) },
			Scale:        func(alpha float32, x []float32) { call("Scale", alpha, x) },
			Add:          func(dst, x, y []float32) { call("Add", dst, x, y) },
			Relu:         func(dst, x []float32) { call("Relu", dst, x) },
			ReluBackward: func(dx, x, dy []float32) { call("ReluBackward", dx, x, dy) },
			Max:          func(x []float32) float32 { return call("Max", x)[0].(float32) },
			Sum:          func(x []float32) float32 { return call("Sum", x)[0].(float32) },
			Gather2:      func(dst, src []float32) { call("Gather2", dst, src) },
			ScatterAdd2:  func(dst, src []float32) { call("ScatterAdd2", dst, src) },
			Interleave2:  func(dst, even, odd []float32) { call("Interleave2", dst, even, odd) },
			DotShifts3:   func(x, y []float32, step int, sums []float32) { call("DotShifts3", x, y, step, sums) },
			DotShifts5:   func(x, y []float32, step int, sums []float32) { call("DotShifts5", x, y, step, sums) },
			DotGrid3: func(x, y []float32, n, xs, ys int, sums []float32) {
				call("DotGrid3", x, y, n, xs, ys, sums)
			},
			CopyRows: func(dst, src []float32, rows, w, dp, sp int) {
				call("CopyRows", dst, src, rows, w, dp, sp)
			},
			MaxPool2: func(y, x []float32, rows, ow, w int) { call("MaxPool2", y, x, rows, ow, w) },
			MaxPool2Backward: func(dx, x, dy []float32, rows, ow, w int) {
				call("MaxPool2Backward", dx, x, dy, rows, ow, w)
			},
		},
		Peak: func(iters int) int { return call("FmaPeak", iters)[0].(int) },
	}
}
