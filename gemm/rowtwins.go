package gemm

import (
	"unsafe"

	"github.com/convkit/convkit/kernels"
)

// The Go twins of the generated row kernels (asm.SgemmRowKernels): they
// compute bit for bit what the assembly computes (TestRowKernelTwins
// compares them on amd64), and they run wherever a tile family has no
// generated row kernels: in builds without the assembly, whose generated
// paths exist only in the tests (asmemu_test.go interprets the amd64 tile
// kernels anywhere), and for the tests' interpreted families on amd64.
// packStrided and packContig (pack.go) are the twins of the PackT and PackN
// packs.

// twinLanes is the vector width whose summation order dotRows4Go follows
// where no ISA is bound: AVX2's.
const twinLanes = 8

// dotRows4Go is the DotRows4 kernel of an ISA of lanes lanes (8 or 16):
//
//	out[r] = sum over p < k of rows[r][p] * x[p]
//
// in the kernel's order: two accumulators of lanes lanes per row take the
// fused products of alternate vectors, a last whole vector goes to the
// first and the masked rest to the second; the two are added, then the
// lanes are summed by halving (lane i plus lane i+h, h = lanes/2, ..., 1).
func dotRows4Go(lanes int, x *float32, rows *[4]*float32, k int, out *[4]float32) {
	xs := unsafe.Slice(x, k)
	for r, rp := range rows {
		row := unsafe.Slice(rp, k)
		var acc [2][16]float32
		p := 0
		for ; p+2*lanes <= k; p += 2 * lanes {
			for v := range 2 {
				for l := range lanes {
					q := p + v*lanes + l
					acc[v][l] = kernels.FMA32(row[q], xs[q], acc[v][l])
				}
			}
		}
		if p+lanes <= k {
			for l := range lanes {
				acc[0][l] = kernels.FMA32(row[p+l], xs[p+l], acc[0][l])
			}
			p += lanes
		}
		if p < k {
			// The masked step: the lanes past k multiply zeros, which can
			// still turn a -0 accumulator into +0.
			for l := range lanes {
				var a, b float32
				if p+l < k {
					a, b = row[p+l], xs[p+l]
				}
				acc[1][l] = kernels.FMA32(a, b, acc[1][l])
			}
		}
		s := acc[0][:lanes]
		for l := range s {
			s[l] += acc[1][l]
		}
		for h := lanes / 2; h >= 1; h /= 2 {
			for l := range h {
				s[l] += s[l+h]
			}
		}
		out[r] = s[0]
	}
}

// axpyRows4Go is the AxpyRows4 kernel: for j < n,
//
//	acc[j] += x[0]*rows[0][j] + ... + x[3]*rows[3][j]
//
// with one fused multiply-add per term, in that order.
func axpyRows4Go(acc *float32, n int, rows *[4]*float32, x *[4]float32) {
	a := unsafe.Slice(acc, n)
	for r, rp := range rows {
		row := unsafe.Slice(rp, n)
		for j := range a {
			a[j] = kernels.FMA32(x[r], row[j], a[j])
		}
	}
}

// packRowsGo is packRowsFast's twin: packContig with panels ps apart.
func packRowsGo(dst, src []float32, ld, x0, cnt, p0, kc, W, ps int) {
	for q := 0; q*W < cnt; q++ {
		w := min(W, cnt-q*W)
		for p := 0; p < kc; p++ {
			copy(dst[q*ps+p*W:q*ps+p*W+w], src[(p0+p)*ld+x0+q*W:][:w])
		}
	}
}
