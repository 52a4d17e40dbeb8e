//go:build unix

package guardpage

import (
	"runtime/debug"
	"testing"
	"unsafe"
)

// sink keeps the compiler from dropping the probing loads.
var sink float32

// fault runs access with faults turned into panics and reports the
// address it faulted at; faulted is false if it ran to the end.
func fault(access func()) (addr uintptr, faulted bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if e := recover(); e != nil {
			f, ok := e.(interface{ Addr() uintptr })
			if !ok {
				panic(e)
			}
			addr, faulted = f.Addr(), true
		}
	}()
	access()
	return 0, false
}

// accesses are the two ways a kernel can stray: a load and a store.
var accesses = []struct {
	name string
	do   func(p unsafe.Pointer)
}{
	{"read", func(p unsafe.Pointer) { sink = *(*float32)(p) }},
	{"write", func(p unsafe.Pointer) { *(*float32)(p) = 1 }},
}

// TestGuardsFault proves what every guard-page test relies on: a read or
// a write of the element one past the end of End(n), or one before the
// start of Start(n), faults at exactly that address, while the first and
// last elements of the slice are reachable both ways.
func TestGuardsFault(t *testing.T) {
	for _, n := range guardNs {
		for _, end := range []bool{true, false} {
			place, alloc, off := "Start", Start, -4
			if end {
				place, alloc, off = "End", End, 4*n
			}
			s, b := alloc(n)
			base := unsafe.Pointer(unsafe.SliceData(s))
			for _, a := range accesses {
				if n > 0 {
					for _, i := range []int{0, n - 1} {
						if addr, f := fault(func() { a.do(unsafe.Pointer(&s[i])) }); f {
							t.Errorf("%s(%d): %s of element %d faulted at %#x", place, n, a.name, i, addr)
						}
					}
				}
				out := unsafe.Add(base, off)
				addr, f := fault(func() { a.do(out) })
				if !f {
					t.Errorf("%s(%d): %s of element %d did not fault", place, n, a.name, off/4)
				} else if addr != uintptr(out) {
					t.Errorf("%s(%d): %s of element %d faulted at %#x, want %p", place, n, a.name, off/4, addr, out)
				}
			}
			b.Free()
		}
	}
}
