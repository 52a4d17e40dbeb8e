package winograd

import (
	"fmt"

	"github.com/convkit/convkit/internal/shape"
	"github.com/convkit/convkit/kernels"
)

// Transform is one kind of one variant's transform on one path: the
// generated kernel where the host runs it, else the Go twin, with its
// coefficient table (every entry of P splat to a vector) and the checks
// that keep a call inside its slices. It is immutable: goroutines share
// it, each with scratch of its own (TmpLen).
type Transform struct {
	V      *Variant
	Kind   Kind
	ISA    kernels.ISA
	Lanes  int
	Source string // "asm" or "go"
	p      []float32
	r, c   int
	coef   []float32
	asm    kernelFunc // nil: the twin
	name   string
	plan   *plan1D
}

// kernelFunc is the generated kernels' signature (asm.WinogradFunc).
type kernelFunc = func(dst *float32, src *float32, tmp *float32, coef *float32, bias *float32, n int, srcStride int, dstStride int)

// twinLanes is the vector width of the twin path: 8, as the direct
// package's twin families, whose blocks the engine shares.
const twinLanes = 8

// NewTransform returns kind k of v on path isa: the generated kernel
// where the host runs isa and this build has one, else the twin at the
// width of the direct package's twin families.
func NewTransform(v *Variant, k Kind, isa kernels.ISA) *Transform {
	if f, name, lanes := generatedKernel(v, k, isa); f != nil && kernels.Supported(isa) {
		t := newTwin(v, k, lanes)
		t.ISA, t.Source, t.asm, t.name = isa, "asm", f, name
		return t
	}
	return newTwin(v, k, twinLanes)
}

// Twin returns the Go twin of v's kind k on vectors of lanes floats: the
// oracle of every generated kernel, whatever its width.
func Twin(v *Variant, k Kind, lanes int) *Transform { return newTwin(v, k, lanes) }

// Coef returns the coefficient table a kernel call takes: every entry of
// P, row-major, splat to Lanes floats.
func (t *Transform) Coef() []float32 { return t.coef }

// newTwin is the twin of v's kind k on vectors of lanes floats.
func newTwin(v *Variant, k Kind, lanes int) *Transform {
	t := &Transform{V: v, Kind: k, ISA: kernels.Generic, Lanes: lanes, Source: "go"}
	t.name = "Winograd" + k.String() + v.Name + "Go"
	t.p, t.r, t.c = v.Matrix(k)
	t.plan = newPlan1D(t.p, t.r, t.c)
	t.coef = make([]float32, len(t.p)*lanes)
	for i, x := range t.p {
		for l := 0; l < lanes; l++ {
			t.coef[i*lanes+l] = x
		}
	}
	return t
}

// Name is the kernel's name: WinogradInF4AVX2, or WinogradInF4Go for
// the twin.
func (t *Transform) Name() string { return t.name }

// TmpLen is the floats of scratch a call needs: the c x r intermediate
// (and the twin's operands).
func (t *Transform) TmpLen() int { return t.c*t.r*t.Lanes + t.c + t.plan.opsLen() + t.r }

// Run transforms n tiles: dst's tiles from src's (strides in floats, see
// the package doc for the sides), with bias (Lanes floats, Out only; nil
// elsewhere) added to every output. It panics, before any kernel runs, if
// an access would fall outside a slice.
func (t *Transform) Run(dst, src, tmp, bias []float32, n, srcStride, dstStride int) {
	if n <= 0 {
		return
	}
	t.check(dst, src, tmp, bias, n, srcStride, dstStride)
	if t.asm == nil {
		t.generic(dst, src, tmp, bias, n, srcStride, dstStride)
		return
	}
	var bp *float32
	if bias != nil {
		bp = &bias[0]
	}
	t.asm(&dst[0], &src[0], &tmp[0], &t.coef[0], bp, n, 4*srcStride, 4*dstStride)
}

// reach is the floats a side of n tiles of rows x rows elements spans.
func (t *Transform) reach(grid bool, rows, stride, n int) (int, bool) {
	L := t.Lanes
	if grid {
		return shape.SumOfProducts(rows-1, stride, rows-1, L, 1, L, n-1, t.V.M*L)
	}
	return shape.SumOfProducts(rows*rows-1, stride, 1, L, n-1, L)
}

func (t *Transform) check(dst, src, tmp, bias []float32, n, srcStride, dstStride int) {
	if srcStride < 0 || dstStride < 0 {
		panic(fmt.Sprintf("winograd: %s: strides %d, %d: want >= 0", t.Name(), srcStride, dstStride))
	}
	need := func(what string, s []float32, n int, ok bool) {
		if !ok || n > len(s) {
			panic(fmt.Sprintf("winograd: %s: %s needs %d floats (overflow: %v), has %d", t.Name(), what, n, !ok, len(s)))
		}
	}
	sn, ok := t.reach(t.Kind.SrcGrid(), t.c, srcStride, n)
	need("src", src, sn, ok)
	dn, ok := t.reach(t.Kind.DstGrid(), t.r, dstStride, n)
	need("dst", dst, dn, ok)
	need("tmp", tmp, t.TmpLen(), true)
	if (t.Kind == Out) != (bias != nil) {
		panic(fmt.Sprintf("winograd: %s: bias given: %v (Out takes one, the others none)", t.Name(), bias != nil))
	}
	if bias != nil {
		need("bias", bias, t.Lanes, true)
	}
}

// generic is the twin: the kernels' arithmetic, operation for operation
// (plan1D), so that both give the same bits. Its scratch is tmp's end.
func (t *Transform) generic(dst, src, tmp, bias []float32, n, srcStride, dstStride int) {
	L, m := t.Lanes, t.V.M
	scratch := tmp[t.c*t.r*L:]
	in, scratch := scratch[:t.c], scratch[t.c:]
	ops, out := scratch[:t.plan.opsLen()], scratch[t.plan.opsLen():][:t.r]
	for tile := 0; tile < n; tile++ {
		s0, d0 := tile*L, tile*L
		if t.Kind.SrcGrid() {
			s0 = tile * m * L
		}
		if t.Kind.DstGrid() {
			d0 = tile * m * L
		}
		for l := 0; l < L; l++ {
			// T = In P^T, a row of In at a time.
			for k := 0; k < t.c; k++ {
				for j := range in {
					in[j] = src[s0+t.offset(t.Kind.SrcGrid(), k, j, t.c, srcStride)+l]
				}
				t.plan.eval(in, out, ops)
				for j, v := range out {
					tmp[(k*t.r+j)*L+l] = v
				}
			}
			// Out = P T, a column of T at a time.
			for j := 0; j < t.r; j++ {
				for k := range in {
					in[k] = tmp[(k*t.r+j)*L+l]
				}
				t.plan.eval(in, out, ops)
				for i, v := range out {
					if bias != nil {
						v += bias[l]
					}
					dst[d0+t.offset(t.Kind.DstGrid(), i, j, t.r, dstStride)+l] = v
				}
			}
		}
	}
}

// offset is element (i, j)'s float offset on a side of rows x rows
// elements.
func (t *Transform) offset(grid bool, i, j, rows, stride int) int {
	if grid {
		return i*stride + j*t.Lanes
	}
	return (i*rows + j) * stride
}
