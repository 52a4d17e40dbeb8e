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
