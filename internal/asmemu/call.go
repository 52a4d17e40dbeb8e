package asmemu

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"unsafe"
)

// Region is memory that a call may access beyond its arguments, such as
// the rows behind a pointer argument or the workspace a kernel is handed
// a pointer into.
type Region struct {
	name string
	b    []byte
}

// Floats makes the len(s) elements of s accessible; name labels it in
// faults.
func Floats(name string, s []float32) Region { return Region{name, floatBytes(s)} }

func floatBytes(s []float32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 4*len(s))
}

// Call interprets function name on args, which must match the parameters
// of its Go stub one for one:
//
//   - int and float32 parameters take an int and a float32;
//   - a []float32 parameter takes a []float32, whose len elements become
//     accessible;
//   - a pointer parameter takes a pointer of its type or nil; a pointer to
//     an array makes the array accessible. A *float32 parameter also takes
//     a []float32: its first element (nil if empty) is passed, its len
//     elements become accessible; a **float32 parameter likewise takes a
//     []*float32 (an array of row pointers, whose rows the caller gives
//     as regions), and a *int parameter a []int (a table of offsets),
//     its len elements accessible.
//
// It returns the results as Go values (int, float32, ...) in order. An
// access outside the accessible memory, or a write to read-only DATA,
// stops the call with an error that names the instruction.
func (p *Program) Call(name string, args ...any) ([]any, error) {
	return p.CallIn(nil, name, args...)
}

// CallIn is Call with the regions of mem accessible too.
func (p *Program) CallIn(mem []Region, name string, args ...any) (res []any, err error) {
	fn := p.funcs[name]
	if fn == nil {
		return nil, fmt.Errorf("asmemu: no function %s", name)
	}
	m := &machine{runs: make([]int64, len(p.opNames))}
	frame := make([]byte, fn.args)
	if err := m.bind(fn, frame, args); err != nil {
		return nil, err
	}
	m.fp = addrOf(frame)
	m.addRegion("args", frame, false)
	for _, r := range mem {
		m.addRegion(r.name, r.b, false)
	}
	for _, d := range p.data {
		m.addRegion(d.name, d.b, d.ro)
	}
	defer func() {
		p.account(fn, m)
		if r := recover(); r != nil {
			f, ok := r.(fault)
			if !ok {
				panic(fmt.Sprintf("asmemu: %s: %s: %s: %v", name, fn.code[m.pc-1].pos, fn.code[m.pc-1].text, r))
			}
			res, err = nil, fmt.Errorf("asmemu: %s: %s: %s: %s", name, fn.code[m.pc-1].pos, fn.code[m.pc-1].text, f)
		}
	}()
	m.run(fn)
	return results(fn.sig, frame), nil
}

// account adds a call's counts to the program's.
func (p *Program) account(fn *Func, m *machine) {
	var n int64
	for id, c := range m.runs {
		if c != 0 {
			p.opRuns[id].Add(c)
			n += c
		}
	}
	fn.calls.Add(1)
	fn.insts.Add(n)
	p.calls.Add(1)
	p.insts.Add(n)
}

// bind writes args into the frame and makes their memory accessible.
func (m *machine) bind(fn *Func, frame []byte, args []any) error {
	ps := fn.sig.params
	if len(args) != len(ps) {
		return fmt.Errorf("asmemu: %s takes %d arguments, got %d", fn.name, len(ps), len(args))
	}
	for i, prm := range ps {
		slot := frame[prm.off : prm.off+prm.size]
		if err := m.bindOne(prm, slot, args[i]); err != nil {
			return fmt.Errorf("asmemu: %s: parameter %s (%s): %w", fn.name, prm.name, prm.typ, err)
		}
	}
	return nil
}

func (m *machine) bindOne(prm param, slot []byte, arg any) error {
	le := binary.LittleEndian
	switch v := arg.(type) {
	case int:
		if prm.typ == "int" {
			le.PutUint64(slot, uint64(v))
			return nil
		}
	case float32:
		if prm.typ == "float32" {
			le.PutUint32(slot, math.Float32bits(v))
			return nil
		}
	case []float32:
		b := floatBytes(v)
		switch prm.typ {
		case "[]float32":
			le.PutUint64(slot, addrOf(b))
			le.PutUint64(slot[8:], uint64(len(v)))
			le.PutUint64(slot[16:], uint64(cap(v)))
		case "*float32":
			le.PutUint64(slot, addrOf(b))
		default:
			return fmt.Errorf("got []float32")
		}
		m.addRegion(prm.name, b, false)
		return nil
	case []int:
		if prm.typ != "*int" {
			return fmt.Errorf("got []int")
		}
		if len(v) > 0 {
			b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*int(unsafe.Sizeof(v[0])))
			le.PutUint64(slot, addrOf(b))
			m.addRegion(prm.name, b, false)
		}
		return nil
	case []*float32:
		if prm.typ != "**float32" {
			return fmt.Errorf("got []*float32")
		}
		b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*int(unsafe.Sizeof(v[0])))
		le.PutUint64(slot, addrOf(b))
		m.addRegion(prm.name, b, false)
		return nil
	case nil:
		if prm.typ[0] == '*' {
			return nil // the slot is already zero
		}
	}
	rv := reflect.ValueOf(arg)
	if arg == nil || rv.Type().String() != prm.typ {
		return fmt.Errorf("got %T", arg)
	}
	if rv.Kind() != reflect.Pointer {
		return fmt.Errorf("%T is not interpreted", arg)
	}
	le.PutUint64(slot, uint64(rv.Pointer()))
	if !rv.IsNil() && rv.Type().Elem().Kind() == reflect.Array {
		m.addRegion(prm.name, unsafe.Slice((*byte)(rv.UnsafePointer()), rv.Type().Elem().Size()), false)
	}
	return nil
}

// results reads the results out of the frame.
func results(sig *signature, frame []byte) []any {
	out := make([]any, len(sig.results))
	for i, r := range sig.results {
		slot := frame[r.off : r.off+r.size]
		switch r.typ {
		case "float32":
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(slot))
		case "int":
			out[i] = int(binary.LittleEndian.Uint64(slot))
		default:
			out[i] = slot
		}
	}
	return out
}
