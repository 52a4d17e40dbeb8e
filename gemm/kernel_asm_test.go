//go:build (amd64 || arm64) && !purego

package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/internal/guardpage"
	"github.com/convkit/convkit/internal/prng"
	"github.com/convkit/convkit/kernels"
)

// guarded returns n float32 against a PROT_NONE page: after the slice when
// end, before it otherwise.
func guarded(t *testing.T, n int, end bool) []float32 {
	var s []float32
	var buf *guardpage.Buffer
	if end {
		s, buf = guardpage.End(n)
	} else {
		s, buf = guardpage.Start(n)
	}
	t.Cleanup(buf.Free)
	return s
}

// TestMicroContract checks every generated Micro entry point the host can
// run against a float64 loop (checkTile), on guard-paged exact-size panels.
func TestMicroContract(t *testing.T) {
	ran := 0
	for _, f := range asm.SgemmFamilies {
		isa := isaOf(f.ISA)
		if f.Micro.Func == nil || !kernels.Supported(isa) {
			continue
		}
		ran++
		mr, nr := f.MR, f.NR
		for _, k := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 17, 64, 257} {
			for _, end := range []bool{true, false} {
				for _, ab := range [][2]float32{{1, 0}, {-0.5, 1}, {2, -1.5}} {
					name := fmt.Sprintf("%s/k%d/end%v/a%g/b%g", f.Micro.Name, k, end, ab[0], ab[1])
					ldc := nr + k%3
					a := guarded(t, k*mr, end)
					b := guarded(t, k*nr, !end)
					c := guarded(t, (mr-1)*ldc+nr, end)
					prng.Fill(a, uint32(k+1))
					prng.Fill(b, uint32(k+2))
					prng.Fill(c, uint32(k+3))
					if ab[1] == 0 {
						for i := range c {
							c[i] = float32(math.NaN())
						}
					}
					c0 := append([]float32(nil), c...)
					f.Micro.Func(k, a, b, c, ldc, ab[0], ab[1])
					// The Micro contract is the P form on panels: A(i, p) =
					// a[p*MR+i], B(p, j) = b[p*NR+j]; checkTile bounds the
					// error by k and the magnitudes of the terms.
					checkTile(t, name, 'P', mr, nr, k, a, mr, b, nr, c0, c, ldc, ab[0], ab[1])
				}
			}
		}
	}
	if ran == 0 {
		t.Log("no generated micro-kernel runs on this host")
	}
}

// TestKernelFamilies checks every member of every host-runnable tile family
// (P and R forms, every row count, n edges) on strided, exact-size operands
// that sit against guard pages, against a float64 loop.
func TestKernelFamilies(t *testing.T) {
	for _, isa := range kernels.Available() {
		for _, tk := range tileCandidates(isa) {
			lanes := isa.VectorBytes() / 4
			nrs := []int{1, lanes - 1, lanes, lanes + 1, tk.nr - 1, tk.nr}
			for rows := 1; rows <= tk.mr; rows++ {
				for _, mode := range tk.modes() {
					fn := tk.member(mode, rows)
					for _, nr := range nrs {
						if nr < 1 || nr > tk.nr {
							continue
						}
						for _, k := range []int{0, 1, 2, 3, 5, 8, 13} {
							for _, beta := range []float32{0, 0.5} {
								name := fmt.Sprintf("%s/%c%d/nr%d/k%d/beta%g", tk.name, mode, rows, nr, k, beta)
								checkFamilyMember(t, name, fn, mode, rows, nr, k, 1.25, beta, k%2 == 0)
							}
						}
					}
				}
			}
		}
	}
}

func checkFamilyMember(t *testing.T, name string, fn kernelFunc, mode byte, rows, nr, k int, alpha, beta float32, end bool) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(rows*131+nr*7+k), 9))
	// Strides a little wider than needed, lengths exact.
	sa, la := rows+1, 0
	if mode == 'R' {
		sa = k + 2
		la = matLen(rows, k, sa)
	} else {
		la = matLen(k, rows, sa)
	}
	sb, ldc := nr+3, nr+2
	a := guarded(t, la, end)
	b := guarded(t, matLen(k, nr, sb), !end)
	c := guarded(t, matLen(rows, nr, ldc), end)
	fillRand(r, a)
	fillRand(r, b)
	fillRand(r, c)
	if beta == 0 {
		for i := range c {
			c[i] = float32(math.NaN())
		}
	}
	c0 := append([]float32(nil), c...)
	fn(k, unsafe.SliceData(a), sa, unsafe.SliceData(b), sb, unsafe.SliceData(c), ldc, nr, alpha, beta, 1, 0, 0, 0)
	checkTile(t, name, mode, rows, nr, k, a, sa, b, sb, c0, c, ldc, alpha, beta)
}

// rowFamilies returns, for every ISA of the generated table that has row
// kernels and that the host runs, a tile family bound to them (the packs
// are methods of a family), so that each ISA's row kernels are tested
// natively. It fails the test unless every path of the host that has
// tile families is among them, each family bound to its own ISA's rows.
func rowFamilies(t *testing.T) []*tileKernels {
	var out []*tileKernels
	ran := map[kernels.ISA]bool{}
	for i := range asm.SgemmRowSets {
		rs := &asm.SgemmRowSets[i]
		if isa := isaOf(rs.ISA); kernels.Supported(isa) {
			out = append(out, &tileKernels{name: rs.ISA, rows: rs})
			ran[isa] = true
		}
	}
	for _, isa := range kernels.Available() {
		for _, tk := range tileCandidates(isa) {
			if !ran[isa] || isaOf(tk.rows.ISA) != isa {
				t.Fatalf("%s family %s: its row kernels are not %s's generated ones", isa, tk.name, isa)
			}
		}
	}
	return out
}

// TestGeneratedTable checks the table that package gemm is built from:
// every family lists MR kernels of each form, named as the interpreter
// of the .s file looks them up, the default first in its ISA, and every
// tile side at least half a vector (the PackRows contract).
func TestGeneratedTable(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range asm.SgemmFamilies {
		if first := !seen[f.ISA]; first != (f.Role == asm.RoleDefault) {
			t.Errorf("%s: role %d, but the default must come first in its ISA and only there", f.Name(), f.Role)
		}
		seen[f.ISA] = true
		if min(f.MR, f.NR) < f.Lanes/2 {
			t.Errorf("%s: a tile side below half a vector of %d lanes", f.Name(), f.Lanes)
		}
		if f.Form(asm.FormP) == nil || f.Form(asm.FormR) == nil {
			t.Errorf("%s: no P or R form", f.Name())
		}
		for _, fk := range f.Forms {
			if len(fk.Rows) != f.MR {
				t.Errorf("%s form %c: %d kernels, want MR = %d", f.Name(), fk.Form, len(fk.Rows), f.MR)
			}
			for r, k := range fk.Rows {
				if want := fmt.Sprintf("Sgemm%s%c%d", f.Name(), fk.Form, r+1); k.Name != want || k.Func == nil {
					t.Errorf("%s form %c rows %d: %q (func %v), want %q", f.Name(), fk.Form, r+1, k.Name, k.Func != nil, want)
				}
			}
		}
		if (f.Micro.Name == "") != (f.Micro.Func == nil) || (f.Role == asm.RoleDefault) != (f.Micro.Func != nil) {
			t.Errorf("%s: Micro %q, role %d: only the default family has one", f.Name(), f.Micro.Name, f.Role)
		}
	}
	if nf := narrowFamily(kernels.AVX2); seen["AVX2"] && (nf == nil || nf.nr != 8) {
		t.Errorf("AVX2 narrow family %v, want the 12x8 one", nf)
	}
}

// TestPackKernels checks the asm packs of every ISA (and their spill
// contract) bit for bit against their twins packStrided, packContig and
// packRowsGo, on sources that end or start at a guard page.
func TestPackKernels(t *testing.T) {
	for _, tk := range rowFamilies(t) {
		for _, W := range []int{4, 6, 12, 14, 16, 24, 32} {
			for _, cnt := range []int{1, W - 1, W, W + 1, 2*W + 3} {
				if cnt < 1 {
					continue
				}
				for _, kc := range []int{1, 7, 8, 9, 15, 16, 17, 23, 31, 32, 33, 47} {
					checkPacks(t, tk, W, cnt, kc)
				}
			}
		}
	}
}

func checkPacks(t *testing.T, tk *tileKernels, W, cnt, kc int) {
	t.Helper()
	label := fmt.Sprintf("%s W%d cnt%d kc%d", tk.name, W, cnt, kc)
	ld := kc + 3
	src := guarded(t, matLen(cnt, kc, ld), cnt%2 == 0)
	fillRand(rand.New(rand.NewPCG(uint64(W), uint64(kc))), src)
	panels := ceilDiv(cnt, W) * kc * W
	want := make([]float32, panels)
	got := make([]float32, panels+packSlack)
	packStrided(want, src, ld, 0, cnt, 0, kc, W, false)
	tk.packStridedFast(got, src, ld, 0, cnt, 0, kc, W, make([]float32, kc))
	comparePanels(t, "strided "+label, got, want, cnt, kc, W)

	ld = cnt + 2
	src = guarded(t, matLen(kc, cnt, ld), cnt%2 == 1)
	fillRand(rand.New(rand.NewPCG(uint64(W), uint64(kc))), src)
	clear(got)
	packContig(want, src, ld, 0, cnt, 0, kc, W, false)
	tk.packContigFast(got, src, ld, 0, cnt, 0, kc, W)
	comparePanels(t, "contig "+label, got, want, cnt, kc, W)

	if W < tk.rows.Lanes/2 {
		return // below the PackRows contract (no family is that narrow)
	}
	// Row order, panels ps apart (a padded stride): the same panels,
	// moved, and nothing written outside them.
	ps := kc*W + 16
	rows := make([]float32, ceilDiv(cnt, W)*ps+packSlack)
	twin := make([]float32, len(rows))
	for i := range rows {
		rows[i], twin[i] = -7, -7
	}
	tk.packRowsFast(rows, src, ld, 0, cnt, 0, kc, W, ps)
	packRowsGo(twin, src, ld, 0, cnt, 0, kc, W, ps)
	for q := 0; q*W < cnt; q++ {
		copy(got[q*kc*W:(q+1)*kc*W], rows[q*ps:q*ps+kc*W])
		if q*W+W <= cnt { // a whole panel: its padding is untouched
			for i := q*ps + kc*W; i < (q+1)*ps && i < len(rows); i++ {
				if rows[i] != -7 {
					t.Fatalf("rows %s: padding [%d] written", label, i)
				}
			}
		}
	}
	comparePanels(t, "rows "+label, got, want, cnt, kc, W)
	for q := 0; q*W < cnt; q++ { // and packRowsGo is that same twin
		copy(got[q*kc*W:(q+1)*kc*W], twin[q*ps:q*ps+kc*W])
	}
	comparePanels(t, "rows twin "+label, got, want, cnt, kc, W)
}

// comparePanels compares the live lanes (x < cnt) of packed panels.
func comparePanels(t *testing.T, name string, got, want []float32, cnt, kc, W int) {
	t.Helper()
	for q := 0; q*W < cnt; q++ {
		w := min(W, cnt-q*W)
		for p := 0; p < kc; p++ {
			for x := 0; x < w; x++ {
				if i := q*kc*W + p*W + x; math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s: panel %d [%d][%d] = %v, want %v", name, q, p, x, got[i], want[i])
				}
			}
		}
	}
}

// modes lists the operand forms a family has: P and R, and Q where
// generated.
func (tk *tileKernels) modes() []byte {
	if tk.q[0] != nil {
		return []byte{'P', 'R', 'Q'}
	}
	return []byte{'P', 'R'}
}

// member is the kernel of a family for an operand form and row count.
func (tk *tileKernels) member(mode byte, rows int) kernelFunc { return tk.form(mode)[rows-1] }

// rowKernelSizes are the lengths the row kernels are tested on: 0, 1,
// primes, and the neighbours of every vector and loop boundary of both
// ISAs (8, 16, 32 and 64 floats).
var rowKernelSizes = []int{0, 1, 2, 3, 5, 7, 8, 9, 13, 15, 16, 17, 23, 24, 25, 31, 32, 33, 47, 48, 49, 63, 64, 65, 97, 127, 1000, 1021}

// TestRowKernelTwins runs the DotRows4 and AxpyRows4 kernels of every ISA
// the host runs, named by the generated table, and their Go twins on the
// same guard-paged exact-size operands: the results must be bit for bit
// the same, and the dot products within a bound derived from k and the
// terms of a float64 sum.
func TestRowKernelTwins(t *testing.T) {
	for _, tk := range rowFamilies(t) {
		rs := tk.rows
		for _, n := range rowKernelSizes {
			for _, end := range []bool{true, false} {
				label := fmt.Sprintf("%s n=%d end=%v", rs.ISA, n, end)
				checkDotRows4(t, label, rs, n, end)
				checkAxpyRows4(t, label, rs, n, end)
			}
		}
	}
}

// rowOperands returns four guard-paged rows of n random floats and their
// pointers.
func rowOperands(t *testing.T, r *rand.Rand, n int, end bool) (rows [4][]float32, ptrs [4]*float32) {
	for i := range rows {
		rows[i] = guarded(t, n, end)
		fillRand(r, rows[i])
		ptrs[i] = unsafe.SliceData(rows[i])
	}
	return rows, ptrs
}

func checkDotRows4(t *testing.T, label string, rs *asm.SgemmRows, k int, end bool) {
	t.Helper()
	r := rand.New(rand.NewPCG(9, uint64(k)))
	x := guarded(t, k, end)
	fillRand(r, x)
	rows, ptrs := rowOperands(t, r, k, !end)
	var got, twin [4]float32
	rs.Kernels.DotRows4.Func(unsafe.SliceData(x), &ptrs, k, &got)
	dotRows4Go(rs.Lanes, unsafe.SliceData(x), &ptrs, k, &twin)
	for i := range rows {
		if math.Float32bits(got[i]) != math.Float32bits(twin[i]) {
			t.Fatalf("%s %s row %d: %v, twin %v", rs.Kernels.DotRows4.Name, label, i, got[i], twin[i])
		}
		var want, mag float64
		for p := range k {
			want += float64(rows[i][p]) * float64(x[p])
			mag += math.Abs(float64(rows[i][p]) * float64(x[p]))
		}
		if !closeEnough(float64(got[i]), want, mag, k) {
			t.Errorf("%s %s row %d: %v, want %v (sum|terms| %.3g)", rs.Kernels.DotRows4.Name, label, i, got[i], want, mag)
		}
	}
}

func checkAxpyRows4(t *testing.T, label string, rs *asm.SgemmRows, n int, end bool) {
	t.Helper()
	r := rand.New(rand.NewPCG(11, uint64(n)))
	acc := guarded(t, n, end)
	fillRand(r, acc)
	twin := append([]float32(nil), acc...)
	_, ptrs := rowOperands(t, r, n, !end)
	x := [4]float32{0.5, -1.25, 2, 0.75}
	rs.Kernels.AxpyRows4.Func(unsafe.SliceData(acc), n, &ptrs, &x)
	axpyRows4Go(unsafe.SliceData(twin), n, &ptrs, &x)
	for j := range acc {
		if math.Float32bits(acc[j]) != math.Float32bits(twin[j]) {
			t.Fatalf("%s %s: acc[%d] = %v, twin %v", rs.Kernels.AxpyRows4.Name, label, j, acc[j], twin[j])
		}
	}
}
