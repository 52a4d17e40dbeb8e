package conv

import "github.com/convkit/convkit/kernels"

// Epilogue is what Forward fuses after the convolution, in this order:
// the bias (Forward's b), then y += Residual (same shape and layout as y)
// when Residual is not nil, then ReLU when set (NaN passes through, as in
// PyTorch). Every algorithm applies it while its output is in cache where
// it can; the result is the same either way.
type Epilogue struct {
	Residual []float32
	ReLU     bool
}

// active reports whether the epilogue with bias b does anything.
func (ep *Epilogue) active(b []float32) bool {
	return b != nil || ep != nil && (ep.Residual != nil || ep.ReLU)
}

// epilogueChannelsFirst applies the epilogue to a channels-first y:
// channels [k0, k0+nk) of image n, positions [p0, p0+np). ones holds at
// least np ones: the bias goes in as y += b[k]*1 on the vector Axpy (one
// rounding, as y + b[k]).
func epilogueChannelsFirst(s *Shape, y, b []float32, ep *Epilogue, n, k0, nk, p0, np int, ones []float32) {
	plane := s.OutLen
	for k := k0; k < k0+nk; k++ {
		i := (n*s.K+k)*plane + p0
		v := y[i : i+np]
		if b != nil {
			kernels.Axpy(b[k], ones[:np], v)
		}
		if ep != nil {
			if ep.Residual != nil {
				kernels.Add(v, v, ep.Residual[i:i+np])
			}
			if ep.ReLU {
				kernels.Relu(v, v)
			}
		}
	}
}

// epilogueChannelsLast applies the epilogue to the whole of a
// channels-last y.
func epilogueChannelsLast(s *Shape, y, b []float32, ep *Epilogue) {
	if b != nil {
		for i := 0; i < len(y); i += s.K {
			v := y[i : i+s.K]
			kernels.Add(v, v, b)
		}
	}
	if ep != nil {
		if ep.Residual != nil {
			kernels.Add(y, y, ep.Residual)
		}
		if ep.ReLU {
			kernels.Relu(y, y)
		}
	}
}

// finishRun moves a run of the kernels' sums (bias included) from a
// scratch buffer into y with the rest of the epilogue, as the kernels
// apply it in place: out = in + res (res nil: none), then ReLU when set.
// res may be out itself.
func finishRun(out, in, res []float32, relu bool) {
	switch {
	case len(out) == 0:
		return
	case res != nil:
		kernels.Add(out, in, res)
	case &out[0] != &in[0]:
		copy(out, in)
	}
	if relu {
		kernels.Relu(out, out)
	}
}

// onesOf returns n ones.
func onesOf(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

// biasGrad sums dy over the images and positions, per channel, in a fixed
// order (image, position): blocks of biasBlock positions summed in float32
// on the vector Sum, the blocks added in float64 and rounded once, so its
// error grows with the block, not with the plane. acc (K float64s) and
// scratch (K float32s) are channels-last's: a block of pixels sums
// channel by channel on the vector Add into scratch, the blocks into
// acc. Every algorithm computes db with it.
func biasGrad(s *Shape, db, dy []float32, accumulate bool, acc []float64, scratch []float32) {
	if !accumulate {
		clear(db)
	}
	plane := s.OutLen
	if L := s.Layout.Lanes(); L > 0 {
		biasGradBlocked(s, db, dy, acc, scratch, L)
		return
	}
	if s.Layout == ChannelsLast {
		clear(acc)
		part := scratch[:s.K] // a block's float32 sums, one per channel
		pixels := len(dy) / s.K
		for p0 := 0; p0 < pixels; p0 += biasBlock {
			clear(part)
			for p := p0; p < min(pixels, p0+biasBlock); p++ {
				kernels.Add(part, part, dy[p*s.K:(p+1)*s.K])
			}
			for k, v := range part {
				acc[k] += float64(v)
			}
		}
		for k, v := range acc[:s.K] {
			db[k] += float32(v)
		}
		return
	}
	for k := 0; k < s.K; k++ {
		var sum float64
		for n := 0; n < s.N; n++ {
			sum += planeSum(dy[(n*s.K+k)*plane:][:plane])
		}
		db[k] += float32(sum)
	}
}

// biasGradBlocked is biasGrad of a blocked dy: per channel block, the
// pixels of every image in turn in runs of biasBlock summed in float32
// lanes and added in float64, the order channels-last sums them in.
func biasGradBlocked(s *Shape, db, dy []float32, acc []float64, scratch []float32, L int) {
	kb, plane := ceilDiv(s.K, L), s.OutLen
	for b := 0; b < kb; b++ {
		nk := min(L, s.K-b*L)
		part, sums := scratch[:nk], acc[b*L:][:nk] // acc and scratch hold K
		clear(sums)
		pixels := s.N * plane
		for p0 := 0; p0 < pixels; p0 += biasBlock {
			clear(part)
			for p := p0; p < min(pixels, p0+biasBlock); p++ {
				at := ((p/plane*kb+b)*plane + p%plane) * L
				kernels.Add(part, part, dy[at:at+nk])
			}
			for l, v := range part {
				sums[l] += float64(v)
			}
		}
		for l, v := range sums {
			db[b*L+l] += float32(v)
		}
	}
}

// planeSum is biasGrad's sum of one channel plane: blocks of biasBlock
// positions in float32, added in float64.
func planeSum(p []float32) float64 {
	var sum float64
	for p0 := 0; p0 < len(p); p0 += biasBlock {
		sum += float64(kernels.Sum(p[p0:min(len(p), p0+biasBlock)]))
	}
	return sum
}

// biasBlock is the positions biasGrad sums in float32 at a time.
const biasBlock = 256
