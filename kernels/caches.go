package kernels

import "github.com/klauspost/cpuid/v2"

// Cache sizes (bytes) when cpuid cannot tell, as on VMs that report -1.
const (
	fallbackL1 = 32 << 10
	fallbackL2 = 512 << 10
	fallbackL3 = 8 << 20
)

// Caches returns the data cache sizes of this host in bytes, L1 (per
// core), L2 and L3, from cpuid, with conservative fallbacks where it
// reports none: the sizes every blocking decision derives from.
func Caches() (l1, l2, l3 int) {
	l1, l2, l3 = cpuid.CPU.Cache.L1D, cpuid.CPU.Cache.L2, cpuid.CPU.Cache.L3
	if l1 <= 0 {
		l1 = fallbackL1
	}
	if l2 <= 0 {
		l2 = fallbackL2
	}
	if l3 <= 0 {
		l3 = fallbackL3
	}
	return l1, l2, l3
}
