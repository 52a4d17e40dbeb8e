package gemm_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/convkit/convkit/gemm"
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
	const workers, rebinds, minCalls = 2, 100, 20
	stop := make(chan struct{})
	var ready, done sync.WaitGroup
	var calls atomic.Int64
	errs := make(chan error, workers)
	ready.Add(workers)
	done.Add(workers)
	for w := 0; w < workers; w++ {
		go func() {
			defer done.Done()
			ready.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				// A tile-sized product and a matrix-vector one (m = 1).
				for _, mnk := range [][3]int{{37, 29, 23}, {1, 40, 50}} {
					if err := exactSgemm(mnk[0], mnk[1], mnk[2]); err != nil {
						errs <- err
						return
					}
				}
				calls.Add(1)
			}
		}()
	}
	ready.Wait()
	// Rebind at least rebinds times, and on until the workers have made
	// minCalls calls (or one has failed), so that calls and binds overlap
	// however fast either is.
	for r := 0; r < rebinds || calls.Load() < minCalls && len(errs) == 0; r++ {
		for _, isa := range kernels.Available() {
			if err := kernels.Use(isa); err != nil {
				t.Fatalf("Use(%v): %v", isa, err)
			}
		}
	}
	close(stop)
	done.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
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
