package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/convkit/convkit/kernels"
)

// refGemm is the float64 oracle: it returns alpha*op(A)*op(B) + beta*C and,
// per element, the magnitude |alpha|*sum|a||b| + |beta*c| that bounds the
// float32 rounding error.
func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (want, mag []float64) {
	want = make([]float64, m*n)
	mag = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			if alpha != 0 {
				for p := 0; p < k; p++ {
					var av, bv float32
					if transA {
						av = a[p*lda+i]
					} else {
						av = a[i*lda+p]
					}
					if transB {
						bv = b[j*ldb+p]
					} else {
						bv = b[p*ldb+j]
					}
					s += float64(av) * float64(bv)
					sa += math.Abs(float64(av) * float64(bv))
				}
			}
			w := float64(alpha) * s
			g := math.Abs(float64(alpha)) * sa
			if beta != 0 {
				w += float64(beta) * float64(c[i*ldc+j])
				g += math.Abs(float64(beta) * float64(c[i*ldc+j]))
			}
			want[i*n+j], mag[i*n+j] = w, g
		}
	}
	return want, mag
}

// closeEnough bounds float32 rounding in a k-term dot product of
// magnitude mag.
func closeEnough(got, want, mag float64, k int) bool {
	return math.Abs(got-want) <= 2e-7*float64(k+4)*mag+1e-30
}

// gemmCase is one product to check.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            int // extra leading-dimension elements
	ldA, ldB       int // when > 0: lda and ldb (instead of width + pad)
}

func (tc gemmCase) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	s := fmt.Sprintf("%s%s/%dx%dx%d/a%g/b%g/pad%d", t(tc.transA), t(tc.transB), tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.pad)
	if tc.ldA > 0 || tc.ldB > 0 {
		s += fmt.Sprintf("/lda%d/ldb%d", tc.ldA, tc.ldB)
	}
	return s
}

// dims returns the stored shapes of A, B, C and their leading dimensions.
func (tc gemmCase) dims() (ra, ca, rb, cb, lda, ldb, ldc int) {
	ra, ca = tc.m, tc.k
	if tc.transA {
		ra, ca = tc.k, tc.m
	}
	rb, cb = tc.k, tc.n
	if tc.transB {
		rb, cb = tc.n, tc.k
	}
	lda, ldb = max(1, ca+tc.pad), max(1, cb+tc.pad)
	if tc.ldA > 0 {
		lda = tc.ldA
	}
	if tc.ldB > 0 {
		ldb = tc.ldB
	}
	return ra, ca, rb, cb, lda, ldb, max(1, tc.n+tc.pad)
}

// matLen is the exact length BLAS needs: (rows-1)*ld + cols.
func matLen(rows, cols, ld int) int {
	if rows == 0 || cols == 0 {
		return 0
	}
	return (rows-1)*ld + cols
}

func fillRand(r *rand.Rand, x []float32) {
	for i := range x {
		v := r.Float32()*2 - 1
		if v == 0 {
			v = 0.25
		}
		x[i] = v
	}
}

// check runs tc through run (which must compute it into c) on random data
// in slices from alloc, and compares with the oracle.
func check(t *testing.T, tc gemmCase, alloc func(n int) ([]float32, func()), run func(a []float32, lda int, b []float32, ldb int, c []float32, ldc int)) {
	t.Helper()
	ra, ca, rb, cb, lda, ldb, ldc := tc.dims()
	a, fa := alloc(matLen(ra, ca, lda))
	defer fa()
	b, fb := alloc(matLen(rb, cb, ldb))
	defer fb()
	c, fc := alloc(matLen(tc.m, tc.n, ldc))
	defer fc()
	r := rand.New(rand.NewPCG(uint64(tc.m*7919+tc.n*104729+tc.k), 1))
	fillRand(r, a)
	fillRand(r, b)
	fillRand(r, c)
	if tc.beta == 0 {
		// beta == 0 must not read C: NaN there must not leak out.
		for i := range c {
			c[i] = float32(math.NaN())
		}
	}
	// Poison the padding of C: it must come back untouched.
	c0 := append([]float32(nil), c...)
	want, mag := refGemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	run(a, lda, b, ldb, c, ldc)
	tol := 2e-7 * float64(tc.k+4)
	bad := 0
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.n; j++ {
			got := float64(c[i*ldc+j])
			w, g := want[i*tc.n+j], mag[i*tc.n+j]
			if !(math.Abs(got-w) <= tol*g+1e-30) {
				if bad < 5 {
					t.Errorf("%v: C[%d,%d] = %v, want %v", tc, i, j, got, w)
				}
				bad++
			}
		}
		for j := tc.n; j < ldc && i*ldc+j < len(c); j++ {
			if math.Float32bits(c[i*ldc+j]) != math.Float32bits(c0[i*ldc+j]) {
				t.Fatalf("%v: padding C[%d,%d] was written", tc, i, j)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%v: %d wrong elements", tc, bad)
	}
}

func heapAlloc(n int) ([]float32, func()) { return make([]float32, n), func() {} }

// testPath is one kernel path of this host with a forced plan: a
// selection (an ISA's tile family, or its portable micro-kernel) and an
// override of the planner, set on the Contexts it makes, so that tests on
// different paths run in parallel.
type testPath struct {
	isa   kernels.ISA
	force forcing
}

// context returns a Context on threads threads that runs the path.
func (tp testPath) context(threads int) *Context {
	ctx := NewContext(threads)
	ctx.force = tp.force
	return ctx
}

// sgemm returns a check callback that computes tc on ctx and asserts that
// the call ran the path tp claims.
func (tp testPath) sgemm(t *testing.T, ctx *Context, tc gemmCase) func(a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	return func(a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
		t.Helper()
		ctx.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
		tp.assertRan(t, ctx, tc)
	}
}

// assertRan checks that the last call on ctx ran what tp claims: its
// selection's kernels and, where tp forces them, the operand forms, the
// swapped product or the matrix-vector form.
func (tp testPath) assertRan(t *testing.T, ctx *Context, tc gemmCase) {
	t.Helper()
	pl, f := &ctx.last, tp.force
	if tc.m == 0 || tc.n == 0 || tc.k == 0 || tc.alpha == 0 {
		if pl.path != pathNone {
			t.Fatalf("%v: ran %v, want no product", tc, pl.path)
		}
		return
	}
	if pl.vec != f.sel.vec || pl.micro.MR != f.sel.micro.MR || pl.micro.NR != f.sel.micro.NR ||
		pl.fast != f.sel.fast && (pl.fast == nil || pl.fast != f.sel.narrow) {
		t.Fatalf("%v: ran the kernels of another selection (family %v)", tc, pl.fast)
	}
	want := pl.path // the planner's choice where tp claims none
	switch {
	case f.gemv != gemvNone && gemvAdmits(f.gemv, tc.transA, tc.transB, tc.m, tc.n):
		want = pathGemv
		if pl.gemv != f.gemv {
			t.Fatalf("%v: ran form %d, want form %d", tc, pl.gemv, f.gemv)
		}
	case f.gemv != gemvNone && pl.path == pathGemv:
		t.Fatalf("%v: ran form %d, which the shape does not admit", tc, pl.gemv)
	case f.sel.fast == nil:
		if f.pack == packAuto && pl.path != pathGemv {
			want = pathPortable
		}
	case f.pack == packAll || f.pack == packNone:
		want = pathTiles
		if wantA, wantB := f.pack == packAll, f.pack == packAll || tc.transB; pl.tiles.packA != wantA || pl.tiles.packB != wantB {
			t.Fatalf("%v: packed A %v, B %v; want %v, %v", tc, pl.tiles.packA, pl.tiles.packB, wantA, wantB)
		}
	case f.pack == packSwap:
		want = pathTiles
		if tc.transB {
			want = pathSwapped
		}
	}
	if pl.path != want {
		t.Fatalf("%v: ran %v, want %v", tc, pl.path, want)
	}
}

// pathMode is one forced plan that paths runs each selection under.
type pathMode struct {
	name  string
	force forcing
}

// tileModes force each operand form of the tile families.
var tileModes = []pathMode{{"auto", forcing{}}, {"packed", forcing{pack: packAll}}, {"direct", forcing{pack: packNone}}, {"swapped", forcing{pack: packSwap}}}

// gemvModes force each matrix-vector form (where the shape admits it).
var gemvModes = []pathMode{
	{"dot1", forcing{gemv: gemvDot1}}, {"dotB", forcing{gemv: gemvDotB}}, {"dotA", forcing{gemv: gemvDotA}},
	{"axpyB", forcing{gemv: gemvAxpyB}}, {"axpyA", forcing{gemv: gemvAxpyA}}, {"dotsB", forcing{gemv: gemvDotsB}}, {"dotsA", forcing{gemv: gemvDotsA}},
}

// paths runs f, as parallel subtests, on every kernel path this host has:
// each ISA in kernels.Available() with each generated tile family under
// each of tileModes, plus the portable driver over each ISA's Micro
// kernels (the planner's choice).
func paths(t *testing.T, f func(t *testing.T, tp testPath)) {
	forPaths(t, tileModes, []pathMode{{"auto", forcing{}}}, f)
}

// gemvPaths runs f, as parallel subtests, under each of modes on each
// ISA's default tile family (which takes the four-row kernels) and on its
// portable paths (the vector kernels only).
func gemvPaths(t *testing.T, modes []pathMode, f func(t *testing.T, tp testPath)) {
	forSelections(t, func(isa kernels.ISA, name string, sel *selection, tile int) {
		if tile > 0 {
			return // the other families run the same vector kernels
		}
		for _, pm := range modes {
			runPath(t, isa, name+"/"+pm.name, sel, pm.force, f)
		}
	})
}

// autoAnd returns the planner's choice followed by the gemvModes that
// force one of forms.
func autoAnd(forms ...gemvForm) []pathMode {
	modes := []pathMode{{"auto", forcing{}}}
	for _, pm := range gemvModes {
		if slices.Contains(forms, pm.force.gemv) {
			modes = append(modes, pm)
		}
	}
	return modes
}

// forPaths runs f under tile on the generated selections and under
// portable on the portable ones.
func forPaths(t *testing.T, tile, portable []pathMode, f func(t *testing.T, tp testPath)) {
	forSelections(t, func(isa kernels.ISA, name string, sel *selection, _ int) {
		modes := tile
		if sel.fast == nil {
			modes = portable
		}
		for _, pm := range modes {
			runPath(t, isa, name+"/"+pm.name, sel, pm.force, f)
		}
	})
}

// forSelections calls f with every selection of this host: each ISA's
// tile families (tile = their index) and its portable micro-kernels
// (tile = -1), built from kernels.TableFor, not the package binding.
func forSelections(t *testing.T, f func(isa kernels.ISA, name string, sel *selection, tile int)) {
	t.Helper()
	for _, isa := range kernels.Available() {
		tbl, err := kernels.TableFor(isa)
		if err != nil {
			t.Fatal(err)
		}
		for i, tk := range tileCandidates(isa) {
			f(isa, isa.String()+"/"+tk.name, selectFor(isa, tbl.Gemm, i), i)
		}
		// The portable driver over the ISA's Micro (the default family's
		// entry point, the only Micro generated).
		g := tbl.Gemm
		f(isa, fmt.Sprintf("%s/micro%dx%d", isa, g.MR, g.NR), selectFor(isa, g, 1<<30), -1)
	}
}

// runPath runs f on one path as a parallel subtest.
func runPath(t *testing.T, isa kernels.ISA, name string, sel *selection, force forcing, f func(t *testing.T, tp testPath)) {
	force.sel = sel
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		f(t, testPath{isa: isa, force: force})
	})
}

// withBlocking makes ctx plan with tiny cache blocks, so that every block
// loop (and its edges) runs on small matrices.
func withBlocking(ctx *Context, bl blocking) {
	s := *ctx.force.sel
	s.bl = bl
	s.bl.l3 = 1 << 30 // transposed B packs 4 kc slices per pass
	if s.fast != nil {
		s.bl.mc = roundUp(bl.mc, s.fast.mr)
		s.bl.nc = roundUp(bl.nc, s.fast.nr)
	} else {
		s.bl.mc = roundUp(bl.mc, s.micro.MR)
		s.bl.nc = roundUp(bl.nc, s.micro.NR)
	}
	ctx.force.sel = &s
}

var smallSizes = []int{0, 1, 2, 3, 5, 6, 7, 13, 15, 16, 17, 24, 25, 31, 33}

func TestSgemmSmall(t *testing.T) {
	t.Parallel()
	paths(t, func(t *testing.T, tp testPath) {
		ctx := tp.context(1)
		ks := []int{1, 2, 3, 4, 5, 7, 9, 17, 0}
		i := 0
		for _, tr := range [4][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, m := range smallSizes {
				for _, n := range smallSizes {
					i++
					tc := gemmCase{transA: tr[0], transB: tr[1], m: m, n: n, k: ks[i%len(ks)], alpha: 1, beta: 0, pad: i % 3}
					switch i % 4 {
					case 1:
						tc.alpha, tc.beta = 0.75, -1.25
					case 2:
						tc.alpha, tc.beta = -2, 1
					}
					check(t, tc, heapAlloc, tp.sgemm(t, ctx, tc))
				}
			}
		}
	})
}

// TestSgemmBlocks forces tiny blocks so the kc, mc and nc loops, their
// balancing and the packed and unpacked operand paths all run, with sizes
// just around the block and tile sizes.
func TestSgemmBlocks(t *testing.T) {
	t.Parallel()
	paths(t, func(t *testing.T, tp testPath) {
		for _, bl := range []blocking{{mc: 8, kc: 8, nc: 8}, {mc: 20, kc: 16, nc: 40}} {
			ctx := tp.context(1)
			withBlocking(ctx, bl)
			for _, tr := range [4][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, sz := range [][3]int{{37, 45, 19}, {29, 70, 33}, {90, 20, 8}, {1, 200, 3}, {200, 1, 3}, {129, 131, 9}, {140, 140, 17}} {
					tc := gemmCase{transA: tr[0], transB: tr[1], m: sz[0], n: sz[1], k: sz[2], alpha: 1.5, beta: 0.5, pad: 1}
					check(t, tc, heapAlloc, tp.sgemm(t, ctx, tc))
				}
			}
		}
	})
}

// TestSgemmKernelEdges runs sizes around each path's tile and default block
// sizes (MR±1, NR±1, KC±1, MC±1).
func TestSgemmKernelEdges(t *testing.T) {
	t.Parallel()
	paths(t, func(t *testing.T, tp testPath) {
		s := tp.force.sel
		mr, nr := s.micro.MR, s.micro.NR
		if s.fast != nil {
			mr, nr = s.fast.mr, s.fast.nr
		}
		ctx := tp.context(1)
		var cases []gemmCase
		for _, d := range []int{-1, 0, 1} {
			cases = append(cases,
				gemmCase{m: mr + d, n: 2*nr + d, k: 11, alpha: 1, beta: 2},
				gemmCase{m: 3*mr + d, n: nr + d, k: 5, alpha: -1, beta: 0, transA: true},
				gemmCase{m: 7, n: 9, k: s.bl.kc + d, alpha: 1, beta: 0, transB: true},
				gemmCase{m: 9, n: 7, k: s.bl.kc + d, alpha: 0.5, beta: 1},
			)
			if !testing.Short() {
				cases = append(cases, gemmCase{m: s.bl.mc + d, n: 2*nr + 1, k: 3, alpha: 1, beta: 0.5, pad: 2})
			}
		}
		for _, tc := range cases {
			check(t, tc, heapAlloc, tp.sgemm(t, ctx, tc))
		}
	})
}

func TestSgemmThreads(t *testing.T) {
	t.Parallel()
	sizes := [][3]int{{300, 200, 70}, {64, 500, 130}, {517, 33, 129}, {2, 3000, 40}}
	if testing.Short() {
		sizes = sizes[:2]
	}
	paths(t, func(t *testing.T, tp testPath) {
		for _, threads := range []int{1, 2, 3} {
			ctx := tp.context(threads)
			for _, sz := range sizes {
				for _, tr := range [4][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					tc := gemmCase{transA: tr[0], transB: tr[1], m: sz[0], n: sz[1], k: sz[2], alpha: 1, beta: 0.25, pad: 3}
					check(t, tc, heapAlloc, tp.sgemm(t, ctx, tc))
				}
			}
		}
	})
}

// TestSgemmAlphaZero: alpha == 0 must not read A or B (NaN there must not
// show) and must still scale C by beta.
func TestSgemmAlphaZero(t *testing.T) {
	t.Parallel()
	m, n, k := 5, 7, 3
	a := make([]float32, m*k)
	b := make([]float32, k*n)
	for i := range a {
		a[i] = float32(math.NaN())
	}
	for i := range b {
		b[i] = float32(math.Inf(1))
	}
	c := make([]float32, m*n)
	for i := range c {
		c[i] = float32(i)
	}
	Sgemm(false, false, m, n, k, 0, a, k, b, n, 2, c, n)
	for i, v := range c {
		if v != float32(2*i) {
			t.Fatalf("alpha=0, beta=2: C[%d] = %v, want %v", i, v, 2*i)
		}
	}
	for i := range c {
		c[i] = float32(math.NaN())
	}
	Sgemm(false, false, m, n, k, 0, a, k, b, n, 0, c, n)
	for i, v := range c {
		if v != 0 {
			t.Fatalf("alpha=0, beta=0: C[%d] = %v, want 0", i, v)
		}
	}
	// k == 0: C = beta*C.
	for i := range c {
		c[i] = 1
	}
	Sgemm(false, false, m, n, 0, 1, nil, 1, nil, n, 3, c, n)
	for i, v := range c {
		if v != 3 {
			t.Fatalf("k=0, beta=3: C[%d] = %v, want 3", i, v)
		}
	}
}

func TestSgemmPanics(t *testing.T) {
	t.Parallel()
	a := make([]float32, 12)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"m<0", func() { Sgemm(false, false, -1, 2, 2, 1, a, 2, a, 2, 0, a, 2) }},
		{"lda", func() { Sgemm(false, false, 2, 2, 3, 1, a, 2, a, 2, 0, a, 2) }},
		{"len(a)", func() { Sgemm(false, false, 4, 2, 4, 1, a, 4, a, 2, 0, a, 2) }},
		{"len(c)", func() { Sgemm(false, false, 2, 7, 1, 1, a, 1, a, 7, 0, a[:5], 7) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			tc.f()
		}()
	}
}

// TestSgemmAllocs checks that steady-state calls allocate nothing on every
// path the bound kernels take. It is not parallel: AllocsPerRun counts the
// allocations of every goroutine.
func TestSgemmAllocs(t *testing.T) {
	for _, threads := range []int{1, 2} {
		ctx := NewContext(threads)
		// The second shape (small m) takes the direct and swapped paths,
		// the next three the matrix-vector forms, the last two (with A
		// transposed or B as stored) the axpy forms in k chunks: split
		// over k on two threads, and summed chunk by chunk on one piece
		// of the output per thread.
		for _, sz := range [][3]int{{150, 170, 90}, {40, 170, 90}, {1, 170, 90}, {150, 1, 90}, {3, 170, 90}, {1, 100, 9000}, {2, 2100, 600}} {
			m, n, k := sz[0], sz[1], sz[2]
			a := make([]float32, m*k)
			b := make([]float32, k*n)
			c := make([]float32, m*n)
			fillRand(rand.New(rand.NewPCG(1, 2)), a)
			fillRand(rand.New(rand.NewPCG(3, 4)), b)
			for _, tr := range [4][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				lda, ldb := k, n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = k
				}
				f := func() { ctx.Sgemm(tr[0], tr[1], m, n, k, 1, a, lda, b, ldb, 0.5, c, n) }
				f()
				if got := testing.AllocsPerRun(20, f); got != 0 {
					t.Errorf("threads=%d %v trans=%v: %v allocations per call, want 0", threads, sz, tr, got)
				}
			}
		}
	}
}

func TestBalance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ total, step, unit, want int }{
		{257, 256, 4, 132}, {256, 256, 4, 256}, {100, 256, 4, 100}, {513, 256, 1, 171}, {1000, 252, 6, 252},
	} {
		if got := balance(tc.total, tc.step, tc.unit); got != tc.want {
			t.Errorf("balance(%d, %d, %d) = %d, want %d", tc.total, tc.step, tc.unit, got, tc.want)
		}
	}
}

func TestPanelFits(t *testing.T) {
	t.Parallel()
	bl := blocking{l2: 512 << 10}
	for _, tc := range []struct {
		ld, rows int
		want     bool
	}{
		{1024, 512, false}, // 4 KiB apart: 16 of 1024 sets
		{4096, 64, false},
		{3072, 288, false}, // 192 lines apart: 16 sets
		{3136, 576, true},  // 196 lines apart: 256 sets
		{1000, 512, true},  // rows start at shifting offsets
		{256, 256, true},   // 64 sets x 8 ways = 512 lines, 2 x 256 rows
		{256, 257, false},
		{16, 4096, true}, // consecutive lines
	} {
		if got := bl.panelFits(tc.ld, tc.rows); got != tc.want {
			t.Errorf("panelFits(ld %d, rows %d) = %v, want %v", tc.ld, tc.rows, got, tc.want)
		}
	}
	l1 := blocking{l1: 32 << 10}
	for _, tc := range []struct {
		ld, rows int
		want     bool
	}{
		{3136, 288, false}, // 196 lines apart: 16 of 64 sets, 128 lines
		{3136, 128, true},
		{784, 288, true}, // 49 lines apart: every set
		{1000, 512, true},
	} {
		if got := l1.stripInL1(tc.ld, tc.rows); got != tc.want {
			t.Errorf("stripInL1(ld %d, rows %d) = %v, want %v", tc.ld, tc.rows, got, tc.want)
		}
	}
}

// TestSgemmAliasingStrides runs the small-m and small-n products whose
// operands the driver would read in place, with leading dimensions that
// map their rows into few cache sets (8 KiB apart), so the packing
// fallback runs.
func TestSgemmAliasingStrides(t *testing.T) {
	t.Parallel()
	paths(t, func(t *testing.T, tp testPath) {
		ctx := tp.context(1)
		for _, tr := range [4][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, sz := range [][3]int{{20, 40, 100}, {7, 33, 67}, {40, 70, 150}} {
				tc := gemmCase{transA: tr[0], transB: tr[1], m: sz[0], n: sz[1], k: sz[2], alpha: 1, beta: 0.5, pad: 1, ldA: 2048, ldB: 2048}
				check(t, tc, heapAlloc, tp.sgemm(t, ctx, tc))
			}
		}
	})
}

// TestSgemmConcurrentCallers runs the package-level Sgemm from several
// goroutines at once (parallel subtests): each result must be right, and
// the threads the calls borrowed must all be given back. It is not
// parallel with other tests: threadsInUse counts every package-level call.
func TestSgemmConcurrentCallers(t *testing.T) {
	const n = 70
	t.Run("group", func(t *testing.T) {
		for i := range 4 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				tc := gemmCase{m: n + i, n: n, k: n - i, alpha: 1, beta: 0}
				for range 5 {
					check(t, tc, heapAlloc, func(a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
						Sgemm(false, false, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
					})
				}
			})
		}
	})
	if got := threadsInUse.Load(); got != 0 {
		t.Errorf("threadsInUse = %d after all calls returned", got)
	}
}

// TestSgemmMatrixVector runs the matrix-vector forms (m or n up to 4) on
// every path, as gemvFormFor picks them and forced one by one wherever the
// shape admits them: contiguous and strided vectors, every transpose,
// alpha and beta cases, one and two threads.
func TestSgemmMatrixVector(t *testing.T) {
	t.Parallel()
	gemvPaths(t, autoAnd(gemvDot1, gemvDotB, gemvDotA, gemvAxpyB, gemvAxpyA, gemvDotsB, gemvDotsA), func(t *testing.T, tp testPath) {
		ran := 0 // products that ran the forced form
		defer func() {
			if tp.force.gemv != gemvNone && ran == 0 {
				t.Errorf("no shape ran form %d", tp.force.gemv)
			}
		}()
		for _, threads := range []int{1, 2} {
			ctx := tp.context(threads)
			for _, tr := range [4][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, sz := range [][3]int{{1, 16, 16}, {1, 1000, 257}, {1, 33, 17}, {16, 1, 16}, {1000, 1, 257}, {33, 1, 17}, {1, 1, 1}, {1, 1, 300}, {1, 15, 40}, {15, 1, 40},
					{2, 33, 17}, {3, 100, 40}, {4, 16, 16}, {4, 70, 257}, {70, 3, 33}, {40, 4, 100}, {16, 2, 5}, {33, 2, 40}, {9, 4, 17}} {
					for i, ab := range [][2]float32{{1, 0}, {-0.5, 1.5}, {2, 1}} {
						tc := gemmCase{transA: tr[0], transB: tr[1], m: sz[0], n: sz[1], k: sz[2], alpha: ab[0], beta: ab[1], pad: 3 * i}
						check(t, tc, heapAlloc, tp.sgemm(t, ctx, tc))
						if ctx.last.path == pathGemv && ctx.last.gemv == tp.force.gemv {
							ran++
						}
						// With one vector the planner's form depends on
						// the shape alone.
						want := gemvFormFor(tc.transA, tc.transB, tc.m, tc.n, tc.k, 32<<10, false, false)
						if tp.force.gemv == gemvNone && (tc.m == 1 || tc.n == 1) && ctx.last.gemv != want {
							t.Fatalf("%v: planned form %d, want %d", tc, ctx.last.gemv, want)
						}
						if (tc.m == 1 || tc.n == 1) && tc.m*tc.n > 40 && want == gemvNone {
							t.Fatalf("%v: not a matrix-vector form", tc)
						}
					}
				}
			}
		}
	})
}

// TestSgemmMatrixVectorSplitK runs the axpy forms whose output is too short
// to split, on two threads: each sums half of the k chunks (gemvSplitK).
func TestSgemmMatrixVectorSplitK(t *testing.T) {
	t.Parallel()
	gemvPaths(t, autoAnd(gemvAxpyA, gemvAxpyB), func(t *testing.T, tp testPath) {
		ctx := tp.context(2)
		for _, sz := range [][3]int{{1, 100, 9000}, {100, 1, 9001}, {3, 100, 3001}, {100, 3, 3000}} {
			// gemvAxpyB takes m <= 4 with B as stored, gemvAxpyA n <= 4
			// with A transposed.
			form, trs := gemvAxpyB, [2][2]bool{{false, false}, {true, false}}
			if sz[1] <= 4 {
				form, trs = gemvAxpyA, [2][2]bool{{true, false}, {true, true}}
			}
			if tp.force.gemv != gemvNone && tp.force.gemv != form {
				continue // the other form's subtest runs these
			}
			for _, tr := range trs {
				tc := gemmCase{transA: tr[0], transB: tr[1], m: sz[0], n: sz[1], k: sz[2], alpha: 0.5, beta: 1.5, pad: 2}
				check(t, tc, heapAlloc, tp.sgemm(t, ctx, tc))
				if s := ctx.last.split; ctx.last.gemv != form || !s.byK || s.jobs != 2 {
					t.Fatalf("%v: ran %v (form %d) split %+v, want an axpy form split over k on 2 threads", tc, ctx.last.path, ctx.last.gemv, s)
				}
			}
		}
	})
}
