//go:build !unix

package guardpage

import "unsafe"

// Supported reports whether guard pages work on this platform.
const Supported = false

// alloc returns ordinary Go memory of 4n bytes, allocated as float32 so
// that it is aligned for them. No page is protected: an out-of-bounds
// access goes unnoticed here (see the package comment).
func alloc(n int) (*Buffer, []byte) {
	f := make([]float32, n)
	mem := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), 4*n)
	return &Buffer{mem: mem}, mem
}

func (b *Buffer) free() {} // the garbage collector owns the memory
