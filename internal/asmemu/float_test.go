package asmemu

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// exactFMA is a*b+c rounded once to float32 through big.Float.
func exactFMA(a, b, c float32) float32 {
	if math.IsInf(float64(a), 0) || math.IsInf(float64(b), 0) || math.IsInf(float64(c), 0) {
		return float32(float64(a)*float64(b) + float64(c)) // exact: infinite or NaN
	}
	x := new(big.Float).SetPrec(300).SetFloat64(float64(a))
	x.Mul(x, new(big.Float).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetFloat64(float64(c)))
	if x.Sign() == 0 {
		// big.Float has no signed-zero arithmetic: the sum's sign is
		// that of IEEE round-to-nearest.
		return float32(float64(a)*float64(b) + float64(c))
	}
	f, _ := x.Float32()
	return f
}

// midpointCases are a*b+c whose float64 sum lands exactly on a float32
// midpoint with the rest of the exact sum below float64 precision: the
// cases where rounding through float64 rounds twice and goes wrong.
// 2^30+1 = 812825 * 1321 gives a*b = 2^-24 + 2^-54 (just above the
// midpoint of c = 1 and its successor) with a and b exact in float32, and
// (1+2^-15)(1-2^-15) = 1 - 2^-30 gives 2^-24 - 2^-54 (just below).
func midpointCases() [][3]float32 {
	var out [][3]float32
	for _, sc := range []float64{1, 0x1p-100, 0x1p-120, 0x1p100, 0x1p-126, 0x1p-140, 0x1p127} {
		for _, sign := range []float32{1, -1} {
			for _, c := range []float64{1, 1 + 0x1p-23, 1.5, 1.5 + 0x1p-23} {
				up := [3]float32{float32(812825 * 0x1p-44), float32(1321 * 0x1p-40 * sc), float32(c * sc)}
				down := [3]float32{float32((1 + 0x1p-15) * 0x1p-24), float32((1 - 0x1p-15) * sc), float32(c * sc)}
				for _, t := range [][3]float32{up, down} {
					t[0] *= sign
					t[2] *= sign
					out = append(out, t, [3]float32{t[0], -t[1], t[2]})
				}
			}
		}
	}
	// At the top of the range: MaxFloat32 + half its ulp (2^103), the
	// midpoint to the first value that rounds to Inf.
	for _, sign := range []float32{1, -1} {
		out = append(out,
			[3]float32{sign * 812825 * 0x1p53, 1321 * 0x1p20, sign * math.MaxFloat32},
			[3]float32{sign * float32((1+0x1p-15)*0x1p103), float32(1 - 0x1p-15), sign * math.MaxFloat32})
	}
	return out
}

func TestFMA32MidpointsDoubleRound(t *testing.T) {
	wrong := 0
	for _, c := range midpointCases() {
		if float32(float64(c[0])*float64(c[1])+float64(c[2])) != exactFMA(c[0], c[1], c[2]) {
			wrong++
		}
	}
	if wrong == 0 {
		t.Fatal("no midpoint case makes rounding through float64 go wrong: the cases do not test fma32")
	}
}

func TestFMA32Exact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := midpointCases()
	specials := []float32{0, float32(math.Copysign(0, -1)), 1, -1, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32,
		0x1p-126, -0x1p-126, 0x1p-149 * 3, 0x1p127, float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, a := range specials {
		for _, b := range specials {
			for _, c := range specials {
				cases = append(cases, [3]float32{a, b, c})
			}
		}
	}
	n := 200000
	if testing.Short() {
		n = 20000
	}
	for range n {
		cases = append(cases, [3]float32{randFloat(r), randFloat(r), randFloat(r)})
		// Near-cancellation: c close to -a*b.
		a, b := randFloat(r), randFloat(r)
		cases = append(cases, [3]float32{a, b, -float32(float64(a) * float64(b) * (1 + (r.Float64()-0.5)*0x1p-20))})
	}
	for _, c := range cases {
		got := fma32(c[0], c[1], c[2])
		want := exactFMA(c[0], c[1], c[2])
		if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
			t.Fatalf("fma32(%g, %g, %g) = %g (%#x), want %g (%#x)", c[0], c[1], c[2], got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
}

// randFloat is a float32 with a random sign, significand and exponent,
// subnormals included.
func randFloat(r *rand.Rand) float32 {
	return math.Float32frombits(r.Uint32() & 0xff7fffff) // no NaN, no Inf
}

func TestNaNRules(t *testing.T) {
	qa, qb, qc := uint32(0x7fc00001), uint32(0xffc00002), uint32(0x7fc00003)
	sa := uint32(0x7f800005) // signalling: comes out quieted
	one := math.Float32bits(1)
	inf, ninf, zero := uint32(0x7f800000), uint32(0xff800000), uint32(0)
	for _, c := range []struct {
		name      string
		got, want uint32
	}{
		{"add first source", addF(qa, qb), qa},
		{"add second source", addF(one, qb), qb},
		{"add quiets", addF(sa, one), sa | quietBit},
		{"inf-inf", addF(inf, ninf), defaultNaN},
		{"0*inf", mulF(zero, inf), defaultNaN},
		{"fma a first", fmaF(qa, qb, qc), qa},
		{"fma b next", fmaF(one, qb, qc), qb},
		{"fma c last", fmaF(one, one, qc), qc},
		{"fma invalid", fmaF(zero, inf, one), defaultNaN},
		{"fma inf-inf", fmaF(one, inf, ninf), defaultNaN},
		{"max NaN first", maxF(qa, one), one},
		{"max NaN second", maxF(one, sa), sa},
		{"max zeros", maxF(zero, signBit), signBit},
		{"max zeros swapped", maxF(signBit, zero), zero},
		{"max", maxF(inf, one), inf},
	} {
		if c.got != c.want {
			t.Errorf("%s: %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

// TestComparePredicates checks the CMPPS table against each predicate's
// definition in the Intel SDM (the relation and its unordered result).
func TestComparePredicates(t *testing.T) {
	type rel = func(a, b float64) bool
	unord := func(a, b float64) bool { return a != a || b != b }
	defs := [16]struct {
		r  rel
		un bool
	}{
		{func(a, b float64) bool { return a == b }, false},
		{func(a, b float64) bool { return a < b }, false},
		{func(a, b float64) bool { return a <= b }, false},
		{func(a, b float64) bool { return false }, true},
		{func(a, b float64) bool { return a != b }, true},
		{func(a, b float64) bool { return !(a < b) }, true},
		{func(a, b float64) bool { return !(a <= b) }, true},
		{func(a, b float64) bool { return true }, false},
		{func(a, b float64) bool { return a == b }, true},
		{func(a, b float64) bool { return !(a >= b) }, true},
		{func(a, b float64) bool { return !(a > b) }, true},
		{func(a, b float64) bool { return false }, false},
		{func(a, b float64) bool { return a != b }, false},
		{func(a, b float64) bool { return a >= b }, false},
		{func(a, b float64) bool { return a > b }, false},
		{func(a, b float64) bool { return true }, true},
	}
	vals := []float32{float32(math.NaN()), float32(math.Inf(-1)), -1, float32(math.Copysign(0, -1)), 0, 1, float32(math.Inf(1))}
	for pred := range 32 {
		d := defs[pred&15]
		for _, a := range vals {
			for _, b := range vals {
				want := d.r(float64(a), float64(b))
				if unord(float64(a), float64(b)) {
					want = d.un
				}
				if got := cmpF(uint8(pred), math.Float32bits(a), math.Float32bits(b)); got != want {
					t.Errorf("predicate %#x (%g, %g) = %v, want %v", pred, a, b, got, want)
				}
			}
		}
	}
}
