package winograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/convkit/convkit/internal/guardpage"
	"github.com/convkit/convkit/kernels"
)

// runner runs one transform call: natively or interpreted.
type runner func(t *testing.T, tr *Transform, dst, src, tmp, bias []float32, n, ss, ds int)

func native(t *testing.T, tr *Transform, dst, src, tmp, bias []float32, n, ss, ds int) {
	tr.Run(dst, src, tmp, bias, n, ss, ds)
}

func randFloats(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// sideStride is a random stride for a side of rows x rows elements: at
// least one vector (linear) or one row of tiles (grid), plus slack.
func sideStride(r *rand.Rand, tr *Transform, grid bool, rows, n int) int {
	L := tr.Lanes
	if grid {
		return ((n-1)*tr.V.M+rows)*L + r.IntN(3)*L
	}
	return n*L + r.IntN(3)*L
}

// checkAgainstTwin runs random calls of tr through run and the twin, the
// buffers exactly as long as the call needs and against guard pages, and
// wants the same bits.
func checkAgainstTwin(t *testing.T, tr *Transform, run runner) {
	r := rand.New(rand.NewPCG(uint64(tr.V.M), uint64(tr.Kind)))
	twin := *tr
	twin.asm = nil
	_, rows, cols := tr.V.Matrix(tr.Kind)
	for _, n := range []int{1, 2, 3, 5} {
		ss := sideStride(r, tr, tr.Kind.SrcGrid(), cols, n)
		ds := sideStride(r, tr, tr.Kind.DstGrid(), rows, n)
		sn, _ := tr.reach(tr.Kind.SrcGrid(), cols, ss, n)
		dn, _ := tr.reach(tr.Kind.DstGrid(), rows, ds, n)
		src := randFloats(r, sn)
		src[r.IntN(sn)] = float32(math.Inf(1))
		var bias []float32
		if tr.Kind == Out {
			bias = randFloats(r, tr.Lanes)
		}
		want := randFloats(r, dn)
		got := slices.Clone(want)
		twin.Run(want, src, make([]float32, tr.TmpLen()), bias, n, ss, ds)

		gsrc, b1 := guardpage.End(sn)
		gdst, b2 := guardpage.Start(dn)
		gtmp, b3 := guardpage.End(tr.TmpLen())
		copy(gsrc, src)
		copy(gdst, got)
		var gbias []float32
		if bias != nil {
			var b4 *guardpage.Buffer
			gbias, b4 = guardpage.End(len(bias))
			copy(gbias, bias)
			defer b4.Free()
		}
		run(t, tr, gdst, gsrc, gtmp, gbias, n, ss, ds)
		for i := range want {
			if math.Float32bits(want[i]) != math.Float32bits(gdst[i]) && !(want[i] != want[i] && gdst[i] != gdst[i]) {
				t.Fatalf("%s n=%d: dst[%d] = %v, twin %v", tr.Name(), n, i, gdst[i], want[i])
			}
		}
		b1.Free()
		b2.Free()
		b3.Free()
	}
}

// hostTransforms are the transforms of every variant and kind on every
// path this host runs, generated kernels only.
func hostTransforms() []*Transform {
	var out []*Transform
	for _, isa := range []kernels.ISA{kernels.AVX2, kernels.AVX512, kernels.NEON} {
		if isa == kernels.Generic || !kernels.Supported(isa) {
			continue
		}
		for _, v := range Variants() {
			for _, k := range Kinds() {
				if tr := NewTransform(v, k, isa); tr.Source == "asm" {
					out = append(out, tr)
				}
			}
		}
	}
	return out
}

func TestKernelsAgainstTwin(t *testing.T) {
	trs := hostTransforms()
	for _, tr := range trs {
		t.Run(tr.Name(), func(t *testing.T) { checkAgainstTwin(t, tr, native) })
	}
	t.Logf("%d generated transforms checked", len(trs))
}

// conv3x3 is the valid 3x3 correlation of an a x a patch in float64.
func conv3x3(d []float64, g []float64, a int) []float64 {
	m := a - 2
	y := make([]float64, m*m)
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			for u := 0; u < 3; u++ {
				for v := 0; v < 3; v++ {
					y[i*m+j] += g[u*3+v] * d[(i+u)*a+j+v]
				}
			}
		}
	}
	return y
}

// TestTransformsCompute checks that the three twins together compute the
// 3x3 correlation of a tile: y = A^T [(G g G^T) . (B^T d B)] A, within
// float32 rounding of its inputs' size.
func TestTransformsCompute(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, v := range Variants() {
		a, m, L := v.Alpha, v.M, twinLanes
		in := NewTransform(v, In, kernels.Generic)
		out := NewTransform(v, Out, kernels.Generic)
		fil := NewTransform(v, Filter, kernels.Generic)
		d := randFloats(r, a*a*L) // grid: row stride a*L
		g := randFloats(r, 9*L)   // linear: stride L
		bias := randFloats(r, L)
		tmp := make([]float32, max(in.TmpLen(), out.TmpLen(), fil.TmpLen()))
		vd := make([]float32, a*a*L)
		vg := make([]float32, a*a*L)
		in.Run(vd, d, tmp, nil, 1, a*L, L)
		fil.Run(vg, g, tmp, nil, 1, L, L)
		for i := range vd {
			vd[i] *= vg[i]
		}
		y := make([]float32, m*m*L)
		out.Run(y, vd, tmp, bias, 1, L, m*L)
		for l := 0; l < L; l++ {
			dl, gl := make([]float64, a*a), make([]float64, 9)
			for i := range dl {
				dl[i] = float64(d[i*L+l])
			}
			for i := range gl {
				gl[i] = float64(g[i*L+l])
			}
			ref := conv3x3(dl, gl, a)
			for i, want := range ref {
				want += float64(bias[l])
				got := float64(y[i*L+l])
				if math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
					t.Fatalf("%s lane %d: y[%d] = %v, want %v", v.Name, l, i, got, want)
				}
			}
		}
	}
}

// TestChecks wants a call that would reach outside a slice to panic with
// the kernel's name, before any kernel runs.
func TestChecks(t *testing.T) {
	v, _ := ByM(4)
	tr := NewTransform(v, In, kernels.Current())
	L := tr.Lanes
	ss := 6 * L
	sn, _ := tr.reach(true, 6, ss, 1)
	src, dst, tmp := make([]float32, sn), make([]float32, 36*L), make([]float32, tr.TmpLen())
	for _, c := range []struct {
		name string
		call func()
	}{
		{"short src", func() { tr.Run(dst, src[:sn-1], tmp, nil, 1, ss, L) }},
		{"short dst", func() { tr.Run(dst[:36*L-1], src, tmp, nil, 1, ss, L) }},
		{"short tmp", func() { tr.Run(dst, src, tmp[:len(tmp)-1], nil, 1, ss, L) }},
		{"two tiles", func() { tr.Run(dst, src, tmp, nil, 2, ss, L) }},
		{"bias on In", func() { tr.Run(dst, src, tmp, make([]float32, L), 1, ss, L) }},
		{"negative stride", func() { tr.Run(dst, src, tmp, nil, 1, -1, L) }},
	} {
		func() {
			defer func() {
				if e := recover(); e == nil || !strings.Contains(fmt.Sprint(e), tr.Name()) {
					t.Errorf("%s: panic %v, want one naming %s", c.name, e, tr.Name())
				}
			}()
			c.call()
		}()
	}
	tr.Run(dst, src, tmp, nil, 1, ss, L) // the exact fit runs
}

// TestGradTransformsCompute checks that the weight-gradient form's twins
// compute one tile's filter gradient: dW = A'^T [(G' dy G'^T) . (B^T x
// B)] A' is dW[u][v] = sum over the tile of dy[i][j] x[i+u][j+v].
func TestGradTransformsCompute(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, v := range Variants() {
		a, m, L := v.Alpha, v.M, twinLanes
		in := NewTransform(v, In, kernels.Generic)
		gdy := NewTransform(v, GradDy, kernels.Generic)
		gdw := NewTransform(v, GradDw, kernels.Generic)
		x := randFloats(r, a*a*L)  // grid: row stride a*L
		dy := randFloats(r, m*m*L) // grid: row stride m*L
		tmp := make([]float32, max(in.TmpLen(), gdy.TmpLen(), gdw.TmpLen()))
		vx := make([]float32, a*a*L)
		vdy := make([]float32, a*a*L)
		in.Run(vx, x, tmp, nil, 1, a*L, L)
		gdy.Run(vdy, dy, tmp, nil, 1, m*L, L)
		for i := range vx {
			vx[i] *= vdy[i]
		}
		dw := make([]float32, 9*L)
		gdw.Run(dw, vx, tmp, nil, 1, L, L)
		for l := 0; l < L; l++ {
			for u := 0; u < 3; u++ {
				for w := 0; w < 3; w++ {
					var want float64
					for i := 0; i < m; i++ {
						for j := 0; j < m; j++ {
							want += float64(dy[(i*m+j)*L+l]) * float64(x[((i+u)*a+j+w)*L+l])
						}
					}
					got := float64(dw[(u*3+w)*L+l])
					if math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
						t.Fatalf("%s lane %d: dW[%d][%d] = %v, want %v", v.Name, l, u, w, got, want)
					}
				}
			}
		}
	}
}
