package kernels

import (
	"fmt"

	"github.com/convkit/convkit/internal/shape"
)

// The checked entry points: they verify lengths, then call the kernel of
// the bound table (one atomic load of Bound per call). Mismatched lengths
// are programmer errors and panic with a message that names the parameter
// and both values.

func needLen(fn, name string, have, want int) {
	if have < want {
		panic(fmt.Sprintf("kernels.%s: len(%s) = %d, need at least %d", fn, name, have, want))
	}
}

// Axpy computes y[i] += alpha*x[i] for every i < len(x).
func Axpy(alpha float32, x, y []float32) {
	needLen("Axpy", "y", len(y), len(x))
	Bound().Vec.Axpy(alpha, x, y)
}

// Dot returns the inner product of x and y[:len(x)].
func Dot(x, y []float32) float32 {
	needLen("Dot", "y", len(y), len(x))
	return Bound().Vec.Dot(x, y)
}

// Scale multiplies every element of x by alpha in place.
func Scale(alpha float32, x []float32) { Bound().Vec.Scale(alpha, x) }

// Add computes dst[i] = x[i] + y[i] for every i < len(dst).
func Add(dst, x, y []float32) {
	needLen("Add", "x", len(x), len(dst))
	needLen("Add", "y", len(y), len(dst))
	Bound().Vec.Add(dst, x, y)
}

// Relu computes dst[i] = max(x[i], 0) for every i < len(dst); NaN passes
// through as in PyTorch. dst and x may alias.
func Relu(dst, x []float32) {
	needLen("Relu", "x", len(x), len(dst))
	Bound().Vec.Relu(dst, x)
}

// ReluBackward computes dx[i] = dy[i] where x[i] > 0 and 0 elsewhere.
func ReluBackward(dx, x, dy []float32) {
	needLen("ReluBackward", "x", len(x), len(dx))
	needLen("ReluBackward", "dy", len(dy), len(dx))
	Bound().Vec.ReluBackward(dx, x, dy)
}

// Max returns the largest element of x: NaN if any is NaN, -Inf if x is empty.
func Max(x []float32) float32 { return Bound().Vec.Max(x) }

// Sum returns the sum of the elements of x.
func Sum(x []float32) float32 { return Bound().Vec.Sum(x) }

// Gather2 computes dst[i] = src[2*i] for every i < len(dst), the row copy
// of a stride-2 im2col. src needs 2*len(dst)-1 elements, not 2*len(dst):
// the odd element after the last one taken is not read.
func Gather2(dst, src []float32) {
	needLen("Gather2", "src", len(src), 2*len(dst)-1)
	Bound().Vec.Gather2(dst, src)
}

// MaxPool2 computes the 2x2 stride-2 max pooling of rows rows of ow
// outputs into y: y[r*ow+i] is the max of columns 2i, 2i+1 of x's rows 2r
// and 2r+1, which start w floats apart, by PyTorch's rule (a later value
// wins when greater or NaN). It panics, naming the parameter, unless
// rows, ow >= 0, w >= 2*ow, len(y) >= rows*ow and len(x) >=
// (2*rows-1)*w + 2*ow (when rows*ow > 0).
func MaxPool2(y, x []float32, rows, ow, w int) {
	checkPool2("MaxPool2", "y", "x", len(y), len(x), rows, ow, w)
	Bound().Vec.MaxPool2(y, x, rows, ow, w)
}

// MaxPool2Backward writes the gradient of MaxPool2's windows into dx, laid
// out as x: dy[r*ow+i] where the window's winner was, +0 at its other
// three elements; dx's columns past 2*ow are not touched. dx and x must
// hold what MaxPool2's x does, dy what its y does.
func MaxPool2Backward(dx, x, dy []float32, rows, ow, w int) {
	checkPool2("MaxPool2Backward", "dy", "x", len(dy), len(x), rows, ow, w)
	checkPool2("MaxPool2Backward", "dy", "dx", len(dy), len(dx), rows, ow, w)
	Bound().Vec.MaxPool2Backward(dx, x, dy, rows, ow, w)
}

// checkPool2 checks the geometry of a MaxPool2 call whose output slice
// (named out) has nOut floats and input (in) nIn.
func checkPool2(fn, out, in string, nOut, nIn, rows, ow, w int) {
	if rows < 0 || ow < 0 || w < 2*ow {
		panic(fmt.Sprintf("kernels.%s: rows = %d, ow = %d, w = %d: want rows, ow >= 0 and w >= 2*ow", fn, rows, ow, w))
	}
	if rows == 0 || ow == 0 {
		return
	}
	outs, ok1 := shape.Mul(rows, ow)
	span, ok2 := shape.MatrixSpan(2*rows, 2*ow, w)
	if !ok1 || !ok2 {
		panic(fmt.Sprintf("kernels.%s: rows = %d, ow = %d, w = %d overflow int", fn, rows, ow, w))
	}
	needLen(fn, out, nOut, outs)
	needLen(fn, in, nIn, span)
}

// Interleave2 zips even and odd into dst: dst[2*i] = even[i] and
// dst[2*i+1] = odd[i] for every i < len(even), the row store of a
// stride-2, 2-tap col2im whose taps do not overlap (a 2x2 stride-2
// transposed convolution: every element of dst written once, none read).
// odd needs len(even) elements, dst 2*len(even).
func Interleave2(dst, even, odd []float32) {
	n := len(even)
	needLen("Interleave2", "odd", len(odd), n)
	needLen("Interleave2", "dst", len(dst), 2*n)
	Bound().Vec.Interleave2(dst, even, odd)
}

// DotShifts sets sums[t] to the dot product of x with y[t*step:] for
// every t < len(sums), in one pass over x: on the generated DotShifts3
// and DotShifts5 for three and five windows, on Dot one window at a time
// otherwise. y needs len(x)+(len(sums)-1)*step elements; step >= 0.
func DotShifts(x, y []float32, step int, sums []float32) {
	if step < 0 {
		panic(fmt.Sprintf("kernels.DotShifts: step = %d, need >= 0", step))
	}
	if len(sums) == 0 {
		return
	}
	needWindows("DotShifts", "y", len(y), len(x), len(sums), step)
	v := &Bound().Vec
	switch len(sums) {
	case 3:
		v.DotShifts3(x, y, step, sums)
	case 5:
		v.DotShifts5(x, y, step, sums)
	default:
		for t := range sums {
			sums[t] = v.Dot(x, y[t*step:])
		}
	}
}

// DotGrid3 sets sums[3*a+b] to the dot product of x[a*xstep:][:n] with
// y[b*ystep:][:n], for a, b < 3, in one pass over the windows (a
// depthwise 3x3 filter gradient: x is dy's plane, its windows rows of the
// input's copy apart, y the copy, its windows columns apart): each
// window's vectors are loaded once for 3 FMAs. It panics unless n, xstep
// and ystep are >= 0, x and y hold their windows and len(sums) >= 9.
func DotGrid3(x, y []float32, n, xstep, ystep int, sums []float32) {
	if n < 0 || xstep < 0 || ystep < 0 {
		panic(fmt.Sprintf("kernels.DotGrid3: n = %d, xstep = %d, ystep = %d: need all >= 0", n, xstep, ystep))
	}
	needLen("DotGrid3", "sums", len(sums), 9)
	if n == 0 {
		clear(sums[:9])
		return
	}
	needWindows("DotGrid3", "x", len(x), n, 3, xstep)
	needWindows("DotGrid3", "y", len(y), n, 3, ystep)
	Bound().Vec.DotGrid3(x, y, n, xstep, ystep, sums)
}

// needWindows panics unless a slice of have floats holds windows windows
// (>= 1) of n floats, step floats apart: (windows-1)*step + n of them,
// an overflow of int included.
func needWindows(fn, name string, have, n, windows, step int) {
	span, ok := shape.Mul(windows-1, step)
	if ok {
		span, ok = shape.Add(span, n)
	}
	if !ok {
		panic(fmt.Sprintf("kernels.%s: %s: %d windows of %d floats, %d apart, overflow int", fn, name, windows, n, step))
	}
	needLen(fn, name, have, span)
}

// CopyRows copies rows rows of w floats from src, srcPitch floats apart,
// to dst, dstPitch floats apart, in one call (a padded copy's rows, where
// a copy per row of tens of floats costs more in calls than in moves).
// dst and src must not overlap; each needs (rows-1)*pitch+w floats.
func CopyRows(dst, src []float32, rows, w, dstPitch, srcPitch int) {
	if rows < 0 || w < 0 || dstPitch < 0 || srcPitch < 0 {
		panic(fmt.Sprintf("kernels.CopyRows: rows = %d, w = %d, dstPitch = %d, srcPitch = %d: need all >= 0", rows, w, dstPitch, srcPitch))
	}
	if rows == 0 || w == 0 {
		return
	}
	dspan, ok1 := shape.MatrixSpan(rows, w, dstPitch)
	sspan, ok2 := shape.MatrixSpan(rows, w, srcPitch)
	if !ok1 || !ok2 {
		panic(fmt.Sprintf("kernels.CopyRows: rows = %d, w = %d, pitches %d and %d overflow int", rows, w, dstPitch, srcPitch))
	}
	needLen("CopyRows", "dst", len(dst), dspan)
	needLen("CopyRows", "src", len(src), sspan)
	Bound().Vec.CopyRows(dst, src, rows, w, dstPitch, srcPitch)
}

// ScatterAdd2 computes dst[2*i] += src[i] for every i < len(src), the row
// accumulation of a stride-2 col2im; the odd elements of dst are left as
// they are, bit for bit, though written back (so the other phase of the
// stride must not run on the same row at the same time). dst needs
// 2*len(src)-1 elements.
func ScatterAdd2(dst, src []float32) {
	needLen("ScatterAdd2", "dst", len(dst), 2*len(src)-1)
	Bound().Vec.ScatterAdd2(dst, src)
}
