//go:build unix

// Package guardpage allocates float32 slices that sit flush against an
// inaccessible (PROT_NONE) page, so that a kernel reading or writing even
// one element past the end (or before the start) of its slice faults
// instead of silently touching a neighbour. It is a test helper.
package guardpage

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Buffer is one mapping: PROT_NONE | data pages | PROT_NONE.
type Buffer struct {
	mem []byte
}

// Supported reports whether guard pages work on this platform.
const Supported = true

func pageSize() int { return unix.Getpagesize() }

func alloc(n int) (*Buffer, []byte) {
	ps := pageSize()
	nb := n * 4
	dataPages := (nb + ps - 1) / ps
	if dataPages == 0 {
		dataPages = 1
	}
	total := (dataPages + 2) * ps
	mem, err := unix.Mmap(-1, 0, total, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		panic(fmt.Sprintf("guardpage: mmap %d bytes: %v", total, err))
	}
	if err := unix.Mprotect(mem[:ps], unix.PROT_NONE); err != nil {
		panic(fmt.Sprintf("guardpage: mprotect: %v", err))
	}
	if err := unix.Mprotect(mem[total-ps:], unix.PROT_NONE); err != nil {
		panic(fmt.Sprintf("guardpage: mprotect: %v", err))
	}
	return &Buffer{mem: mem}, mem[ps : total-ps]
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

// Free unmaps the buffer; the slices from it must not be used afterwards.
func (b *Buffer) Free() {
	if b == nil || b.mem == nil {
		return
	}
	if err := unix.Munmap(b.mem); err != nil {
		panic(fmt.Sprintf("guardpage: munmap: %v", err))
	}
	b.mem = nil
}

// Fill writes deterministic non-zero values into s (so a kernel that
// ignores its input cannot pass by accident).
func Fill(s []float32, seed uint32) {
	x := seed*2654435761 + 1
	for i := range s {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		v := float32(x>>8)/float32(1<<24)*2 - 1
		if v == 0 {
			v = 0.5
		}
		s[i] = v
	}
}
