//go:build amd64 && !purego

package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/internal/guardpage"
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
// run against kernels.MicroGeneric, on guard-paged exact-size panels.
func TestMicroContract(t *testing.T) {
	micros := []struct {
		isa    kernels.ISA
		mr, nr int
		f      func(k int, a, b, c []float32, ldc int, alpha, beta float32)
	}{
		{kernels.AVX2, 6, 16, asm.SgemmMicro6x16AVX2},
		{kernels.AVX2, 4, 24, asm.SgemmMicro4x24AVX2},
		{kernels.AVX512, 14, 32, asm.SgemmMicro14x32AVX512},
		{kernels.AVX512, 12, 32, asm.SgemmMicro12x32AVX512},
	}
	ran := 0
	for _, mk := range micros {
		if !kernels.Supported(mk.isa) {
			continue
		}
		ran++
		for _, k := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 17, 64, 257} {
			for _, end := range []bool{true, false} {
				for _, ab := range [][2]float32{{1, 0}, {-0.5, 1}, {2, -1.5}} {
					name := fmt.Sprintf("%dx%d%s/k%d/end%v/a%g/b%g", mk.mr, mk.nr, mk.isa, k, end, ab[0], ab[1])
					ldc := mk.nr + k%3
					a := guarded(t, k*mk.mr, end)
					b := guarded(t, k*mk.nr, !end)
					c := guarded(t, (mk.mr-1)*ldc+mk.nr, end)
					guardpage.Fill(a, uint32(k+1))
					guardpage.Fill(b, uint32(k+2))
					guardpage.Fill(c, uint32(k+3))
					if ab[1] == 0 {
						for i := range c {
							c[i] = float32(math.NaN())
						}
					}
					want := append([]float32(nil), c...)
					kernels.MicroGeneric(mk.mr, mk.nr, k, a, b, want, ldc, ab[0], ab[1])
					c0 := append([]float32(nil), c...)
					mk.f(k, a, b, c, ldc, ab[0], ab[1])
					for i := 0; i < mk.mr; i++ {
						for j := 0; j < ldc && i*ldc+j < len(c); j++ {
							g, w := c[i*ldc+j], want[i*ldc+j]
							if j >= mk.nr {
								if math.Float32bits(g) != math.Float32bits(c0[i*ldc+j]) {
									t.Fatalf("%s: wrote C[%d,%d] outside the tile", name, i, j)
								}
								continue
							}
							var mag float64
							for p := 0; p < k; p++ {
								mag += math.Abs(float64(a[p*mk.mr+i]) * float64(b[p*mk.nr+j]))
							}
							mag = mag*math.Abs(float64(ab[0])) + math.Abs(float64(ab[1]))*2
							if !closeEnough(float64(g), float64(w), mag, k) {
								t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, g, w)
							}
						}
					}
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

// TestPackKernels checks the asm packs (and their spill contract) against
// packStrided / packContig.
func TestPackKernels(t *testing.T) {
	for _, W := range []int{4, 6, 12, 14, 16, 24, 32} {
		for _, cnt := range []int{1, W - 1, W, W + 1, 2*W + 3} {
			if cnt < 1 {
				continue
			}
			for _, kc := range []int{1, 7, 8, 9, 16, 23} {
				ld := kc + 3
				src := guarded(t, matLen(cnt, kc, ld), cnt%2 == 0)
				fillRand(rand.New(rand.NewPCG(uint64(W), uint64(kc))), src)
				panels := ceilDiv(cnt, W) * kc * W
				want := make([]float32, panels)
				got := make([]float32, panels+packSlack)
				packStrided(want, src, ld, 0, cnt, 0, kc, W, false)
				packStridedFast(got, src, ld, 0, cnt, 0, kc, W, make([]float32, kc))
				comparePanels(t, fmt.Sprintf("strided W%d cnt%d kc%d", W, cnt, kc), got, want, cnt, kc, W)

				ld = cnt + 2
				src = guarded(t, matLen(kc, cnt, ld), cnt%2 == 1)
				fillRand(rand.New(rand.NewPCG(uint64(W), uint64(kc))), src)
				clear(got)
				packContig(want, src, ld, 0, cnt, 0, kc, W, false)
				packContigFast(got, src, ld, 0, cnt, 0, kc, W)
				comparePanels(t, fmt.Sprintf("contig W%d cnt%d kc%d", W, cnt, kc), got, want, cnt, kc, W)

				// Row order, panels ps apart (a padded stride): the same
				// panels, moved, and nothing written outside them.
				ps := kc*W + 16
				rows := make([]float32, ceilDiv(cnt, W)*ps+packSlack)
				for i := range rows {
					rows[i] = -7
				}
				packRowsFast(rows, src, ld, 0, cnt, 0, kc, W, ps)
				for q := 0; q*W < cnt; q++ {
					copy(got[q*kc*W:(q+1)*kc*W], rows[q*ps:q*ps+kc*W])
					if q*W+W <= cnt { // a whole panel: its padding is untouched
						for i := q*ps + kc*W; i < (q+1)*ps && i < len(rows); i++ {
							if rows[i] != -7 {
								t.Fatalf("rows W%d cnt%d kc%d: padding [%d] written", W, cnt, kc, i)
							}
						}
					}
				}
				comparePanels(t, fmt.Sprintf("rows W%d cnt%d kc%d", W, cnt, kc), got, want, cnt, kc, W)
			}
		}
	}
}

// comparePanels compares the live lanes (x < cnt) of packed panels.
func comparePanels(t *testing.T, name string, got, want []float32, cnt, kc, W int) {
	t.Helper()
	for q := 0; q*W < cnt; q++ {
		w := min(W, cnt-q*W)
		for p := 0; p < kc; p++ {
			for x := 0; x < w; x++ {
				if i := q*kc*W + p*W + x; got[i] != want[i] {
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
func (tk *tileKernels) member(mode byte, rows int) kernelFunc {
	switch mode {
	case 'R':
		return tk.r[rows-1]
	case 'Q':
		return tk.q[rows-1]
	}
	return tk.p[rows-1]
}

// TestDotRows4 checks the four-row dot kernel against a float64 loop on
// exact-size rows and x that sit against guard pages, for lengths around
// every vector and loop boundary.
func TestDotRows4(t *testing.T) {
	if !kernels.Supported(kernels.AVX2) {
		t.Skip("no AVX2")
	}
	r := rand.New(rand.NewPCG(9, 10))
	ks := []int{0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 63, 64, 65, 127, 1000, 1021}
	for _, k := range ks {
		for _, end := range []bool{true, false} {
			x := guarded(t, k, end)
			var rows [4][]float32
			var ptrs [4]*float32
			fillRand(r, x)
			for i := range rows {
				rows[i] = guarded(t, k, !end)
				fillRand(r, rows[i])
				ptrs[i] = unsafe.SliceData(rows[i])
			}
			var out [4]float32
			asm.SgemmDotRows4AVX2(unsafe.SliceData(x), &ptrs, k, &out)
			for i := range rows {
				var want, mag float64
				for p := range k {
					want += float64(rows[i][p]) * float64(x[p])
					mag += math.Abs(float64(rows[i][p]) * float64(x[p]))
				}
				if d := math.Abs(float64(out[i]) - want); d > 1e-6*math.Sqrt(float64(k)+1)*mag+1e-30 {
					t.Errorf("k=%d end=%v row %d: %v, want %v (|diff| %.3g, sum|terms| %.3g)", k, end, i, out[i], want, d, mag)
				}
			}
		}
	}
}

// TestAxpyRows4 checks the four-row accumulation against the same fused
// steps done one at a time (bit for bit) on exact-size guard-paged
// operands, and that nothing past n is written.
func TestAxpyRows4(t *testing.T) {
	if !kernels.Supported(kernels.AVX2) {
		t.Skip("no AVX2")
	}
	r := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{0, 1, 2, 7, 8, 9, 15, 16, 17, 24, 31, 33, 64, 65, 1000, 1021} {
		for _, end := range []bool{true, false} {
			acc := guarded(t, n, end)
			fillRand(r, acc)
			want := append([]float32(nil), acc...)
			var rows [4][]float32
			var ptrs [4]*float32
			x := [4]float32{0.5, -1.25, 2, 0.75}
			for i := range rows {
				rows[i] = guarded(t, n, !end)
				fillRand(r, rows[i])
				ptrs[i] = unsafe.SliceData(rows[i])
			}
			for j := range want {
				for i := range rows {
					want[j] = float32(math.FMA(float64(x[i]), float64(rows[i][j]), float64(want[j])))
				}
			}
			asm.SgemmAxpyRows4AVX2(unsafe.SliceData(acc), n, &ptrs, &x)
			for j := range acc {
				if math.Float32bits(acc[j]) != math.Float32bits(want[j]) {
					t.Fatalf("n=%d end=%v: acc[%d] = %v, want %v", n, end, j, acc[j], want[j])
				}
			}
		}
	}
}
