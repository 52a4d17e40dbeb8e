package gemm

// An interpreter for the subset of Go amd64 assembly that gen/sgemm emits
// for its kernels, so that the AVX-512 kernels are checked on hosts without
// AVX-512 (the AVX2 ones are run both ways, which checks the interpreter
// against the hardware). Memory is a set of segments, one per operand, with
// exact lengths: any access outside them (a masked-off lane does not count,
// as on the hardware) fails the test, like a guard page would.

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/convkit/convkit/kernels"
)

type emuOperand struct {
	kind  byte // 'r' register, 'i' immediate, 'm' memory, 'l' label
	reg   string
	imm   int64
	base  string // memory: base register, "FP" or "SB"
	index string
	scale int64
	disp  int64
	sym   string // memory relative to FP or SB
}

type emuInst struct {
	op   string
	args []emuOperand
}

type emuFunc struct {
	insts  []emuInst
	labels map[string]int
}

// parseAsm reads every TEXT block of a generated .s file.
func parseAsm(t *testing.T, path string) (map[string]*emuFunc, map[string][]uint32) {
	src, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("no generated assembly to interpret: %v", err)
	}
	funcs := map[string]*emuFunc{}
	data := map[string][]uint32{}
	var cur *emuFunc
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "DATA "):
			// DATA sym<>+off(SB)/4, $0xffffffff
			f := strings.Fields(strings.ReplaceAll(line[5:], ",", " "))
			name := f[0][:strings.Index(f[0], "+")]
			off, _ := strconv.Atoi(f[0][strings.Index(f[0], "+")+1 : strings.Index(f[0], "(")])
			v, _ := strconv.ParseUint(strings.TrimPrefix(f[1], "$"), 0, 32)
			for len(data[name]) <= off/4 {
				data[name] = append(data[name], 0)
			}
			data[name][off/4] = uint32(v)
			continue
		case strings.HasPrefix(line, "GLOBL "):
			continue
		case strings.HasPrefix(line, "TEXT "):
			name := line[len("TEXT ·"):strings.Index(line, "(SB)")]
			cur = &emuFunc{labels: map[string]int{}}
			funcs[name] = cur
			continue
		case strings.HasSuffix(line, ":"):
			cur.labels[strings.TrimSuffix(line, ":")] = len(cur.insts)
			continue
		}
		f := strings.Fields(line)
		in := emuInst{op: f[0]}
		if len(f) > 1 {
			for _, a := range strings.Split(strings.Join(f[1:], ""), ",") {
				in.args = append(in.args, parseOperand(a))
			}
		}
		cur.insts = append(cur.insts, in)
	}
	return funcs, data
}

func parseOperand(s string) emuOperand {
	switch {
	case strings.HasPrefix(s, "$"):
		v, err := strconv.ParseInt(s[1:], 0, 64)
		if err != nil {
			u, _ := strconv.ParseUint(s[1:], 0, 64)
			v = int64(u)
		}
		return emuOperand{kind: 'i', imm: v}
	case strings.Contains(s, "("):
		o := emuOperand{kind: 'm', scale: 1}
		head := s[:strings.Index(s, "(")]
		rest := s[strings.Index(s, "("):]
		if strings.HasPrefix(rest, "(FP)") || strings.HasPrefix(rest, "(SB)") {
			o.base = rest[1:3]
			if i := strings.LastIndex(head, "+"); i >= 0 {
				o.sym = head[:i]
				o.disp, _ = strconv.ParseInt(head[i+1:], 10, 64)
			} else {
				o.sym = head
			}
			return o
		}
		if head != "" {
			o.disp, _ = strconv.ParseInt(head, 10, 64)
		}
		parts := strings.Split(strings.Trim(rest, "()"), ")(")
		o.base = parts[0]
		if len(parts) > 1 {
			ix := strings.Split(parts[1], "*")
			o.index = ix[0]
			o.scale, _ = strconv.ParseInt(ix[1], 10, 64)
		}
		return o
	case strings.HasPrefix(s, "Y") || strings.HasPrefix(s, "Z") || strings.HasPrefix(s, "X") || strings.HasPrefix(s, "K") ||
		strings.HasPrefix(s, "R") || len(s) == 2:
		return emuOperand{kind: 'r', reg: s}
	}
	return emuOperand{kind: 'l', reg: s}
}

// emuMachine is the register and memory state.
type emuMachine struct {
	gp    map[string]int64
	vec   [32][16]uint32
	k     [8]uint16
	zf    bool
	le    bool // signed <= from the last CMPQ
	segs  map[int64][]uint32
	names map[int64]string
	frame int64 // segment of the argument frame
	syms  map[string]int64
	real  [][]float32 // real-memory operands (addresses below realLimit)
}

// Segment ids start high enough that their addresses (id << segShift) are
// above any real user-space pointer (realLimit).
const (
	segShift  = 32
	segBase   = 1 << 20
	realLimit = segBase << segShift
)

func (m *emuMachine) addSeg(id int64, name string, words []uint32) int64 {
	m.segs[id] = words
	m.names[id] = name
	return id << segShift
}

func (m *emuMachine) addr(o emuOperand) int64 {
	switch o.base {
	case "FP":
		return m.frame<<segShift + o.disp
	case "SB":
		return m.syms[o.sym] + o.disp
	}
	a := m.gp[o.base] + o.disp
	if o.index != "" {
		a += m.gp[o.index] * o.scale
	}
	return a
}

// word is the 32-bit word at byte address a; it fails outside a segment.
func (m *emuMachine) word(t *testing.T, a int64) *uint32 {
	if a < realLimit {
		for _, s := range m.real {
			base := int64(uintptr(unsafe.Pointer(unsafe.SliceData(s))))
			if a >= base && a+4 <= base+4*int64(len(s)) && (a-base)%4 == 0 {
				return (*uint32)(unsafe.Pointer(&s[(a-base)/4]))
			}
		}
		t.Fatalf("access at %#x: outside every operand", a)
	}
	seg, off := a>>segShift, a&(1<<segShift-1)
	s, ok := m.segs[seg]
	if !ok || off%4 != 0 || off/4 >= int64(len(s)) {
		t.Fatalf("access at %s+%d (length %d words): outside the operand", m.names[seg], off, len(s))
	}
	return &s[off/4]
}

func vecReg(r string) (int, int) {
	n, _ := strconv.Atoi(r[1:])
	switch r[0] {
	case 'Z':
		return n, 16
	case 'Y':
		return n, 8
	}
	return n, 4
}

func f32(u uint32) float32 { return math.Float32frombits(u) }
func u32(f float32) uint32 { return math.Float32bits(f) }

// run interprets fn until RET.
func (m *emuMachine) run(t *testing.T, fn *emuFunc) {
	steps := 0
	for pc := 0; pc < len(fn.insts); pc++ {
		if steps++; steps > 5e7 {
			t.Fatal("emulator: runaway loop")
		}
		in := fn.insts[pc]
		a := in.args
		jump := func(cond bool) {
			if cond {
				pc = fn.labels[a[0].reg] - 1
			}
		}
		val := func(o emuOperand) int64 {
			switch o.kind {
			case 'i':
				return o.imm
			case 'r':
				return m.gp[o.reg]
			}
			lo := int64(*m.word(t, m.addr(o)))
			hi := int64(*m.word(t, m.addr(o)+4))
			return lo | hi<<32
		}
		switch in.op {
		case "MOVQ":
			v := val(a[0])
			if a[1].kind == 'm' {
				*m.word(t, m.addr(a[1])) = uint32(v)
				*m.word(t, m.addr(a[1])+4) = uint32(v >> 32)
			} else {
				m.gp[a[1].reg] = v
			}
		case "MOVL":
			if a[0].kind == 'm' {
				m.gp[a[1].reg] = int64(*m.word(t, m.addr(a[0])))
			} else {
				m.gp[a[1].reg] = int64(uint32(val(a[0])))
			}
		case "ADDQ":
			m.gp[a[1].reg] += val(a[0])
		case "SUBQ":
			m.gp[a[1].reg] -= val(a[0])
		case "SHLQ":
			m.gp[a[1].reg] <<= val(a[0])
		case "SHRQ":
			m.gp[a[1].reg] = int64(uint64(m.gp[a[1].reg]) >> val(a[0]))
			m.zf = m.gp[a[1].reg] == 0
		case "ANDQ":
			m.gp[a[1].reg] &= val(a[0])
			m.zf = m.gp[a[1].reg] == 0
		case "ANDL":
			m.gp[a[1].reg] = int64(uint32(m.gp[a[1].reg]) & uint32(val(a[0])))
			m.zf = m.gp[a[1].reg] == 0
		case "XORQ":
			m.gp[a[1].reg] ^= val(a[0])
		case "DECQ":
			m.gp[a[0].reg]--
			m.zf = m.gp[a[0].reg] == 0
		case "TESTQ":
			m.zf = val(a[0])&val(a[1]) == 0
			m.le = m.zf || val(a[0])&val(a[1]) < 0
		case "CMPQ":
			x, y := val(a[0]), val(a[1])
			m.zf, m.le = x == y, x <= y
		case "LEAQ":
			m.gp[a[1].reg] = m.addr(a[0])
		case "JMP":
			jump(true)
		case "JZ":
			jump(m.zf)
		case "JNZ", "JNE":
			jump(!m.zf)
		case "JLE":
			jump(m.le)
		case "RET":
			return
		case "BZHIL":
			idx, src := uint32(val(a[0]))&0xff, uint32(val(a[1]))
			if idx < 32 {
				src &= 1<<idx - 1
			}
			m.gp[a[2].reg] = int64(src)
		case "KMOVW":
			n, _ := strconv.Atoi(a[1].reg[1:])
			m.k[n] = uint16(val(a[0]))
		case "PREFETCHT0", "VZEROUPPER":
		case "VPXORD", "VXORPS":
			n, _ := vecReg(a[2].reg)
			m.vec[n] = [16]uint32{}
		case "VMOVUPS", "VMOVUPS.Z", "VMOVDQU", "VBROADCASTSS", "VMASKMOVPS":
			m.move(t, in)
		case "VFMADD231PS", "VFMADD231PS.BCST", "VMULPS":
			d, lanes := vecReg(a[len(a)-1].reg)
			s1, _ := vecReg(a[1].reg)
			var s2 [16]uint32
			if a[0].kind == 'm' {
				w := *m.word(t, m.addr(a[0]))
				for i := range s2 {
					s2[i] = w
				}
			} else {
				n, _ := vecReg(a[0].reg)
				s2 = m.vec[n]
			}
			for i := 0; i < lanes; i++ {
				x, y := f32(m.vec[s1][i]), f32(s2[i])
				if in.op == "VMULPS" {
					m.vec[d][i] = u32(x * y)
				} else {
					m.vec[d][i] = u32(float32(math.FMA(float64(x), float64(y), float64(f32(m.vec[d][i])))))
				}
			}
			for i := lanes; i < 16; i++ {
				m.vec[d][i] = 0
			}
		default:
			t.Fatalf("emulator: no %s", in.op)
		}
	}
	t.Fatal("emulator: fell off the end")
}

// move is the vector loads and stores.
func (m *emuMachine) move(t *testing.T, in emuInst) {
	a := in.args
	last := a[len(a)-1]
	switch {
	case in.op == "VBROADCASTSS":
		d, lanes := vecReg(last.reg)
		w := *m.word(t, m.addr(a[0]))
		for i := 0; i < 16; i++ {
			m.vec[d][i] = 0
			if i < lanes {
				m.vec[d][i] = w
			}
		}
	case in.op == "VMASKMOVPS" && last.kind == 'm': // store src, mask, mem
		s, lanes := vecReg(a[0].reg)
		mk, _ := vecReg(a[1].reg)
		for i := 0; i < lanes; i++ {
			if m.vec[mk][i]>>31 != 0 {
				*m.word(t, m.addr(last)+int64(4*i)) = m.vec[s][i]
			}
		}
	case in.op == "VMASKMOVPS": // load mem, mask, dst
		d, lanes := vecReg(last.reg)
		mk, _ := vecReg(a[1].reg)
		mask := m.vec[mk]
		var v [16]uint32
		for i := 0; i < lanes; i++ {
			if mask[i]>>31 != 0 {
				v[i] = *m.word(t, m.addr(a[0])+int64(4*i))
			}
		}
		m.vec[d] = v
	case last.kind == 'm': // store: src[, K], mem
		s, lanes := vecReg(a[0].reg)
		mask := uint16(0xffff)
		if len(a) == 3 {
			n, _ := strconv.Atoi(a[1].reg[1:])
			mask = m.k[n]
		}
		for i := 0; i < lanes; i++ {
			if mask>>i&1 != 0 {
				*m.word(t, m.addr(last)+int64(4*i)) = m.vec[s][i]
			}
		}
	default: // load: mem[, K], dst (.Z: zero the masked-off lanes)
		d, lanes := vecReg(last.reg)
		mask := uint16(0xffff)
		if len(a) == 3 {
			n, _ := strconv.Atoi(a[1].reg[1:])
			mask = m.k[n]
		}
		var v [16]uint32
		for i := 0; i < lanes; i++ {
			if mask>>i&1 != 0 {
				v[i] = *m.word(t, m.addr(a[0])+int64(4*i))
			}
		}
		m.vec[d] = v
	}
}

func newEmu(data map[string][]uint32) *emuMachine {
	m := &emuMachine{gp: map[string]int64{}, segs: map[int64][]uint32{}, names: map[int64]string{}, syms: map[string]int64{}}
	id := int64(segBase + 100)
	for name, words := range data {
		m.syms[name] = m.addSeg(id, name, words)
		id++
	}
	return m
}

func floatsToWords(x []float32) []uint32 {
	w := make([]uint32, len(x))
	for i, v := range x {
		w[i] = u32(v)
	}
	return w
}

// emuFamilyCall runs one kernel family member on copies of a, b and c
// (exact-size segments) and returns the new c.
func emuFamilyCall(t *testing.T, funcs map[string]*emuFunc, data map[string][]uint32, name string, k int, a []float32, sa int, b []float32, sb int, c []float32, ldc, nr int, alpha, beta float32, tiles, an, bn, cn int) []float32 {
	fn := funcs[name]
	if fn == nil {
		t.Fatalf("no %s in the generated assembly", name)
	}
	m := newEmu(data)
	pa := m.addSeg(segBase+1, "a", floatsToWords(a))
	pb := m.addSeg(segBase+2, "b", floatsToWords(b))
	cw := floatsToWords(c)
	pc := m.addSeg(segBase+3, "c", cw)
	m.frame = segBase + 4
	frame := make([]uint32, 26)
	m.addSeg(m.frame, "frame", frame)
	put := func(off int, v int64) { frame[off/4], frame[off/4+1] = uint32(v), uint32(v>>32) }
	put(0, int64(k))
	put(8, pa)
	put(16, int64(sa))
	put(24, pb)
	put(32, int64(sb))
	put(40, pc)
	put(48, int64(ldc))
	put(56, int64(nr))
	frame[64/4], frame[68/4] = u32(alpha), u32(beta)
	put(72, int64(tiles))
	put(80, int64(an))
	put(88, int64(bn))
	put(96, int64(cn))
	m.run(t, fn)
	out := make([]float32, len(cw))
	for i, w := range cw {
		out[i] = f32(w)
	}
	return out
}

// TestEmulatedKernelFamilies interprets every generated family member
// (AVX-512 included, whatever the host) on exact-size strided operands,
// single and multi-tile, against a float64 loop.
func TestEmulatedKernelFamilies(t *testing.T) {
	funcs, data := parseAsm(t, "../asm/sgemm_amd64.s")
	type fam struct {
		name          string
		mr, nr, lanes int
	}
	fams := []fam{{"6x16AVX2", 6, 16, 8}, {"4x24AVX2", 4, 24, 8}, {"14x32AVX512", 14, 32, 16}, {"12x32AVX512", 12, 32, 16}}
	ks := []int{0, 1, 2, 3, 5, 6, 9}
	if testing.Short() {
		ks = []int{0, 1, 5}
	}
	for _, f := range fams {
		for _, mode := range []byte{'P', 'R'} {
			for rows := 1; rows <= f.mr; rows++ {
				name := fmt.Sprintf("Sgemm%s%c%d", f.name, mode, rows)
				for _, nr := range []int{1, f.lanes - 1, f.lanes, f.lanes + 1, f.nr - 1, f.nr} {
					if nr < 1 || nr > f.nr {
						continue
					}
					for _, k := range ks {
						for _, tiles := range []int{1, 2} {
							beta := float32(k%2) * 0.5
							emuCheck(t, funcs, data, name, mode, rows, nr, k, beta, tiles)
						}
					}
				}
			}
		}
	}
}

func emuCheck(t *testing.T, funcs map[string]*emuFunc, data map[string][]uint32, name string, mode byte, rows, nr, k int, beta float32, tiles int) {
	t.Helper()
	// Tiles go down (mode P: a further along rows) and stay in one column.
	sa, sb, ldc := rows+1, nr+3, nr+2
	aRows := rows * tiles
	var a []float32
	var an int
	if mode == 'R' {
		sa = k + 2
		a = make([]float32, matLen(aRows, k, sa))
		an = rows * sa
	} else {
		sa = aRows + 1
		a = make([]float32, matLen(k, aRows, sa))
		an = rows
	}
	b := make([]float32, matLen(k, nr, sb))
	c := make([]float32, matLen(aRows, nr, ldc))
	for i := range a {
		a[i] = float32(i%7) - 3.25
	}
	for i := range b {
		b[i] = float32(i%5)*0.5 - 1
	}
	for i := range c {
		c[i] = float32(i%3) + 0.5
		if beta == 0 {
			c[i] = float32(math.NaN())
		}
	}
	got := emuFamilyCall(t, funcs, data, name, k, a, sa, b, sb, c, ldc, nr, 1.5, beta, tiles, an, 0, rows*ldc)
	checkTile(t, fmt.Sprintf("%s nr=%d k=%d tiles=%d", name, nr, k, tiles), mode, aRows, nr, k, a, sa, b, sb, c, got, ldc, 1.5, beta)
}

// TestEmulatedMicro interprets every generated Micro entry point
// (kernels.GemmKernels.Micro contract, slice arguments) against
// kernels.MicroGeneric.
func TestEmulatedMicro(t *testing.T) {
	funcs, data := parseAsm(t, "../asm/sgemm_amd64.s")
	for _, mk := range [][2]int{{6, 16}, {4, 24}, {14, 32}, {12, 32}} {
		mr, nr := mk[0], mk[1]
		isa := "AVX2"
		if nr == 32 {
			isa = "AVX512"
		}
		name := fmt.Sprintf("SgemmMicro%dx%d%s", mr, nr, isa)
		for _, k := range []int{0, 1, 4, 7} {
			for _, beta := range []float32{0, -0.5} {
				ldc := nr + 1
				a, b := make([]float32, k*mr), make([]float32, k*nr)
				c := make([]float32, (mr-1)*ldc+nr)
				for i := range a {
					a[i] = float32(i%9) - 4
				}
				for i := range b {
					b[i] = float32(i%4)*0.25 + 0.5
				}
				for i := range c {
					c[i] = float32(i % 5)
				}
				want := append([]float32(nil), c...)
				kernels.MicroGeneric(mr, nr, k, a, b, want, ldc, 2, beta)

				m := newEmu(data)
				cw := floatsToWords(c)
				frame := make([]uint32, 24)
				put := func(off int, v int64) { frame[off/4], frame[off/4+1] = uint32(v), uint32(v>>32) }
				put(0, int64(k))
				for i, s := range [][]uint32{floatsToWords(a), floatsToWords(b), cw} {
					p := m.addSeg(segBase+int64(i+1), "abc"[i:i+1], s)
					put(8+24*i, p)
					put(16+24*i, int64(len(s)))
					put(24+24*i, int64(len(s)))
				}
				put(80, int64(ldc))
				frame[88/4], frame[92/4] = u32(2), u32(beta)
				m.frame = segBase + 9
				m.addSeg(m.frame, "frame", frame)
				m.run(t, funcs[name])
				for i, w := range cw {
					if g := f32(w); !closeEnough(float64(g), float64(want[i]), 64*float64(k+1), k) {
						t.Fatalf("%s k=%d beta=%g: c[%d] = %v, want %v", name, k, beta, i, g, want[i])
					}
				}
			}
		}
	}
}

// emuFamily is a tile family whose members run in the interpreter on real
// memory, each access checked against mem() (the caller's exact-size
// operands and the Context's workspace).
func emuFamily(t *testing.T, funcs map[string]*emuFunc, data map[string][]uint32, fam string, mr, nr int, mem func() [][]float32) *tileKernels {
	tk := &tileKernels{name: "emu" + fam, mr: mr, nr: nr}
	member := func(name string) kernelFunc {
		fn := funcs[name]
		if fn == nil {
			t.Fatalf("no %s", name)
		}
		return func(k int, a *float32, sa int, b *float32, sb int, c *float32, ldc int, nr int, alpha, beta float32, tiles, an, bn, cn int) {
			m := newEmu(data)
			m.real = mem()
			frame := make([]uint32, 26)
			put := func(off int, v int64) { frame[off/4], frame[off/4+1] = uint32(v), uint32(v>>32) }
			ptr := func(p *float32) int64 { return int64(uintptr(unsafe.Pointer(p))) }
			for _, v := range [][2]int64{{0, int64(k)}, {8, ptr(a)}, {16, int64(sa)}, {24, ptr(b)}, {32, int64(sb)}, {40, ptr(c)},
				{48, int64(ldc)}, {56, int64(nr)}, {72, int64(tiles)}, {80, int64(an)}, {88, int64(bn)}, {96, int64(cn)}} {
				put(int(v[0]), v[1])
			}
			frame[64/4], frame[68/4] = u32(alpha), u32(beta)
			m.frame = segBase + 4
			m.addSeg(m.frame, "frame", frame)
			m.run(t, fn)
		}
	}
	for r := 1; r <= mr; r++ {
		tk.p[r-1] = member(fmt.Sprintf("Sgemm%s%c%d", fam, 'P', r))
		tk.r[r-1] = member(fmt.Sprintf("Sgemm%s%c%d", fam, 'R', r))
	}
	return tk
}

// TestEmulatedDriver runs whole products through the driver with the
// AVX-512 families interpreted (packing runs natively where it can), in
// every operand form, with tiny cache blocks: the driver's use of the
// 14x32 and 12x32 shapes is tested on any host.
func TestEmulatedDriver(t *testing.T) {
	funcs, data := parseAsm(t, "../asm/sgemm_amd64.s")
	var ops [][]float32
	ctx := NewContext(1)
	mem := func() [][]float32 {
		w := ctx.ws[0]
		return append(ops[:3:3], w.a, w.b, w.scr)
	}
	alloc := func(n int) ([]float32, func()) {
		s := make([]float32, n)
		ops = append(ops, s)
		return s, func() {}
	}
	orig := current.Load()
	shapes := [][3]int{{15, 33, 5}, {29, 70, 19}, {3, 31, 2}}
	if testing.Short() {
		shapes = shapes[:1]
	}
	for _, f := range []struct {
		fam    string
		mr, nr int
	}{{"14x32AVX512", 14, 32}, {"12x32AVX512", 12, 32}} {
		s := *orig
		s.fast = emuFamily(t, funcs, data, f.fam, f.mr, f.nr, mem)
		s.bl = blocking{mc: 2 * f.mr, kc: 8, nc: 2 * f.nr, l3: 1 << 30}
		ctx.force.sel = &s
		for _, pm := range []packing{packAuto, packAll, packNone, packSwap} {
			ctx.force.pack = pm
			for _, sz := range shapes {
				for _, tr := range [4][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					ops = ops[:0]
					tc := gemmCase{transA: tr[0], transB: tr[1], m: sz[0], n: sz[1], k: sz[2], alpha: 1.5, beta: float32(sz[2] % 2), pad: 1}
					check(t, tc, alloc, func(a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
						ctx.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
					})
				}
			}
		}
	}
}
