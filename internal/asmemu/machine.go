package asmemu

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// machine is the state of one interpreted call.
type machine struct {
	gp             [16]uint64
	fp             uint64 // address of the argument frame
	zf, sf, cf, of bool
	v              [32][16]uint32
	k              [8]uint64
	regions        []region
	last           int // index of the region hit last
	pc             int
	done           bool
	runs           []int64 // instructions executed per opcode id
}

// region is memory a call may access.
type region struct {
	base uint64
	b    []byte
	name string
	ro   bool
}

// fault is a panic of the interpreter that the call turns into its error.
type fault string

func (m *machine) fail(format string, args ...any) {
	panic(fault(fmt.Sprintf(format, args...)))
}

func addrOf(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}

// addRegion makes b accessible.
func (m *machine) addRegion(name string, b []byte, ro bool) {
	if len(b) > 0 {
		m.regions = append(m.regions, region{base: addrOf(b), b: b, name: name, ro: ro})
	}
}

// bytes returns the n bytes at addr, which must lie in one region.
func (m *machine) bytes(addr uint64, n int, write bool) []byte {
	if m.last < len(m.regions) {
		if b := m.regions[m.last].at(addr, n, write); b != nil {
			return b
		}
	}
	for i := range m.regions {
		r := &m.regions[i]
		if b := r.at(addr, n, false); b != nil {
			if write && r.ro {
				m.fail("write of %d bytes to read-only %s+%d", n, r.name, addr-r.base)
			}
			m.last = i
			return b
		}
	}
	m.fail("%s of %d bytes at %#x: %s", map[bool]string{false: "read", true: "write"}[write], n, addr, m.nearest(addr))
	return nil
}

// at returns the n bytes at addr if they lie in r (and r is writable, for
// a write), else nil.
func (r *region) at(addr uint64, n int, write bool) []byte {
	off := addr - r.base
	if off >= uint64(len(r.b)) || uint64(len(r.b))-off < uint64(n) || (write && r.ro) {
		return nil
	}
	return r.b[off : off+uint64(n)]
}

// nearest describes addr relative to the closest region, for a fault.
func (m *machine) nearest(addr uint64) string {
	best, desc := ^uint64(0), "no region near"
	for _, r := range m.regions {
		var d uint64
		var s string
		switch end := r.base + uint64(len(r.b)); {
		case addr < r.base:
			d, s = r.base-addr, fmt.Sprintf("%d bytes before %s (%d bytes)", r.base-addr, r.name, len(r.b))
		case addr >= end:
			d, s = addr-end, fmt.Sprintf("%s+%d, past its %d bytes", r.name, addr-r.base, len(r.b))
		default:
			d, s = 0, fmt.Sprintf("%s+%d, running past its %d bytes", r.name, addr-r.base, len(r.b))
		}
		if d < best {
			best, desc = d, s
		}
	}
	return desc
}

func (m *machine) load32(addr uint64) uint32 {
	return binary.LittleEndian.Uint32(m.bytes(addr, 4, false))
}

func (m *machine) store32(addr uint64, v uint32) {
	binary.LittleEndian.PutUint32(m.bytes(addr, 4, true), v)
}

// addr is the effective address of memory operand o.
func (m *machine) addr(o *operand) uint64 {
	var a uint64
	switch o.base {
	case regFP:
		a = m.fp
	case regSB:
		a = addrOf(o.sym.b)
	default:
		a = m.gp[o.base]
	}
	if o.index >= 0 {
		a += m.gp[o.index] * uint64(o.scale)
	}
	return a + uint64(o.disp)
}

// read is the value of a GP, immediate or memory operand, size bytes
// (4 or 8) wide, zero-extended.
func (m *machine) read(o *operand, size int) uint64 {
	var v uint64
	switch o.kind {
	case oGP:
		v = m.gp[o.reg]
	case oImm:
		v = uint64(o.disp)
	case oMem:
		b := m.bytes(m.addr(o), size, false)
		if size == 4 {
			return uint64(binary.LittleEndian.Uint32(b))
		}
		return binary.LittleEndian.Uint64(b)
	default:
		m.fail("operand kind %d read as an integer", o.kind)
	}
	if size == 4 {
		v = uint64(uint32(v))
	}
	return v
}

// write stores v to a GP or memory operand, size bytes wide; a 32-bit
// write to a register zeroes its upper half, as on the hardware.
func (m *machine) write(o *operand, size int, v uint64) {
	if size == 4 {
		v = uint64(uint32(v))
	}
	switch o.kind {
	case oGP:
		m.gp[o.reg] = v
	case oMem:
		b := m.bytes(m.addr(o), size, true)
		if size == 4 {
			binary.LittleEndian.PutUint32(b, uint32(v))
		} else {
			binary.LittleEndian.PutUint64(b, v)
		}
	default:
		m.fail("operand kind %d written as an integer", o.kind)
	}
}

// maxSteps bounds one call, so that a kernel looping forever fails.
const maxSteps = 1 << 32

// run interprets fn from its first instruction to RET.
func (m *machine) run(fn *Func) (steps int64) {
	code := fn.code
	for m.pc = 0; !m.done; steps++ {
		if steps == maxSteps {
			m.fail("no RET after %d instructions", steps)
		}
		in := &code[m.pc]
		m.pc++
		m.runs[in.id]++
		in.exec(m, in)
	}
	return steps
}
