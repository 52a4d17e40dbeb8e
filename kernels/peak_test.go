package kernels

import "testing"

// TestPeak checks each path's FMA probe: it does nothing for 0 iterations,
// whole vectors of FMAs (2 flops a lane) per iteration, and work linear in
// iters.
func TestPeak(t *testing.T) {
	eachISA(t, func(t *testing.T, tab *Table) {
		if got := tab.Peak(0); got != 0 {
			t.Errorf("Peak(0) = %d, want 0", got)
		}
		one := tab.Peak(1)
		if lanes := tab.ISA.VectorBytes() / 4; one <= 0 || one%(2*lanes) != 0 {
			t.Errorf("Peak(1) = %d flops, want a positive multiple of %d (one FMA on every lane)", one, 2*lanes)
		}
		if got := tab.Peak(1000); got != 1000*one {
			t.Errorf("Peak(1000) = %d, want %d", got, 1000*one)
		}
	})
}

// BenchmarkPeak reports each path's single-thread FMA throughput in GFLOPS
// (BenchmarkPeak/<isa>).
func BenchmarkPeak(b *testing.B) {
	for _, isa := range Available() {
		tab, _ := TableFor(isa)
		b.Run(isa.String(), func(b *testing.B) {
			const iters = 1 << 16
			flops := 0
			for b.Loop() {
				flops += tab.Peak(iters)
			}
			b.ReportMetric(float64(flops)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}
