// Package shape checks the sizes, strides and slice lengths of matrix and
// tensor arguments without integer overflow.
//
// A size check written the obvious way, len(a) < (rows-1)*ld + cols,
// wraps around for huge rows or ld and then passes: the kernel behind it
// reads at wrapped offsets or indexes out of range on a worker goroutine,
// where the caller cannot recover. Every function here either computes
// exactly or reports that the exact value does not fit in an int, so a
// check built on them never passes by overflow.
//
// The arithmetic (Mul, Add, Product, MatrixSpan, Span) reports overflow
// with a bool. The checks (the methods of Op) apply the BLAS rules to an
// argument and return an *Error that names the operation, the parameter
// at fault and its values, ready to panic with in the caller's goroutine.
// None of them allocates unless it returns an error.
package shape

import (
	"fmt"
	"math/bits"
)

// Mul returns a*b and true when a, b >= 0 and the product fits in an int;
// otherwise 0 and false.
func Mul(a, b int) (int, bool) {
	if a < 0 || b < 0 {
		return 0, false
	}
	hi, lo := bits.Mul(uint(a), uint(b))
	if hi != 0 || int(lo) < 0 {
		return 0, false
	}
	return int(lo), true
}

// Add returns a+b and true when a, b >= 0 and the sum fits in an int;
// otherwise 0 and false.
func Add(a, b int) (int, bool) {
	if a < 0 || b < 0 {
		return 0, false
	}
	s := a + b // two non-negative ints add to at most 2*MaxInt: wraps negative
	if s < 0 {
		return 0, false
	}
	return s, true
}

// SumOfProducts returns terms[0]*terms[1] + terms[2]*terms[3] + ... and
// true when every term is >= 0 and nothing overflows an int; otherwise 0
// and false: the reach of a strided access (count*stride + ...).
func SumOfProducts(terms ...int) (int, bool) {
	if s, ok := smallSumOfProducts(terms); ok {
		return s, true
	}
	sum := 0
	for i := 0; i+1 < len(terms); i += 2 {
		p, ok := Mul(terms[i], terms[i+1])
		if ok {
			sum, ok = Add(sum, p)
		}
		if !ok {
			return 0, false
		}
	}
	return sum, true
}

// smallSumOfProducts is SumOfProducts where every term is below small
// and there are at most 128 terms, so no product or sum can overflow: the
// common case, computed without the checks of Mul and Add (the direct
// convolution kernels check their reach this way on every call).
func smallSumOfProducts(terms []int) (int, bool) {
	const small = 1 << (bits.UintSize/2 - 4) // products < 2^(UintSize-8)
	if len(terms) > 128 {
		return 0, false
	}
	sum := 0
	for i := 0; i+1 < len(terms); i += 2 {
		a, b := terms[i], terms[i+1]
		if uint(a) >= small || uint(b) >= small {
			return 0, false
		}
		sum += a * b
	}
	return sum, true
}

// Product returns the product of dims (1 for none) and true when every dim
// is >= 0 and the product fits in an int; otherwise 0 and false. A zero
// dim makes the product 0 however large the others are: an empty tensor
// of N x C x 0 x W elements is valid whatever N, C and W.
func Product(dims ...int) (int, bool) {
	p := 1
	for _, d := range dims {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			p = 0
		}
	}
	if p == 0 {
		return 0, true
	}
	for _, d := range dims {
		var ok bool
		if p, ok = Mul(p, d); !ok {
			return 0, false
		}
	}
	return p, true
}

// MatrixSpan returns the number of elements that a row-major rows x cols
// matrix with leading dimension ld covers from its first element,
// (rows-1)*ld + cols, or 0 when rows or cols is 0; and true when rows,
// cols, ld >= 0 and that count fits in an int. It does not apply the BLAS
// rule ld >= max(1, cols) (Op.Matrix does).
func MatrixSpan(rows, cols, ld int) (int, bool) {
	if rows < 0 || cols < 0 || ld < 0 {
		return 0, false
	}
	if rows == 0 || cols == 0 {
		return 0, true
	}
	last, ok := Mul(rows-1, ld)
	if !ok {
		return 0, false
	}
	return Add(last, cols)
}

// Span returns the number of elements that a strided view covers from its
// first element: element (i0, i1, ...) is at offset sum i_j*strides[j],
// so the view covers 1 + sum (dims[j]-1)*strides[j] elements, or 0 when
// any dim is 0. The result is true when len(dims) == len(strides), every
// dim and stride is >= 0 and the count fits in an int. A view of no dims
// is a scalar: span 1. Span does not apply the nesting rule of Op.View.
func Span(dims, strides []int) (int, bool) {
	if len(dims) != len(strides) {
		return 0, false
	}
	empty := false
	for j, d := range dims {
		if d < 0 || strides[j] < 0 {
			return 0, false
		}
		empty = empty || d == 0
	}
	if empty {
		return 0, true
	}
	span := 1
	for j, d := range dims {
		step, ok := Mul(d-1, strides[j])
		if !ok {
			return 0, false
		}
		if span, ok = Add(span, step); !ok {
			return 0, false
		}
	}
	return span, true
}

// Error is a failed check: the operation, the parameter at fault and a
// message that states the rule it breaks with the values involved.
type Error struct {
	Op    string // the checked operation, e.g. "gemm"
	Param string // the parameter at fault, e.g. "m", "lda" or "a"
	Msg   string // e.g. "lda = 3 < max(1, 4), the columns of a (m x k = 2 x 4)"
}

// Error returns "op: msg".
func (e *Error) Error() string { return e.Op + ": " + e.Msg }

// Op names the operation whose arguments are checked ("gemm", "conv2d");
// every *Error from its methods carries that name.
type Op string

// Errorf returns an *Error for param with a formatted message, for the
// rules an operation adds of its own (a group count that must divide the
// channels, a kernel no larger than the padded input, ...).
func (op Op) Errorf(param, format string, args ...any) error {
	return &Error{Op: string(op), Param: param, Msg: fmt.Sprintf(format, args...)}
}

// NonNegative checks that the size param is >= 0.
func (op Op) NonNegative(param string, v int) error {
	if v < 0 {
		return op.Errorf(param, "%s = %d < 0", param, v)
	}
	return nil
}

// Product checks that the element count of dims, the sizes of the tensor
// param (names says which they are, "N x C x H x W"), fits in an int, and
// returns it. A negative dim or an overflow is an error.
func (op Op) Product(param, names string, dims ...int) (int, error) {
	n, ok := Product(dims...)
	if !ok {
		return 0, op.Errorf(param, "%s has %s = %s elements: %s", param, names, joinX(dims), whyNot(dims))
	}
	return n, nil
}

// Matrix checks a row-major matrix argument by the BLAS rules: the slice
// param name holds a rows x cols matrix (dims says which parameters those
// are, "m x k"; "" leaves them out) whose rows start ld elements apart,
// and length is len(name). It requires rows, cols >= 0,
// ld >= max(1, cols), and, unless rows or cols is 0 (an empty matrix
// needs no elements, whatever its length), length >= (rows-1)*ld + cols.
// The leading dimension is reported as "ld"+name, as BLAS names it.
func (op Op) Matrix(name, dims string, rows, cols, ld, length int) error {
	if rows < 0 || cols < 0 {
		return op.Errorf(name, "%s has %s < 0", name, describeDims(dims, rows, cols))
	}
	if ld < max(1, cols) {
		return op.Errorf("ld"+name, "ld%s = %d < max(1, %d), the columns of %s (%s)", name, ld, cols, name, describeDims(dims, rows, cols))
	}
	need, ok := MatrixSpan(rows, cols, ld)
	if !ok {
		return op.Errorf(name, "%s (%s, ld%s = %d) needs more than math.MaxInt elements; len(%s) = %d",
			name, describeDims(dims, rows, cols), name, ld, name, length)
	}
	if length < need {
		return op.Errorf(name, "%s (%s, ld%s = %d) needs len(%s) >= %d; len(%s) = %d",
			name, describeDims(dims, rows, cols), name, ld, name, need, name, length)
	}
	return nil
}

// View checks a strided view of any rank held in the slice param name of
// length length: dims lists its sizes outermost first (N, C, H, W) and
// strides the element distance along each. The rules generalize BLAS's
// ld >= max(1, cols) so that no two elements of the view share a place:
// every dim is >= 0, and every stride is at least max(1, the span of the
// dims after it), the innermost at least 1. A view with a zero dim needs
// no elements; any other needs length >= 1 + sum (dims[j]-1)*strides[j].
// A rows x cols matrix with leading dimension ld is the view
// dims {rows, cols}, strides {ld, 1}.
func (op Op) View(name string, dims, strides []int, length int) error {
	if len(dims) != len(strides) {
		return op.Errorf(name, "%s has %d dims %v but %d strides %v", name, len(dims), clone(dims), len(strides), clone(strides))
	}
	for j, d := range dims {
		if d < 0 {
			return op.Errorf(name, "%s has dims[%d] = %d < 0 (dims %v)", name, j, d, clone(dims))
		}
	}
	for j := len(dims) - 1; j >= 0; j-- {
		inner, ok := Span(dims[j+1:], strides[j+1:])
		if !ok {
			// strides[j+1:] passed this loop, so the inner span overflows.
			return op.errOverflow(name, dims, strides, length)
		}
		if strides[j] < max(1, inner) {
			return op.Errorf(name, "%s has strides[%d] = %d < max(1, %d), the span of dims %v with strides %v inside it",
				name, j, strides[j], inner, clone(dims[j+1:]), clone(strides[j+1:]))
		}
	}
	need, ok := Span(dims, strides)
	if !ok {
		return op.errOverflow(name, dims, strides, length)
	}
	if length < need {
		return op.Errorf(name, "%s (dims %v, strides %v) needs len(%s) >= %d; len(%s) = %d",
			name, clone(dims), clone(strides), name, need, name, length)
	}
	return nil
}

func (op Op) errOverflow(name string, dims, strides []int, length int) error {
	return op.Errorf(name, "%s (dims %v, strides %v) needs more than math.MaxInt elements; len(%s) = %d",
		name, clone(dims), clone(strides), name, length)
}

// clone copies a slice for a message, so that formatting it does not make
// the caller's slice escape to the heap on the path where the check
// passes.
func clone(s []int) []int { return append([]int(nil), s...) }

// describeDims renders "m x k = 4 x 5", or "4 x 5" without names.
func describeDims(names string, rows, cols int) string {
	if names == "" {
		return fmt.Sprintf("%d x %d", rows, cols)
	}
	return fmt.Sprintf("%s = %d x %d", names, rows, cols)
}

// joinX renders dims as "2 x 3 x 4".
func joinX(dims []int) string {
	s := ""
	for j, d := range dims {
		if j > 0 {
			s += " x "
		}
		s += fmt.Sprint(d)
	}
	return s
}

// whyNot says why Product(dims...) failed.
func whyNot(dims []int) string {
	for j, d := range dims {
		if d < 0 {
			return fmt.Sprintf("dim %d is %d < 0", j, d)
		}
	}
	return "more than math.MaxInt"
}
