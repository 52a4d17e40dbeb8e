package fft

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/dsp/fourier"
)

// benchSizes are 1D sizes of ../shared/anchors/fft_bench.c's set.
var benchSizes = []int{256, 1024, 4096, 16384, 65536}

// reportMFLOPS adds the conventional MFLOPS: 5 N log2 N for a complex
// transform, 2.5 N log2 N for a real one.
func reportMFLOPS(b *testing.B, n int, complexKind bool) {
	f := 2.5 * float64(n) * math.Log2(float64(n))
	if complexKind {
		f *= 2
	}
	b.ReportMetric(f/(b.Elapsed().Seconds()/float64(b.N))/1e6, "MFLOPS")
}

// BenchmarkC2C times the complex forward transform.
func BenchmarkC2C(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p, _ := NewPlan(n)
			x := randComplex(rand.New(rand.NewPCG(1, 1)), n)
			y := make([]complex64, n)
			for b.Loop() {
				p.Forward(y, x)
			}
			reportMFLOPS(b, n, true)
		})
	}
}

// BenchmarkR2C times the real forward transform.
func BenchmarkR2C(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p, _ := NewRealPlan(n)
			x := make([]float32, n)
			y := make([]complex64, n/2+1)
			for b.Loop() {
				p.Forward(y, x)
			}
			reportMFLOPS(b, n, false)
		})
	}
}

// BenchmarkGonumC2C times the Go peer, gonum's float64 complex FFT, on
// the same sizes.
func BenchmarkGonumC2C(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p := fourier.NewCmplxFFT(n)
			x := make([]complex128, n)
			y := make([]complex128, n)
			for b.Loop() {
				p.Coefficients(y, x)
			}
			reportMFLOPS(b, n, true)
		})
	}
}

// BenchmarkGonumR2C times gonum's float64 real FFT.
func BenchmarkGonumR2C(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p := fourier.NewFFT(n)
			x := make([]float64, n)
			y := make([]complex128, n/2+1)
			for b.Loop() {
				p.Coefficients(y, x)
			}
			reportMFLOPS(b, n, false)
		})
	}
}
