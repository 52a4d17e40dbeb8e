//go:build unix

package guardpage

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Supported reports whether guard pages work on this platform.
const Supported = true

// alloc maps PROT_NONE | data pages | PROT_NONE and returns the buffer and
// its data pages (at least 4n bytes).
func alloc(n int) (*Buffer, []byte) {
	ps := unix.Getpagesize()
	nb := n * 4
	dataPages := max(1, (nb+ps-1)/ps)
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

func (b *Buffer) free() {
	if err := unix.Munmap(b.mem); err != nil {
		panic(fmt.Sprintf("guardpage: munmap: %v", err))
	}
}
