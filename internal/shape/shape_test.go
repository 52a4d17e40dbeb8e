package shape

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/convkit/convkit/internal/shape/shapetest"
)

const (
	maxInt = math.MaxInt
	half   = math.MaxInt / 2
	p62    = 1 << 62
	p32    = 1 << 32
)

func TestMul(t *testing.T) {
	for _, tc := range []struct {
		a, b, want int
		ok         bool
	}{
		{0, 0, 0, true},
		{0, maxInt, 0, true},
		{maxInt, 1, maxInt, true},
		{3, 4, 12, true},
		{half, 2, maxInt - 1, true},
		{half + 1, 2, 0, false}, // exactly 1<<63
		{p32, p32, 0, false},    // wraps to 0
		{p62, 4, 0, false},      // wraps to 0
		{p62, 3, 0, false},      // wraps negative
		{maxInt, maxInt, 0, false},
		{-1, 3, 0, false},
		{3, -1, 0, false},
		{-1, -1, 0, false}, // a negative product of negatives is not a size
	} {
		if got, ok := Mul(tc.a, tc.b); got != tc.want || ok != tc.ok {
			t.Errorf("Mul(%d, %d) = %d, %v; want %d, %v", tc.a, tc.b, got, ok, tc.want, tc.ok)
		}
	}
}

func TestAdd(t *testing.T) {
	for _, tc := range []struct {
		a, b, want int
		ok         bool
	}{
		{0, 0, 0, true},
		{maxInt, 0, maxInt, true},
		{half, half + 1, maxInt, true},
		{half + 1, half + 1, 0, false},
		{maxInt, maxInt, 0, false},
		{-1, 1, 0, false},
		{1, -1, 0, false},
	} {
		if got, ok := Add(tc.a, tc.b); got != tc.want || ok != tc.ok {
			t.Errorf("Add(%d, %d) = %d, %v; want %d, %v", tc.a, tc.b, got, ok, tc.want, tc.ok)
		}
	}
}

func TestProduct(t *testing.T) {
	for _, tc := range []struct {
		dims []int
		want int
		ok   bool
	}{
		{nil, 1, true},
		{[]int{7}, 7, true},
		{[]int{2, 3, 4, 5}, 120, true},
		{[]int{maxInt, 1, 1}, maxInt, true},
		{[]int{maxInt, maxInt, 0}, 0, true}, // empty, however large the rest
		{[]int{0, -1}, 0, false},            // a negative dim is never valid
		{[]int{p32, p32, 0, 1}, 0, true},
		{[]int{p32, p32}, 0, false},                  // wraps to 0
		{[]int{1 << 21, 1 << 21, 1 << 21}, 0, false}, // 2^63
		{[]int{1 << 21, 1 << 21, 1 << 20}, 1 << 62, true},
		{[]int{p62, 2}, 0, false},
		{[]int{half, 3}, 0, false},
		{[]int{-2, -3}, 0, false},
	} {
		if got, ok := Product(tc.dims...); got != tc.want || ok != tc.ok {
			t.Errorf("Product(%v) = %d, %v; want %d, %v", tc.dims, got, ok, tc.want, tc.ok)
		}
	}
}

func TestMatrixSpan(t *testing.T) {
	for _, tc := range []struct {
		rows, cols, ld, want int
		ok                   bool
	}{
		{0, 0, 0, 0, true},
		{0, 5, maxInt, 0, true},
		{maxInt, 0, maxInt, 0, true},
		{1, 4, maxInt, 4, true}, // one row: ld is never stepped over
		{4, 4, 4, 16, true},
		{4, 3, 5, 18, true},
		{half, 4, 4, 0, false}, // the first issue-7 probe: (m-1)*4 + 4 wraps
		{4, 4, half, 0, false}, // the second: 3*lda wraps
		{4, 4, p62, 0, false},  // 3<<62 wraps to 1<<62 + 4 would pass
		{2, 1, maxInt - 1, maxInt, true},
		{2, 2, maxInt - 1, 0, false},
		{-1, 4, 4, 0, false},
		{4, -1, 4, 0, false},
		{4, 4, -4, 0, false},
	} {
		if got, ok := MatrixSpan(tc.rows, tc.cols, tc.ld); got != tc.want || ok != tc.ok {
			t.Errorf("MatrixSpan(%d, %d, %d) = %d, %v; want %d, %v", tc.rows, tc.cols, tc.ld, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSpan(t *testing.T) {
	for _, tc := range []struct {
		dims, strides []int
		want          int
		ok            bool
	}{
		{nil, nil, 1, true}, // a scalar
		{[]int{5}, []int{1}, 5, true},
		{[]int{5}, []int{3}, 13, true},
		{[]int{2, 3, 4}, []int{12, 4, 1}, 24, true},    // dense
		{[]int{2, 3, 4}, []int{20, 6, 1}, 36, true},    // padded rows and planes
		{[]int{2, 0, 4}, []int{maxInt, 6, 1}, 0, true}, // empty
		{[]int{1, 1}, []int{maxInt, maxInt}, 1, true},
		{[]int{3, 3}, []int{half, 1}, 0, false}, // 2*half + 2 + 1 = MaxInt + 2
		{[]int{3, 2}, []int{p62, 1}, 0, false},
		{[]int{2, 2}, []int{half + 1, half}, 0, false}, // each term fits, the sum does not
		{[]int{2, 3}, []int{3}, 0, false},
		{[]int{2, -3}, []int{3, 1}, 0, false},
		{[]int{0, 3}, []int{3, -1}, 0, false}, // empty, but a negative stride is never valid
	} {
		if got, ok := Span(tc.dims, tc.strides); got != tc.want || ok != tc.ok {
			t.Errorf("Span(%v, %v) = %d, %v; want %d, %v", tc.dims, tc.strides, got, ok, tc.want, tc.ok)
		}
	}
}

const op = Op("test")

// wantErr checks that err is an *Error for op and param whose message
// contains every fragment, or that err is nil when param is "".
func wantErr(t *testing.T, what string, err error, param string, fragments ...string) {
	t.Helper()
	if param == "" {
		if err != nil {
			t.Errorf("%s: %v, want no error", what, err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("%s: error %v, want an *Error for %s", what, err, param)
		return
	}
	if e.Op != string(op) || e.Param != param {
		t.Errorf("%s: Op, Param = %q, %q; want %q, %q (%v)", what, e.Op, e.Param, op, param, err)
	}
	if !strings.HasPrefix(err.Error(), string(op)+": ") {
		t.Errorf("%s: %q does not start with %q", what, err, string(op)+": ")
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%s: %q does not contain %q", what, err, f)
		}
	}
}

func TestOpNonNegative(t *testing.T) {
	wantErr(t, "m=0", op.NonNegative("m", 0), "")
	wantErr(t, "m=-3", op.NonNegative("m", -3), "m", "m = -3 < 0")
}

func TestOpProduct(t *testing.T) {
	n, err := op.Product("x", "N x C x H x W", 2, 3, 4, 5)
	wantErr(t, "2x3x4x5", err, "")
	if n != 120 {
		t.Errorf("Product = %d, want 120", n)
	}
	_, err = op.Product("x", "N x C x H x W", p32, p32, 1, 1)
	wantErr(t, "overflow", err, "x", "x has N x C x H x W = 4294967296 x 4294967296 x 1 x 1 elements", "more than math.MaxInt")
	_, err = op.Product("w", "K x C", 3, -1)
	wantErr(t, "negative", err, "w", "K x C = 3 x -1", "dim 1 is -1 < 0")
}

func TestOpMatrix(t *testing.T) {
	for _, tc := range []struct {
		rows, cols, ld, length int
		param                  string
		fragments              []string
	}{
		{4, 4, 4, 16, "", nil},
		{4, 4, 6, 22, "", nil},
		{1, 4, maxInt, 4, "", nil},
		{0, 0, 1, 0, "", nil},         // empty: any length
		{0, 5, 5, 0, "", nil},         // empty rows, ld still >= cols
		{maxInt, 0, 1, 0, "", nil},    // empty columns, ld still >= 1
		{half, 0, maxInt, 0, "", nil}, // huge but empty
		{0, 0, 0, 0, "lda", []string{"lda = 0 < max(1, 0), the columns of a (m x k = 0 x 0)"}},
		{0, 5, 4, 100, "lda", []string{"lda = 4 < max(1, 5)"}},
		{3, 4, 3, 100, "lda", []string{"lda = 3 < max(1, 4), the columns of a (m x k = 3 x 4)"}},
		{4, 4, -1, 100, "lda", []string{"lda = -1"}},
		{4, 4, 4, 15, "a", []string{"a (m x k = 4 x 4, lda = 4) needs len(a) >= 16; len(a) = 15"}},
		{4, 3, 5, 17, "a", []string{"needs len(a) >= 18; len(a) = 17"}},
		// The issue-7 probes: each wrapped to a need that len(a) = 16 met.
		{half, 4, 4, 16, "a", []string{"a (m x k = 4611686018427387903 x 4, lda = 4) needs more than math.MaxInt elements; len(a) = 16"}},
		{4, 4, half, 16, "a", []string{"lda = 4611686018427387903) needs more than math.MaxInt elements"}},
		{4, 4, p62, 16, "a", []string{"lda = 4611686018427387904) needs more than math.MaxInt elements"}},
		{-1, 4, 4, 16, "a", []string{"a has m x k = -1 x 4 < 0"}},
		{4, -2, 4, 16, "a", []string{"a has m x k = 4 x -2 < 0"}},
	} {
		err := op.Matrix("a", "m x k", tc.rows, tc.cols, tc.ld, tc.length)
		wantErr(t, "Matrix", err, tc.param, tc.fragments...)
	}
	// Without parameter names the sizes stand alone.
	wantErr(t, "no names", op.Matrix("c", "", 2, 3, 3, 5), "c", "c (2 x 3, ldc = 3) needs len(c) >= 6; len(c) = 5")
}

func TestOpView(t *testing.T) {
	for _, tc := range []struct {
		dims, strides []int
		length        int
		param         string
		fragment      string
	}{
		{[]int{2, 3, 4}, []int{12, 4, 1}, 24, "", ""},
		{[]int{2, 3, 4}, []int{20, 6, 1}, 36, "", ""},
		{[]int{5}, []int{2}, 9, "", ""},
		{nil, nil, 1, "", ""},
		{[]int{1, 4}, []int{maxInt, 1}, 4, "", ""},
		{[]int{3, 0, 4}, []int{4, 4, 1}, 0, "", ""}, // empty: any length, strides >= 1
		{[]int{2, 3}, []int{2, 1}, 100, "x", "strides[0] = 2 < max(1, 3), the span of dims [3] with strides [1] inside it"},
		{[]int{2, 3}, []int{3, 0}, 100, "x", "strides[1] = 0 < max(1, 1)"},
		{[]int{0, 3}, []int{0, 1}, 100, "x", "strides[0] = 0 < max(1, 3)"},
		{[]int{2, 3, 4}, []int{12, 4, 1}, 23, "x", "x (dims [2 3 4], strides [12 4 1]) needs len(x) >= 24; len(x) = 23"},
		{[]int{half, 4}, []int{4, 1}, 16, "x", "needs more than math.MaxInt elements; len(x) = 16"},
		{[]int{4, 4}, []int{p62, 1}, 16, "x", "strides [4611686018427387904 1]) needs more than math.MaxInt elements"},
		{[]int{2, 2, 2}, []int{maxInt, half + 1, 1}, 100, "x", "needs more than math.MaxInt elements"}, // the inner span overflows
		{[]int{2, -3}, []int{3, 1}, 100, "x", "x has dims[1] = -3 < 0"},
		{[]int{2, 3}, []int{1}, 100, "x", "x has 2 dims [2 3] but 1 strides [1]"},
	} {
		err := op.View("x", tc.dims, tc.strides, tc.length)
		wantErr(t, "View", err, tc.param, tc.fragment)
	}
}

// TestViewIsMatrix checks that View with strides {ld, 1} is Matrix.
func TestViewIsMatrix(t *testing.T) {
	for _, rows := range []int{0, 1, 2, 4, half, maxInt} {
		for _, cols := range []int{0, 1, 3, 4, half} {
			for _, ld := range []int{-1, 0, 1, 3, 4, 5, half, p62, maxInt} {
				for _, length := range []int{0, 15, 16, 17, maxInt} {
					m := op.Matrix("a", "", rows, cols, ld, length)
					v := op.View("a", []int{rows, cols}, []int{ld, 1}, length)
					if (m == nil) != (v == nil) {
						t.Errorf("%d x %d, ld %d, len %d: Matrix %v, View %v", rows, cols, ld, length, m, v)
					}
				}
			}
		}
	}
}

func TestChecksDoNotAllocate(t *testing.T) {
	dims, strides := []int{2, 3, 4}, []int{12, 4, 1}
	got := testing.AllocsPerRun(100, func() {
		if _, ok := Product(2, 3, 4, 5); !ok {
			t.Fatal("Product failed")
		}
		if _, err := op.Product("x", "N x C x H x W", 2, 3, 4, 5); err != nil {
			t.Fatal(err)
		}
		if err := op.Matrix("a", "m x k", 4, 4, 4, 16); err != nil {
			t.Fatal(err)
		}
		if err := op.View("x", dims, strides, 24); err != nil {
			t.Fatal(err)
		}
		if err := op.View("x", []int{2, 3}, []int{3, 1}, 6); err != nil { // literals stay on the stack
			t.Fatal(err)
		}
	})
	if got != 0 {
		t.Errorf("%v allocations per passing check, want 0", got)
	}
}

func FuzzMatrix(f *testing.F) {
	// Seeds in shapetest.Wide's encoding (n<<3+7 is n, 4<<3+3 is
	// MaxInt/2, 4<<3+2 is 1<<62): a valid 4 x 4 and the issue-7 probes.
	f.Add(int64(4<<3+7), int64(4<<3+7), int64(4<<3+7), int64(16<<3+7))
	f.Add(int64(4<<3+3), int64(4<<3+7), int64(4<<3+7), int64(16<<3+7))
	f.Add(int64(4<<3+7), int64(4<<3+7), int64(4<<3+2), int64(16<<3+7))
	f.Fuzz(func(t *testing.T, r, c, l, n int64) {
		rows, cols, ld, length := shapetest.Wide(r), shapetest.Wide(c), shapetest.Wide(l), shapetest.Wide(n)
		err := op.Matrix("a", "", rows, cols, ld, length)
		if want := shapetest.MatrixValid(rows, cols, ld, length); want != (err == nil) {
			t.Fatalf("Matrix(%d x %d, ld %d, len %d) = %v, valid %v", rows, cols, ld, length, err, want)
		}
		span, ok := MatrixSpan(rows, cols, ld)
		checkSpan(t, "MatrixSpan", []int{rows, cols}, []int{ld, 1}, span, ok)
	})
}

func FuzzView(f *testing.F) {
	f.Add(int64(2<<3+7), int64(3<<3+7), int64(4<<3+7), int64(12<<3+7), int64(4<<3+7), int64(1<<3+7), int64(24<<3+7), uint8(3))
	f.Add(int64(4<<3+3), int64(4<<3+7), int64(1<<3+7), int64(4<<3+7), int64(1<<3+7), int64(1<<3+7), int64(16<<3+7), uint8(2))
	f.Fuzz(func(t *testing.T, d0, d1, d2, s0, s1, s2, n int64, rank uint8) {
		r := int(rank % 4)
		dims := []int{shapetest.Wide(d0), shapetest.Wide(d1), shapetest.Wide(d2)}[:r]
		strides := []int{shapetest.Wide(s0), shapetest.Wide(s1), shapetest.Wide(s2)}[:r]
		length := shapetest.Wide(n)
		err := op.View("x", dims, strides, length)
		if want := shapetest.ViewValid(dims, strides, length); want != (err == nil) {
			t.Fatalf("View(%v, %v, %d) = %v, valid %v", dims, strides, length, err, want)
		}
		span, ok := Span(dims, strides)
		checkSpan(t, "Span", dims, strides, span, ok)
		count, ok := Product(dims...)
		exact := big.NewInt(1)
		neg := false
		for _, d := range dims {
			exact.Mul(exact, big.NewInt(int64(d)))
			neg = neg || d < 0
		}
		if wantOK := !neg && exact.IsInt64(); ok != wantOK || (ok && int64(count) != exact.Int64()) {
			t.Fatalf("Product(%v) = %d, %v; want %v, %v", dims, count, ok, exact, wantOK)
		}
	})
}

// checkSpan compares a span result with shapetest.Span: ok exactly when
// no dim or stride is negative and the span fits in an int.
func checkSpan(t *testing.T, what string, dims, strides []int, span int, ok bool) {
	t.Helper()
	wantOK := true
	for j := range dims {
		wantOK = wantOK && dims[j] >= 0 && strides[j] >= 0
	}
	var exact *big.Int
	if wantOK {
		exact = shapetest.Span(dims, strides)
		wantOK = exact.IsInt64()
	}
	if ok != wantOK || (ok && int64(span) != exact.Int64()) {
		t.Fatalf("%s(%v, %v) = %d, %v; want %v, %v", what, dims, strides, span, ok, exact, wantOK)
	}
}

// TestSumOfProducts checks SumOfProducts against exact big-integer sums on
// terms that take the small-term fast path, terms at and past its bound,
// and sums that overflow or have a negative term.
func TestSumOfProducts(t *testing.T) {
	const small = 1 << 28 // smallSumOfProducts' bound on 64-bit ints
	cases := [][]int{
		{}, {7}, {3, 4}, {3, 4, 5},
		{small - 1, small - 1, small - 1, small - 1},
		{small, small}, {small, 1, 2, 3},
		{math.MaxInt, 1}, {math.MaxInt / 2, 2, 1, 1},
		{math.MaxInt / 2, 2, 2, 1},
		{1 << 40, 1 << 30}, {-1, 2}, {2, -1}, {1, 1, -3, 0},
	}
	for _, terms := range cases {
		exact := new(big.Int)
		ok := true
		for i := 0; i+1 < len(terms); i += 2 {
			if terms[i] < 0 || terms[i+1] < 0 {
				ok = false
			}
			exact.Add(exact, new(big.Int).Mul(big.NewInt(int64(terms[i])), big.NewInt(int64(terms[i+1]))))
		}
		ok = ok && exact.IsInt64() && exact.Int64() <= math.MaxInt
		got, gotOK := SumOfProducts(terms...)
		if gotOK != ok || ok && int64(got) != exact.Int64() || !ok && got != 0 {
			t.Errorf("SumOfProducts(%v) = %d, %v; want %v, %v", terms, got, gotOK, exact, ok)
		}
	}
}
