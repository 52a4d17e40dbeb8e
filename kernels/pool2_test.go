package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// pool2Geometries are the (rows, ow, w) of the pooling tests: every row
// length through the tails of both ISAs, several rows, and rows with
// columns past the windows (w > 2*ow: an odd width, a padded pitch).
func pool2Geometries() [][3]int {
	var gs [][3]int
	for _, ow := range stride2Sizes() {
		gs = append(gs, [3]int{1, ow, 2 * ow})
	}
	for _, ow := range []int{1, 5, 7, 14, 17, 33} {
		gs = append(gs, [3]int{3, ow, 2 * ow}, [3]int{4, ow, 2*ow + 1}, [3]int{2, ow, 2*ow + 5})
	}
	return append(gs, [3]int{0, 5, 10}, [3]int{3, 0, 0})
}

// poolInput returns the input of rows rows of a (rows, ow, w) pooling,
// followed by pad sentinels: random (kind 0); full of specials, NaNs of
// several payloads, infinities, signed zeros (kind 1); or few distinct
// values, so that windows tie and hold zeros of both signs (kind 2).
func poolInput(r *rand.Rand, rows, w, kind, pad int) []float32 {
	n := 2 * rows * w
	x := padded(r, n, pad)
	switch kind {
	case 1:
		copy(x, withSpecials(r, n))
	case 2:
		few := []float32{1, -1, 0, float32(math.Copysign(0, -1)), 2}
		for i := range n {
			x[i] = few[r.IntN(len(few))]
		}
	}
	return x
}

func TestVecMaxPool2(t *testing.T) {
	const pad = 40
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(16, 16))
		for _, g := range pool2Geometries() {
			rows, ow, w := g[0], g[1], g[2]
			for kind := range 3 {
				what := fmt.Sprintf("MaxPool2 rows=%d ow=%d w=%d kind=%d", rows, ow, w, kind)
				x := poolInput(r, rows, w, kind, pad)
				y := padded(r, rows*ow, pad)
				want := clone(y[:rows*ow])
				MaxPool2Generic(want, x, rows, ow, w)
				before := clone(x)
				tab.Vec.MaxPool2(y[:rows*ow], x[:2*rows*w], rows, ow, w)
				checkBits(t, what, y[:rows*ow], want)
				checkSentinels(t, what+" y", y, rows*ow)
				checkBits(t, what+" x (read only)", x, before)
			}
		}
	})
}

func TestVecMaxPool2Backward(t *testing.T) {
	const pad = 40
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(17, 17))
		for _, g := range pool2Geometries() {
			rows, ow, w := g[0], g[1], g[2]
			for kind := range 3 {
				what := fmt.Sprintf("MaxPool2Backward rows=%d ow=%d w=%d kind=%d", rows, ow, w, kind)
				x := poolInput(r, rows, w, kind, pad)
				dy := padded(r, rows*ow, pad)
				if kind == 1 {
					copy(dy, withSpecials(r, rows*ow))
				}
				n := 2 * rows * w
				dx := padded(r, n, pad) // the columns past 2*ow must keep these
				want := clone(dx[:n])
				MaxPool2BackwardGeneric(want, x, dy, rows, ow, w)
				tab.Vec.MaxPool2Backward(dx[:n], x[:n], dy[:rows*ow], rows, ow, w)
				checkBits(t, what+" dx", dx[:n], want)
				checkSentinels(t, what+" dx", dx, n)
			}
		}
	})
}

// TestMaxPool2Rule pins the twin to PyTorch's rule on hand-made windows:
// the first of equal maxima (a signed zero keeps its sign), the last NaN.
func TestMaxPool2Rule(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	nan1, nan2 := math.Float32frombits(0x7fc00001), math.Float32frombits(0x7fc00002)
	inf := float32(math.Inf(-1))
	for _, c := range []struct {
		win  [4]float32
		want int
	}{
		{[4]float32{1, 2, 3, 4}, 3},
		{[4]float32{4, 3, 2, 1}, 0},
		{[4]float32{2, 5, 5, 1}, 1},
		{[4]float32{negZero, 0, 0, negZero}, 0},
		{[4]float32{1, nan1, 7, nan2}, 3},
		{[4]float32{nan1, 9, 1, 1}, 0},
		{[4]float32{inf, inf, inf, inf}, 0},
	} {
		x := c.win[:] // one window: rows 1, ow 1, w 2
		y := make([]float32, 1)
		MaxPool2Generic(y, x, 1, 1, 2)
		dx := make([]float32, 4)
		MaxPool2BackwardGeneric(dx, x, []float32{5}, 1, 1, 2)
		for i, g := range dx {
			if (g == 5) != (i == c.want) {
				t.Errorf("window %v: gradient %v, want it at %d", c.win, dx, c.want)
			}
		}
		if !sameBits(y[0], c.win[c.want]) {
			t.Errorf("window %v: max %v, want %v", c.win, y[0], c.win[c.want])
		}
	}
}

func TestVecMaxPool2Checked(t *testing.T) {
	MaxPool2(nil, nil, 0, 0, 0)
	MaxPool2(nil, nil, 3, 0, 0)
	MaxPool2Backward(nil, nil, nil, 0, 4, 8)
	s := make([]float32, 16)
	for _, c := range []struct {
		name, want string
		call       func()
	}{
		{"w", "kernels.MaxPool2: rows = 1, ow = 3, w = 5: want", func() { MaxPool2(s, s, 1, 3, 5) }},
		{"rows", "kernels.MaxPool2: rows = -1", func() { MaxPool2(s, s, -1, 1, 2) }},
		{"y", "kernels.MaxPool2: len(y) = 3, need at least 4", func() { MaxPool2(s[:3], s, 2, 2, 4) }},
		{"x", "kernels.MaxPool2: len(x) = 15, need at least 16", func() { MaxPool2(s, s[:15], 2, 2, 4) }},
		{"dx", "kernels.MaxPool2Backward: len(dx) = 15, need at least 16", func() { MaxPool2Backward(s[:15], s, s, 2, 2, 4) }},
	} {
		func() {
			defer func() {
				if p, _ := recover().(string); !strings.Contains(p, c.want) {
					t.Errorf("%s: panic %q, want %q", c.name, p, c.want)
				}
			}()
			c.call()
		}()
	}
}
