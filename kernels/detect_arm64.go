//go:build arm64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// hostSupports reports NEON (Advanced SIMD), which every arm64 Linux host
// has; the check keeps an odd kernel or emulator honest.
func hostSupports(i ISA) bool {
	return i == NEON && cpu.ARM64.HasASIMD
}
