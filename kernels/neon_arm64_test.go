//go:build arm64 && !purego

package kernels_test

import (
	"os"
	"reflect"
	"testing"

	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/kernels"
)

// TestNEONIsBound proves that an arm64 run (native or under qemu in CI)
// really executes the generated NEON kernels: a binding that silently fell
// back to pure Go would pass every ISA-agnostic test, so this one fails it.
func TestNEONIsBound(t *testing.T) {
	if !kernels.Supported(kernels.NEON) {
		t.Fatal("arm64 host (or emulator) without Advanced SIMD: NEON path not available")
	}
	if v := os.Getenv(kernels.EnvISA); v != "" && v != "neon" {
		t.Skipf("%s=%s pins another path; the default binding is not under test", kernels.EnvISA, v)
	}
	if got := kernels.Current(); got != kernels.NEON {
		t.Fatalf("Current() = %v, want neon", got)
	}
	if got := kernels.Best(); got != kernels.NEON {
		t.Errorf("Best() = %v, want neon", got)
	}
	tab, err := kernels.TableFor(kernels.NEON)
	if err != nil {
		t.Fatal(err)
	}
	same := func(name string, got, want any) {
		t.Helper()
		if reflect.ValueOf(got).Pointer() != reflect.ValueOf(want).Pointer() {
			t.Errorf("%s is not the NEON kernel", name)
		}
	}
	// The bound table.
	b := kernels.Bound()
	same("Vec.Axpy", b.Vec.Axpy, asm.AxpyNEON)
	same("Vec.Dot", b.Vec.Dot, asm.DotNEON)
	same("Vec.Scale", b.Vec.Scale, asm.ScaleNEON)
	same("Vec.Add", b.Vec.Add, asm.AddNEON)
	same("Vec.Relu", b.Vec.Relu, asm.ReluNEON)
	same("Vec.ReluBackward", b.Vec.ReluBackward, asm.ReluBackwardNEON)
	same("Vec.Max", b.Vec.Max, asm.MaxNEON)
	same("Vec.Sum", b.Vec.Sum, asm.SumNEON)
	same("Vec.Gather2", b.Vec.Gather2, asm.Gather2NEON)
	same("Vec.MaxPool2", b.Vec.MaxPool2, asm.MaxPool2NEON)
	same("Vec.MaxPool2Backward", b.Vec.MaxPool2Backward, asm.MaxPool2BackwardNEON)
	same("Vec.ScatterAdd2", b.Vec.ScatterAdd2, asm.ScatterAdd2NEON)
	same("Vec.Interleave2", b.Vec.Interleave2, asm.Interleave2NEON)
	same("Vec.DotShifts3", b.Vec.DotShifts3, asm.DotShifts3NEON)
	same("Vec.DotShifts5", b.Vec.DotShifts5, asm.DotShifts5NEON)
	same("Vec.DotGrid3", b.Vec.DotGrid3, asm.DotGrid3NEON)
	same("Vec.CopyRows", b.Vec.CopyRows, asm.CopyRowsNEON)
	same("Peak", b.Peak, asm.FmaPeakNEON)
	same("Gemm.Micro", b.Gemm.Micro, asm.SgemmMicro8x12NEON)
	if b.Gemm.MR != 8 || b.Gemm.NR != 12 {
		t.Errorf("Gemm tile %dx%d, want 8x12 (the shape SgemmMicro8x12NEON computes)", b.Gemm.MR, b.Gemm.NR)
	}
	// The table the ISA-agnostic tests iterate over.
	same("TableFor(NEON).Vec.Axpy", tab.Vec.Axpy, asm.AxpyNEON)
	same("TableFor(NEON).Vec.Max", tab.Vec.Max, asm.MaxNEON)
	same("TableFor(NEON).Peak", tab.Peak, asm.FmaPeakNEON)
	same("TableFor(NEON).Gemm.Micro", tab.Gemm.Micro, asm.SgemmMicro8x12NEON)
	if tab.ISA != kernels.NEON {
		t.Errorf("TableFor(NEON).ISA = %v", tab.ISA)
	}
}

// TestNEONRunsNEON calls the kernels directly, not through the binding (so
// it tests NEON under any CONVKIT_ISA), on a case whose answer only the
// vector path of each can produce, so a stub that returned early or a
// mis-bound symbol cannot pass.
func TestNEONRunsNEON(t *testing.T) {
	x := make([]float32, 37) // 2 unrolled blocks, 1 vector, 1 scalar
	y := make([]float32, 37)
	for i := range x {
		x[i] = float32(i + 1)
		y[i] = 1
	}
	asm.AxpyNEON(2, x, y)
	for i, v := range y {
		if want := 1 + 2*float32(i+1); v != want {
			t.Fatalf("AxpyNEON: y[%d] = %v, want %v", i, v, want)
		}
	}
	if got, want := asm.SumNEON(x), float32(37*38/2); got != want {
		t.Errorf("SumNEON = %v, want %v", got, want)
	}
	if got := asm.MaxNEON(x); got != 37 {
		t.Errorf("MaxNEON = %v, want 37", got)
	}
	// What the generator emits (gen/vec on kw.NEON: PeakAccs = 24 chains of 4-lane
	// FMAs, 2 flops a lane), whichever path CONVKIT_ISA binds.
	if got, want := asm.FmaPeakNEON(10), 10*24*4*2; got != want {
		t.Errorf("FmaPeakNEON(10) = %d flops, want %d", got, want)
	}
	if got := asm.FmaPeakNEON(0); got != 0 {
		t.Errorf("FmaPeakNEON(0) = %d, want 0", got)
	}
}
