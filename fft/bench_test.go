package fft

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convkit/convkit/kernels"
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

// BenchmarkLanePlan is n-point transforms of lanes signals in split form
// on the bound path; MFLOPS conventional (5 n log2 n per signal).
func BenchmarkLanePlan(b *testing.B) {
	for _, c := range [][2]int{{192, 192}, {192, 193}, {192, 200}, {144, 288}, {144, 290}, {288, 145}, {288, 144}, {1024, 64}, {1024, 65}, {64, 16}, {64, 64}, {512, 16}, {512, 96}} {
		n, lanes := c[0], c[1]
		b.Run(fmt.Sprintf("%dx%d", n, lanes), func(b *testing.B) {
			p, err := NewLanePlan(n, kernels.Current())
			if err != nil {
				b.Skip(err)
			}
			src, dst := Dense(make([]float32, 2*n*lanes), n, lanes), Dense(make([]float32, 2*n*lanes), n, lanes)
			work := make([]float32, p.WorkLen(lanes))
			b.ResetTimer()
			for range b.N {
				p.Forward(dst, src, lanes, work)
			}
			flops := 5 * float64(n) * math.Log2(float64(n)) * float64(lanes)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e6, "MFLOPS")
		})
	}
}
