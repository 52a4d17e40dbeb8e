//go:build amd64 && !purego

package kernels

import (
	"testing"

	"github.com/convkit/convkit/asm"
	"golang.org/x/sys/cpu"
)

// TestAsmBound checks that each amd64 table binds the generated kernel of
// its own ISA in every field, and that FmaPeak counts what it runs: the
// generator's peakAccs independent FMAs per iteration, of 2 flops a lane.
func TestAsmBound(t *testing.T) {
	want := map[ISA]map[string]any{
		AVX2: {
			"Vec.Axpy": asm.AxpyAVX2, "Vec.Dot": asm.DotAVX2, "Vec.Scale": asm.ScaleAVX2,
			"Vec.Add": asm.AddAVX2, "Vec.Relu": asm.ReluAVX2, "Vec.ReluBackward": asm.ReluBackwardAVX2,
			"Vec.Max": asm.MaxAVX2, "Vec.Sum": asm.SumAVX2, "Peak": asm.FmaPeakAVX2,
			"Vec.Gather2": asm.Gather2AVX2, "Vec.ScatterAdd2": asm.ScatterAdd2AVX2, "Vec.Interleave2": asm.Interleave2AVX2,
			"Vec.DotShifts3": asm.DotShifts3AVX2, "Vec.DotShifts5": asm.DotShifts5AVX2, "Vec.DotGrid3": asm.DotGrid3AVX2, "Vec.CopyRows": asm.CopyRowsAVX2,
			"Vec.MaxPool2": asm.MaxPool2AVX2, "Vec.MaxPool2Backward": asm.MaxPool2BackwardAVX2,
		},
		AVX512: {
			"Vec.Axpy": asm.AxpyAVX512, "Vec.Dot": asm.DotAVX512, "Vec.Scale": asm.ScaleAVX512,
			"Vec.Add": asm.AddAVX512, "Vec.Relu": asm.ReluAVX512, "Vec.ReluBackward": asm.ReluBackwardAVX512,
			"Vec.Max": asm.MaxAVX512, "Vec.Sum": asm.SumAVX512, "Peak": asm.FmaPeakAVX512,
			"Vec.Gather2": asm.Gather2AVX512, "Vec.ScatterAdd2": asm.ScatterAdd2AVX512, "Vec.Interleave2": asm.Interleave2AVX512,
			"Vec.DotShifts3": asm.DotShifts3AVX512, "Vec.DotShifts5": asm.DotShifts5AVX512, "Vec.DotGrid3": asm.DotGrid3AVX512, "Vec.CopyRows": asm.CopyRowsAVX512,
			"Vec.MaxPool2": asm.MaxPool2AVX512, "Vec.MaxPool2Backward": asm.MaxPool2BackwardAVX512,
		},
	}
	flopsPerIter := map[ISA]int{AVX2: 12 * 8 * 2, AVX512: 16 * 16 * 2}
	for _, isa := range []ISA{AVX2, AVX512} {
		if !Supported(isa) {
			t.Logf("%v: not supported by this host, not checked", isa)
			continue
		}
		tab, err := TableFor(isa)
		if err != nil {
			t.Fatal(err)
		}
		got := tableFuncs(tab)
		if len(got) != len(want[isa]) {
			t.Errorf("%v: the table has %d kernels, the test knows %d", isa, len(got), len(want[isa]))
		}
		for name, f := range want[isa] {
			if got[name] != funcPtr(f) {
				t.Errorf("%v: %s is not the generated %s kernel", isa, name, isa)
			}
		}
		if got := tab.Peak(3); got != 3*flopsPerIter[isa] {
			t.Errorf("%v: Peak(3) = %d flops, want %d", isa, got, 3*flopsPerIter[isa])
		}
	}
}

// TestHostPaths fails, rather than skips, if the CPU has a path's features
// but the path is not offered: a broken detection must not leave the asm
// untested while every test passes on the generic fallback.
func TestHostPaths(t *testing.T) {
	x := cpu.X86
	if x.HasAVX2 && x.HasFMA && x.HasBMI2 && !Supported(AVX2) {
		t.Error("the CPU has AVX2, FMA and BMI2 but the avx2 path is not available")
	}
	if x.HasAVX512F && x.HasAVX512VL && x.HasAVX512BW && x.HasAVX512DQ && x.HasBMI2 && !Supported(AVX512) {
		t.Error("the CPU has AVX-512 F/VL/BW/DQ but the avx512 path is not available")
	}
	t.Logf("available: %v", Available())
}
