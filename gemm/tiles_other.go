//go:build !(amd64 || arm64) || purego

package gemm

import "github.com/convkit/convkit/kernels"

// tileCandidates: no strided kernel families without generated assembly;
// the driver runs kernels.Bound().Gemm.Micro on packed panels instead.
func tileCandidates(i kernels.ISA) []*tileKernels { return nil }

// narrowFamily: none without generated assembly.
func narrowFamily(i kernels.ISA) *tileKernels { return nil }

// The row kernels of a tile family where no generated kernels exist (the
// amd64 families are interpreted by the tests anywhere): the Go twins
// (rowtwins.go).

func (tk *tileKernels) dotRows4(x *float32, rows *[4]*float32, k int, out *[4]float32) {
	dotRows4Go(twinLanes, x, rows, k, out)
}

func (tk *tileKernels) axpyRows4(acc *float32, n int, rows *[4]*float32, x *[4]float32) {
	axpyRows4Go(acc, n, rows, x)
}

func (tk *tileKernels) packRowsFast(dst, src []float32, ld, x0, cnt, p0, kc, W, ps int) {
	packRowsGo(dst, src, ld, x0, cnt, p0, kc, W, ps)
}

func (tk *tileKernels) packStridedFast(dst, src []float32, ld, x0, cnt, p0, kc, W int, zero []float32) {
	packStrided(dst, src, ld, x0, cnt, p0, kc, W, false)
}

func (tk *tileKernels) packContigFast(dst, src []float32, ld, x0, cnt, p0, kc, W int) {
	packContig(dst, src, ld, x0, cnt, p0, kc, W, false)
}
