package shapetest

import (
	"math"
	"testing"
)

// TestWideReachesTheBoundaries checks that Wide reaches every value that
// wraps a naive check, exactly and from both sides, and small sizes.
func TestWideReachesTheBoundaries(t *testing.T) {
	seen := map[int]bool{}
	for v := int64(0); v < 8*64; v++ {
		seen[Wide(v)] = true
	}
	for _, base := range []int{0, math.MaxInt, 1 << 62, math.MaxInt / 2, 1 << 32, 1 << 31} {
		for d := -4; d <= 4; d++ {
			if !seen[base+d] {
				t.Errorf("Wide never gives %d%+d", base, d)
			}
		}
	}
	for n := 0; n < 64; n++ {
		if !seen[n] {
			t.Errorf("Wide never gives %d", n)
		}
	}
}

func TestOracle(t *testing.T) {
	for _, tc := range []struct {
		rows, cols, ld, length int
		want                   bool
	}{
		{4, 4, 4, 16, true},
		{4, 4, 4, 15, false},
		{0, 4, 4, 0, true},
		{0, 4, 3, 0, false}, // ld >= max(1, cols) even when empty
		{3, 0, 0, 0, false},
		{3, 0, 1, 0, true},
		{math.MaxInt / 2, 4, 4, 16, false},
		{4, 4, 1 << 62, math.MaxInt, false},
		{1, 4, math.MaxInt, 4, true},
		{-1, 4, 4, 16, false},
	} {
		if got := MatrixValid(tc.rows, tc.cols, tc.ld, tc.length); got != tc.want {
			t.Errorf("MatrixValid(%d, %d, %d, %d) = %v, want %v", tc.rows, tc.cols, tc.ld, tc.length, got, tc.want)
		}
	}
	if got := Span([]int{2, 3, 4}, []int{20, 6, 1}); got.Int64() != 36 {
		t.Errorf("Span = %v, want 36", got)
	}
}
