package asmemu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/convkit/convkit/kernels"
)

// matLen is the exact length of a rows x cols matrix with stride ld.
func matLen(rows, cols, ld int) int {
	if rows == 0 || cols == 0 {
		return 0
	}
	return (rows-1)*ld + cols
}

// testTile runs one member of a tile family (see gen/sgemm: A(i, p) is
// a[i+p*sa] in forms P and Q, a[i*sa+p] in form R; B(p, j) is b[p*sb+j])
// on exact-size strided operands, one tile and two (down a column), and
// checks C against a float64 product: within Gamma(k+2) of its magnitude
// in the tile's columns, untouched outside them.
func testTile(t *testing.T, p *Program, name string, f TileFamily) {
	var form byte
	var rows int
	fmt.Sscanf(name[len("Sgemm"+f.Name()):], "%c%d", &form, &rows)
	for _, nr := range []int{1, f.Lanes - 1, f.Lanes, f.Lanes + 1, f.NR - 1, f.NR} {
		if nr < 1 || nr > f.NR || (nr == f.NR-1 && nr == f.Lanes+1) {
			continue
		}
		for _, k := range []int{0, 1, 5, 9} {
			for _, tiles := range []int{1, 2} {
				tileCase(t, p, name, form, rows, nr, k, tiles)
			}
		}
	}
}

func tileCase(t *testing.T, p *Program, name string, form byte, rows, nr, k, tiles int) {
	label := fmt.Sprintf("%s nr=%d k=%d tiles=%d", name, nr, k, tiles)
	aRows := rows * tiles
	sa, an := aRows+1, rows
	aLen := matLen(k, aRows, sa)
	if form == 'R' {
		sa = k + 2
		an, aLen = rows*sa, matLen(aRows, k, sa)
	}
	sb, ldc := nr+3, nr+2
	alpha, beta := float32(1.5), float32(k%2)*0.5
	inputs := func() (a, b, c []float32) {
		r := rand.New(rand.NewPCG(uint64(rows*1000+nr*10+k), uint64(tiles)))
		a, b, c = floats(r, aLen, plain), floats(r, matLen(k, nr, sb), plain), floats(r, matLen(aRows, nr, ldc), plain)
		if beta == 0 {
			for i := range c {
				c[i] = float32(math.NaN()) // must not be read
			}
		}
		return a, b, c
	}
	args, _ := call(t, p, name, func() ([]any, []Region) {
		a, b, c := inputs()
		return []any{k, a, sa, b, sb, c, ldc, nr, alpha, beta, tiles, an, 0, rows * ldc}, nil
	})
	a, b, c0 := inputs()
	got := args[5].([]float32)
	for i := range aRows {
		for j := 0; j < ldc && i*ldc+j < len(got); j++ {
			if j >= nr {
				if math.Float32bits(got[i*ldc+j]) != math.Float32bits(c0[i*ldc+j]) {
					t.Fatalf("%s: wrote C[%d,%d] outside the tile", label, i, j)
				}
				continue
			}
			var s, mag float64
			for q := range k {
				ai := i + q*sa
				if form == 'R' {
					ai = i*sa + q
				}
				av := a[ai]
				s += float64(av) * float64(b[q*sb+j])
				mag += math.Abs(float64(av) * float64(b[q*sb+j]))
			}
			want, mag := float64(alpha)*s, math.Abs(float64(alpha))*mag
			if beta != 0 {
				want += float64(beta) * float64(c0[i*ldc+j])
				mag += math.Abs(float64(beta) * float64(c0[i*ldc+j]))
			}
			if g := float64(got[i*ldc+j]); !(math.Abs(g-want) <= Gamma(k+2)*mag+tiny) {
				t.Fatalf("%s: C[%d,%d] = %v, want %v", label, i, j, g, want)
			}
		}
	}
}

// testMicro runs a Micro entry point (the kernels.GemmKernels.Micro
// contract) against kernels.MicroGeneric.
func testMicro(t *testing.T, p *Program, name string, f TileFamily) {
	for _, k := range []int{0, 1, 4, 7, 16} {
		for _, beta := range []float32{0, -0.5} {
			ldc := f.NR + 1
			inputs := func() (a, b, c []float32) {
				r := rand.New(rand.NewPCG(uint64(k), uint64(beta*4)))
				return floats(r, k*f.MR, plain), floats(r, k*f.NR, plain), floats(r, (f.MR-1)*ldc+f.NR, plain)
			}
			args, _ := call(t, p, name, func() ([]any, []Region) {
				a, b, c := inputs()
				return []any{k, a, b, c, ldc, float32(2), beta}, nil
			})
			a, b, c := inputs()
			want := append([]float32(nil), c...)
			kernels.MicroGeneric(f.MR, f.NR, k, a, b, want, ldc, 2, beta)
			got := args[3].([]float32)
			for i := range f.MR {
				for j := range ldc {
					if i*ldc+j >= len(c) {
						break
					}
					if j >= f.NR {
						if math.Float32bits(got[i*ldc+j]) != math.Float32bits(c[i*ldc+j]) {
							t.Fatalf("%s k=%d: wrote C[%d,%d] outside the tile", name, k, i, j)
						}
						continue
					}
					var mag float64
					for q := range k {
						mag += 2 * math.Abs(float64(a[q*f.MR+i])*float64(b[q*f.NR+j]))
					}
					mag += math.Abs(float64(beta) * float64(c[i*ldc+j]))
					if !near(got[i*ldc+j], want[i*ldc+j], 2*Gamma(k+2)*mag+tiny) {
						t.Fatalf("%s k=%d beta=%g: C[%d,%d] = %v, the twin %v", name, k, beta, i, j, got[i*ldc+j], want[i*ldc+j])
					}
				}
			}
		}
	}
}

// rowKernel matches the names of the packing and row kernels of an ISA:
// SgemmPackT<lanes><ISA>, SgemmPackN<ISA>, ...
var rowKernel = regexp.MustCompile(`^Sgemm(PackT\d+|PackN|PackRows|DotRows4|AxpyRows4)(AVX2|AVX512)$`)

// rowChecks are the checks of the row kernels, by the kernel's part of the
// name (the lanes of a PackT are its ISA's).
var rowChecks = map[string]func(t *testing.T, p *Program, name string, lanes int){
	"PackT":     testPackT,
	"PackN":     testPackN,
	"PackRows":  testPackRows,
	"DotRows4":  testDotRows4,
	"AxpyRows4": testAxpyRows4,
}

// testRowKernel runs the check of row kernel name.
func testRowKernel(t *testing.T, p *Program, name string) {
	s := rowKernel.FindStringSubmatch(name)
	op, lanes := s[1], isaLanes[s[2]]
	if strings.HasPrefix(op, "PackT") {
		if op != fmt.Sprintf("PackT%d", lanes) {
			t.Fatalf("%s: a %s transpose is %d x %d", name, s[2], lanes, lanes)
		}
		op = "PackT"
	}
	rowChecks[op](t, p, name, lanes)
}

// isaLanes are the float32 lanes of each amd64 ISA's vectors.
var isaLanes = map[string]int{"AVX2": 8, "AVX512": 16}

// testPackT: dst[p*w+r] = rows[r][p] for p < L*blocks, r < L (a transpose
// of L x L blocks, L = lanes), each panel row written L lanes wide, so
// that for w < L a row's spill into the next is overwritten by it, and the
// last one's stays: the exact extent is (L*blocks-1)*w + L.
func testPackT(t *testing.T, p *Program, name string, lanes int) {
	for _, w := range []int{5, lanes, lanes + 4, 2 * lanes} {
		for _, blocks := range []int{0, 1, 2, 3} {
			dn := max(0, (lanes*blocks-1)*w+lanes)
			inputs := func() ([]float32, [][]float32) {
				r := rand.New(rand.NewPCG(uint64(w), uint64(blocks)))
				rows := make([][]float32, lanes)
				for i := range rows {
					rows[i] = floats(r, lanes*blocks, plain)
				}
				return floats(r, dn, plain), rows
			}
			args, _ := call(t, p, name, func() ([]any, []Region) {
				dst, rows := inputs()
				ptrs := make([]*float32, lanes)
				var mem []Region
				for i, row := range rows {
					if len(row) > 0 {
						ptrs[i] = &row[0]
					}
					mem = append(mem, Floats(fmt.Sprintf("row%d", i), row))
				}
				return []any{dst, w, ptrs, blocks}, mem
			})
			want, rows := inputs()
			for q := range lanes * blocks {
				for r := range lanes {
					want[q*w+r] = rows[r][q]
				}
			}
			elementwise(t, fmt.Sprintf("%s w=%d blocks=%d", name, w, blocks), args[0].([]float32), want, nil)
		}
	}
}

// testPackN: rows rows of n floats, ld apart in src, to dw apart in dst,
// each padded with zeros to a whole number of vectors.
func testPackN(t *testing.T, p *Program, name string, lanes int) {
	for _, n := range []int{1, 5, 8, 9, 15, 16, 17, 24, 29, 32} {
		for _, rows := range []int{0, 1, 3} {
			dw, ld, padded := 40, n+3, (n+lanes-1)/lanes*lanes
			inputs := func() (dst, src []float32) {
				r := rand.New(rand.NewPCG(uint64(n), uint64(rows)))
				return floats(r, max(0, (rows-1)*dw+padded), plain), floats(r, matLen(rows, n, ld), plain)
			}
			args, _ := call(t, p, name, func() ([]any, []Region) {
				dst, src := inputs()
				return []any{dst, dw, src, ld, n, rows}, nil
			})
			want, src := inputs()
			for r := range rows {
				for j := range padded {
					want[r*dw+j] = 0
					if j < n {
						want[r*dw+j] = src[r*ld+j]
					}
				}
			}
			elementwise(t, fmt.Sprintf("%s n=%d rows=%d", name, n, rows), args[0].([]float32), want, nil)
		}
	}
}

// testPackRows: panels panels of w columns from each of rows rows of src
// (ld apart), panel q at dst[q*ps:], row r of it at r*w; w is at least
// half a vector, which keeps a row's spill inside the next.
func testPackRows(t *testing.T, p *Program, name string, lanes int) {
	for _, w := range []int{5, 8, 12, 16, 24, 32} {
		if w < lanes/2 {
			continue
		}
		for _, panels := range []int{0, 1, 3} {
			for _, rows := range []int{0, 1, 2, 5} {
				ps, ld := rows*w+8, panels*w+3
				inputs := func() (dst, src []float32) {
					r := rand.New(rand.NewPCG(uint64(w*10+panels), uint64(rows)))
					return floats(r, max(0, (panels-1)*ps+rows*w), plain), floats(r, matLen(rows, panels*w, ld), plain)
				}
				args, _ := call(t, p, name, func() ([]any, []Region) {
					dst, src := inputs()
					return []any{dst, w, ps, src, ld, panels, rows}, nil
				})
				got, src := inputs()
				copy(got, args[0].([]float32))
				label := fmt.Sprintf("%s w=%d panels=%d rows=%d", name, w, panels, rows)
				for q := range panels {
					for r := range rows {
						for j := range w {
							if g, s := got[q*ps+r*w+j], src[r*ld+q*w+j]; math.Float32bits(g) != math.Float32bits(s) {
								t.Fatalf("%s: panel %d row %d col %d = %v, want %v", label, q, r, j, g, s)
							}
						}
					}
				}
			}
		}
	}
}

// rows4 returns four rows of n floats and the pointers to them.
func rows4(r *rand.Rand, n int) ([4][]float32, *[4]*float32, []Region) {
	var rows [4][]float32
	var ptrs [4]*float32
	var mem []Region
	for i := range rows {
		rows[i] = floats(r, n, plain)
		if n > 0 {
			ptrs[i] = &rows[i][0]
		}
		mem = append(mem, Floats(fmt.Sprintf("row%d", i), rows[i]))
	}
	return rows, &ptrs, mem
}

var rowSizes = []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 100}

// testDotRows4: out[r] = sum over p < k of rows[r][p]*x[p].
func testDotRows4(t *testing.T, p *Program, name string, _ int) {
	for _, k := range rowSizes {
		inputs := func() ([]float32, [4][]float32, *[4]*float32, []Region) {
			r := rand.New(rand.NewPCG(uint64(k), 3))
			x := floats(r, k, plain)
			rows, ptrs, mem := rows4(r, k)
			return x, rows, ptrs, mem
		}
		args, _ := call(t, p, name, func() ([]any, []Region) {
			x, _, ptrs, mem := inputs()
			return []any{x, ptrs, k, new([4]float32)}, mem
		})
		x, rows, _, _ := inputs()
		out := args[3].(*[4]float32)
		for r := range rows {
			var s, mag float64
			for q := range k {
				s += float64(rows[r][q]) * float64(x[q])
				mag += math.Abs(float64(rows[r][q]) * float64(x[q]))
			}
			if !near(out[r], float32(s), Gamma(k+1)*mag+tiny) {
				t.Fatalf("%s k=%d: out[%d] = %v, want %v", name, k, r, out[r], s)
			}
		}
	}
}

// testAxpyRows4: acc[j] += sum over r < 4 of x[r]*rows[r][j].
func testAxpyRows4(t *testing.T, p *Program, name string, _ int) {
	for _, n := range rowSizes {
		inputs := func() ([]float32, [4][]float32, *[4]*float32, []Region, *[4]float32) {
			r := rand.New(rand.NewPCG(uint64(n), 4))
			acc := floats(r, n, plain)
			rows, ptrs, mem := rows4(r, n)
			x := [4]float32(floats(r, 4, plain))
			return acc, rows, ptrs, mem, &x
		}
		args, _ := call(t, p, name, func() ([]any, []Region) {
			acc, _, ptrs, mem, x := inputs()
			return []any{acc, n, ptrs, x}, mem
		})
		acc, rows, _, _, x := inputs()
		got := args[0].([]float32)
		for j := range n {
			s, mag := float64(acc[j]), math.Abs(float64(acc[j]))
			for r := range rows {
				s += float64(x[r]) * float64(rows[r][j])
				mag += math.Abs(float64(x[r]) * float64(rows[r][j]))
			}
			if !near(got[j], float32(s), Gamma(5)*mag+tiny) {
				t.Fatalf("%s n=%d: acc[%d] = %v, want %v", name, n, j, got[j], s)
			}
		}
	}
}
