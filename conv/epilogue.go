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

// onesOf returns n ones.
func onesOf(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

// biasGrad sums dy over the images and positions, per channel, in a fixed
// order (image, position), in float64 rounded once: its error does not
// grow with the plane (a float32 sum of N*prod(out) terms would). Every
// algorithm computes db with it.
func biasGrad(s *Shape, db, dy []float32, accumulate bool) {
	if !accumulate {
		clear(db)
	}
	plane := s.OutLen
	for k := 0; k < s.K; k++ {
		var sum float64
		for n := 0; n < s.N; n++ {
			for p := 0; p < plane; p++ {
				sum += float64(dy[layoutIndex(s.Layout, n, k, s.K, p, plane)])
			}
		}
		db[k] += float32(sum)
	}
}
