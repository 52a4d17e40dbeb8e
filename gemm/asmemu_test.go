package gemm

// The generated tile families, AVX-512 included, run through the assembly
// interpreter (internal/asmemu) on any host: each member on its own, the
// Micro entry points, and whole products through the driver.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convkit/convkit/internal/asmemu"
	"github.com/convkit/convkit/kernels"
)

func emuProgram(t *testing.T) (*asmemu.Program, []asmemu.TileFamily) {
	t.Helper()
	p, err := asmemu.Generated()
	if err != nil {
		t.Fatal(err)
	}
	fams, err := p.TileFamilies()
	if err != nil {
		t.Fatal(err)
	}
	if len(fams) == 0 {
		t.Fatal("no tile families in the generated assembly")
	}
	return p, fams
}

// requireRan fails t unless name ran in the interpreter since before.
func requireRan(t *testing.T, p *asmemu.Program, name string, before asmemu.Stats) {
	t.Helper()
	if after := p.FuncStats(name); after.Calls == before.Calls {
		t.Fatalf("%s never ran in the interpreter", name)
	}
}

// TestEmulatedKernelFamilies interprets every member of every generated
// family on exact-size strided operands, single and multi-tile, and checks
// it with checkTile.
func TestEmulatedKernelFamilies(t *testing.T) {
	p, fams := emuProgram(t)
	ks := []int{0, 1, 2, 3, 5, 6, 9}
	if testing.Short() {
		ks = []int{0, 1, 5}
	}
	for _, f := range fams {
		for _, form := range []byte(f.Forms) {
			for rows := 1; rows <= f.MR; rows++ {
				name := f.Kernel(form, rows)
				before := p.FuncStats(name)
				for _, nr := range []int{1, f.Lanes - 1, f.Lanes, f.Lanes + 1, f.NR - 1, f.NR} {
					if nr < 1 || nr > f.NR {
						continue
					}
					for _, k := range ks {
						for _, tiles := range []int{1, 2} {
							emuCheck(t, p, name, form, rows, nr, k, float32(k%2)*0.5, tiles)
						}
					}
				}
				requireRan(t, p, name, before)
			}
		}
	}
}

func emuCheck(t *testing.T, p *asmemu.Program, name string, form byte, rows, nr, k int, beta float32, tiles int) {
	t.Helper()
	// Tiles go down (P and Q: a further along rows) and stay in one column.
	mode := form
	if form == 'Q' {
		mode = 'P' // P plus prefetches
	}
	sb, ldc := nr+3, nr+2
	aRows := rows * tiles
	sa, an := aRows+1, rows
	aLen := matLen(k, aRows, sa)
	if mode == 'R' {
		sa = k + 2
		an, aLen = rows*sa, matLen(aRows, k, sa)
	}
	a := make([]float32, aLen)
	b := make([]float32, matLen(k, nr, sb))
	c := make([]float32, matLen(aRows, nr, ldc))
	for i := range a {
		a[i] = float32(i%7) - 3.25
	}
	for i := range b {
		b[i] = float32(i%5)*0.5 - 1
	}
	for i := range c {
		c[i] = float32(i%3) + 0.5
		if beta == 0 {
			c[i] = float32(math.NaN())
		}
	}
	got := append([]float32(nil), c...)
	if _, err := p.Call(name, k, a, sa, b, sb, got, ldc, nr, float32(1.5), beta, tiles, an, 0, rows*ldc); err != nil {
		t.Fatal(err)
	}
	checkTile(t, fmt.Sprintf("%s nr=%d k=%d tiles=%d", name, nr, k, tiles), mode, aRows, nr, k, a, sa, b, sb, c, got, ldc, 1.5, beta)
}

// TestEmulatedMicro interprets every generated Micro entry point (the
// kernels.GemmKernels.Micro contract) against kernels.MicroGeneric, within
// the bound of closeEnough for the magnitude of each element's terms.
func TestEmulatedMicro(t *testing.T) {
	p, fams := emuProgram(t)
	for _, f := range fams {
		if !f.Micro {
			continue
		}
		name := f.MicroKernel()
		before := p.FuncStats(name)
		for _, k := range []int{0, 1, 4, 7} {
			for _, beta := range []float32{0, -0.5} {
				mr, nr, ldc := f.MR, f.NR, f.NR+1
				r := rand.New(rand.NewPCG(uint64(k), uint64(mr*nr)))
				a, b := make([]float32, k*mr), make([]float32, k*nr)
				c := make([]float32, (mr-1)*ldc+nr)
				fillRand(r, a)
				fillRand(r, b)
				fillRand(r, c)
				want := append([]float32(nil), c...)
				kernels.MicroGeneric(mr, nr, k, a, b, want, ldc, 2, beta)
				got := append([]float32(nil), c...)
				if _, err := p.Call(name, k, a, b, got, ldc, float32(2), beta); err != nil {
					t.Fatal(err)
				}
				for i := range mr {
					for j := range nr {
						var mag float64
						for q := range k {
							mag += 2 * math.Abs(float64(a[q*mr+i])*float64(b[q*nr+j]))
						}
						mag += math.Abs(float64(beta) * float64(c[i*ldc+j]))
						if g, w := got[i*ldc+j], want[i*ldc+j]; !closeEnough(float64(g), float64(w), mag, k) {
							t.Fatalf("%s k=%d beta=%g: C[%d,%d] = %v, want %v", name, k, beta, i, j, g, w)
						}
					}
				}
			}
		}
		requireRan(t, p, name, before)
	}
}

// emuFamily is family f with its members running in the interpreter on
// real memory: each call may touch only mem() (the caller's exact-size
// operands and the Context's workspace).
func emuFamily(t *testing.T, p *asmemu.Program, f asmemu.TileFamily, mem func() []asmemu.Region) *tileKernels {
	tk := &tileKernels{name: "emu" + f.Name(), mr: f.MR, nr: f.NR}
	member := func(form byte, rows int) kernelFunc {
		name := f.Kernel(form, rows)
		return func(k int, a *float32, sa int, b *float32, sb int, c *float32, ldc int, nr int, alpha, beta float32, tiles, an, bn, cn int) {
			if _, err := p.CallIn(mem(), name, k, a, sa, b, sb, c, ldc, nr, alpha, beta, tiles, an, bn, cn); err != nil {
				t.Fatal(err)
			}
		}
	}
	forms := map[byte]*[maxMR]kernelFunc{'P': &tk.p, 'R': &tk.r, 'Q': &tk.q}
	for _, form := range []byte(f.Forms) {
		for r := 1; r <= f.MR; r++ {
			forms[form][r-1] = member(form, r)
		}
	}
	return tk
}

// TestEmulatedDriver runs whole products through the driver with each
// generated family interpreted (packing runs natively where it can), in
// every operand form and packing, with tiny cache blocks: the driver's use
// of every tile shape, AVX-512 included, is tested on any host.
func TestEmulatedDriver(t *testing.T) {
	p, fams := emuProgram(t)
	var ops []asmemu.Region
	ctx := NewContext(1)
	mem := func() []asmemu.Region {
		w := ctx.ws[0]
		return append(ops[:len(ops):len(ops)], asmemu.Floats("pack A", w.a), asmemu.Floats("pack B", w.b), asmemu.Floats("scratch", w.scr))
	}
	alloc := func(n int) ([]float32, func()) {
		s := make([]float32, n)
		ops = append(ops, asmemu.Floats(fmt.Sprintf("operand %d", len(ops)), s))
		return s, func() {}
	}
	orig := current.Load()
	shapes := [][3]int{{15, 33, 5}, {29, 70, 19}, {3, 31, 2}}
	if testing.Short() {
		shapes = shapes[:1]
	}
	for _, f := range fams {
		before := p.Stats()
		s := *orig
		s.fast, s.narrow = emuFamily(t, p, f, mem), nil
		s.bl = blocking{mc: 2 * f.MR, kc: 8, nc: 2 * f.NR, l3: 1 << 30}
		ctx.force.sel = &s
		for _, pm := range []packing{packAuto, packAll, packNone, packSwap} {
			ctx.force.pack = pm
			for _, sz := range shapes {
				for _, tr := range [4][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					ops = ops[:0]
					tc := gemmCase{transA: tr[0], transB: tr[1], m: sz[0], n: sz[1], k: sz[2], alpha: 1.5, beta: float32(sz[2] % 2), pad: 1}
					check(t, tc, alloc, func(a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
						ctx.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
					})
				}
			}
		}
		if p.Stats().Calls == before.Calls {
			t.Fatalf("family %s never ran in the interpreter", f.Name())
		}
	}
}
