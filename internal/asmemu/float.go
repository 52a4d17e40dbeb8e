package asmemu

import "math"

// The float32 arithmetic of the vector units, on raw bits, exactly as x86
// computes it with the default MXCSR (round to nearest even, no
// flush-to-zero, exceptions masked). Go's own float32 + and * round once
// to float32 as the hardware does; what differs between hosts (and what Go
// leaves open) is which NaN comes out, so every NaN case is decided here.

const (
	signBit    = 0x80000000
	quietBit   = 0x00400000
	expMask    = 0x7f800000
	absMask    = 0x7fffffff
	defaultNaN = 0xffc00000 // the "QNaN floating-point indefinite" of invalid operations
)

func isNaN(u uint32) bool { return u&absMask > expMask }

// nanOf returns the first NaN of xs, quieted, as the hardware propagates
// it: for a two-source operation the first source's NaN wins, for FMA the
// first of (multiplicand, multiplier, addend) in the formula's order.
func nanOf(xs ...uint32) (uint32, bool) {
	for _, x := range xs {
		if isNaN(x) {
			return x | quietBit, true
		}
	}
	return 0, false
}

// result maps a NaN that Go's arithmetic produced from non-NaN inputs
// (Inf-Inf, 0*Inf) to the x86 default NaN, whatever the host makes of it.
func result(f float32) uint32 {
	u := math.Float32bits(f)
	if isNaN(u) {
		return defaultNaN
	}
	return u
}

func f32(u uint32) float32 { return math.Float32frombits(u) }

// addF is ADDPS on one lane (a is the first source).
func addF(a, b uint32) uint32 {
	if n, ok := nanOf(a, b); ok {
		return n
	}
	return result(f32(a) + f32(b))
}

// subF is SUBPS on one lane: a - b (a is the first source).
func subF(a, b uint32) uint32 {
	if n, ok := nanOf(a, b); ok {
		return n
	}
	return result(f32(a) - f32(b))
}

// mulF is MULPS on one lane.
func mulF(a, b uint32) uint32 {
	if n, ok := nanOf(a, b); ok {
		return n
	}
	return result(float32(f32(a) * f32(b)))
}

// maxF is MAXPS on one lane: the first source if it is greater, else the
// second (so the second for a NaN in either and for a pair of zeros, bits
// unchanged, an SNaN not quieted).
func maxF(a, b uint32) uint32 {
	if !isNaN(a) && !isNaN(b) && f32(a) > f32(b) {
		return a
	}
	return b
}

// fmaF is a*b+c rounded once (VFMADDxxxPS on one lane), with the NaN of
// the first NaN operand in the order a, b, c.
func fmaF(a, b, c uint32) uint32 {
	if n, ok := nanOf(a, b, c); ok {
		return n
	}
	return result(fma32(f32(a), f32(b), f32(c)))
}

// fma32 returns a*b+c with a single rounding to float32.
//
// a*b is exact in float64 (24+24 significant bits), so s = fl64(a*b + c)
// carries one rounding, and TwoSum gives its error e exactly: a*b+c =
// s+e. Rounding s to float32 is then right except in one case. A float32
// rounding boundary (the midpoint of two float32 neighbours) has 25
// significant bits, so it is a float64; were one strictly between s and
// s+e, it would be nearer s+e than s is. So only when s is itself a
// midpoint and e != 0 does float32(s) (a tie, broken to even) differ from
// the correct rounding, which is then the neighbour on e's side. At the top
// of the range the neighbour above MaxFloat32 is 2^128, which rounds to Inf.
func fma32(a, b, c float32) float32 {
	p := float64(float64(a) * float64(b)) // exact; the conversion forbids fusing
	z := float64(c)
	s := p + z
	r := float32(s)
	if math.IsInf(s, 0) || math.IsNaN(s) || float64(r) == s {
		return r
	}
	// TwoSum (Knuth): exact without overflow, which |p|, |z| < 2^256 rule out.
	bv := s - p
	e := (p - (s - bv)) + (z - bv)
	if e == 0 {
		return r
	}
	lo, hi := r, r
	if float64(r) < s {
		hi = math.Nextafter32(r, float32(math.Inf(1)))
	} else {
		lo = math.Nextafter32(r, float32(math.Inf(-1)))
	}
	if s-wide(lo) != wide(hi)-s {
		return r
	}
	if e > 0 {
		return hi
	}
	return lo
}

// wide is f as a float64, with the infinities standing for ±2^128, the
// float32 that would follow MaxFloat32 were the exponent range wider.
func wide(f float32) float64 {
	if math.IsInf(float64(f), 0) {
		return math.Copysign(0x1p128, float64(f))
	}
	return float64(f)
}

// cmpTruth is, per CMPPS predicate (imm8 & 15), which outcomes of
// comparing the first source with the second make a lane true: bit 0 less,
// bit 1 equal, bit 2 greater, bit 3 unordered. Bit 4 of the predicate only
// selects signalling or quiet, which does not change the result with the
// exceptions masked.
var cmpTruth = [16]uint8{
	0x2, // EQ_OQ
	0x1, // LT_OS
	0x3, // LE_OS
	0x8, // UNORD_Q
	0xd, // NEQ_UQ
	0xe, // NLT_US
	0xc, // NLE_US
	0x7, // ORD_Q
	0xa, // EQ_UQ
	0x9, // NGE_US
	0xb, // NGT_US
	0x0, // FALSE_OQ
	0x5, // NEQ_OQ
	0x6, // GE_OS
	0x4, // GT_OS
	0xf, // TRUE_UQ
}

// cmpF is CMPPS predicate pred on one lane (a the first source).
func cmpF(pred uint8, a, b uint32) bool {
	var outcome uint8
	switch x, y := f32(a), f32(b); {
	case isNaN(a) || isNaN(b):
		outcome = 8
	case x < y:
		outcome = 1
	case x == y:
		outcome = 2
	default:
		outcome = 4
	}
	return cmpTruth[pred&15]&outcome != 0
}
