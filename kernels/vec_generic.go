package kernels

import (
	"math"
	"sync/atomic"
)

// The pure-Go references. Each is the specification its assembly twins
// implement; their loops are written so that the compiler drops the bounds
// checks (one re-slice before the loop).

// AxpyGeneric is the reference for VecKernels.Axpy.
func AxpyGeneric(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// DotGeneric is the reference for VecKernels.Dot.
func DotGeneric(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

// ScaleGeneric is the reference for VecKernels.Scale.
func ScaleGeneric(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

// AddGeneric is the reference for VecKernels.Add.
func AddGeneric(dst, x, y []float32) {
	x = x[:len(dst)]
	y = y[:len(dst)]
	for i := range dst {
		dst[i] = x[i] + y[i]
	}
}

// ReluGeneric is the reference for VecKernels.Relu.
func ReluGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		if v <= 0 { // false for NaN, which passes through
			v = 0
		}
		dst[i] = v
	}
}

// ReluBackwardGeneric is the reference for VecKernels.ReluBackward.
func ReluBackwardGeneric(dx, x, dy []float32) {
	x = x[:len(dx)]
	dy = dy[:len(dx)]
	for i := range dx {
		if x[i] > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// MaxGeneric is the reference for VecKernels.Max.
func MaxGeneric(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v != v {
			return v
		}
		if v > m {
			m = v
		}
	}
	return m
}

// SumGeneric is the reference for VecKernels.Sum.
func SumGeneric(x []float32) float32 {
	var s float32
	for _, v := range x {
		s += v
	}
	return s
}

// Gather2Generic is the reference for VecKernels.Gather2.
func Gather2Generic(dst, src []float32) {
	if len(dst) == 0 {
		return
	}
	src = src[:2*len(dst)-1]
	for i := range dst {
		dst[i] = src[2*i]
	}
}

// ScatterAdd2Generic is the reference for VecKernels.ScatterAdd2.
func ScatterAdd2Generic(dst, src []float32) {
	if len(src) == 0 {
		return
	}
	dst = dst[:2*len(src)-1]
	for i, v := range src {
		dst[2*i] += v
	}
}

// DotShifts3Generic is the reference for VecKernels.DotShifts3.
func DotShifts3Generic(x, y []float32, step int, sums []float32) {
	dotShiftsGeneric(x, y, step, sums[:3])
}

// DotShifts5Generic is the reference for VecKernels.DotShifts5.
func DotShifts5Generic(x, y []float32, step int, sums []float32) {
	dotShiftsGeneric(x, y, step, sums[:5])
}

// DotGrid3Generic is the reference for VecKernels.DotGrid3.
func DotGrid3Generic(x, y []float32, n, xstep, ystep int, sums []float32) {
	for a := 0; a < 3; a++ {
		for b := 0; b < 3; b++ {
			sums[3*a+b] = DotGeneric(x[a*xstep:][:n], y[b*ystep:][:n])
		}
	}
}

// dotShiftsGeneric sets sums[t] to the dot product of x with y[t*step:].
func dotShiftsGeneric(x, y []float32, step int, sums []float32) {
	for t := range sums {
		sums[t] = DotGeneric(x, y[t*step:])
	}
}

// CopyRowsGeneric is the reference for VecKernels.CopyRows.
func CopyRowsGeneric(dst, src []float32, rows, w, dstPitch, srcPitch int) {
	if w == 0 {
		return // the slices may be empty: nothing is read or written
	}
	for r := 0; r < rows; r++ {
		copy(dst[r*dstPitch:][:w], src[r*srcPitch:][:w])
	}
}

// Interleave2Generic is the reference for VecKernels.Interleave2.
func Interleave2Generic(dst, even, odd []float32) {
	n := len(even)
	dst, odd = dst[:2*n], odd[:n]
	for i, v := range even {
		dst[2*i], dst[2*i+1] = v, odd[i]
	}
}

// MaxPool2Generic is the reference for VecKernels.MaxPool2.
func MaxPool2Generic(y, x []float32, rows, ow, w int) {
	for r := range rows {
		for i := range ow {
			at := window2(r, i, w)
			y[r*ow+i] = x[at[maxWinner2(x, at)]]
		}
	}
}

// MaxPool2BackwardGeneric is the reference for VecKernels.MaxPool2Backward.
func MaxPool2BackwardGeneric(dx, x, dy []float32, rows, ow, w int) {
	for r := range rows {
		for i := range ow {
			at := window2(r, i, w)
			k := maxWinner2(x, at)
			for j, p := range at {
				dx[p] = 0
				if j == k {
					dx[p] = dy[r*ow+i]
				}
			}
		}
	}
}

// window2 is the positions of output (r, i)'s window in MaxPool2's x, in
// PyTorch's order.
func window2(r, i, w int) [4]int {
	a, b := 2*r*w+2*i, (2*r+1)*w+2*i
	return [4]int{a, a + 1, b, b + 1}
}

// maxWinner2 is the position in the window at that PyTorch's max pooling
// picks: a later value wins when it is greater or NaN.
func maxWinner2(x []float32, at [4]int) int {
	k := 0
	for j := 1; j < 4; j++ {
		if v := x[at[j]]; v > x[at[k]] || v != v {
			k = j
		}
	}
	return k
}

// PeakGeneric is the reference PeakKernel: eight independent multiply-add
// chains in scalar Go, so it measures what plain Go code reaches.
func PeakGeneric(iters int) int {
	a0, a1, a2, a3 := float32(1), float32(1.1), float32(1.2), float32(1.3)
	a4, a5, a6, a7 := float32(1.4), float32(1.5), float32(1.6), float32(1.7)
	const m, c = float32(0.999999), float32(1e-7)
	for i := 0; i < iters; i++ {
		a0 = a0*m + c
		a1 = a1*m + c
		a2 = a2*m + c
		a3 = a3*m + c
		a4 = a4*m + c
		a5 = a5*m + c
		a6 = a6*m + c
		a7 = a7*m + c
	}
	peakSink.Store(math.Float32bits(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7))
	return iters * 8 * 2
}

// peakSink keeps the compiler from dropping PeakGeneric's chains. It is
// atomic because the bench runs the probe on several threads at once.
var peakSink atomic.Uint32
