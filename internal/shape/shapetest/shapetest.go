// Package shapetest is the test oracle for package shape and for the
// argument checks built on it: the same rules in exact (math/big)
// arithmetic, and a map from fuzzed integers onto the sizes that break
// naive checks. It is for tests only.
package shapetest

import (
	"math"
	"math/big"
)

// Wide maps a fuzzed int64 onto a size or stride for an argument fuzzer.
// Most values land within 4 of 0, math.MaxInt, 1<<62, math.MaxInt/2,
// 1<<32 or 1<<31 (the values that wrap (rows-1)*ld + cols; those above
// MaxInt wrap to near math.MinInt); the rest are small (0..63, the sizes
// real slices can back) or any int. So a fuzzer that starts from small
// seeds soon reaches every overflow boundary.
func Wide(v int64) int {
	u := uint64(v)
	switch sel := u % 8; sel {
	case 6:
		return int(v >> 3)
	case 7:
		return int(u >> 3 % 64)
	default:
		base := [...]int{0, math.MaxInt, 1 << 62, math.MaxInt / 2, 1 << 32, 1 << 31}[sel%6]
		return base + 4 - int(u>>3%9)
	}
}

var maxInt = big.NewInt(math.MaxInt)

// fits reports whether x is a valid slice length: 0 <= x <= math.MaxInt.
func fits(x *big.Int) bool { return x.Sign() >= 0 && x.Cmp(maxInt) <= 0 }

// Span is the exact number of elements a strided view covers:
// 1 + sum (dims[j]-1)*strides[j], or 0 when a dim is 0 (1 for no dims).
// dims and strides have equal lengths.
func Span(dims, strides []int) *big.Int {
	s := big.NewInt(1)
	for j, d := range dims {
		if d == 0 {
			return new(big.Int)
		}
		step := new(big.Int).Mul(big.NewInt(int64(d-1)), big.NewInt(int64(strides[j])))
		s.Add(s, step)
	}
	return s
}

// ViewValid is the rule of shape.Op.View in exact arithmetic: dims >= 0,
// each stride >= max(1, the span of the dims inside it), and a length at
// least the view's span (any length for an empty view).
func ViewValid(dims, strides []int, length int) bool {
	if len(dims) != len(strides) {
		return false
	}
	for j, d := range dims {
		if d < 0 {
			return false
		}
		inner := Span(dims[j+1:], strides[j+1:])
		if inner.Sign() <= 0 { // max(1, inner)
			inner.SetInt64(1)
		}
		if big.NewInt(int64(strides[j])).Cmp(inner) < 0 {
			return false
		}
	}
	need := Span(dims, strides)
	return fits(need) && need.Cmp(big.NewInt(int64(length))) <= 0
}

// MatrixValid is the BLAS rule for a row-major rows x cols matrix with
// leading dimension ld in a slice of length length (shape.Op.Matrix), in
// exact arithmetic.
func MatrixValid(rows, cols, ld, length int) bool {
	return ViewValid([]int{rows, cols}, []int{ld, 1}, length)
}
