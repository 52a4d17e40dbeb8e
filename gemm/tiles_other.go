//go:build !amd64 || purego

package gemm

import "unsafe"

// packStridedFast is only used by the generated paths.
func packStridedFast(dst, src []float32, ld, x0, cnt, p0, kc, W int, zero []float32) {
	packStrided(dst, src, ld, x0, cnt, p0, kc, W, false)
}

// packContigFast is only used by the generated paths.
func packContigFast(dst, src []float32, ld, x0, cnt, p0, kc, W int) {
	packContig(dst, src, ld, x0, cnt, p0, kc, W, false)
}

// The kernels below are only reached through the generated paths (the
// tile families of amd64 and arm64; the amd64 ones are interpreted by the
// tests anywhere); they are plain Go twins of the amd64 assembly.

// dotRows4 is asm.SgemmDotRows4AVX2.
func dotRows4(x *float32, rows *[4]*float32, k int, out *[4]float32) {
	xs := unsafe.Slice(x, k)
	for r, rp := range rows {
		row := unsafe.Slice(rp, k)
		var s float32
		for p, v := range xs {
			s += row[p] * v
		}
		out[r] = s
	}
}

// axpyRows4 is asm.SgemmAxpyRows4AVX2.
func axpyRows4(acc *float32, n int, rows *[4]*float32, x *[4]float32) {
	a := unsafe.Slice(acc, n)
	for r, rp := range rows {
		row := unsafe.Slice(rp, n)
		for j := range a {
			a[j] += x[r] * row[j]
		}
	}
}

// packRowsFast is the amd64 packRowsFast: packContig with panels ps apart.
func packRowsFast(dst, src []float32, ld, x0, cnt, p0, kc, W, ps int) {
	for q := 0; q*W < cnt; q++ {
		w := min(W, cnt-q*W)
		for p := 0; p < kc; p++ {
			copy(dst[q*ps+p*W:q*ps+p*W+w], src[(p0+p)*ld+x0+q*W:][:w])
		}
	}
}
