package arm64asm

import (
	"fmt"
	"strings"
)

// GPR is a general-purpose register R0..R30. Go's arm64 assembler reserves
// R18 (platform), R26 (closure context), R27 (its own temporary), R28 (g),
// R29 (frame pointer) and R30 (link register): a leaf kernel should use
// R0-R17 and R19-R25 only, which Scratch lists.
type GPR uint8

// String returns the Go assembler's name, e.g. "R3".
func (r GPR) String() string {
	if r > 30 {
		panic(fmt.Sprintf("arm64asm: no general register R%d", r))
	}
	return fmt.Sprintf("R%d", r)
}

// Scratch are the general registers a leaf ABI0 function may clobber
// freely, in allocation order.
var Scratch = []GPR{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 23, 24, 25}

// VReg is a SIMD&FP register V0..V31. Go's ABI0 treats all 32 as
// caller-saved, so a leaf kernel may use every one of them.
type VReg uint8

func (v VReg) check() {
	if v > 31 {
		panic(fmt.Sprintf("arm64asm: no vector register V%d", v))
	}
}

// String returns the bare register name, e.g. "V3".
func (v VReg) String() string { v.check(); return fmt.Sprintf("V%d", v) }

// F returns the scalar single/double view used by FMOVS, FADDS, ...: "F3".
// Writing it zeroes the other lanes of V3.
func (v VReg) F() string { v.check(); return fmt.Sprintf("F%d", v) }

// A returns the register with an arrangement, e.g. "V3.S4".
func (v VReg) A(a Arr) string { v.check(); return fmt.Sprintf("V%d.%s", v, a.goName()) }

// Lane returns one element in Go syntax, e.g. "V3.S[1]".
func (v VReg) Lane(a Arr, i int) string {
	v.check()
	if i < 0 || i >= a.Lanes() {
		panic(fmt.Sprintf("arm64asm: lane %d out of range for %s", i, a.goName()))
	}
	return fmt.Sprintf("V%d.%s[%d]", v, a.elemGo(), i)
}

// List returns a VLD1/VST1 register list, e.g. "[V0.S4, V1.S4]". Go (like
// the hardware) wants consecutive registers, which List checks.
func List(a Arr, first VReg, n int) string {
	if n < 1 || n > 4 {
		panic(fmt.Sprintf("arm64asm: register list of %d registers", n))
	}
	parts := make([]string, n)
	for i := range parts {
		r := VReg((int(first) + i) % 32)
		parts[i] = r.A(a)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Arr is a vector arrangement: element size and lane count.
type Arr uint8

// The arrangements the emitter knows. The float kernels use S4 (and S2 for a
// 64-bit-wide variant); B16/B8 serve the bitwise ops.
const (
	S2  Arr = iota // two float32 in the low 64 bits
	S4             // four float32
	D2             // two float64
	B8             // eight bytes
	B16            // sixteen bytes
)

// arrDesc is what the printers and encoders need to know of an Arr.
type arrDesc struct {
	goName, gnu, elemGo, elemGNU string
	lanes, elemBits              int
}

var arrInfo = [...]arrDesc{
	S2:  {"S2", "2s", "S", "s", 2, 32},
	S4:  {"S4", "4s", "S", "s", 4, 32},
	D2:  {"D2", "2d", "D", "d", 2, 64},
	B8:  {"B8", "8b", "B", "b", 8, 8},
	B16: {"B16", "16b", "B", "b", 16, 8},
}

func (a Arr) info() arrDesc {
	if int(a) >= len(arrInfo) {
		panic(fmt.Sprintf("arm64asm: unknown arrangement %d", a))
	}
	return arrInfo[a]
}

func (a Arr) goName() string { return a.info().goName }
func (a Arr) elemGo() string { return a.info().elemGo }

// GNU returns the GNU/Arm spelling of the arrangement, e.g. "4s".
func (a Arr) GNU() string { return a.info().gnu }

// Lanes is the number of elements.
func (a Arr) Lanes() int { return a.info().lanes }

// Bytes is the width of the whole register view (8 or 16).
func (a Arr) Bytes() int { return a.info().lanes * a.info().elemBits / 8 }

// String returns the Go spelling, e.g. "S4".
func (a Arr) String() string { return a.goName() }

// Mem is a base-plus-offset memory operand, e.g. "16(R2)".
func Mem(base GPR, off int) string {
	if off == 0 {
		return fmt.Sprintf("(%s)", base)
	}
	return fmt.Sprintf("%d(%s)", off, base)
}

// Imm is an immediate operand, e.g. "$16".
func Imm(v int64) string { return fmt.Sprintf("$%d", v) }
