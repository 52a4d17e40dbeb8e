package asmemu

import (
	"fmt"
	"math/bits"
)

// The general-purpose instructions: moves, integer arithmetic with the
// flags the jumps read (ZF, SF, CF, OF), and control flow.

func init() {
	for name, d := range map[string]*opDef{
		"MOVQ":   {exec: movq, forms: []string{"rr", "ir", "mr", "rm", "im"}},
		"MOVL":   {exec: movl, forms: []string{"rr", "ir", "mr", "rm", "im"}},
		"LEAQ":   {exec: leaq, forms: []string{"mr"}},
		"ADDQ":   {exec: arith(8, addFlags), forms: []string{"rr", "ir", "mr"}},
		"SUBQ":   {exec: arith(8, subFlags), forms: []string{"rr", "ir", "mr"}},
		"ANDQ":   {exec: arith(8, andFlags), forms: []string{"rr", "ir", "mr"}},
		"ANDL":   {exec: arith(4, andFlags), forms: []string{"rr", "ir", "mr"}},
		"ORQ":    {exec: arith(8, orFlags), forms: []string{"rr", "ir", "mr"}},
		"XORQ":   {exec: arith(8, xorFlags), forms: []string{"rr", "ir", "mr"}},
		"CMPQ":   {exec: cmpq, forms: []string{"rr", "ri", "rm", "mr", "mi"}},
		"TESTQ":  {exec: testq, forms: []string{"rr", "ir"}},
		"SHLQ":   {exec: shift(true), forms: []string{"ir", "rr"}, check: shiftCount},
		"SHRQ":   {exec: shift(false), forms: []string{"ir", "rr"}, check: shiftCount},
		"DECQ":   {exec: decq, forms: []string{"r"}},
		"NEGQ":   {exec: negq, forms: []string{"r"}},
		"IMUL3Q": {exec: imul3q, forms: []string{"irr", "imr"}},
		"BZHIL":  {exec: bzhil, forms: []string{"rrr", "rmr"}},
		"RET":    {exec: ret, forms: []string{""}, terminal: true},
		"JMP":    {exec: jump(func(*machine) bool { return true }), forms: []string{"l"}, terminal: true},
	} {
		ops[name] = d
	}
	for _, j := range []struct {
		names []string
		cond  func(m *machine) bool
	}{
		{[]string{"JEQ", "JE", "JZ"}, func(m *machine) bool { return m.zf }},
		{[]string{"JNE", "JNZ"}, func(m *machine) bool { return !m.zf }},
		{[]string{"JLT", "JL"}, func(m *machine) bool { return m.sf != m.of }},
		{[]string{"JLE"}, func(m *machine) bool { return m.zf || m.sf != m.of }},
		{[]string{"JGT", "JG"}, func(m *machine) bool { return !m.zf && m.sf == m.of }},
		{[]string{"JGE"}, func(m *machine) bool { return m.sf == m.of }},
		{[]string{"JCS", "JB", "JC", "JLO"}, func(m *machine) bool { return m.cf }},
		{[]string{"JCC", "JAE", "JNC", "JHS"}, func(m *machine) bool { return !m.cf }},
		{[]string{"JHI", "JA"}, func(m *machine) bool { return !m.cf && !m.zf }},
		{[]string{"JLS", "JBE"}, func(m *machine) bool { return m.cf || m.zf }},
		{[]string{"JMI", "JS"}, func(m *machine) bool { return m.sf }},
		{[]string{"JPL", "JNS"}, func(m *machine) bool { return !m.sf }},
	} {
		for _, n := range j.names {
			ops[n] = &opDef{exec: jump(j.cond), forms: []string{"l"}}
		}
	}
}

// ops is every opcode the interpreter knows, by mnemonic.
var ops = map[string]*opDef{}

func movq(m *machine, in *inst) { m.write(&in.a[1], 8, m.read(&in.a[0], 8)) }
func movl(m *machine, in *inst) { m.write(&in.a[1], 4, m.read(&in.a[0], 4)) }
func leaq(m *machine, in *inst) { m.gp[in.a[1].reg] = m.addr(&in.a[0]) }

func ret(m *machine, in *inst) { m.done = true }

func jump(cond func(m *machine) bool) func(m *machine, in *inst) {
	return func(m *machine, in *inst) {
		if cond(m) {
			m.pc = in.target
		}
	}
}

// setZS sets ZF and SF from a size-byte result.
func (m *machine) setZS(r uint64, size int) {
	if size == 4 {
		r = uint64(uint32(r))
		m.sf = r>>31 != 0
	} else {
		m.sf = r>>63 != 0
	}
	m.zf = r == 0
}

// The flag rules of dst OP src, for a size-byte operation; each returns the
// result.
func addFlags(m *machine, dst, src uint64, size int) uint64 {
	r := dst + src
	m.cf = r < dst
	m.of = int64((dst^r)&(src^r)) < 0
	m.setZS(r, size)
	return r
}

func subFlags(m *machine, dst, src uint64, size int) uint64 {
	r := dst - src
	m.cf = dst < src
	m.of = int64((dst^src)&(dst^r)) < 0
	m.setZS(r, size)
	return r
}

func logicFlags(m *machine, r uint64, size int) uint64 {
	m.cf, m.of = false, false
	m.setZS(r, size)
	return r
}

func andFlags(m *machine, dst, src uint64, size int) uint64 { return logicFlags(m, dst&src, size) }
func orFlags(m *machine, dst, src uint64, size int) uint64  { return logicFlags(m, dst|src, size) }
func xorFlags(m *machine, dst, src uint64, size int) uint64 { return logicFlags(m, dst^src, size) }

// arith is the two-operand `OP src, dst` form at size bytes.
func arith(size int, f func(m *machine, dst, src uint64, size int) uint64) func(m *machine, in *inst) {
	return func(m *machine, in *inst) {
		d := &in.a[1]
		m.write(d, size, f(m, m.read(d, size), m.read(&in.a[0], size), size))
	}
}

// cmpq sets the flags of a[0] - a[1]: Go's CMPQ x, y then JLT jumps when x < y.
func cmpq(m *machine, in *inst) { subFlags(m, m.read(&in.a[0], 8), m.read(&in.a[1], 8), 8) }

func testq(m *machine, in *inst) { logicFlags(m, m.read(&in.a[0], 8)&m.read(&in.a[1], 8), 8) }

// shiftCount rejects a register count other than CX, the only one x86 takes.
func shiftCount(in *inst) error {
	if in.a[0].kind == oGP && in.a[0].reg != gpNames["CX"] {
		return fmt.Errorf("a shift count register must be CX")
	}
	return nil
}

// shift is SHLQ or SHRQ. A count of 0 (mod 64) leaves the flags alone; OF
// is defined for a count of 1 only, and set so.
func shift(left bool) func(m *machine, in *inst) {
	return func(m *machine, in *inst) {
		c := m.read(&in.a[0], 8) & 63
		d := &in.a[1]
		v := m.read(d, 8)
		if c == 0 {
			return
		}
		var r uint64
		if left {
			r = v << c
			m.cf = v>>(64-c)&1 != 0
			m.of = (r>>63 != 0) != m.cf
		} else {
			r = v >> c
			m.cf = v>>(c-1)&1 != 0
			m.of = v>>63 != 0
		}
		m.setZS(r, 8)
		m.write(d, 8, r)
	}
}

// decq leaves CF as it was.
func decq(m *machine, in *inst) {
	v := m.gp[in.a[0].reg]
	r := v - 1
	m.of = v == 1<<63
	m.setZS(r, 8)
	m.gp[in.a[0].reg] = r
}

func negq(m *machine, in *inst) {
	v := m.gp[in.a[0].reg]
	r := -v
	m.cf = v != 0
	m.of = v == 1<<63
	m.setZS(r, 8)
	m.gp[in.a[0].reg] = r
}

// imul3q is IMUL3Q $imm, src, dst: CF and OF say the signed product did
// not fit 64 bits (SF and ZF are undefined; left alone).
func imul3q(m *machine, in *inst) {
	a, b := int64(m.read(&in.a[1], 8)), in.a[0].disp
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	// The signed high word from the unsigned one.
	if a < 0 {
		hi -= uint64(b)
	}
	if b < 0 {
		hi -= uint64(a)
	}
	m.cf = hi != uint64(int64(lo)>>63)
	m.of = m.cf
	m.gp[in.a[2].reg] = lo
}

// bzhil is BZHIL index, src, dst: dst = src with bits index..31 cleared
// (index = the low byte of the index register); CF says index > 31.
func bzhil(m *machine, in *inst) {
	n := m.read(&in.a[0], 4) & 0xff
	r := m.read(&in.a[1], 4)
	m.cf = n > 31
	if n < 32 {
		r &= 1<<n - 1
	}
	m.of = false
	m.setZS(r, 4)
	m.write(&in.a[2], 4, r)
}
