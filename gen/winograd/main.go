// Command winograd generates convkit's Winograd transform kernels:
// AVX2+FMA and AVX-512 on amd64, NEON on arm64, from one description
// written against gen/kw, and the transform matrices' Go file. asm/doc.go
// runs it:
//
//	go run -C ../gen ./winograd -out ../asm/winograd_amd64.s -stubs ../asm/winograd_amd64.go -table ../asm/winograd_kernels_amd64.go -pkg asm
//	go run -C ../gen ./winograd -arch arm64 -out ../asm/winograd_arm64.s -stubs ../asm/winograd_arm64.go -table ../asm/winograd_kernels_arm64.go -pkg asm
//	go run -C ../gen ./winograd -matrices ../winograd/matrices.go
//
// Every transform of F(m x m, 3 x 3) is Out = P In P^T for a constant
// matrix P (r x c) and a c x c input of vectors, one vector per element:
//
//   - input: P = B^T (alpha x alpha), In an alpha x alpha patch of the
//     input, each element a vector of Lanes channels of one pixel;
//   - output: P = A^T (m x alpha), In the alpha x alpha products of one
//     tile, each a vector of Lanes output channels; then + bias;
//   - filter: P = G (alpha x 3), In the 3 x 3 taps of Lanes filters;
//
// and of the weight-gradient form F(3 x 3, m x m) on the same points
// (whose input transform is B^T's):
//
//   - gradDy: P = G' (alpha x m), In the m x m outputs of one tile of dy,
//     each a vector of Lanes output channels;
//   - gradDw: P = A'^T (3 x alpha), In the alpha x alpha sums over the
//     tiles of one filter, each a vector of Lanes output channels.
//
// The vectors are Lanes channels, so the same arithmetic runs in every
// lane and a kernel needs no shuffles. A kernel transforms n tiles in a
// row: first T = In P^T a row of In at a time (c loads, r results each,
// into the caller's scratch tmp), then Out = P T a column of T at a time.
// Each result is one row of P applied to c vectors by the rule the Go
// twin (package winograd) follows exactly: the terms in order of k, the
// first +x (a copy), -x (0 - x) or p*x, then + x, - x or a fused
// multiply-add by p; zero coefficients are skipped. The multipliers p are
// vectors of the caller's coefficient table (coef: every entry of P,
// row-major, splat to a vector), so the kernels need no constants.
//
// An element (i, j) lies, on a grid side (the image's pixels: the input's
// and gradDy's source, the output's destination), at base + i*stride +
// j*vb; on a linear side (the transformed tile, the filter), at base +
// (i*cols + j)*stride. Tile t+1 starts m pixels (grid) or one vector (linear) after
// tile t.
package main

import (
	"flag"
	"fmt"
	"go/format"
	"os"
	"strings"

	"github.com/convkit/convkit/gen/internal/atomicfile"
	"github.com/convkit/convkit/gen/kw"
)

// kind is one of the five transforms.
type kind struct {
	name    string // "In", "Out", "Filter", "GradDy", "GradDw"
	doc     string // what it transforms, for the kernels' comments
	srcGrid bool   // the input is a pixel grid (else linear)
	dstGrid bool
	bias    bool // + bias after the sums
}

var kinds = []kind{
	{name: "In", doc: "input", srcGrid: true},
	{name: "Out", doc: "output", dstGrid: true, bias: true},
	{name: "Filter", doc: "filter"},
	{name: "GradDy", doc: "weight-gradient form's dy", srcGrid: true},
	{name: "GradDw", doc: "weight-gradient form's output"},
}

// p returns the kind's matrix for variant v, rows x cols.
func (k kind) p(v variant) *matrix {
	bt, g, at := v.transforms()
	gt, gat := v.gradTransforms()
	switch k.name {
	case "In":
		return bt
	case "Out":
		return at
	case "GradDy":
		return gt
	case "GradDw":
		return gat
	}
	return g
}

// signature is every transform kernel's Go type (asm.WinogradFunc).
const signature = "func(dst *float32, src *float32, tmp *float32, coef *float32, bias *float32, n int, srcStride int, dstStride int)"

// kernelName is a kernel's exported name: WinogradInF4AVX2.
func kernelName(k kind, v variant, isa string) string {
	return "Winograd" + k.name + v.name + isa
}

// archISAs are the ISAs of each architecture's output, in emission order.
var archISAs = map[string][]kw.ISA{"amd64": {kw.AVX2, kw.AVX512}, "arm64": {kw.NEON}}

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "-matrices" {
		writeMatrices()
		return
	}
	kw.MainWith("winograd", "winogradMaskTab", func(f *kw.Func) {
		for _, v := range variants {
			for _, k := range kinds {
				genTransform(f, v, k)
			}
		}
	}, kw.Options{Table: goTable})
}

// writeMatrices writes the Go file of the matrices (package winograd):
// the twins and the coefficient tables read them.
func writeMatrices() {
	fs := flag.NewFlagSet("winograd", flag.ExitOnError)
	out := fs.String("matrices", "", "Go `file` of the transform matrices")
	fs.Parse(os.Args[1:])
	if *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: go run -C ../gen ./winograd -matrices ../winograd/matrices.go")
		os.Exit(2)
	}
	var b strings.Builder
	b.WriteString("// variants are the generated algorithms, smallest tile first: the\n")
	b.WriteString("// transform matrices rounded to float32 (the exact rationals beside).\n")
	b.WriteString("var variants = []Variant{\n")
	for _, v := range variants {
		bt, g, at := v.transforms()
		fmt.Fprintf(&b, "{Name: %q, M: %d, Alpha: %d, Points: %q,\n", v.name, v.m, v.alpha(), v.why)
		fmt.Fprintf(&b, "BT: %s,\n", bt.goLiteral())
		fmt.Fprintf(&b, "G: %s,\n", g.goLiteral())
		fmt.Fprintf(&b, "AT: %s,\n", at.goLiteral())
		gt, gat := v.gradTransforms()
		fmt.Fprintf(&b, "GradG: %s,\n", gt.goLiteral())
		fmt.Fprintf(&b, "GradAT: %s},\n", gat.goLiteral())
	}
	b.WriteString("}\n")
	src := "// Code generated by command: go run -C ../gen ./winograd -matrices ../winograd/matrices.go. DO NOT EDIT.\n\npackage winograd\n\n" + b.String()
	formatted, err := format.Source([]byte(src))
	if err == nil {
		err = atomicfile.Write(*out, formatted)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "winograd: %v\n", err)
		os.Exit(1)
	}
}

// goTable returns the declarations of asm/winograd_kernels_<arch>.go.
func goTable(arch string) string {
	var b strings.Builder
	b.WriteString("// WinogradKernels lists every generated Winograd transform kernel.\n")
	b.WriteString("var WinogradKernels = []WinogradKernel{\n")
	for _, isa := range archISAs[arch] {
		for _, v := range variants {
			for _, k := range kinds {
				n := kernelName(k, v, isa.Name)
				fmt.Fprintf(&b, "{ISA: %q, Lanes: %d, M: %d, Kind: %q, Kernel: Kernel[WinogradFunc]{Name: %q, Func: %s}},\n",
					isa.Name, isa.Lanes, v.m, k.name, n, n)
			}
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// transform is the state of one kernel under construction.
type transform struct {
	f          *kw.Func
	k          kind
	p          []float32 // P rounded to float32, row-major
	rows, cols int       // P's shape: r x c
	plan       *plan1D
	vb         int
	coef, tmp  kw.G
	zero       kw.V
	hasZero    bool
}

func genTransform(f *kw.Func, v variant, k kind) {
	pm := k.p(v)
	t := &transform{f: f, k: k, rows: pm.rows, cols: pm.cols, vb: f.ISA.VBytes()}
	t.p = pm.float32s()
	t.plan = newPlan1D(t.p, t.rows, t.cols)
	name := kernelName(k, v, f.ISA.Name)
	src, dst := "linear", "linear"
	if k.srcGrid {
		src = "grid"
	}
	if k.dstGrid {
		dst = "grid"
	}
	f.Function(name, signature,
		fmt.Sprintf("%s is the %s transform of Winograd %s (%d x %d tiles from %d x %d),", name, k.doc, v.name, t.rows, t.rows, t.cols, t.cols),
		fmt.Sprintf("Out = P In P^T with P %d x %d, for n tiles; src is a %s side, dst a %s side", t.rows, t.cols, src, dst),
		"(see gen/winograd), tmp holds the intermediate, coef the splat entries of P",
		"and bias one vector added to every result (Out only). Its reference and",
		"test oracle is winograd.Twin.")
	n := f.Int("n")
	f.JumpIfNotPositive(n, "done")
	t.coef, t.tmp = f.Int("coef"), f.Int("tmp")
	srcP, dstP := f.Int("src"), f.Int("dst")
	ss, ds := f.Int("srcStride"), f.Int("dstStride")
	var bias kw.V
	if k.bias {
		bias = f.Vec()
		f.LoadVec(kw.Mem{Base: f.Int("bias")}, bias)
	}
	for _, row := range t.plan.rows {
		for _, ts := range [][]term{row.terms, row.e, row.o} {
			if len(ts) > 0 && ts[0].coef == -1 && !t.hasZero {
				t.zero, t.hasZero = f.Zero(), true
			}
		}
	}
	// The step from one row (grid) or column (linear) of the destination
	// to the next.
	var dstRowStep kw.G
	if !k.dstGrid {
		dstRowStep = f.GP()
		f.MulImm(dstRowStep, ds, t.rows)
	}
	f.Label("tile")
	t.rowsPass(srcP, ss)
	t.columnsPass(dstP, ds, dstRowStep, bias)
	if k.srcGrid {
		f.AddImm(srcP, v.m*t.vb)
	} else {
		f.AddImm(srcP, t.vb)
	}
	if k.dstGrid {
		f.AddImm(dstP, v.m*t.vb)
	} else {
		f.AddImm(dstP, t.vb)
	}
	f.DecJumpNonZero(n, "tile")
	f.Label("done")
	f.Ret()
}

// rowsPass computes T = In P^T: per row k of In, its c elements loaded
// once, then T[k][j] = row j of P applied to them, for j < r, into tmp
// (T[k][j] at tmp + (k*r + j)*vb).
func (t *transform) rowsPass(src, stride kw.G) {
	f := t.f
	w := f.MoveGP(src)
	for k := 0; k < t.cols; k++ {
		in := make([]kw.V, t.cols)
		for l := range in {
			in[l] = f.Vec()
			if t.k.srcGrid {
				f.LoadVec(kw.Mem{Base: w, Disp: l * t.vb}, in[l])
			} else {
				f.LoadVec(kw.Mem{Base: w}, in[l])
				f.AddGP(w, stride)
			}
		}
		if t.k.srcGrid {
			f.AddGP(w, stride)
		}
		t.plan.emit(t, in, func(j int, out kw.V) {
			f.StoreVec(out, kw.Mem{Base: t.tmp, Disp: (k*t.rows + j) * t.vb})
		})
	}
}

// columnsPass computes Out = P T: per column j of T, its c elements
// loaded once, then Out[i][j] = row i of P applied to them (+ bias), for
// i < r.
func (t *transform) columnsPass(dst, stride, rowStep kw.G, bias kw.V) {
	f := t.f
	col := f.MoveGP(dst)
	for j := 0; j < t.rows; j++ {
		in := make([]kw.V, t.cols)
		for k := range in {
			in[k] = f.Vec()
			f.LoadVec(kw.Mem{Base: t.tmp, Disp: (k*t.rows + j) * t.vb}, in[k])
		}
		// The outputs come in plan order: each stored at its own row's
		// address, from the column's base.
		step := rowStep
		if t.k.dstGrid {
			step = stride
		}
		w, at := f.MoveGP(col), 0 // w points at row at
		t.plan.emit(t, in, func(i int, out kw.V) {
			if t.k.bias {
				f.Binary(kw.Add, out, out, bias)
			}
			switch {
			case i == at+1:
				f.AddGP(w, step)
			case i != at:
				f.MulImm(w, step, i)
				f.AddGP(w, col)
			}
			at = i
			f.StoreVec(out, kw.Mem{Base: w})
		})
		if j+1 < t.rows {
			if t.k.dstGrid {
				f.AddImm(col, t.vb)
			} else {
				f.AddGP(col, stride)
			}
		}
	}
}
