package gemm

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convkit/convkit/internal/shape"
)

// sgemmCall is one Sgemm argument list; a, b and c are filled in by the
// test.
type sgemmCall struct {
	transA, transB bool
	m, n, k        int
	lda, ldb, ldc  int
	la, lb, lc     int // len(a), len(b), len(c)
}

// argPanic runs f and returns what it panicked with, recovered here, in
// the calling goroutine: a panic on a helper goroutine would kill the
// test binary instead.
func argPanic(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}

// wantArgPanic checks that p is the *shape.Error of gemm's checkArgs for
// param, with exactly the message msg.
func wantArgPanic(t *testing.T, what string, p any, param, msg string) {
	t.Helper()
	err, _ := p.(error)
	var e *shape.Error
	if !errors.As(err, &e) {
		t.Errorf("%s: panic %v (%T), want a *shape.Error", what, p, p)
		return
	}
	if e.Op != "gemm" || e.Param != param || err.Error() != msg {
		t.Errorf("%s: panic (Op %q, Param %q) %q\n\twant (Op \"gemm\", Param %q) %q", what, e.Op, e.Param, err, param, msg)
	}
}

// callers are the entry points a probe goes through: the package-level
// Sgemm and Contexts with one and several threads (the paths that hand
// work to helper goroutines).
var callers = []struct {
	name string
	f    func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}{
	{"Sgemm", Sgemm},
	{"Context(1)", NewContext(1).Sgemm},
	{"Context(3)", NewContext(3).Sgemm},
}

// TestSgemmOverflowProbes reproduces issue 7's probes exactly. Before the
// overflow-safe checks the first passed them and then indexed out of range
// on a worker goroutine (an unrecoverable crash); the other two wrapped
// (m-1)*lda + k to a length that len(a) = 16 met, and the kernel read at
// wrapped offsets. Each must now panic in the caller's goroutine, naming
// the matrix, the sizes and the leading dimension, and leave C alone.
func TestSgemmOverflowProbes(t *testing.T) {
	for _, tc := range []struct {
		name           string
		m, lda         int
		msg            string
		transA, transB bool
	}{
		{name: "m=MaxInt/2", m: math.MaxInt / 2, lda: 4,
			msg: "gemm: a (m x k = 4611686018427387903 x 4, lda = 4) needs more than math.MaxInt elements; len(a) = 16"},
		{name: "lda=MaxInt/2", m: 4, lda: math.MaxInt / 2,
			msg: "gemm: a (m x k = 4 x 4, lda = 4611686018427387903) needs more than math.MaxInt elements; len(a) = 16"},
		{name: "lda=1<<62", m: 4, lda: 1 << 62,
			msg: "gemm: a (m x k = 4 x 4, lda = 4611686018427387904) needs more than math.MaxInt elements; len(a) = 16"},
	} {
		for _, caller := range callers {
			a, b, c := make([]float32, 16), make([]float32, 16), make([]float32, 16)
			for i := range a {
				a[i], b[i], c[i] = float32(i%4+1), 1, -7
			}
			p := argPanic(func() { caller.f(false, false, tc.m, 4, 4, 1, a, tc.lda, b, 4, 0, c, 4) })
			wantArgPanic(t, caller.name+" "+tc.name, p, "a", tc.msg)
			for i, v := range c {
				if v != -7 {
					t.Fatalf("%s %s: c[%d] = %v was written", caller.name, tc.name, i, v)
				}
			}
		}
	}
	if n := threadsInUse.Load(); n != 0 {
		t.Errorf("after the panics %d threads are still counted in use", n)
	}
}

// TestSgemmArgPanics covers every check of checkArgs: each parameter,
// each transpose, too short and overflowing, with its exact message.
func TestSgemmArgPanics(t *testing.T) {
	const big, p62 = math.MaxInt / 2, 1 << 62
	for _, tc := range []struct {
		call  sgemmCall
		param string
		msg   string
	}{
		{sgemmCall{m: -1, n: 4, k: 4, lda: 4, ldb: 4, ldc: 4, la: 16, lb: 16, lc: 16}, "m", "gemm: m = -1 < 0"},
		{sgemmCall{m: 4, n: -2, k: 4, lda: 4, ldb: 4, ldc: 4, la: 16, lb: 16, lc: 16}, "n", "gemm: n = -2 < 0"},
		{sgemmCall{m: 4, n: 4, k: math.MinInt, lda: 4, ldb: 4, ldc: 4, la: 16, lb: 16, lc: 16}, "k", "gemm: k = -9223372036854775808 < 0"},
		{sgemmCall{m: 2, n: 2, k: 3, lda: 2, ldb: 2, ldc: 2, la: 12, lb: 12, lc: 12}, "lda",
			"gemm: lda = 2 < max(1, 3), the columns of a (m x k = 2 x 3)"},
		{sgemmCall{transA: true, m: 5, n: 2, k: 3, lda: 4, ldb: 2, ldc: 2, la: 20, lb: 20, lc: 20}, "lda",
			"gemm: lda = 4 < max(1, 5), the columns of a (k x m = 3 x 5)"},
		{sgemmCall{m: 2, n: 3, k: 2, lda: 2, ldb: 2, ldc: 3, la: 12, lb: 12, lc: 12}, "ldb",
			"gemm: ldb = 2 < max(1, 3), the columns of b (k x n = 2 x 3)"},
		{sgemmCall{transB: true, m: 2, n: 3, k: 0, lda: 1, ldb: 0, ldc: 3, la: 12, lb: 12, lc: 12}, "ldb",
			"gemm: ldb = 0 < max(1, 0), the columns of b (n x k = 3 x 0)"},
		{sgemmCall{m: 0, n: 7, k: 1, lda: 1, ldb: 7, ldc: 6, lb: 7}, "ldc",
			"gemm: ldc = 6 < max(1, 7), the columns of c (m x n = 0 x 7)"},
		{sgemmCall{m: 4, n: 2, k: 4, lda: 4, ldb: 2, ldc: 2, la: 12, lb: 12, lc: 12}, "a",
			"gemm: a (m x k = 4 x 4, lda = 4) needs len(a) >= 16; len(a) = 12"},
		{sgemmCall{m: 2, n: 7, k: 1, lda: 1, ldb: 7, ldc: 7, la: 2, lb: 7, lc: 13}, "c",
			"gemm: c (m x n = 2 x 7, ldc = 7) needs len(c) >= 14; len(c) = 13"},
		{sgemmCall{transB: true, m: 4, n: 4, k: 4, lda: 4, ldb: 5, ldc: 4, la: 16, lb: 16, lc: 16}, "b",
			"gemm: b (n x k = 4 x 4, ldb = 5) needs len(b) >= 19; len(b) = 16"},
		{sgemmCall{transA: true, m: 4, n: 4, k: big, lda: 4, ldb: 4, ldc: 4, la: 16, lb: 16, lc: 16}, "a",
			"gemm: a (k x m = 4611686018427387903 x 4, lda = 4) needs more than math.MaxInt elements; len(a) = 16"},
		{sgemmCall{m: 4, n: 4, k: 4, lda: 4, ldb: p62, ldc: 4, la: 16, lb: 16, lc: 16}, "b",
			"gemm: b (k x n = 4 x 4, ldb = 4611686018427387904) needs more than math.MaxInt elements; len(b) = 16"},
		{sgemmCall{m: big, n: 4, k: 0, lda: 1, ldb: 4, ldc: 4, lc: 16}, "c",
			"gemm: c (m x n = 4611686018427387903 x 4, ldc = 4) needs more than math.MaxInt elements; len(c) = 16"},
		{sgemmCall{m: 4, n: 4, k: 4, lda: 4, ldb: 4, ldc: math.MaxInt, la: 16, lb: 16, lc: 16}, "c",
			"gemm: c (m x n = 4 x 4, ldc = 9223372036854775807) needs more than math.MaxInt elements; len(c) = 16"},
	} {
		s := tc.call
		a, b, c := make([]float32, s.la), make([]float32, s.lb), make([]float32, s.lc)
		p := argPanic(func() { Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, s.lda, b, s.ldb, 0, c, s.ldc) })
		wantArgPanic(t, tc.msg, p, tc.param, tc.msg)
	}
}

// TestSgemmHugeLeadingDimensions runs valid calls whose leading
// dimensions are huge: a matrix with one row never steps over its ld, so
// BLAS allows any ld >= its columns. The result must be right and the
// call must not form an out-of-range offset from ld.
func TestSgemmHugeLeadingDimensions(t *testing.T) {
	for _, ld := range []int{math.MaxInt, 1 << 62, math.MaxInt / 2, 1<<32 + 3} {
		for _, tc := range []struct {
			transA, transB bool
			m, n, k        int
			lda, ldb, ldc  int
		}{
			{m: 1, n: 5, k: 3, lda: ld, ldb: 5, ldc: ld},              // A and C one row
			{transA: true, m: 5, n: 4, k: 1, lda: ld, ldb: 4, ldc: 4}, // op(A) = A^T, A one row
			{m: 3, n: 4, k: 1, lda: 1, ldb: ld, ldc: 4},               // B one row
			{transB: true, m: 3, n: 1, k: 6, lda: 6, ldb: ld, ldc: 1}, // B^T, B one row
			{m: 40, n: 30, k: 0, lda: ld, ldb: ld, ldc: 30},           // k = 0: B empty
		} {
			ra, ca, rb, cb := tc.m, tc.k, tc.k, tc.n
			if tc.transA {
				ra, ca = ca, ra
			}
			if tc.transB {
				rb, cb = cb, rb
			}
			a, b := make([]float32, ra*ca), make([]float32, rb*cb)
			c := make([]float32, tc.m*tc.n)
			r := rand.New(rand.NewPCG(uint64(ld), 7))
			fillRand(r, a)
			fillRand(r, b)
			fillRand(r, c)
			// refGemm indexes only the rows that exist, so it takes the
			// huge leading dimensions as they are.
			want, mag := refGemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1.5, a, tc.lda, b, tc.ldb, 0.5, c, tc.ldc)
			for _, caller := range callers {
				got := append([]float32(nil), c...)
				p := argPanic(func() {
					caller.f(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1.5, a, tc.lda, b, tc.ldb, 0.5, got, tc.ldc)
				})
				if p != nil {
					t.Errorf("%s %+v: panic %v", caller.name, tc, p)
					continue
				}
				// C is dense here except in the one-row case, whose single
				// row is got[:n] either way.
				for i := range want {
					if g := float64(got[i]); !(math.Abs(g-want[i]) <= 2e-7*float64(tc.k+4)*mag[i]+1e-30) {
						t.Errorf("%s %+v: c[%d] = %v, want %v", caller.name, tc, i, g, want[i])
						break
					}
				}
			}
		}
	}
}
