package asmemu

import (
	"fmt"
	"strconv"
	"strings"
)

// inst is one decoded instruction. Operands are in Go assembler order
// (sources first, destination last), with an AVX-512 opmask taken out into
// mask.
type inst struct {
	exec     func(m *machine, in *inst)
	a        [4]operand
	n        uint8 // operands in a
	lanes    uint8 // float32 lanes of the operation (vector instructions)
	mask     uint8 // opmask register, 0 for none (K0 cannot mask)
	zeroing  bool  // .Z: masked-off lanes are zeroed, not merged
	bcst     bool  // .BCST: the memory source is one float32, broadcast
	id       uint16
	terminal bool // RET or JMP: control does not fall through
	label    string
	target   int
	pos      string
	text     string
}

type okind uint8

const (
	oGP okind = iota + 1
	oVec
	oK
	oImm
	oMem
	oLabel
)

// The pseudo-registers that can base a memory operand besides the 16
// general-purpose ones.
const (
	regFP = 16 // the argument frame
	regSB = 17 // a DATA symbol
)

type operand struct {
	kind  okind
	reg   uint8 // GP, vector or opmask register number
	width uint8 // vector register: lanes of X (4), Y (8) or Z (16)
	base  int8  // memory: GP register, regFP or regSB; -1 none
	index int8  // memory: GP register, -1 none
	scale uint8
	disp  int64 // memory displacement, or the immediate
	sym   *dataSym
}

var gpNames = map[string]uint8{
	"AX": 0, "CX": 1, "DX": 2, "BX": 3, "SP": 4, "BP": 5, "SI": 6, "DI": 7,
	"R8": 8, "R9": 9, "R10": 10, "R11": 11, "R12": 12, "R13": 13, "R14": 14, "R15": 15,
}

// opDef is what the interpreter knows of one mnemonic.
type opDef struct {
	exec  func(m *machine, in *inst)
	forms []string // operand kinds per form: r GP, v vector, k opmask, i immediate, m memory, l label
	evex  bool     // has an AVX-512 encoding: takes Z and X16-X31
	masks bool     // takes an AVX-512 opmask and .Z (implies evex)
	bcst  bool     // takes .BCST
	mixed bool     // vector operands of different widths (checked by check)
	check func(in *inst) error
	// terminal: control never falls through.
	terminal bool
}

// Supported reports whether the interpreter knows opcode (a mnemonic with
// its suffixes, as the assembler spells it: VMOVUPS.Z).
func Supported(opcode string) bool {
	base, suffixes, _ := strings.Cut(opcode, ".")
	d := ops[base]
	if d == nil {
		return false
	}
	for _, s := range strings.Split(suffixes, ".") {
		switch {
		case s == "":
		case s == "Z" && d.masks, s == "BCST" && d.bcst:
		default:
			return false
		}
	}
	return true
}

// decode parses and checks one instruction of fn.
func (p *Program) decode(fn *Func, line string) (inst, error) {
	in := inst{text: line}
	mnem, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	base, suffixes, _ := strings.Cut(mnem, ".")
	d := ops[base]
	if d == nil || !Supported(mnem) {
		return in, fmt.Errorf("opcode %s: not interpreted", mnem)
	}
	for _, s := range strings.Split(suffixes, ".") {
		in.zeroing = in.zeroing || s == "Z"
		in.bcst = in.bcst || s == "BCST"
	}
	var args []operand
	if rest != "" {
		for _, s := range strings.Split(rest, ",") {
			o, err := p.operand(fn, strings.TrimSpace(s), &in)
			if err != nil {
				return in, fmt.Errorf("%s: %w", line, err)
			}
			args = append(args, o)
		}
	}
	if n := len(args); d.masks && n >= 3 && args[n-2].kind == oK {
		if args[n-2].reg == 0 {
			return in, fmt.Errorf("%s: K0 cannot be an opmask", line)
		}
		in.mask = args[n-2].reg
		args = append(args[:n-2], args[n-1])
	}
	if in.zeroing && in.mask == 0 {
		return in, fmt.Errorf("%s: .Z without an opmask", line)
	}
	if in.bcst && (len(args) == 0 || args[0].kind != oMem) {
		return in, fmt.Errorf("%s: .BCST needs a memory source", line)
	}
	if len(args) > len(in.a) {
		return in, fmt.Errorf("%s: too many operands", line)
	}
	in.n = uint8(copy(in.a[:], args))
	if err := checkForm(d, &in); err != nil {
		return in, fmt.Errorf("%s: %w", line, err)
	}
	in.exec, in.terminal, in.id = d.exec, d.terminal, uint16(p.opID(mnem))
	return in, nil
}

// checkForm matches the operands against the opcode's forms and widths.
func checkForm(d *opDef, in *inst) error {
	kinds := make([]byte, in.n)
	width := uint8(0)
	for i, o := range in.a[:in.n] {
		kinds[i] = "?rvkiml"[o.kind]
		if o.kind == oVec {
			if !d.mixed && width != 0 && o.width != width {
				return fmt.Errorf("vector operands of different widths")
			}
			if !d.evex && !d.masks && (o.width == 16 || o.reg >= 16) {
				return fmt.Errorf("%s needs AVX-512 encoding, which this opcode does not take", regName(o))
			}
			width = o.width
		}
	}
	ok := false
	for _, f := range d.forms {
		ok = ok || f == string(kinds)
	}
	if !ok {
		return fmt.Errorf("operand form %s not interpreted (forms %v)", kinds, d.forms)
	}
	in.lanes = width
	if d.check != nil {
		return d.check(in)
	}
	return nil
}

func regName(o operand) string {
	return fmt.Sprintf("%c%d", map[uint8]byte{4: 'X', 8: 'Y', 16: 'Z'}[o.width], o.reg)
}

// operand parses one operand.
func (p *Program) operand(fn *Func, s string, in *inst) (operand, error) {
	switch {
	case s == "":
		return operand{}, fmt.Errorf("empty operand")
	case s[0] == '$':
		v, err := strconv.ParseInt(s[1:], 0, 64)
		if err != nil {
			u, uerr := strconv.ParseUint(s[1:], 0, 64)
			if uerr != nil {
				return operand{}, fmt.Errorf("immediate %s: %w", s, err)
			}
			v = int64(u)
		}
		return operand{kind: oImm, disp: v}, nil
	case strings.Contains(s, "("):
		return p.memOperand(fn, s)
	}
	if r, ok := gpNames[s]; ok {
		return operand{kind: oGP, reg: r}, nil
	}
	if n, err := strconv.Atoi(s[1:]); err == nil && n >= 0 {
		switch {
		case s[0] == 'X' && n < 32:
			return operand{kind: oVec, reg: uint8(n), width: 4}, nil
		case s[0] == 'Y' && n < 32:
			return operand{kind: oVec, reg: uint8(n), width: 8}, nil
		case s[0] == 'Z' && n < 32:
			return operand{kind: oVec, reg: uint8(n), width: 16}, nil
		case s[0] == 'K' && n < 8:
			return operand{kind: oK, reg: uint8(n)}, nil
		}
	}
	if in.label != "" {
		return operand{}, fmt.Errorf("two labels")
	}
	in.label = s
	return operand{kind: oLabel}, nil
}

// memOperand parses disp(base)(index*scale), name+off(FP) and
// sym<>+off(SB).
func (p *Program) memOperand(fn *Func, s string) (operand, error) {
	o := operand{kind: oMem, base: -1, index: -1, scale: 1}
	head, regs, _ := strings.Cut(s, "(")
	regs = "(" + regs
	if regs == "(FP)" || regs == "(SB)" {
		name, off := head, int64(0)
		if i := strings.LastIndexAny(head, "+-"); i > 0 {
			v, err := strconv.ParseInt(head[i:], 10, 64)
			if err != nil {
				return o, fmt.Errorf("offset in %s: %w", s, err)
			}
			name, off = head[:i], v
		}
		o.disp = off
		if regs == "(FP)" {
			o.base = regFP
			if _, err := fn.sig.frameSlot(name, int(off)); err != nil {
				return o, err
			}
			return o, nil
		}
		o.base = regSB
		o.sym = p.data[name]
		if o.sym == nil {
			return o, fmt.Errorf("%s: no DATA symbol %s", s, name)
		}
		return o, nil
	}
	if head != "" {
		v, err := strconv.ParseInt(head, 0, 64)
		if err != nil {
			return o, fmt.Errorf("displacement in %s: %w", s, err)
		}
		o.disp = v
	}
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(regs, "("), ")"), ")(")
	b, ok := gpNames[parts[0]]
	if !ok || len(parts) > 2 {
		return o, fmt.Errorf("memory operand %s not interpreted", s)
	}
	o.base = int8(b)
	if len(parts) == 2 {
		r, sc, ok := strings.Cut(parts[1], "*")
		x, okx := gpNames[r]
		scale, err := strconv.Atoi(sc)
		if !ok || !okx || err != nil || (scale != 1 && scale != 2 && scale != 4 && scale != 8) || r == "SP" {
			return o, fmt.Errorf("index in %s not interpreted", s)
		}
		o.index, o.scale = int8(x), uint8(scale)
	}
	return o, nil
}
