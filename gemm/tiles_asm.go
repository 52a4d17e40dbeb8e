//go:build (amd64 || arm64) && !purego

package gemm

import (
	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/kernels"
)

// The generated kernel families (gen/sgemm: AVX2 and AVX-512 on amd64,
// NEON on arm64), built from the table it emits (asm.SgemmFamilies,
// asm.SgemmRowSets). Each family has a P kernel
// (A(i, p) = a[i+p*sa]: packed panels and transposed A) and an R kernel
// (A(i, p) = a[i*sa+p]: row-major A read in place) for every row count, so
// the driver can skip packing either operand and never reads past an edge.
//
// The RoleDefault family of each path is its default. On an AVX2-only
// host (AMD EPYC, Zen 3; BenchmarkSgemmTiles, best call of each) 6x16 was
// faster than 4x24 on 10 of the 12 public shapes (by 2-40%; 4x24 won
// odd_333x517x129 by 7% and tied square_2048), so it is the AVX2 default.
// AVX-512: 14x32 keeps the most accumulators (28) with two zmm loads of B
// per k step; BenchmarkSgemmTilesAB compares it with 12x32 on an AVX-512
// host. The RoleNarrow family, AVX2 12x8 (12 accumulators of one vector:
// a B load and 12 broadcasts per 12 FMAs, against 6 FMAs for the 6x16 tile
// at n = 8), replaces the default for products with n <= 8.

// families holds the tile families of each path in table order (the
// default first); built once from the generated table.
var families = familiesFromTable()

func familiesFromTable() map[kernels.ISA][]*tileKernels {
	out := map[kernels.ISA][]*tileKernels{}
	for i := range asm.SgemmFamilies {
		f := &asm.SgemmFamilies[i]
		isa := isaOf(f.ISA)
		tk := &tileKernels{name: f.Name(), mr: f.MR, nr: f.NR, role: f.Role, rows: rowSet(f.ISA)}
		for _, fk := range f.Forms {
			dst := tk.form(byte(fk.Form))
			for r, k := range fk.Rows {
				dst[r] = k.Func
			}
		}
		out[isa] = append(out[isa], tk)
	}
	return out
}

// isaOf maps a table's ISA name ("AVX2", the kernel name suffix) to the
// path; the table and kernels.ParseISA spell the names alike.
func isaOf(name string) kernels.ISA {
	i, err := kernels.ParseISA(name)
	if err != nil {
		panic("gemm: the generated table names an unknown ISA: " + err.Error())
	}
	return i
}

// rowSet is the generated row kernels of an ISA (nil: it has none).
func rowSet(isa string) *asm.SgemmRows {
	for i := range asm.SgemmRowSets {
		if asm.SgemmRowSets[i].ISA == isa {
			return &asm.SgemmRowSets[i]
		}
	}
	return nil
}

// tileCandidates lists every generated family per path, default first.
func tileCandidates(i kernels.ISA) []*tileKernels { return families[i] }

// narrowFamily is the tile family for products with n <= its NR, where
// the default family's tile would run with most of its columns empty
// (RoleNarrow in the table). nil: none.
func narrowFamily(i kernels.ISA) *tileKernels {
	for _, tk := range families[i] {
		if tk.role == asm.RoleNarrow {
			return tk
		}
	}
	return nil
}

// The row kernels of a family's ISA. A family without a row set (the
// interpreted families of the tests) runs the Go twins of rowtwins.go.

// dotRows4 is the four-row dot kernel of the matrix-vector products
// (gemv.go). A method with direct calls, not a func value, so that its
// pointer arguments do not escape.
func (tk *tileKernels) dotRows4(x *float32, rows *[4]*float32, k int, out *[4]float32) {
	if tk.rows == nil {
		dotRows4Go(twinLanes, x, rows, k, out)
		return
	}
	tk.rows.DotRows4(x, rows, k, out)
}

// axpyRows4 is the four-row accumulation of the matrix-vector products
// (gemv.go).
func (tk *tileKernels) axpyRows4(acc *float32, n int, rows *[4]*float32, x *[4]float32) {
	if tk.rows == nil {
		axpyRows4Go(acc, n, rows, x)
		return
	}
	tk.rows.AxpyRows4(acc, n, rows, x)
}

// packRowsFast packs a source whose x index is contiguous (B as stored, A
// transposed) like packContigFast, but with panel q at dst[q*ps:] and the
// whole panels in row order (the PackRows kernel): each source row is read
// once, start to end, so a wide operand streams from memory instead of
// being walked down one panel at a time, a new page per row (8 x 2048 x
// 2048: +55-67% on the AVX2 host). The last, partial panel goes through
// the PackN kernel (dst needs packSlack floats after it). W, a tile side
// of the ISA's families, is at least half a vector, as PackRows requires.
func (tk *tileKernels) packRowsFast(dst, src []float32, ld, x0, cnt, p0, kc, W, ps int) {
	if tk.rows == nil {
		packRowsGo(dst, src, ld, x0, cnt, p0, kc, W, ps)
		return
	}
	full := cnt / W
	if full > 0 && kc > 0 {
		base := p0*ld + x0
		s := src[base : base+(kc-1)*ld+full*W]
		d := dst[:(full-1)*ps+kc*W]
		tk.rows.PackRows(&d[0], W, ps, &s[0], ld, full, kc)
	}
	if w := cnt - full*W; w > 0 && kc > 0 {
		base := p0*ld + x0 + full*W
		s := src[base : base+(kc-1)*ld+w]
		d := dst[full*ps : full*ps+kc*W+packSlack]
		tk.rows.PackN(&d[0], W, &s[0], ld, w, kc)
	}
}

// packStridedFast is packStrided (without padding) for the generated
// paths: lanes source rows at a time go through the ISA's lanes x lanes
// transpose (the PackT kernel), the p tail in Go. dst needs packSlack
// floats after the last panel; zero must hold at least kc zeros (it stands
// in for the rows past cnt).
func (tk *tileKernels) packStridedFast(dst, src []float32, ld, x0, cnt, p0, kc, W int, zero []float32) {
	if tk.rows == nil {
		packStrided(dst, src, ld, x0, cnt, p0, kc, W, false)
		return
	}
	L := tk.rows.Lanes
	nb := kc / L // whole L x L blocks along p
	for q := 0; q*W < cnt; q++ {
		w := min(W, cnt-q*W)
		d := dst[q*kc*W : (q+1)*kc*W+packSlack]
		if nb > 0 {
			// Groups from last to first: a group narrower than L lanes
			// spills into the next panel row, which the group before it
			// rewrites.
			for g := ceilDiv(w, L) - 1; g >= 0; g-- {
				var rows [maxLanes]*float32
				for r := range L {
					if x := g*L + r; x < w {
						row := src[(x0+q*W+x)*ld+p0:][:L*nb]
						rows[r] = &row[0]
					} else {
						rows[r] = &zero[:L*nb][0]
					}
				}
				tk.rows.PackT(&d[g*L], W, &rows[0], nb)
			}
		}
		for x := 0; x < w; x++ {
			row := src[(x0+q*W+x)*ld+p0:][:kc]
			for p := L * nb; p < kc; p++ {
				d[p*W+x] = row[p]
			}
		}
	}
}

// maxLanes bounds the lanes of every ISA's transposing pack.
const maxLanes = 16

// packContigFast is packContig (without padding) for the generated paths:
// one PackN call per panel. dst needs packSlack floats after the last
// panel.
func (tk *tileKernels) packContigFast(dst, src []float32, ld, x0, cnt, p0, kc, W int) {
	if tk.rows == nil {
		packContig(dst, src, ld, x0, cnt, p0, kc, W, false)
		return
	}
	for q := 0; q*W < cnt; q++ {
		w := min(W, cnt-q*W)
		base := p0*ld + x0 + q*W
		s := src[base : base+(kc-1)*ld+w]
		d := dst[q*kc*W : (q+1)*kc*W+packSlack]
		tk.rows.PackN(&d[0], W, &s[0], ld, w, kc)
	}
}

// form is the kernel array of an operand form ('P', 'R' or 'Q').
func (tk *tileKernels) form(f byte) *[maxMR]kernelFunc {
	switch f {
	case 'R':
		return &tk.r
	case 'Q':
		return &tk.q
	}
	return &tk.p
}
