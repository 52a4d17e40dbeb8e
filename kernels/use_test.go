package kernels

import (
	"fmt"
	"testing"

	"github.com/convkit/convkit/internal/racetest"
)

// TestUseConcurrent rebinds every available path over and over while other
// goroutines call the checked kernels and the bound table's micro-kernel.
// Under -race it proves that Use publishes the tables safely; every call
// must also give the answer all paths agree on (small integers: exact on
// every path), from a table of a path the host supports.
func TestUseConcurrent(t *testing.T) {
	orig := Current()
	defer func() {
		if err := Use(orig); err != nil {
			t.Fatal(err)
		}
	}()
	avail := Available()
	binds := 0
	during := racetest.WhileRebinding(t, 3, 300, 100, func() {
		binds += len(avail)
		for _, isa := range avail {
			if err := Use(isa); err != nil {
				t.Fatalf("Use(%v): %v", isa, err)
			}
		}
	}, callBound)
	t.Logf("%d rounds of kernel calls during %d binds of %v", during, binds, avail)
}

// callBound runs the checked Dot and Axpy and the bound micro-kernel once
// on data whose results every path computes exactly.
func callBound() error {
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}
	if got := Dot(x, x); got != 1785 {
		return fmt.Errorf("Dot = %v, want 1785", got)
	}
	y := make([]float32, len(x))
	Axpy(2, x, y)
	if y[16] != 34 {
		return fmt.Errorf("Axpy: y[16] = %v, want 34", y[16])
	}
	tab := Bound()
	if !Supported(tab.ISA) {
		return fmt.Errorf("Bound() is the table of %v, which the host cannot run", tab.ISA)
	}
	const k = 3
	g := tab.Gemm
	a, b, c := make([]float32, k*g.MR), make([]float32, k*g.NR), make([]float32, g.MR*g.NR)
	for i := range a {
		a[i] = 1
	}
	for i := range b {
		b[i] = 2
	}
	g.Micro(k, a, b, c, g.NR, 1, 0)
	for i, v := range c {
		if v != 2*k {
			return fmt.Errorf("%v Gemm.Micro: c[%d] = %v, want %v", tab.ISA, i, v, 2*k)
		}
	}
	return nil
}
