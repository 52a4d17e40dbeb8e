package prng

import "testing"

func TestFill(t *testing.T) {
	a, b, c := make([]float32, 4096), make([]float32, 4096), make([]float32, 4096)
	Fill(a, 7)
	Fill(b, 7)
	Fill(c, 8)
	same := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed 7 gave %v then %v at %d", a[i], b[i], i)
		}
		if !(a[i] >= -1 && a[i] < 1) || a[i] == 0 {
			t.Fatalf("a[%d] = %v, want a non-zero value in [-1, 1)", i, a[i])
		}
		if a[i] == c[i] {
			same++
		}
	}
	if same > 8 {
		t.Errorf("seeds 7 and 8 agree on %d of %d values", same, len(a))
	}
	// The stream is part of the contract (golden numbers in tests and
	// reports depend on it): pin its first values.
	for i, w := range []float32{0.7976335, -0.36398566, 0.6201055} {
		if a[i] != w {
			t.Errorf("Fill(seed 7)[%d] = %v, want %v", i, a[i], w)
		}
	}
}
