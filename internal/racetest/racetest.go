// Package racetest runs calls on several goroutines while something
// rebinds what they call: the harness of the dispatch tests that, under
// -race, prove a rebind is published safely to calls in flight. Tests
// only.
package racetest

import (
	"sync"
	"sync/atomic"
	"testing"
)

// WhileRebinding runs call on workers goroutines, in a loop, while the
// test's goroutine calls rebind at least rebinds times and on until the
// workers have made minCalls calls (or one has failed), so that calls and
// rebinds overlap however fast either is. A call's error fails the test;
// rebind fails it itself. It returns the calls made during the rebinds.
func WhileRebinding(t testing.TB, workers, rebinds int, minCalls int64, rebind func(), call func() error) int64 {
	t.Helper()
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
				if err := call(); err != nil {
					errs <- err
					return
				}
				calls.Add(1)
			}
		}()
	}
	ready.Wait()
	for r := 0; r < rebinds || calls.Load() < minCalls && len(errs) == 0; r++ {
		rebind()
	}
	during := calls.Load()
	close(stop)
	done.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	return during
}
