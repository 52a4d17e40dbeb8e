//go:build amd64 && !purego

package gemm

import (
	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/kernels"
)

// The generated amd64 kernel families (gen/sgemm). Each has a P kernel
// (A(i, p) = a[i+p*sa]: packed panels and transposed A) and an R kernel
// (A(i, p) = a[i*sa+p]: row-major A read in place) for every row count, so
// the driver can skip packing either operand and never reads past an edge.
//
// The first family of each path is the default. On the session's AVX2
// host (AMD EPYC, Zen 3, no AVX-512; BenchmarkSgemmTiles, best call of
// each) 6x16 was faster than 4x24 on 10 of the 12 public shapes (by 2-40%;
// 4x24 won odd_333x517x129 by 7% and tied square_2048), so it is the AVX2
// default. The AVX-512 families could not be timed there (they are tested
// through the interpreter in asmemu_test.go); 14x32 is the default because
// it keeps the most accumulators (28) with two zmm loads of B per k step.
// Run BenchmarkSgemmTiles on an AVX-512 host to compare it with 12x32.
var (
	tile6x16AVX2 = &tileKernels{
		name: "6x16avx2", mr: 6, nr: 16,
		p: [maxMR]kernelFunc{asm.Sgemm6x16AVX2P1, asm.Sgemm6x16AVX2P2, asm.Sgemm6x16AVX2P3, asm.Sgemm6x16AVX2P4, asm.Sgemm6x16AVX2P5, asm.Sgemm6x16AVX2P6},
		r: [maxMR]kernelFunc{asm.Sgemm6x16AVX2R1, asm.Sgemm6x16AVX2R2, asm.Sgemm6x16AVX2R3, asm.Sgemm6x16AVX2R4, asm.Sgemm6x16AVX2R5, asm.Sgemm6x16AVX2R6},
		q: [maxMR]kernelFunc{asm.Sgemm6x16AVX2Q1, asm.Sgemm6x16AVX2Q2, asm.Sgemm6x16AVX2Q3, asm.Sgemm6x16AVX2Q4, asm.Sgemm6x16AVX2Q5, asm.Sgemm6x16AVX2Q6},
	}
	tile4x24AVX2 = &tileKernels{
		name: "4x24avx2", mr: 4, nr: 24,
		p: [maxMR]kernelFunc{asm.Sgemm4x24AVX2P1, asm.Sgemm4x24AVX2P2, asm.Sgemm4x24AVX2P3, asm.Sgemm4x24AVX2P4},
		r: [maxMR]kernelFunc{asm.Sgemm4x24AVX2R1, asm.Sgemm4x24AVX2R2, asm.Sgemm4x24AVX2R3, asm.Sgemm4x24AVX2R4},
	}
	tile12x8AVX2 = &tileKernels{
		name: "12x8avx2", mr: 12, nr: 8,
		p: [maxMR]kernelFunc{asm.Sgemm12x8AVX2P1, asm.Sgemm12x8AVX2P2, asm.Sgemm12x8AVX2P3, asm.Sgemm12x8AVX2P4, asm.Sgemm12x8AVX2P5, asm.Sgemm12x8AVX2P6,
			asm.Sgemm12x8AVX2P7, asm.Sgemm12x8AVX2P8, asm.Sgemm12x8AVX2P9, asm.Sgemm12x8AVX2P10, asm.Sgemm12x8AVX2P11, asm.Sgemm12x8AVX2P12},
		r: [maxMR]kernelFunc{asm.Sgemm12x8AVX2R1, asm.Sgemm12x8AVX2R2, asm.Sgemm12x8AVX2R3, asm.Sgemm12x8AVX2R4, asm.Sgemm12x8AVX2R5, asm.Sgemm12x8AVX2R6,
			asm.Sgemm12x8AVX2R7, asm.Sgemm12x8AVX2R8, asm.Sgemm12x8AVX2R9, asm.Sgemm12x8AVX2R10, asm.Sgemm12x8AVX2R11, asm.Sgemm12x8AVX2R12},
	}
	tile14x32AVX512 = &tileKernels{
		name: "14x32avx512", mr: 14, nr: 32,
		p: [maxMR]kernelFunc{asm.Sgemm14x32AVX512P1, asm.Sgemm14x32AVX512P2, asm.Sgemm14x32AVX512P3, asm.Sgemm14x32AVX512P4, asm.Sgemm14x32AVX512P5, asm.Sgemm14x32AVX512P6, asm.Sgemm14x32AVX512P7,
			asm.Sgemm14x32AVX512P8, asm.Sgemm14x32AVX512P9, asm.Sgemm14x32AVX512P10, asm.Sgemm14x32AVX512P11, asm.Sgemm14x32AVX512P12, asm.Sgemm14x32AVX512P13, asm.Sgemm14x32AVX512P14},
		r: [maxMR]kernelFunc{asm.Sgemm14x32AVX512R1, asm.Sgemm14x32AVX512R2, asm.Sgemm14x32AVX512R3, asm.Sgemm14x32AVX512R4, asm.Sgemm14x32AVX512R5, asm.Sgemm14x32AVX512R6, asm.Sgemm14x32AVX512R7,
			asm.Sgemm14x32AVX512R8, asm.Sgemm14x32AVX512R9, asm.Sgemm14x32AVX512R10, asm.Sgemm14x32AVX512R11, asm.Sgemm14x32AVX512R12, asm.Sgemm14x32AVX512R13, asm.Sgemm14x32AVX512R14},
	}
	tile12x32AVX512 = &tileKernels{
		name: "12x32avx512", mr: 12, nr: 32,
		p: [maxMR]kernelFunc{asm.Sgemm12x32AVX512P1, asm.Sgemm12x32AVX512P2, asm.Sgemm12x32AVX512P3, asm.Sgemm12x32AVX512P4, asm.Sgemm12x32AVX512P5, asm.Sgemm12x32AVX512P6,
			asm.Sgemm12x32AVX512P7, asm.Sgemm12x32AVX512P8, asm.Sgemm12x32AVX512P9, asm.Sgemm12x32AVX512P10, asm.Sgemm12x32AVX512P11, asm.Sgemm12x32AVX512P12},
		r: [maxMR]kernelFunc{asm.Sgemm12x32AVX512R1, asm.Sgemm12x32AVX512R2, asm.Sgemm12x32AVX512R3, asm.Sgemm12x32AVX512R4, asm.Sgemm12x32AVX512R5, asm.Sgemm12x32AVX512R6,
			asm.Sgemm12x32AVX512R7, asm.Sgemm12x32AVX512R8, asm.Sgemm12x32AVX512R9, asm.Sgemm12x32AVX512R10, asm.Sgemm12x32AVX512R11, asm.Sgemm12x32AVX512R12},
	}
)

// packRowsFast packs a source whose x index is contiguous (B as stored, A
// transposed) like packContigFast, but with panel q at dst[q*ps:] and the
// whole panels in row order (SgemmPackRowsAVX2): each source row is read
// once, start to end, so a wide operand streams from memory instead of
// being walked down one panel at a time, a new page per row (8 x 2048 x
// 2048: +55-67% on the AVX2 host). The last, partial panel goes through
// SgemmPackNAVX2 (dst needs packSlack floats after it).
func packRowsFast(dst, src []float32, ld, x0, cnt, p0, kc, W, ps int) {
	full := cnt / W
	if full > 0 && kc > 0 {
		base := p0*ld + x0
		s := src[base : base+(kc-1)*ld+full*W]
		d := dst[:(full-1)*ps+kc*W]
		asm.SgemmPackRowsAVX2(&d[0], W, ps, &s[0], ld, full, kc)
	}
	if w := cnt - full*W; w > 0 && kc > 0 {
		base := p0*ld + x0 + full*W
		s := src[base : base+(kc-1)*ld+w]
		d := dst[full*ps : full*ps+kc*W+packSlack]
		asm.SgemmPackNAVX2(&d[0], W, &s[0], ld, w, kc)
	}
}

// narrowFamily is the tile family for products with n <= its NR, where
// the default family's tile would run with most of its columns empty:
// AVX2 12x8 (12 accumulators of one vector: a B load and 12 broadcasts
// per 12 FMAs, against 6 FMAs for the 6x16 tile at n = 8). nil: none.
func narrowFamily(i kernels.ISA) *tileKernels {
	if i == kernels.AVX2 {
		return tile12x8AVX2
	}
	return nil
}

// dotRows4 is the four-row dot kernel of the matrix-vector products
// (gemv.go), used on the generated paths. A plain function, not a func
// value, so that its pointer arguments do not escape.
func dotRows4(x *float32, rows *[4]*float32, k int, out *[4]float32) {
	asm.SgemmDotRows4AVX2(x, rows, k, out)
}

// axpyRows4 is the four-row accumulation of the matrix-vector products
// (gemv.go), used on the generated paths.
func axpyRows4(acc *float32, n int, rows *[4]*float32, x *[4]float32) {
	asm.SgemmAxpyRows4AVX2(acc, n, rows, x)
}

// tileCandidates lists every generated family per path, default first.
func tileCandidates(i kernels.ISA) []*tileKernels {
	switch i {
	case kernels.AVX2:
		return []*tileKernels{tile6x16AVX2, tile4x24AVX2, tile12x8AVX2}
	case kernels.AVX512:
		return []*tileKernels{tile14x32AVX512, tile12x32AVX512}
	}
	return nil
}

// packStridedFast is packStrided (without padding) for the generated
// paths: eight source rows at a time go through an AVX2 8x8 transpose
// (SgemmPackT8AVX2), the p tail in Go. dst needs packSlack floats after the
// last panel; zero must hold at least kc zeros (it stands in for the rows
// past cnt).
func packStridedFast(dst, src []float32, ld, x0, cnt, p0, kc, W int, zero []float32) {
	n8 := kc / 8
	for q := 0; q*W < cnt; q++ {
		w := min(W, cnt-q*W)
		d := dst[q*kc*W : (q+1)*kc*W+packSlack]
		if n8 > 0 {
			// Groups from last to first: a group narrower than 8 lanes
			// spills into the next panel row, which the group before it
			// rewrites.
			for g := ceilDiv(w, 8) - 1; g >= 0; g-- {
				var rows [8]*float32
				for r := range rows {
					if x := g*8 + r; x < w {
						row := src[(x0+q*W+x)*ld+p0:][:8*n8]
						rows[r] = &row[0]
					} else {
						rows[r] = &zero[:8*n8][0]
					}
				}
				asm.SgemmPackT8AVX2(&d[g*8], W, &rows, n8)
			}
		}
		for x := 0; x < w; x++ {
			row := src[(x0+q*W+x)*ld+p0:][:kc]
			for p := 8 * n8; p < kc; p++ {
				d[p*W+x] = row[p]
			}
		}
	}
}

// packContigFast is packContig (without padding) for the generated paths:
// one SgemmPackNAVX2 call per panel. dst needs packSlack floats after the
// last panel.
func packContigFast(dst, src []float32, ld, x0, cnt, p0, kc, W int) {
	for q := 0; q*W < cnt; q++ {
		w := min(W, cnt-q*W)
		base := p0*ld + x0 + q*W
		s := src[base : base+(kc-1)*ld+w]
		d := dst[q*kc*W : (q+1)*kc*W+packSlack]
		asm.SgemmPackNAVX2(&d[0], W, &s[0], ld, w, kc)
	}
}
