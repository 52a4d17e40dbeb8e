//go:build amd64 && !purego

package asmemu

import (
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"

	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/kernels"
)

// natives maps every generated amd64 function to its Go stub, so the tests
// can run each natively beside the interpreter. The SGEMM kernels come
// and the direct-convolution tiles come from the tables the generators emit
// (asm.SgemmFamilies, asm.SgemmRowSets, asm.DirectFamilies,
// asm.DepthwiseFamilies, asm.WinogradKernels, asm.FFTKernels);
// the vector primitives have no table and are listed here.
// TestNativesComplete checks the whole against the files' TEXT symbols.
var natives = func() map[string]any {
	n := map[string]any{
		"AxpyAVX2":               asm.AxpyAVX2,
		"DotAVX2":                asm.DotAVX2,
		"ScaleAVX2":              asm.ScaleAVX2,
		"AddAVX2":                asm.AddAVX2,
		"ReluAVX2":               asm.ReluAVX2,
		"ReluBackwardAVX2":       asm.ReluBackwardAVX2,
		"MaxAVX2":                asm.MaxAVX2,
		"SumAVX2":                asm.SumAVX2,
		"Gather2AVX2":            asm.Gather2AVX2,
		"ScatterAdd2AVX2":        asm.ScatterAdd2AVX2,
		"Interleave2AVX2":        asm.Interleave2AVX2,
		"MaxPool2AVX2":           asm.MaxPool2AVX2,
		"MaxPool2BackwardAVX2":   asm.MaxPool2BackwardAVX2,
		"FmaPeakAVX2":            asm.FmaPeakAVX2,
		"DotShifts3AVX2":         asm.DotShifts3AVX2,
		"DotGrid3AVX2":           asm.DotGrid3AVX2,
		"DotShifts5AVX2":         asm.DotShifts5AVX2,
		"CopyRowsAVX2":           asm.CopyRowsAVX2,
		"AxpyAVX512":             asm.AxpyAVX512,
		"DotAVX512":              asm.DotAVX512,
		"ScaleAVX512":            asm.ScaleAVX512,
		"AddAVX512":              asm.AddAVX512,
		"ReluAVX512":             asm.ReluAVX512,
		"ReluBackwardAVX512":     asm.ReluBackwardAVX512,
		"MaxAVX512":              asm.MaxAVX512,
		"SumAVX512":              asm.SumAVX512,
		"Gather2AVX512":          asm.Gather2AVX512,
		"ScatterAdd2AVX512":      asm.ScatterAdd2AVX512,
		"Interleave2AVX512":      asm.Interleave2AVX512,
		"MaxPool2AVX512":         asm.MaxPool2AVX512,
		"MaxPool2BackwardAVX512": asm.MaxPool2BackwardAVX512,
		"FmaPeakAVX512":          asm.FmaPeakAVX512,
		"DotShifts3AVX512":       asm.DotShifts3AVX512,
		"DotGrid3AVX512":         asm.DotGrid3AVX512,
		"DotShifts5AVX512":       asm.DotShifts5AVX512,
		"CopyRowsAVX512":         asm.CopyRowsAVX512,
	}
	add := func(name string, fn any) {
		if _, dup := n[name]; dup {
			panic("asmemu: " + name + " is in the generated tables twice")
		}
		n[name] = fn
	}
	for _, f := range asm.SgemmFamilies {
		for _, fk := range f.Forms {
			for _, k := range fk.Rows {
				add(k.Name, k.Func)
			}
		}
		if f.Micro.Name != "" {
			add(f.Micro.Name, f.Micro.Func)
		}
	}
	for _, f := range asm.DirectFamilies {
		for _, k := range f.Kernels {
			add(k.Name, k.Func)
		}
	}
	for _, u := range asm.DirectUnpacks {
		add(u.Kernel.Name, u.Kernel.Func)
	}
	for _, f := range asm.DepthwiseFamilies {
		for _, k := range f.Kernels {
			add(k.Name, k.Func)
		}
	}
	for _, k := range asm.WinogradKernels {
		add(k.Kernel.Name, k.Kernel.Func)
	}
	for _, k := range asm.FFTKernels {
		for _, r := range append(k.Radix[:], k.RadixLast[:]...) {
			if r.Func != nil {
				add(r.Name, r.Func)
			}
		}
		add(k.RealPair.Name, k.RealPair.Func)
		add(k.ScaleAddConj.Name, k.ScaleAddConj.Func)
		add(k.ConjSum.Name, k.ConjSum.Func)
		for _, m := range []asm.Kernel[asm.FFTMulFunc]{k.Mul, k.MulConj, k.MulAdd, k.MulAddConj} {
			add(m.Name, m.Func)
		}
		add(k.Transpose.Name, k.Transpose.Func)
		add(k.Unzip.Name, k.Unzip.Func)
		add(k.Zip.Name, k.Zip.Func)
		add(k.RealHalf.Name, k.RealHalf.Func)
	}
	for _, rs := range asm.SgemmRowSets {
		k := rs.Kernels
		add(k.PackT.Name, k.PackT.Func)
		add(k.PackN.Name, k.PackN.Func)
		add(k.PackRows.Name, k.PackRows.Func)
		add(k.DotRows4.Name, k.DotRows4.Func)
		add(k.AxpyRows4.Name, k.AxpyRows4.Func)
	}
	return n
}()

// TestTileFamiliesTable checks that TileFamilies, which reads the
// families off the program's symbols on any GOARCH, finds exactly the
// generator's table (which only amd64 builds compile), and that each row
// set's lanes are its ISA's: the interpreted tests of every host run the
// kernels the table lists.
func TestTileFamiliesTable(t *testing.T) {
	fams, err := generatedProgram(t).TileFamilies()
	if err != nil {
		t.Fatal(err)
	}
	var want []TileFamily
	for _, f := range asm.SgemmFamilies {
		tf := TileFamily{ISA: f.ISA, MR: f.MR, NR: f.NR, Lanes: f.Lanes, Micro: f.Micro.Name != ""}
		for _, form := range []asm.Form{asm.FormP, asm.FormQ, asm.FormR} {
			rows := f.Form(form)
			if rows == nil {
				continue
			}
			tf.Forms += string(form)
			for r, k := range rows {
				if k.Name != tf.Kernel(byte(form), r+1) {
					t.Errorf("family %s: the %c kernel of %d rows is %s", f.Name(), form, r+1, k.Name)
				}
			}
		}
		if tf.Micro && f.Micro.Name != tf.MicroKernel() {
			t.Errorf("family %s: Micro is %s", f.Name(), f.Micro.Name)
		}
		want = append(want, tf)
	}
	sort.Slice(want, func(i, j int) bool {
		a, b := want[i], want[j]
		if a.ISA != b.ISA {
			return a.ISA < b.ISA
		}
		return a.MR*1000+a.NR < b.MR*1000+b.NR
	})
	if !reflect.DeepEqual(fams, want) {
		t.Errorf("TileFamilies:\n%+v\nthe table:\n%+v", fams, want)
	}
	for _, rs := range asm.SgemmRowSets {
		if rs.Lanes != isaLanes[rs.ISA] {
			t.Errorf("row set %s: %d lanes, its vectors have %d", rs.ISA, rs.Lanes, isaLanes[rs.ISA])
		}
	}
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
