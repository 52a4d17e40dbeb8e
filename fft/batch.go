package fft

import (
	"fmt"

	"github.com/convkit/convkit/internal/shape"
)

// ForwardBatch runs count forward transforms: transform b reads
// src[b*srcDist:][:n] and writes dst[b*dstDist:][:n] (a distance of n is
// the contiguous batch; dst and src may be the same slice at the same
// distances). It panics naming the reach if a slice is short.
func (p *Plan) ForwardBatch(dst, src []complex64, count, dstDist, srcDist int) {
	p.batch(dst, src, count, dstDist, srcDist, false)
}

// InverseBatch is ForwardBatch's inverse.
func (p *Plan) InverseBatch(dst, src []complex64, count, dstDist, srcDist int) {
	p.batch(dst, src, count, dstDist, srcDist, true)
}

func (p *Plan) batch(dst, src []complex64, count, dstDist, srcDist int, inverse bool) {
	if count <= 0 {
		return
	}
	checkBatch(p.n, len(dst), p.n, dstDist, len(src), p.n, srcDist, count)
	for b := 0; b < count; b++ {
		p.transform(dst[b*dstDist:], src[b*srcDist:], inverse)
	}
}

// ForwardBatch runs count real forward transforms: transform b reads
// src[b*srcDist:][:n] and writes the n/2 + 1 values dst[b*dstDist:].
func (p *RealPlan) ForwardBatch(dst []complex64, src []float32, count, dstDist, srcDist int) {
	if count <= 0 {
		return
	}
	checkBatch(p.n, len(dst), p.n/2+1, dstDist, len(src), p.n, srcDist, count)
	for b := 0; b < count; b++ {
		p.Forward(dst[b*dstDist:], src[b*srcDist:])
	}
}

// InverseBatch runs count real inverse transforms: transform b reads the
// n/2 + 1 values src[b*srcDist:] and writes dst[b*dstDist:][:n].
func (p *RealPlan) InverseBatch(dst []float32, src []complex64, count, dstDist, srcDist int) {
	if count <= 0 {
		return
	}
	checkBatch(p.n, len(dst), p.n, dstDist, len(src), p.n/2+1, srcDist, count)
	for b := 0; b < count; b++ {
		p.Inverse(dst[b*dstDist:], src[b*srcDist:])
	}
}

// checkBatch panics unless count transforms of dn values dstDist apart
// and sn values srcDist apart fit their slices (n: the plan's length).
func checkBatch(n, dstLen, dn, dstDist, srcLen, sn, srcDist, count int) {
	for _, side := range []struct {
		name          string
		have, w, dist int
	}{{"dst", dstLen, dn, dstDist}, {"src", srcLen, sn, srcDist}} {
		need, ok := shape.SumOfProducts(count-1, side.dist, 1, side.w)
		if side.dist < 0 || !ok || need > side.have {
			panic(fmt.Sprintf("fft: a batch of %d transforms of %d points: %s needs %d values %d apart (overflow: %v), has %d", count, n, side.name, side.w, side.dist, !ok, side.have))
		}
	}
}
