//go:build !amd64 || purego

package gemm

import "github.com/convkit/convkit/kernels"

// tileCandidates: no strided kernel families outside amd64 asm builds; the
// driver runs kernels.Gemm.Micro on packed panels instead.
func tileCandidates(i kernels.ISA) []*tileKernels { return nil }

// packStridedFast is only used by the generated paths.
func packStridedFast(dst, src []float32, ld, x0, cnt, p0, kc, W int, zero []float32) {
	packStrided(dst, src, ld, x0, cnt, p0, kc, W, false)
}

// packContigFast is only used by the generated paths.
func packContigFast(dst, src []float32, ld, x0, cnt, p0, kc, W int) {
	packContig(dst, src, ld, x0, cnt, p0, kc, W, false)
}

// dotRows4 is only used by the generated paths (gemv.go).
func dotRows4(x *float32, rows *[4]*float32, k int, out *[4]float32) {
	panic("gemm: dotRows4 without the generated paths")
}

// axpyRows4 is only used by the generated paths (gemv.go).
func axpyRows4(acc *float32, n int, rows *[4]*float32, x *[4]float32) {
	panic("gemm: axpyRows4 without the generated paths")
}

// packRowsFast is only used by the generated paths.
func packRowsFast(dst, src []float32, ld, x0, cnt, p0, kc, W, ps int) {
	panic("gemm: packRowsFast without the generated paths")
}
