//go:build amd64 && !purego

package asmemu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/kernels"
)

// natives maps every generated amd64 function to its Go stub, so the tests
// can run each natively beside the interpreter. It is the one list of
// kernel names the tests keep (TestNativesComplete checks it against the
// files), until the generator emits a table of its kernels.
var natives = map[string]any{
	"Sgemm6x16AVX2P1":       asm.Sgemm6x16AVX2P1,
	"Sgemm6x16AVX2P2":       asm.Sgemm6x16AVX2P2,
	"Sgemm6x16AVX2P3":       asm.Sgemm6x16AVX2P3,
	"Sgemm6x16AVX2P4":       asm.Sgemm6x16AVX2P4,
	"Sgemm6x16AVX2P5":       asm.Sgemm6x16AVX2P5,
	"Sgemm6x16AVX2P6":       asm.Sgemm6x16AVX2P6,
	"Sgemm6x16AVX2R1":       asm.Sgemm6x16AVX2R1,
	"Sgemm6x16AVX2R2":       asm.Sgemm6x16AVX2R2,
	"Sgemm6x16AVX2R3":       asm.Sgemm6x16AVX2R3,
	"Sgemm6x16AVX2R4":       asm.Sgemm6x16AVX2R4,
	"Sgemm6x16AVX2R5":       asm.Sgemm6x16AVX2R5,
	"Sgemm6x16AVX2R6":       asm.Sgemm6x16AVX2R6,
	"Sgemm6x16AVX2Q1":       asm.Sgemm6x16AVX2Q1,
	"Sgemm6x16AVX2Q2":       asm.Sgemm6x16AVX2Q2,
	"Sgemm6x16AVX2Q3":       asm.Sgemm6x16AVX2Q3,
	"Sgemm6x16AVX2Q4":       asm.Sgemm6x16AVX2Q4,
	"Sgemm6x16AVX2Q5":       asm.Sgemm6x16AVX2Q5,
	"Sgemm6x16AVX2Q6":       asm.Sgemm6x16AVX2Q6,
	"SgemmMicro6x16AVX2":    asm.SgemmMicro6x16AVX2,
	"Sgemm4x24AVX2P1":       asm.Sgemm4x24AVX2P1,
	"Sgemm4x24AVX2P2":       asm.Sgemm4x24AVX2P2,
	"Sgemm4x24AVX2P3":       asm.Sgemm4x24AVX2P3,
	"Sgemm4x24AVX2P4":       asm.Sgemm4x24AVX2P4,
	"Sgemm4x24AVX2R1":       asm.Sgemm4x24AVX2R1,
	"Sgemm4x24AVX2R2":       asm.Sgemm4x24AVX2R2,
	"Sgemm4x24AVX2R3":       asm.Sgemm4x24AVX2R3,
	"Sgemm4x24AVX2R4":       asm.Sgemm4x24AVX2R4,
	"SgemmMicro4x24AVX2":    asm.SgemmMicro4x24AVX2,
	"Sgemm12x8AVX2P1":       asm.Sgemm12x8AVX2P1,
	"Sgemm12x8AVX2P2":       asm.Sgemm12x8AVX2P2,
	"Sgemm12x8AVX2P3":       asm.Sgemm12x8AVX2P3,
	"Sgemm12x8AVX2P4":       asm.Sgemm12x8AVX2P4,
	"Sgemm12x8AVX2P5":       asm.Sgemm12x8AVX2P5,
	"Sgemm12x8AVX2P6":       asm.Sgemm12x8AVX2P6,
	"Sgemm12x8AVX2P7":       asm.Sgemm12x8AVX2P7,
	"Sgemm12x8AVX2P8":       asm.Sgemm12x8AVX2P8,
	"Sgemm12x8AVX2P9":       asm.Sgemm12x8AVX2P9,
	"Sgemm12x8AVX2P10":      asm.Sgemm12x8AVX2P10,
	"Sgemm12x8AVX2P11":      asm.Sgemm12x8AVX2P11,
	"Sgemm12x8AVX2P12":      asm.Sgemm12x8AVX2P12,
	"Sgemm12x8AVX2R1":       asm.Sgemm12x8AVX2R1,
	"Sgemm12x8AVX2R2":       asm.Sgemm12x8AVX2R2,
	"Sgemm12x8AVX2R3":       asm.Sgemm12x8AVX2R3,
	"Sgemm12x8AVX2R4":       asm.Sgemm12x8AVX2R4,
	"Sgemm12x8AVX2R5":       asm.Sgemm12x8AVX2R5,
	"Sgemm12x8AVX2R6":       asm.Sgemm12x8AVX2R6,
	"Sgemm12x8AVX2R7":       asm.Sgemm12x8AVX2R7,
	"Sgemm12x8AVX2R8":       asm.Sgemm12x8AVX2R8,
	"Sgemm12x8AVX2R9":       asm.Sgemm12x8AVX2R9,
	"Sgemm12x8AVX2R10":      asm.Sgemm12x8AVX2R10,
	"Sgemm12x8AVX2R11":      asm.Sgemm12x8AVX2R11,
	"Sgemm12x8AVX2R12":      asm.Sgemm12x8AVX2R12,
	"SgemmMicro12x8AVX2":    asm.SgemmMicro12x8AVX2,
	"Sgemm14x32AVX512P1":    asm.Sgemm14x32AVX512P1,
	"Sgemm14x32AVX512P2":    asm.Sgemm14x32AVX512P2,
	"Sgemm14x32AVX512P3":    asm.Sgemm14x32AVX512P3,
	"Sgemm14x32AVX512P4":    asm.Sgemm14x32AVX512P4,
	"Sgemm14x32AVX512P5":    asm.Sgemm14x32AVX512P5,
	"Sgemm14x32AVX512P6":    asm.Sgemm14x32AVX512P6,
	"Sgemm14x32AVX512P7":    asm.Sgemm14x32AVX512P7,
	"Sgemm14x32AVX512P8":    asm.Sgemm14x32AVX512P8,
	"Sgemm14x32AVX512P9":    asm.Sgemm14x32AVX512P9,
	"Sgemm14x32AVX512P10":   asm.Sgemm14x32AVX512P10,
	"Sgemm14x32AVX512P11":   asm.Sgemm14x32AVX512P11,
	"Sgemm14x32AVX512P12":   asm.Sgemm14x32AVX512P12,
	"Sgemm14x32AVX512P13":   asm.Sgemm14x32AVX512P13,
	"Sgemm14x32AVX512P14":   asm.Sgemm14x32AVX512P14,
	"Sgemm14x32AVX512R1":    asm.Sgemm14x32AVX512R1,
	"Sgemm14x32AVX512R2":    asm.Sgemm14x32AVX512R2,
	"Sgemm14x32AVX512R3":    asm.Sgemm14x32AVX512R3,
	"Sgemm14x32AVX512R4":    asm.Sgemm14x32AVX512R4,
	"Sgemm14x32AVX512R5":    asm.Sgemm14x32AVX512R5,
	"Sgemm14x32AVX512R6":    asm.Sgemm14x32AVX512R6,
	"Sgemm14x32AVX512R7":    asm.Sgemm14x32AVX512R7,
	"Sgemm14x32AVX512R8":    asm.Sgemm14x32AVX512R8,
	"Sgemm14x32AVX512R9":    asm.Sgemm14x32AVX512R9,
	"Sgemm14x32AVX512R10":   asm.Sgemm14x32AVX512R10,
	"Sgemm14x32AVX512R11":   asm.Sgemm14x32AVX512R11,
	"Sgemm14x32AVX512R12":   asm.Sgemm14x32AVX512R12,
	"Sgemm14x32AVX512R13":   asm.Sgemm14x32AVX512R13,
	"Sgemm14x32AVX512R14":   asm.Sgemm14x32AVX512R14,
	"SgemmMicro14x32AVX512": asm.SgemmMicro14x32AVX512,
	"Sgemm12x32AVX512P1":    asm.Sgemm12x32AVX512P1,
	"Sgemm12x32AVX512P2":    asm.Sgemm12x32AVX512P2,
	"Sgemm12x32AVX512P3":    asm.Sgemm12x32AVX512P3,
	"Sgemm12x32AVX512P4":    asm.Sgemm12x32AVX512P4,
	"Sgemm12x32AVX512P5":    asm.Sgemm12x32AVX512P5,
	"Sgemm12x32AVX512P6":    asm.Sgemm12x32AVX512P6,
	"Sgemm12x32AVX512P7":    asm.Sgemm12x32AVX512P7,
	"Sgemm12x32AVX512P8":    asm.Sgemm12x32AVX512P8,
	"Sgemm12x32AVX512P9":    asm.Sgemm12x32AVX512P9,
	"Sgemm12x32AVX512P10":   asm.Sgemm12x32AVX512P10,
	"Sgemm12x32AVX512P11":   asm.Sgemm12x32AVX512P11,
	"Sgemm12x32AVX512P12":   asm.Sgemm12x32AVX512P12,
	"Sgemm12x32AVX512R1":    asm.Sgemm12x32AVX512R1,
	"Sgemm12x32AVX512R2":    asm.Sgemm12x32AVX512R2,
	"Sgemm12x32AVX512R3":    asm.Sgemm12x32AVX512R3,
	"Sgemm12x32AVX512R4":    asm.Sgemm12x32AVX512R4,
	"Sgemm12x32AVX512R5":    asm.Sgemm12x32AVX512R5,
	"Sgemm12x32AVX512R6":    asm.Sgemm12x32AVX512R6,
	"Sgemm12x32AVX512R7":    asm.Sgemm12x32AVX512R7,
	"Sgemm12x32AVX512R8":    asm.Sgemm12x32AVX512R8,
	"Sgemm12x32AVX512R9":    asm.Sgemm12x32AVX512R9,
	"Sgemm12x32AVX512R10":   asm.Sgemm12x32AVX512R10,
	"Sgemm12x32AVX512R11":   asm.Sgemm12x32AVX512R11,
	"Sgemm12x32AVX512R12":   asm.Sgemm12x32AVX512R12,
	"SgemmMicro12x32AVX512": asm.SgemmMicro12x32AVX512,
	"SgemmPackT8AVX2":       asm.SgemmPackT8AVX2,
	"SgemmPackNAVX2":        asm.SgemmPackNAVX2,
	"SgemmPackRowsAVX2":     asm.SgemmPackRowsAVX2,
	"SgemmDotRows4AVX2":     asm.SgemmDotRows4AVX2,
	"SgemmAxpyRows4AVX2":    asm.SgemmAxpyRows4AVX2,
	"AxpyAVX2":              asm.AxpyAVX2,
	"DotAVX2":               asm.DotAVX2,
	"ScaleAVX2":             asm.ScaleAVX2,
	"AddAVX2":               asm.AddAVX2,
	"ReluAVX2":              asm.ReluAVX2,
	"ReluBackwardAVX2":      asm.ReluBackwardAVX2,
	"MaxAVX2":               asm.MaxAVX2,
	"SumAVX2":               asm.SumAVX2,
	"FmaPeakAVX2":           asm.FmaPeakAVX2,
	"AxpyAVX512":            asm.AxpyAVX512,
	"DotAVX512":             asm.DotAVX512,
	"ScaleAVX512":           asm.ScaleAVX512,
	"AddAVX512":             asm.AddAVX512,
	"ReluAVX512":            asm.ReluAVX512,
	"ReluBackwardAVX512":    asm.ReluBackwardAVX512,
	"MaxAVX512":             asm.MaxAVX512,
	"SumAVX512":             asm.SumAVX512,
	"FmaPeakAVX512":         asm.FmaPeakAVX512,
}

// hostRuns reports whether the host can run the kernels of isa (AVX2 or
// AVX512).
func hostRuns(isa string) bool {
	switch isa {
	case "AVX2":
		return kernels.Supported(kernels.AVX2)
	case "AVX512":
		return kernels.Supported(kernels.AVX512)
	}
	return false
}

// TestFMAHardware checks fma32 against VFMADD213PS (through AxpyAVX2 and
// AxpyAVX512, y = alpha*x + y fused) on the double-rounding cases and on
// random operands of every exponent.
func TestFMAHardware(t *testing.T) {
	axpys := map[string]func(float32, []float32, []float32){}
	if hostRuns("AVX2") {
		axpys["AVX2"] = asm.AxpyAVX2
	}
	if hostRuns("AVX512") {
		axpys["AVX512"] = asm.AxpyAVX512
	}
	if len(axpys) == 0 {
		t.Skip("no FMA on this host")
	}
	r := rand.New(rand.NewPCG(5, 6))
	n := 1 << 16
	if testing.Short() {
		n = 1 << 12
	}
	for isa, axpy := range axpys {
		check := func(alpha float32, x, y []float32) {
			got := append([]float32(nil), y...)
			axpy(alpha, x, got)
			for i := range x {
				if w := fma32(alpha, x[i], y[i]); math.Float32bits(w) != math.Float32bits(got[i]) {
					t.Fatalf("%s: fma(%g, %g, %g): hardware %g (%#x), fma32 %g (%#x)", isa, alpha, x[i], y[i], got[i], math.Float32bits(got[i]), w, math.Float32bits(w))
				}
			}
		}
		for _, c := range midpointCases() {
			check(c[0], []float32{c[1]}, []float32{c[2]})
		}
		for range 32 {
			alpha := randFloat(r)
			x, y := make([]float32, n/32), make([]float32, n/32)
			for i := range x {
				x[i], y[i] = randFloat(r), randFloat(r)
				if i%2 == 1 { // near-cancellation
					y[i] = -float32(float64(alpha) * float64(x[i]) * (1 + (r.Float64()-0.5)*0x1p-20))
				}
			}
			check(alpha, x, y)
		}
	}
}
