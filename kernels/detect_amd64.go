//go:build amd64 && !purego

package kernels

import (
	"github.com/klauspost/cpuid/v2"
	"golang.org/x/sys/cpu"
)

// hostSupports asks both cpuid (instruction support) and x/sys/cpu (which
// also checks, through XGETBV, that the OS saves the ymm/zmm/opmask state)
// so that a kernel is only bound when it can run without a SIGILL.
func hostSupports(i ISA) bool {
	switch i {
	case AVX2:
		return cpu.X86.HasAVX2 && cpu.X86.HasFMA &&
			cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3, cpuid.BMI2)
	case AVX512:
		return cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512DQ &&
			cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512VL, cpuid.AVX512BW, cpuid.AVX512DQ, cpuid.BMI2)
	}
	return false
}
