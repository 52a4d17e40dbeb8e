package gemm_test

import (
	"fmt"
	"testing"

	"github.com/convkit/convkit/gemm"
	"github.com/convkit/convkit/internal/racetest"
	"github.com/convkit/convkit/kernels"
)

// TestSgemmDuringUse runs Sgemm on several goroutines while kernels.Use
// rebinds every available path: under -race it proves that a rebind
// (kernels' table, then gemm's own selection through OnUse) is published
// safely to calls under way. Small integers make C exact on every path.
func TestSgemmDuringUse(t *testing.T) {
	orig := kernels.Current()
	defer func() {
		if err := kernels.Use(orig); err != nil {
			t.Fatal(err)
		}
	}()
	racetest.WhileRebinding(t, 2, 100, 20, func() {
		for _, isa := range kernels.Available() {
			if err := kernels.Use(isa); err != nil {
				t.Fatalf("Use(%v): %v", isa, err)
			}
		}
	}, func() error {
		// A tile-sized product and a matrix-vector one (m = 1).
		for _, mnk := range [][3]int{{37, 29, 23}, {1, 40, 50}} {
			if err := exactSgemm(mnk[0], mnk[1], mnk[2]); err != nil {
				return err
			}
		}
		return nil
	})
}

// exactSgemm computes C = A*B for A = 1 and B = 2 everywhere, so that every
// entry of C is 2k on every path.
func exactSgemm(m, n, k int) error {
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	for i := range a {
		a[i] = 1
	}
	for i := range b {
		b[i] = 2
	}
	gemm.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
	for i, v := range c {
		if v != float32(2*k) {
			return fmt.Errorf("%dx%dx%d: c[%d] = %v, want %d", m, n, k, i, v, 2*k)
		}
	}
	return nil
}
