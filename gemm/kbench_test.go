package gemm

import (
	"testing"
	"time"
)

// BenchmarkKernel times one tile family member on L1-resident packed
// panels: the ceiling the driver can approach. It reports the best of many
// short batches, which filters out the time slices lost to other processes
// on a shared machine.
func BenchmarkKernel(b *testing.B) {
	for _, isa := range benchISAs() {
		for _, tk := range tileCandidates(isa) {
			for _, name := range []string{tk.name} {
				fn := tk.p[tk.mr-1]
				b.Run(name, func(b *testing.B) {
					kc := 256
					a := alignedFloats(kc * tk.mr)
					bb := alignedFloats(kc * tk.nr)
					c := alignedFloats(tk.mr * tk.nr)
					for i := range a {
						a[i] = 1
					}
					for i := range bb {
						bb[i] = 1
					}
					best := time.Duration(1 << 62)
					const batch = 100
					for b.Loop() {
						t0 := time.Now()
						for range batch {
							fn(kc, &a[0], tk.mr, &bb[0], tk.nr, &c[0], tk.nr, tk.nr, 1, 1, 1, 0, 0, 0)
						}
						best = min(best, time.Since(t0))
					}
					b.ReportMetric(2*float64(kc*tk.mr*tk.nr)*batch/best.Seconds()/1e9, "GFLOPS")
				})
			}
		}
	}
}
