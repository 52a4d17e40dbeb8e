package kw

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/convkit/convkit/gen/arm64asm"
	"github.com/convkit/convkit/gen/internal/avomain"
	"github.com/mmcloughlin/avo/build"
)

// TestExecute runs every primitive of the layer for real: it emits one
// small kernel per primitive with each backend, builds them into a
// throwaway module beside a Go checker (testdata/check.go.txt) and runs
// it, natively for the x86 ISAs this host has and under qemu-aarch64 for
// NEON when that is installed. The kernel families in asm/ are tested by
// the main module; this covers the layer's whole vocabulary, including
// what no family uses yet (Zip, Unzip, Select, Sub, Min), and LoopPairs
// in other forms than the stride-2 kernels' (two plain pointers, Sub).
func TestExecute(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a module")
	}
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check, err := os.ReadFile("testdata/check.go.txt")
	if err != nil {
		t.Fatal(err)
	}
	write("go.mod", []byte("module kwexec\n\ngo 1.26\n"))
	write("check_test.go", check)

	ctx := build.NewContext()
	ctx.ConstraintExpr("amd64")
	x86 := []Backend{NewAVX2(ctx, "kwmask"), NewAVX512(ctx, "kwperm")}
	for _, b := range x86 {
		testKernels(New(b))
	}
	asmSrc, stubs, err := avomain.Render(ctx, "kwexec", []string{"kw", "TestExecute"})
	if err != nil {
		t.Fatal(err)
	}
	write("k_amd64.s", asmSrc)
	write("k_amd64.go", stubs)
	write("table_amd64.go", table("amd64", AVX2, AVX512))

	file := arm64asm.NewFile("kwexec", "kw TestExecute", "arm64")
	nb := NewNEON(file)
	testKernels(New(nb))
	Finish(nb)
	write("k_arm64.s", file.Asm())
	write("k_arm64.go", file.Stubs())
	write("table_arm64.go", table("arm64", NEON))

	run := func(env []string, args ...string) {
		cmd := exec.Command("go", append([]string{"test", "-count=1"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		t.Logf("%s go test %s:\n%s", strings.Join(env, " "), strings.Join(args, " "), out)
		if err != nil {
			t.Errorf("%s go test %s: %v", strings.Join(env, " "), strings.Join(args, " "), err)
		}
	}
	if runtime.GOARCH == "amd64" {
		run(nil, "-v")
	} else {
		t.Log("not amd64: the x86 kernels are only built, not run")
		run([]string{"GOARCH=amd64"}, "-run", "XXX")
	}
	if runtime.GOARCH == "arm64" {
		run(nil, "-v")
	} else if q, err := exec.LookPath("qemu-aarch64"); err == nil {
		run([]string{"GOARCH=arm64"}, "-exec", q, "-v")
	} else {
		t.Log("no qemu-aarch64: the NEON kernels are only built, not run")
		run([]string{"GOARCH=arm64"}, "-run", "XXX")
	}
}

// table is the Go file that lists the test kernels of each ISA for the
// checker, by primitive.
func table(arch string, isas ...ISA) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "//go:build %s\n\npackage kwexec\n\nvar isas = []isaKernels{\n", arch)
	for _, i := range isas {
		fmt.Fprintf(&b, "\t{name: %q, lanes: %d, bin: map[string]func(dst, x, y []float32){", i.Name, i.Lanes)
		for _, op := range binaryOps {
			fmt.Fprintf(&b, "%q: Bin%s%s, ", op.name, op.name, i.Name)
		}
		b.WriteString("}, sel: map[string]func(dst, x, y []float32){")
		for _, p := range preds {
			fmt.Fprintf(&b, "%q: Sel%s%s, ", p.name, p.name, i.Name)
		}
		b.WriteString("},\n")
		for _, k := range oneKernels {
			fmt.Fprintf(&b, "\t\t%s: %s%s,\n", strings.ToLower(k[:1])+k[1:], k, i.Name)
		}
		b.WriteString("\t},\n")
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

var binaryOps = []struct {
	name string
	op   Op
}{{"Add", Add}, {"Sub", Sub}, {"Max", Max}, {"Min", Min}}

var preds = []struct {
	name string
	p    Pred
}{{"Unord", Unord}, {"LT", LT}, {"NGE", NGE}, {"GT", GT}}

// oneKernels are the test kernels of one signature each, in emission order.
var oneKernels = []string{"Mul", "FMA", "LaneFMA", "MulAdd", "ZeroUnless", "ReduceAdd", "ReduceMax", "Broadcast", "Zip", "Unzip", "Evens", "Reverse", "Transpose", "LoopAdd", "Partial", "EvenLoop", "PairLoop"}

const sig = "func(dst, x, y []float32)"

// testKernels emits the test kernels: each reads x and y and writes dst,
// whose lengths the checker chooses (one vector unless said otherwise).
func testKernels(f *Func) {
	L, vb := f.ISA.Lanes, f.ISA.VBytes()
	begin := func(name string) (d, x, y G) {
		f.Function(name+f.ISA.Name, sig)
		return f.Ptr("dst"), f.Ptr("x"), f.Ptr("y")
	}
	load := func(p G, off int) V {
		v := f.Vec()
		f.LoadVec(Mem{Base: p, Disp: off}, v)
		return v
	}
	for _, o := range binaryOps { // dst = x op y, y as a memory operand
		d, x, y := begin("Bin" + o.name)
		v := load(x, 0)
		f.Binary(o.op, v, v, Mem{Base: y})
		f.StoreVec(v, Mem{Base: d})
		f.Ret()
	}
	for _, p := range preds { // dst = x p y ? x : y
		d, x, y := begin("Sel" + p.name)
		vx, vy := load(x, 0), load(y, 0)
		f.Select(f.Cmp(p.p, vx, vy), vx, vy, vx)
		f.StoreVec(vx, Mem{Base: d})
		f.Ret()
	}
	{ // dst = x * y
		d, x, y := begin("Mul")
		v := load(x, 0)
		f.Mul(v, v, Mem{Base: y})
		f.StoreVec(v, Mem{Base: d})
		f.Ret()
	}
	{ // dst += x * y
		d, x, y := begin("FMA")
		acc := load(d, 0)
		f.FMA(acc, load(x, 0), Mem{Base: y})
		f.StoreVec(acc, Mem{Base: d})
		f.Ret()
	}
	{ // dst += x * y[2]: by lane where the ISA can, else broadcast
		d, x, y := begin("LaneFMA")
		acc := load(d, 0)
		if f.ISA.LaneFMA {
			f.FMALane(acc, load(x, 0), load(y, 0), 2)
		} else {
			b := f.Vec()
			f.Broadcast(Mem{Base: y, Disp: 8}, b)
			f.FMA(acc, load(x, 0), b)
		}
		f.StoreVec(acc, Mem{Base: d})
		f.Ret()
	}
	{ // dst = dst*x + y
		d, x, y := begin("MulAdd")
		v := load(d, 0)
		f.MulAdd(v, load(x, 0), Mem{Base: y})
		f.StoreVec(v, Mem{Base: d})
		f.Ret()
	}
	{ // dst = x > y ? x : 0
		d, x, y := begin("ZeroUnless")
		vx := load(x, 0)
		out := f.Vec()
		f.ZeroUnless(f.Cmp(GT, vx, load(y, 0)), vx, out)
		f.StoreVec(out, Mem{Base: d})
		f.Ret()
	}
	for _, op := range []struct {
		name string
		op   Op
	}{{"ReduceAdd", Add}, {"ReduceMax", Max}} { // dst[0] = the lanes of x folded
		d, x, _ := begin(op.name)
		f.StoreScalar(f.Reduce(op.op, load(x, 0)), Mem{Base: d})
		f.Ret()
	}
	{ // dst = x[3] in every lane
		d, x, _ := begin("Broadcast")
		v := f.Vec()
		f.Broadcast(Mem{Base: x, Disp: 12}, v)
		f.StoreVec(v, Mem{Base: d})
		f.Ret()
	}
	{ // dst[:2L] = Zip(x, y), in place of x and y
		d, x, y := begin("Zip")
		vx, vy := load(x, 0), load(y, 0)
		f.Zip(vx, vy, vx, vy)
		f.StoreVec(vx, Mem{Base: d})
		f.StoreVec(vy, Mem{Base: d, Disp: vb})
		f.Ret()
	}
	{ // dst[:2L] = Unzip(x, y), in place
		d, x, y := begin("Unzip")
		vx, vy := load(x, 0), load(y, 0)
		f.Unzip(vx, vy, vx, vy)
		f.StoreVec(vx, Mem{Base: d})
		f.StoreVec(vy, Mem{Base: d, Disp: vb})
		f.Ret()
	}
	{ // dst[:L] = the even lanes of x then y
		d, x, y := begin("Evens")
		v := f.Vec()
		f.Evens(v, load(x, 0), load(y, 0))
		f.StoreVec(v, Mem{Base: d})
		f.Ret()
	}
	{ // dst[:L] = x[:L] reversed
		d, x, _ := begin("Reverse")
		v := f.Vec()
		f.Reverse(v, load(x, 0))
		f.StoreVec(v, Mem{Base: d})
		f.Ret()
	}
	{ // dst[:L*L] = the transpose of x[:L*L]
		d, x, _ := begin("Transpose")
		rows := make([]V, L)
		for r := range rows {
			rows[r] = load(x, r*vb)
		}
		for r, v := range f.Transpose(rows) {
			f.StoreVec(v, Mem{Base: d, Disp: r * vb})
		}
		f.Ret()
	}
	{ // dst = x + y over len(dst): the tail strategy
		d, x, y := begin("LoopAdd")
		n := f.Len("dst")
		f.Loop(n, []G{d, x, y}, 2, func(s Step) {
			for j := 0; j < s.Count; j++ {
				v := f.Vec()
				f.Load(s, s.At(x, j), v)
				f.Binary(Add, v, v, f.Src(s, s.At(y, j)))
				f.Store(s, v, s.At(d, j))
			}
		})
		f.Ret()
	}
	{ // dst[:n] = x[:n] for n = len(dst) in 1..2L: partial vectors
		d, x, _ := begin("Partial")
		n := f.Len("dst")
		f.ByCount(n, 2*L, "n", func(l int, p Partial, lbl string) {
			p = f.ForStores(p)
			for v := 0; v < l; v++ {
				r := f.Vec()
				m := Mem{Base: x, Disp: v * vb}
				if v == l-1 {
					f.LoadPartial(m, p, r)
					f.StorePartial(r, p, Mem{Base: d, Disp: v * vb})
				} else {
					f.LoadVec(m, r)
					f.StoreVec(r, Mem{Base: d, Disp: v * vb})
				}
			}
			f.Jump("done")
		})
		f.Label("done")
		f.Ret()
	}
	{ // dst[i] = x[i] + y[2*i] over len(dst); len(y) = 2*len(dst)-1
		d, x, y := begin("EvenLoop")
		n := f.Len("dst")
		f.LoopPairs(n, []G{d, x}, []G{y}, 2, func(s Step) {
			for j := 0; j < s.Count; j++ {
				v := f.Vec()
				f.LoadEvens(s, s.PairAt(y, j), v)
				f.Binary(Add, v, v, f.Src(s, s.At(x, j)))
				f.Store(s, v, s.At(d, j))
			}
		})
		f.Ret()
	}
	{ // dst[2*i] -= x[i] over len(x), the odd elements kept; len(dst) = 2*len(x)-1
		d, x, _ := begin("PairLoop")
		n := f.Len("x")
		f.LoopPairs(n, []G{x}, []G{d}, 2, func(s Step) {
			for j := 0; j < s.Count; j++ {
				even, odd := f.Vec(), f.Vec()
				f.LoadPairs(s, s.PairAt(d, j), even, odd)
				f.Binary(Sub, even, even, f.Src(s, s.At(x, j)))
				f.StorePairs(s, even, odd, s.PairAt(d, j))
			}
		})
		f.Ret()
	}
}
