package arm64asm

import "fmt"

// Word is one A64 instruction that Go's assembler does not accept, encoded
// by hand: Bits is the 32-bit instruction word (emitted as WORD $0x...) and
// Text its GNU/Arm spelling, written beside it as a comment so the
// assembly stays readable. The encoders compute Bits from the operands
// following the Arm Architecture Reference Manual (section C7.2); they
// panic on operands the instruction cannot take, since that is a bug in a
// generator, not an input error.
type Word struct {
	Bits uint32
	Text string
}

// String formats the word as Go assembly: "WORD $0x4e20d400 // fadd ...".
func (w Word) String() string { return fmt.Sprintf("WORD $0x%08x // %s", w.Bits, w.Text) }

// floatArr checks that a is a floating-point vector arrangement and returns
// its Q and sz bits.
func floatArr(op string, a Arr) (q, sz uint32) {
	switch a {
	case S2:
		return 0, 0
	case S4:
		return 1, 0
	case D2:
		return 1, 1
	}
	panic(fmt.Sprintf("arm64asm: %s takes 2s, 4s or 2d, not %s", op, a.GNU()))
}

func vname(v VReg, a Arr) string { v.check(); return fmt.Sprintf("v%d.%s", v, a.GNU()) }

// threeSame encodes the "Advanced SIMD three same" floating-point group:
// 0 Q U 01110 a sz 1 Rm opcode 1 Rn Rd.
func threeSame(op string, u, a5, opcode uint32, arr Arr, d, n, m VReg) Word {
	q, sz := floatArr(op, arr)
	bits := q<<30 | u<<29 | 0b01110<<24 | a5<<23 | sz<<22 | 1<<21 |
		uint32(m)<<16 | opcode<<11 | 1<<10 | uint32(n)<<5 | uint32(d)
	return Word{bits, fmt.Sprintf("%s %s, %s, %s", op, vname(d, arr), vname(n, arr), vname(m, arr))}
}

// FADD is d = n + m, lane by lane.
func FADD(a Arr, d, n, m VReg) Word { return threeSame("fadd", 0, 0, 0b11010, a, d, n, m) }

// FSUB is d = n - m, lane by lane.
func FSUB(a Arr, d, n, m VReg) Word { return threeSame("fsub", 0, 1, 0b11010, a, d, n, m) }

// FMUL is d = n * m, lane by lane.
func FMUL(a Arr, d, n, m VReg) Word { return threeSame("fmul", 1, 0, 0b11011, a, d, n, m) }

// FMAX is d = max(n, m), lane by lane; a NaN in either input gives NaN
// (unlike FMAXNM), which is the NaN rule of convkit's Max and Relu.
func FMAX(a Arr, d, n, m VReg) Word { return threeSame("fmax", 0, 0, 0b11110, a, d, n, m) }

// FMIN is d = min(n, m), lane by lane, NaN-propagating like FMAX.
func FMIN(a Arr, d, n, m VReg) Word { return threeSame("fmin", 0, 1, 0b11110, a, d, n, m) }

// FADDP adds adjacent pairs: the low half of d gets the pair sums of n, the
// high half those of m.
func FADDP(a Arr, d, n, m VReg) Word { return threeSame("faddp", 1, 0, 0b11010, a, d, n, m) }

// FMAXP is FADDP with max instead of add.
func FMAXP(a Arr, d, n, m VReg) Word { return threeSame("fmaxp", 1, 0, 0b11110, a, d, n, m) }

// FCMGT sets each lane of d to all ones where n > m, else zero (false for
// NaN).
func FCMGT(a Arr, d, n, m VReg) Word { return threeSame("fcmgt", 1, 1, 0b11100, a, d, n, m) }

// FCMGE sets each lane of d to all ones where n >= m, else zero (false for
// NaN).
func FCMGE(a Arr, d, n, m VReg) Word { return threeSame("fcmge", 1, 0, 0b11100, a, d, n, m) }

// FCMEQ sets each lane of d to all ones where n == m, else zero.
func FCMEQ(a Arr, d, n, m VReg) Word { return threeSame("fcmeq", 0, 0, 0b11100, a, d, n, m) }

// twoMiscZero encodes the compare-with-zero forms of "Advanced SIMD two-reg
// misc": 0 Q U 01110 1 sz 10000 opcode 10 Rn Rd.
func twoMiscZero(op string, u, opcode uint32, arr Arr, d, n VReg) Word {
	q, sz := floatArr(op, arr)
	bits := q<<30 | u<<29 | 0b01110<<24 | 1<<23 | sz<<22 | 0b10000<<17 |
		opcode<<12 | 0b10<<10 | uint32(n)<<5 | uint32(d)
	return Word{bits, fmt.Sprintf("%s %s, %s, #0.0", op, vname(d, arr), vname(n, arr))}
}

// FCMGTZero sets each lane of d to all ones where n > 0.0, else zero (NaN
// gives zero: exactly PyTorch's threshold_backward mask).
func FCMGTZero(a Arr, d, n VReg) Word { return twoMiscZero("fcmgt", 0, 0b01100, a, d, n) }

// FCMGEZero sets each lane of d to all ones where n >= 0.0, else zero.
func FCMGEZero(a Arr, d, n VReg) Word { return twoMiscZero("fcmge", 1, 0b01100, a, d, n) }

// FCMLEZero sets each lane of d to all ones where n <= 0.0, else zero (NaN
// gives zero, and -0 counts as <= 0).
func FCMLEZero(a Arr, d, n VReg) Word { return twoMiscZero("fcmle", 1, 0b01101, a, d, n) }

// FCMLTZero sets each lane of d to all ones where n < 0.0, else zero.
func FCMLTZero(a Arr, d, n VReg) Word { return twoMiscZero("fcmlt", 0, 0b01110, a, d, n) }

// FCMEQZero sets each lane of d to all ones where n == 0.0, else zero.
func FCMEQZero(a Arr, d, n VReg) Word { return twoMiscZero("fcmeq", 0, 0b01101, a, d, n) }

// byElement encodes "Advanced SIMD vector x indexed element" for floats:
// 0 Q 0 01111 1 sz L M Rm opcode H 0 Rn Rd, with the lane index in H:L
// (single) or H (double) and the 5-bit m register in M:Rm.
func byElement(op string, opcode uint32, arr Arr, d, n, m VReg, idx int) Word {
	q, sz := floatArr(op, arr)
	m.check()
	var h, l uint32
	switch {
	case sz == 0 && idx >= 0 && idx < 4:
		h, l = uint32(idx)>>1, uint32(idx)&1
	case sz == 1 && idx >= 0 && idx < 2:
		h = uint32(idx)
	default:
		panic(fmt.Sprintf("arm64asm: %s lane index %d out of range for %s", op, idx, arr.GNU()))
	}
	bits := q<<30 | 0b01111<<24 | 1<<23 | sz<<22 | l<<21 | uint32(m)<<16 |
		opcode<<12 | h<<11 | uint32(n)<<5 | uint32(d)
	elem := arr.info().elemGNU
	return Word{bits, fmt.Sprintf("%s %s, %s, v%d.%s[%d]", op, vname(d, arr), vname(n, arr), m, elem, idx)}
}

// FMLAElem is d += n * m[idx]: every lane of n times one lane of m. Go's
// VFMLA only has the vector-by-vector form.
func FMLAElem(a Arr, d, n, m VReg, idx int) Word { return byElement("fmla", 0b0001, a, d, n, m, idx) }

// FMLSElem is d -= n * m[idx].
func FMLSElem(a Arr, d, n, m VReg, idx int) Word { return byElement("fmls", 0b0101, a, d, n, m, idx) }

// FMULElem is d = n * m[idx].
func FMULElem(a Arr, d, n, m VReg, idx int) Word { return byElement("fmul", 0b1001, a, d, n, m, idx) }

// acrossLanes encodes FMAXV-style reductions of "Advanced SIMD across
// lanes": 0 Q U 01110 o1 sz 11000 opcode 10 Rn Rd. Only the 4s form exists
// for floats.
func acrossLanes(op string, o1, opcode uint32, arr Arr, d, n VReg) Word {
	if arr != S4 {
		panic(fmt.Sprintf("arm64asm: %s takes 4s only, not %s", op, arr.GNU()))
	}
	d.check()
	n.check()
	bits := 1<<30 | 1<<29 | 0b01110<<24 | o1<<23 | 0b11000<<17 |
		opcode<<12 | 0b10<<10 | uint32(n)<<5 | uint32(d)
	return Word{bits, fmt.Sprintf("%s s%d, %s", op, d, vname(n, arr))}
}

// FMAXV puts the largest lane of n (NaN if any lane is NaN) in scalar d.
func FMAXV(a Arr, d, n VReg) Word { return acrossLanes("fmaxv", 0, 0b01111, a, d, n) }

// FMINV puts the smallest lane of n in scalar d.
func FMINV(a Arr, d, n VReg) Word { return acrossLanes("fminv", 1, 0b01111, a, d, n) }

// scalarPairwise encodes "Advanced SIMD scalar pairwise" for floats:
// 01 U 11110 o1 sz 11000 opcode 10 Rn Rd, reducing the two lanes of n.
func scalarPairwise(op string, o1, opcode uint32, arr Arr, d, n VReg) Word {
	var sz uint32
	var s string
	switch arr {
	case S2:
		sz, s = 0, "s"
	case D2:
		sz, s = 1, "d"
	default:
		panic(fmt.Sprintf("arm64asm: scalar %s takes 2s or 2d, not %s", op, arr.GNU()))
	}
	d.check()
	n.check()
	bits := 0b01<<30 | 1<<29 | 0b11110<<24 | o1<<23 | sz<<22 | 0b11000<<17 |
		opcode<<12 | 0b10<<10 | uint32(n)<<5 | uint32(d)
	return Word{bits, fmt.Sprintf("%s %s%d, %s", op, s, d, vname(n, arr))}
}

// FADDPScalar is scalar d = n[0] + n[1] (a is S2 or D2).
func FADDPScalar(a Arr, d, n VReg) Word { return scalarPairwise("faddp", 0, 0b01101, a, d, n) }

// FMAXPScalar is scalar d = max(n[0], n[1]), NaN-propagating.
func FMAXPScalar(a Arr, d, n VReg) Word { return scalarPairwise("fmaxp", 0, 0b01111, a, d, n) }

// NOT is d = ^n, all 128 bits (the vector MVN; Go's assembler has no VNOT):
// 0 1 1 01110 00 10000 00101 10 Rn Rd.
func NOT(d, n VReg) Word {
	d.check()
	n.check()
	bits := uint32(0x6e205800) | uint32(n)<<5 | uint32(d)
	return Word{bits, fmt.Sprintf("not %s, %s", vname(d, B16), vname(n, B16))}
}
