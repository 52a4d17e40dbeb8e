package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// stride2Sizes are the row lengths of the stride-2 kernels: every one up
// to past two unrolled AVX-512 blocks (so that the half pair at the end
// falls in each lane of both tail cases, and after every kind of full
// step), then primes and multiples of the vector and block widths plus
// and minus one, up to a few hundred.
func stride2Sizes() []int {
	var ns []int
	for n := 0; n <= 140; n++ {
		ns = append(ns, n)
	}
	return append(ns, 191, 192, 193, 211, 255, 256, 257, 311, 383, 384, 385)
}

// stride2Inputs returns a row of n and a strided slice of 2n-1 (the
// tightest the contracts allow), each followed by pad sentinels, random
// for kind 0 and full of specials (NaNs of several payloads, one
// signalling, infinities, signed zeros, denormals) otherwise.
func stride2Inputs(r *rand.Rand, n, kind, pad int) (row, strided []float32) {
	row, strided = padded(r, n, pad), padded(r, max(2*n-1, 0), pad)
	if kind != 0 {
		copy(row, withSpecials(r, n))
		copy(strided, withSpecials(r, max(2*n-1, 0)))
	}
	return row, strided
}

func TestVecGather2(t *testing.T) {
	const pad = 40
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(14, 14))
		for _, n := range stride2Sizes() {
			for kind := range 2 {
				what := fmt.Sprintf("Gather2 n=%d kind=%d", n, kind)
				dst, src := stride2Inputs(r, n, kind, pad)
				m := max(2*n-1, 0)
				srcBefore, want := clone(src), clone(dst[:n])
				tab.Vec.Gather2(dst[:n], src[:m])
				Gather2Generic(want, srcBefore[:m])
				checkBits(t, what, dst[:n], want)
				checkSentinels(t, what+" dst", dst, n)
				checkBits(t, what+" src (read only)", src, srcBefore)
			}
		}
	})
}

func TestVecScatterAdd2(t *testing.T) {
	const pad = 40
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(15, 15))
		for _, n := range stride2Sizes() {
			for kind := range 2 {
				what := fmt.Sprintf("ScatterAdd2 n=%d kind=%d", n, kind)
				src, dst := stride2Inputs(r, n, kind, pad)
				m := max(2*n-1, 0)
				before := clone(dst)
				tab.Vec.ScatterAdd2(dst[:m], src[:n])
				checkScatterAdd2(t, what, dst[:m], before[:m], src[:n])
				checkSentinels(t, what+" dst", dst, m)
			}
		}
	})
}

func TestVecInterleave2(t *testing.T) {
	const pad = 40
	eachISA(t, func(t *testing.T, tab *Table) {
		r := rand.New(rand.NewPCG(16, 16))
		for _, n := range stride2Sizes() {
			for kind := range 2 {
				what := fmt.Sprintf("Interleave2 n=%d kind=%d", n, kind)
				even, _ := stride2Inputs(r, n, kind, pad)
				odd, _ := stride2Inputs(r, n, kind, pad)
				m := 2 * n // whole pairs
				dst := padded(r, m, pad)
				evenBefore, oddBefore, want := clone(even), clone(odd), clone(dst[:m])
				tab.Vec.Interleave2(dst[:m], even[:n], odd[:n])
				Interleave2Generic(want, evenBefore[:n], oddBefore[:n])
				checkBits(t, what, dst[:m], want) // moved, never computed: every bit kept
				checkSentinels(t, what+" dst", dst, m)
				checkBits(t, what+" even (read only)", even, evenBefore)
				checkBits(t, what+" odd (read only)", odd, oddBefore)
			}
		}
	})
}

// checkScatterAdd2 checks got, dst after ScatterAdd2(dst, src) from
// before, against the twin: the odd elements bit for bit as they were,
// the even ones bit for bit the twin's sums, except for what IEEE 754
// leaves to the ISA (sameSum).
func checkScatterAdd2(t *testing.T, what string, got, before, src []float32) {
	t.Helper()
	want := clone(before)
	ScatterAdd2Generic(want, src)
	for i := range got {
		ok := sameBits(got[i], want[i])
		if i%2 == 0 {
			ok = sameSum(got[i], want[i], before[i], src[i/2])
		}
		if !ok {
			t.Errorf("%s: dst[%d] = %v (%#08x), want %v (%#08x); it was %#08x", what, i,
				got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]), math.Float32bits(before[i]))
			return
		}
	}
}

// sameSum reports whether got is a + b as the twin's want, bit for bit, up
// to the NaN that IEEE 754 leaves to the ISA: of two NaN addends either
// one's payload (quieted) may win, and the Go compiler may swap them; a
// NaN from numbers (Inf - Inf) is the ISA's default NaN (x86's is
// negative, arm64's positive, and the interpreted x86 kernels run on both).
func sameSum(got, want, a, b float32) bool {
	switch {
	case sameBits(got, want):
		return true
	case a != a && b != b:
		return sameBits(got, quiet(a)) || sameBits(got, quiet(b))
	case a != a || b != b:
		return false // the one NaN, quieted: every ISA agrees
	}
	return got != got && want != want
}

// quiet is the NaN x with its quiet bit set, as an arithmetic result.
func quiet(x float32) float32 { return math.Float32frombits(math.Float32bits(x) | 0x00400000) }

// TestVecStride2Checked checks the entry points: the lengths the contracts
// allow at the tightest run (len(dst) == 0 with nothing else included),
// shorter ones panic naming the parameter and both lengths.
func TestVecStride2Checked(t *testing.T) {
	dst := []float32{1, 2, 3, 4, 5}
	Gather2(dst[:3], dst) // 2*3-1 = 5 elements of src
	if want := []float32{1, 3, 5}; !equalBits(dst[:3], want) {
		t.Errorf("Gather2: %v, want %v", dst[:3], want)
	}
	acc := []float32{10, 20, 30}
	ScatterAdd2(acc, []float32{1, 2})
	if want := []float32{11, 20, 32}; !equalBits(acc, want) {
		t.Errorf("ScatterAdd2: %v, want %v", acc, want)
	}
	zip := make([]float32, 6)
	Interleave2(zip, []float32{1, 3, 5}, []float32{2, 4, 6})
	if want := []float32{1, 2, 3, 4, 5, 6}; !equalBits(zip, want) {
		t.Errorf("Interleave2: %v, want %v", zip, want)
	}
	Gather2(nil, nil)
	ScatterAdd2(nil, nil)
	Interleave2(nil, nil, nil)
	for _, c := range []struct {
		name, want string
		call       func()
	}{
		{"Gather2", "kernels.Gather2: len(src) = 4, need at least 5", func() { Gather2(make([]float32, 3), make([]float32, 4)) }},
		{"Gather2 empty src", "kernels.Gather2: len(src) = 0, need at least 1", func() { Gather2(make([]float32, 1), nil) }},
		{"ScatterAdd2", "kernels.ScatterAdd2: len(dst) = 4, need at least 5", func() { ScatterAdd2(make([]float32, 4), make([]float32, 3)) }},
		{"ScatterAdd2 empty dst", "kernels.ScatterAdd2: len(dst) = 0, need at least 1", func() { ScatterAdd2(nil, make([]float32, 1)) }},
		{"Interleave2", "kernels.Interleave2: len(dst) = 5, need at least 6", func() { Interleave2(make([]float32, 5), make([]float32, 3), make([]float32, 3)) }},
		{"Interleave2 short odd", "kernels.Interleave2: len(odd) = 2, need at least 3", func() { Interleave2(make([]float32, 6), make([]float32, 3), make([]float32, 2)) }},
		{"DotShifts short y", "kernels.DotShifts: len(y) = 12, need at least 13", func() { DotShifts(make([]float32, 5), make([]float32, 12), 4, make([]float32, 3)) }},
		{"CopyRows short src", "kernels.CopyRows: len(src) = 10, need at least 11", func() { CopyRows(make([]float32, 20), make([]float32, 10), 2, 3, 9, 8) }},
		{"CopyRows rows", "kernels.CopyRows: rows = -1", func() { CopyRows(nil, nil, -1, 3, 9, 8) }},
		{"DotGrid3 short y", "kernels.DotGrid3: len(y) = 12, need at least 13", func() { DotGrid3(make([]float32, 9), make([]float32, 12), 5, 2, 4, make([]float32, 9)) }},
		{"DotGrid3 short sums", "kernels.DotGrid3: len(sums) = 8, need at least 9", func() { DotGrid3(make([]float32, 9), make([]float32, 13), 5, 2, 4, make([]float32, 8)) }},
		{"DotGrid3 step", "kernels.DotGrid3: n = 5, xstep = -1, ystep = 4: need all >= 0", func() { DotGrid3(make([]float32, 9), make([]float32, 13), 5, -1, 4, make([]float32, 9)) }},
		{"DotShifts step", "kernels.DotShifts: step = -1, need >= 0", func() { DotShifts(make([]float32, 5), make([]float32, 12), -1, make([]float32, 3)) }},
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

func equalBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameBits(a[i], b[i]) {
			return false
		}
	}
	return true
}
