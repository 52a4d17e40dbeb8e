// Package guardpage allocates float32 slices that sit flush against an
// inaccessible (PROT_NONE) page, so that a kernel reading or writing even
// one element past the end (or before the start) of its slice faults
// instead of silently touching a neighbour. It is a test helper.
//
// Guard pages exist where Supported is true (unix). Elsewhere End and
// Start return ordinary slices of the same length and capacity, so that
// the tests that use them build and run everywhere; only the fault on an
// out-of-bounds access is lost there.
package guardpage

import "unsafe"

// Buffer is one allocation: on unix the mapping PROT_NONE | data pages |
// PROT_NONE.
type Buffer struct {
	mem []byte
}

// asFloats views b[off:off+4n] as float32. For n == 0 the (empty) slice
// still points at the page edge, so a kernel that dereferences it anyway
// faults.
func asFloats(b []byte, off, n int) []float32 {
	p := unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), off)
	return unsafe.Slice((*float32)(p), n)
}

// End returns a slice of n float32 whose last element is the last 4 bytes
// before a PROT_NONE page (cap == len, so it cannot be re-sliced past it).
// Call Free when done.
func End(n int) ([]float32, *Buffer) {
	buf, data := alloc(n)
	off := len(data) - 4*n
	s := asFloats(data, off, n)
	return s[:n:n], buf
}

// Start returns a slice of n float32 whose first element is the first 4
// bytes after a PROT_NONE page. Call Free when done.
func Start(n int) ([]float32, *Buffer) {
	buf, data := alloc(n)
	s := asFloats(data, 0, n)
	return s[:n:n], buf
}

// Free releases the buffer; the slices from it must not be used
// afterwards. Freeing nil or twice does nothing.
func (b *Buffer) Free() {
	if b == nil || b.mem == nil {
		return
	}
	b.free()
	b.mem = nil
}
