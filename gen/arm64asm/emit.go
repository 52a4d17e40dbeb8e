// Package arm64asm is a small emitter of Go (Plan 9) arm64 assembly for
// convkit's NEON generators; Avo, which writes the amd64 kernels, is
// amd64-only.
//
// A File collects functions and writes two outputs: the .s file (TEXT
// blocks with ABI0 frames computed from each Go signature) and the Go stub
// file that declares them. Instructions Go's assembler accepts are emitted
// as text (Op and the typed helpers); those it rejects (vector FADD, FMUL,
// FMAX, pairwise and by-element forms) are encoded by the functions of
// encode.go and emitted as WORD with the mnemonic beside it.
//
// It is deliberately not an assembler: no register allocation, no
// instruction selection, no checking of operand syntax beyond what the
// encoders need. Go's assembler and `go vet` (asmdecl) check the result.
package arm64asm

import (
	"bytes"
	"fmt"
	"go/format"
	"strings"

	"github.com/convkit/convkit/gen/internal/atomicfile"
)

// Type is a Go parameter type the emitter can lay out in an ABI0 frame.
type Type int

// The parameter types convkit's kernels take.
const (
	Float32      Type = iota // float32: 4 bytes
	Int                      // int: 8 bytes
	Float32Slice             // []float32: base, len, cap (24 bytes)
	Float32Ptr               // *float32: 8 bytes
)

func (t Type) size() int {
	switch t {
	case Float32:
		return 4
	case Int:
		return 8
	case Float32Slice:
		return 24
	case Float32Ptr:
		return 8
	}
	panic(fmt.Sprintf("arm64asm: unknown type %d", t))
}

func (t Type) align() int {
	if t == Float32 {
		return 4
	}
	return 8
}

func (t Type) goName() string {
	switch t {
	case Float32:
		return "float32"
	case Int:
		return "int"
	case Float32Ptr:
		return "*float32"
	}
	return "[]float32"
}

// Param is one named argument. GoType, if set, is its Go spelling where
// Type is only its frame layout (a *[4]*float32 is laid out as a
// Float32Ptr).
type Param struct {
	Name   string
	Type   Type
	GoType string
}

// Signature is a Go function type: arguments and at most one unnamed
// result (which the assembly addresses as ret+off(FP), as go vet expects).
type Signature struct {
	Params []Param
	Result *Type // nil: no result
}

// Returns is a convenience for Signature.Result.
func Returns(t Type) *Type { return &t }

// File is one generated pair: a .s file and its Go stubs.
type File struct {
	pkg     string
	command string
	tags    string
	funcs   []*Func
}

// NewFile starts a file of package pkg. command is the command line that
// regenerates it (it goes into the "Code generated" header, so keep it
// independent of where the generator happened to be run from); tags is the
// build constraint, e.g. "arm64 && !purego".
func NewFile(pkg, command, tags string) *File {
	return &File{pkg: pkg, command: command, tags: tags}
}

// Func is one TEXT block under construction.
type Func struct {
	Name   string
	doc    []string
	sig    Signature
	offs   map[string]int // argument name -> frame offset
	retOff int
	size   int // argument frame size (the $0-size in TEXT)
	body   []string
	labels map[string]bool
}

// Func adds a leaf function (NOSPLIT, no local frame) with the given
// signature. doc becomes the stub's doc comment, one line per element.
func (f *File) Func(name string, doc []string, sig Signature) *Func {
	for _, g := range f.funcs {
		if g.Name == name {
			panic(fmt.Sprintf("arm64asm: function %s defined twice", name))
		}
	}
	fn := &Func{Name: name, doc: doc, sig: sig, offs: map[string]int{}, labels: map[string]bool{}}
	off := 0
	for _, p := range sig.Params {
		if _, dup := fn.offs[p.Name]; dup || p.Name == "ret" {
			panic(fmt.Sprintf("arm64asm: %s: bad parameter name %q", name, p.Name))
		}
		off = alignUp(off, p.Type.align())
		fn.offs[p.Name] = off
		off += p.Type.size()
	}
	if sig.Result != nil {
		// ABI0 starts the results at a pointer-aligned offset.
		off = alignUp(off, 8)
		fn.retOff = off
		off += sig.Result.size()
	}
	fn.size = off
	f.funcs = append(f.funcs, fn)
	return fn
}

func alignUp(x, a int) int { return (x + a - 1) / a * a }

func (fn *Func) param(name string, want ...Type) (Param, int) {
	for _, p := range fn.sig.Params {
		if p.Name == name {
			for _, t := range want {
				if p.Type == t {
					return p, fn.offs[name]
				}
			}
			panic(fmt.Sprintf("arm64asm: %s: parameter %s has type %s", fn.Name, name, p.Type.goName()))
		}
	}
	panic(fmt.Sprintf("arm64asm: %s has no parameter %s", fn.Name, name))
}

// Arg is the frame operand of a scalar argument, e.g. "alpha+0(FP)".
func (fn *Func) Arg(name string) string {
	_, off := fn.param(name, Float32, Int, Float32Ptr)
	return fmt.Sprintf("%s+%d(FP)", name, off)
}

// Base is the frame operand of a slice's data pointer, e.g. "x_base+8(FP)".
func (fn *Func) Base(name string) string {
	_, off := fn.param(name, Float32Slice)
	return fmt.Sprintf("%s_base+%d(FP)", name, off)
}

// Len is the frame operand of a slice's length, e.g. "x_len+16(FP)".
func (fn *Func) Len(name string) string {
	_, off := fn.param(name, Float32Slice)
	return fmt.Sprintf("%s_len+%d(FP)", name, off+8)
}

// Ret is the frame operand of the result, e.g. "ret+48(FP)".
func (fn *Func) Ret() string {
	if fn.sig.Result == nil {
		panic(fmt.Sprintf("arm64asm: %s has no result", fn.Name))
	}
	return fmt.Sprintf("ret+%d(FP)", fn.retOff)
}

// Op emits one instruction Go's assembler accepts, operands in Go order.
func (fn *Func) Op(mnemonic string, operands ...string) {
	if len(operands) == 0 {
		fn.body = append(fn.body, "\t"+mnemonic)
		return
	}
	fn.body = append(fn.body, "\t"+mnemonic+" "+strings.Join(operands, ", "))
}

// Word emits an instruction Go's assembler rejects, as its encoding.
func (fn *Func) Word(w Word) { fn.body = append(fn.body, "\t"+w.String()) }

// Comment emits a comment line (why, not what).
func (fn *Func) Comment(format string, args ...any) {
	fn.body = append(fn.body, "\t// "+fmt.Sprintf(format, args...))
}

// Label places a label; labels are local to their TEXT block.
func (fn *Func) Label(name string) {
	if fn.labels[name] {
		panic(fmt.Sprintf("arm64asm: %s: label %s placed twice", fn.Name, name))
	}
	fn.labels[name] = true
	fn.body = append(fn.body, name+":")
}

// Blank emits an empty line to separate the phases of a kernel.
func (fn *Func) Blank() { fn.body = append(fn.body, "") }

// The typed helpers below spell out the operand order of the Go forms,
// which differs from the Arm manual's and is easy to get backwards.

// VLD1 loads n consecutive registers from (base); with post, base advances
// by the bytes loaded (VLD1.P).
func (fn *Func) VLD1(a Arr, first VReg, n int, base GPR, post bool) {
	if post {
		fn.Op("VLD1.P", Mem(base, n*a.Bytes()), List(a, first, n))
	} else {
		fn.Op("VLD1", Mem(base, 0), List(a, first, n))
	}
}

// VST1 stores n consecutive registers to (base), with optional
// post-increment like VLD1.
func (fn *Func) VST1(a Arr, first VReg, n int, base GPR, post bool) {
	if post {
		fn.Op("VST1.P", List(a, first, n), Mem(base, n*a.Bytes()))
	} else {
		fn.Op("VST1", List(a, first, n), Mem(base, 0))
	}
}

// VFMLA is d += n * m lane by lane (fused).
func (fn *Func) VFMLA(a Arr, d, n, m VReg) { fn.Op("VFMLA", m.A(a), n.A(a), d.A(a)) }

// VFMLS is d -= n * m lane by lane (fused).
func (fn *Func) VFMLS(a Arr, d, n, m VReg) { fn.Op("VFMLS", m.A(a), n.A(a), d.A(a)) }

// VEOR is d = n ^ m bitwise; VEOR of a register with itself zeroes it.
func (fn *Func) VEOR(d, n, m VReg) { fn.Op("VEOR", m.A(B16), n.A(B16), d.A(B16)) }

// VAND is d = n & m bitwise.
func (fn *Func) VAND(d, n, m VReg) { fn.Op("VAND", m.A(B16), n.A(B16), d.A(B16)) }

// VBIT is a bitwise select: where mask has a one bit, d takes n's bit;
// elsewhere d keeps its own.
func (fn *Func) VBIT(d, n, mask VReg) { fn.Op("VBIT", mask.A(B16), n.A(B16), d.A(B16)) }

// VDUPLane copies lane i of n into every lane of d.
func (fn *Func) VDUPLane(a Arr, d, n VReg, i int) { fn.Op("VDUP", n.Lane(a, i), d.A(a)) }

// VDUPGPR copies general register r into every lane of d.
func (fn *Func) VDUPGPR(a Arr, d VReg, r GPR) { fn.Op("VDUP", r.String(), d.A(a)) }

// FMOVSLoad loads one float32 into lane 0 of d (zeroing the others); with
// post, base advances by 4.
func (fn *Func) FMOVSLoad(d VReg, base GPR, post bool) {
	if post {
		fn.Op("FMOVS.P", Mem(base, 4), d.F())
	} else {
		fn.Op("FMOVS", Mem(base, 0), d.F())
	}
}

// FMOVSStore stores lane 0 of s; with post, base advances by 4.
func (fn *Func) FMOVSStore(s VReg, base GPR, post bool) {
	if post {
		fn.Op("FMOVS.P", s.F(), Mem(base, 4))
	} else {
		fn.Op("FMOVS", s.F(), Mem(base, 0))
	}
}

// FMADDS is scalar d = a + n*m, fused.
func (fn *Func) FMADDS(d, n, m, a VReg) { fn.Op("FMADDS", m.F(), a.F(), n.F(), d.F()) }

// FADDS is scalar d = n + m.
func (fn *Func) FADDS(d, n, m VReg) { fn.Op("FADDS", m.F(), n.F(), d.F()) }

// FMULS is scalar d = n * m.
func (fn *Func) FMULS(d, n, m VReg) { fn.Op("FMULS", m.F(), n.F(), d.F()) }

// FMAXS is scalar d = max(n, m), NaN-propagating.
func (fn *Func) FMAXS(d, n, m VReg) { fn.Op("FMAXS", m.F(), n.F(), d.F()) }

// Asm returns the .s file's text.
func (f *File) Asm() []byte {
	var b bytes.Buffer
	f.header(&b)
	b.WriteString("#include \"textflag.h\"\n")
	for _, fn := range f.funcs {
		fmt.Fprintf(&b, "\n// func %s%s\n", fn.Name, fn.sig.goString())
		fmt.Fprintf(&b, "TEXT ·%s(SB), NOSPLIT, $0-%d\n", fn.Name, fn.size)
		if !fn.endsInJump() {
			panic(fmt.Sprintf("arm64asm: %s falls off its end (no final RET)", fn.Name))
		}
		for _, l := range fn.body {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// endsInJump reports whether the last instruction is RET or an
// unconditional branch, so execution cannot run into the next TEXT block.
func (fn *Func) endsInJump() bool {
	for i := len(fn.body) - 1; i >= 0; i-- {
		l := strings.TrimSpace(fn.body[i])
		if l == "" || strings.HasPrefix(l, "//") || strings.HasSuffix(l, ":") {
			continue
		}
		return l == "RET" || strings.HasPrefix(l, "B ")
	}
	return false
}

// Stubs returns the Go declarations of the functions, gofmt'd.
func (f *File) Stubs() []byte {
	var b bytes.Buffer
	f.header(&b)
	fmt.Fprintf(&b, "package %s\n", f.pkg)
	for _, fn := range f.funcs {
		b.WriteByte('\n')
		for _, l := range fn.doc {
			if l == "" {
				b.WriteString("//\n")
			} else {
				b.WriteString("// " + l + "\n")
			}
		}
		if len(fn.doc) > 0 {
			b.WriteString("//\n")
		}
		b.WriteString("//go:noescape\n")
		fmt.Fprintf(&b, "func %s%s\n", fn.Name, fn.sig.goString())
	}
	out, err := format.Source(b.Bytes())
	if err != nil {
		panic(fmt.Sprintf("arm64asm: generated stubs do not parse: %v\n%s", err, b.Bytes()))
	}
	return out
}

func (f *File) header(b *bytes.Buffer) {
	fmt.Fprintf(b, "// Code generated by command: %s. DO NOT EDIT.\n\n", f.command)
	if f.tags != "" {
		fmt.Fprintf(b, "//go:build %s\n\n", f.tags)
	}
}

func (s Signature) goString() string {
	parts := make([]string, len(s.Params))
	for i, p := range s.Params {
		t := p.Type.goName()
		if p.GoType != "" {
			t = p.GoType
		}
		parts[i] = p.Name + " " + t
	}
	out := "(" + strings.Join(parts, ", ") + ")"
	if s.Result != nil {
		out += " " + s.Result.goName()
	}
	return out
}

// Write writes the .s file to asmPath and the stubs to stubPath. Each goes
// to a temporary file in the same folder first and is renamed into place,
// so a failed run never leaves an empty or partial file behind that would
// break the next build (and with it the next go generate).
func (f *File) Write(asmPath, stubPath string) error {
	if err := atomicfile.Write(asmPath, f.Asm()); err != nil {
		return err
	}
	return atomicfile.Write(stubPath, f.Stubs())
}

// P is a Param, for short signature literals.
func P(name string, t Type) Param { return Param{Name: name, Type: t} }
