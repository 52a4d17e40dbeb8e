package asmemu

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Program is a set of parsed assembly files: their functions, decoded, and
// their DATA symbols. It is safe for concurrent calls.
type Program struct {
	funcs   map[string]*Func
	data    map[string]*dataSym
	opNames []string       // opcode (with suffixes) per opcode id
	opIDs   map[string]int // inverse of opNames
	opRuns  []atomic.Int64 // instructions executed, per opcode id
	calls   atomic.Int64
	insts   atomic.Int64
}

// Func is one TEXT block.
type Func struct {
	name   string
	file   string
	args   int // the argument frame size, N of $0-N
	sig    *signature
	code   []inst
	labels map[string]int
	calls  atomic.Int64
	insts  atomic.Int64
}

// dataSym is a DATA/GLOBL symbol: read-only bytes that live as long as the
// Program.
type dataSym struct {
	name string
	b    []byte
	ro   bool
}

// Load parses the assembly files at paths. Each x.s needs its Go stubs in
// x.go beside it (the generators write both): they give every function's
// signature, from which a call lays out the argument frame.
func Load(paths ...string) (*Program, error) {
	p := newProgram()
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		stub := strings.TrimSuffix(path, ".s") + ".go"
		stubSrc, err := os.ReadFile(stub)
		if err != nil {
			return nil, fmt.Errorf("asmemu: the stubs of %s: %w", path, err)
		}
		if err := p.add(filepath.Base(path), string(src), stub, string(stubSrc)); err != nil {
			return nil, err
		}
	}
	p.opRuns = make([]atomic.Int64, len(p.opNames))
	return p, nil
}

// Parse is Load on sources in memory: src is one .s file, stubs its Go
// stubs. Tests of single instructions use it.
func Parse(src, stubs string) (*Program, error) {
	p := newProgram()
	if err := p.add("src.s", src, "stubs.go", stubs); err != nil {
		return nil, err
	}
	p.opRuns = make([]atomic.Int64, len(p.opNames))
	return p, nil
}

func newProgram() *Program {
	return &Program{funcs: map[string]*Func{}, data: map[string]*dataSym{}, opIDs: map[string]int{}}
}

var generated struct {
	once sync.Once
	p    *Program
	err  error
}

// Generated returns the Program of the module's generated amd64 files,
// asm/*_amd64.s, found from the working directory up to go.mod (a test runs
// in its package directory). It is loaded once per process.
func Generated() (*Program, error) {
	generated.once.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			generated.err = err
			return
		}
		files, err := filepath.Glob(filepath.Join(root, "asm", "*_amd64.s"))
		if err == nil && len(files) == 0 {
			err = fmt.Errorf("asmemu: no asm/*_amd64.s under %s", root)
		}
		if err != nil {
			generated.err = err
			return
		}
		generated.p, generated.err = Load(files...)
	})
	return generated.p, generated.err
}

// GeneratedFiles lists the files Generated loads.
func GeneratedFiles() ([]string, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	return filepath.Glob(filepath.Join(root, "asm", "*_amd64.s"))
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", fmt.Errorf("asmemu: no go.mod above the working directory")
		}
		dir = up
	}
}

// Funcs lists the program's functions, sorted.
func (p *Program) Funcs() []string {
	names := make([]string, 0, len(p.funcs))
	for n := range p.funcs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Has reports whether the program defines function name.
func (p *Program) Has(name string) bool { return p.funcs[name] != nil }

// Opcodes lists the opcodes (with their suffixes, as written) that occur
// in the program, sorted.
func (p *Program) Opcodes() []string {
	ops := append([]string(nil), p.opNames...)
	sort.Strings(ops)
	return ops
}

// Stats counts what the program has interpreted.
type Stats struct {
	Calls, Insts int64
}

// Stats returns the calls and instructions interpreted so far, over all
// functions.
func (p *Program) Stats() Stats { return Stats{p.calls.Load(), p.insts.Load()} }

// FuncStats returns the calls of function name interpreted so far and the
// instructions they executed.
func (p *Program) FuncStats(name string) Stats {
	f := p.funcs[name]
	if f == nil {
		return Stats{}
	}
	return Stats{f.calls.Load(), f.insts.Load()}
}

// Executed returns, per opcode of the program, how many times it has been
// executed.
func (p *Program) Executed() map[string]int64 {
	m := make(map[string]int64, len(p.opNames))
	for i, n := range p.opNames {
		m[n] = p.opRuns[i].Load()
	}
	return m
}

// add parses one file and its stubs into p.
func (p *Program) add(file, src, stubFile, stubSrc string) error {
	sigs, err := parseStubs(stubFile, stubSrc)
	if err != nil {
		return err
	}
	var cur *Func
	for ln, line := range strings.Split(src, "\n") {
		pos := fmt.Sprintf("%s:%d", file, ln+1)
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		var err error
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "DATA "):
			err = p.addData(line[len("DATA "):])
		case strings.HasPrefix(line, "GLOBL "):
			err = p.addGlobl(line[len("GLOBL "):])
		case strings.HasPrefix(line, "TEXT "):
			cur, err = p.addText(file, line[len("TEXT "):], sigs)
		case cur == nil:
			err = fmt.Errorf("instruction outside TEXT: %q", line)
		case strings.HasSuffix(line, ":") && !strings.ContainsAny(line, " \t"):
			label := strings.TrimSuffix(line, ":")
			if _, dup := cur.labels[label]; dup {
				err = fmt.Errorf("label %s defined twice", label)
			}
			cur.labels[label] = len(cur.code)
		default:
			var in inst
			in, err = p.decode(cur, line)
			in.pos = pos
			cur.code = append(cur.code, in)
		}
		if err != nil {
			return fmt.Errorf("asmemu: %s: %w", pos, err)
		}
	}
	for _, f := range p.funcs {
		if err := f.link(); err != nil {
			return fmt.Errorf("asmemu: %s: %w", f.name, err)
		}
	}
	return nil
}

// addData handles `sym<>+off(SB)/width, $value`.
func (p *Program) addData(s string) error {
	at, val, ok := strings.Cut(s, ",")
	loc, width, ok2 := strings.Cut(strings.TrimSpace(at), "/")
	name, rest, ok3 := strings.Cut(loc, "+")
	offStr, _, ok4 := strings.Cut(rest, "(SB)")
	if !ok || !ok2 || !ok3 || !ok4 {
		return fmt.Errorf("cannot read DATA %q", s)
	}
	off, err1 := strconv.Atoi(offStr)
	w, err2 := strconv.Atoi(width)
	v, err3 := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(val), "$"), 0, 64)
	if err1 != nil || err2 != nil || err3 != nil || (w != 1 && w != 2 && w != 4 && w != 8) {
		return fmt.Errorf("cannot read DATA %q", s)
	}
	d := p.sym(name)
	for len(d.b) < off+w {
		d.b = append(d.b, 0)
	}
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], v)
	copy(d.b[off:off+w], buf[:w])
	return nil
}

// addGlobl handles `sym<>(SB), FLAGS, $size`: it fixes the symbol's size.
func (p *Program) addGlobl(s string) error {
	f := strings.Split(s, ",")
	if len(f) != 3 {
		return fmt.Errorf("cannot read GLOBL %q", s)
	}
	name := strings.TrimSuffix(strings.TrimSpace(f[0]), "(SB)")
	size, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(f[2]), "$"))
	if err != nil || size < 0 {
		return fmt.Errorf("cannot read GLOBL %q", s)
	}
	d := p.sym(name)
	if len(d.b) > size {
		return fmt.Errorf("GLOBL %s: size %d, but DATA up to %d", name, size, len(d.b))
	}
	d.b = append(d.b, make([]byte, size-len(d.b))...)
	d.ro = strings.Contains(f[1], "RODATA")
	return nil
}

func (p *Program) sym(name string) *dataSym {
	d := p.data[name]
	if d == nil {
		d = &dataSym{name: name}
		p.data[name] = d
	}
	return d
}

// addText handles `·Name(SB), [FLAGS,] $frame-args`.
func (p *Program) addText(file, s string, sigs map[string]*signature) (*Func, error) {
	f := strings.Split(s, ",")
	if len(f) != 2 && len(f) != 3 {
		return nil, fmt.Errorf("cannot read TEXT %q", s)
	}
	name := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(f[0]), "·"), "(SB)")
	frame, args, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(f[len(f)-1]), "$"), "-")
	n, err := strconv.Atoi(args)
	if !ok || err != nil {
		return nil, fmt.Errorf("cannot read TEXT %q", s)
	}
	if frame != "0" {
		return nil, fmt.Errorf("TEXT %s: local frame $%s: only frameless functions are interpreted", name, frame)
	}
	sig := sigs[name]
	if sig == nil {
		return nil, fmt.Errorf("TEXT %s: no Go stub declares it", name)
	}
	if sig.size != n {
		return nil, fmt.Errorf("TEXT %s: argument frame $%d, but the stub's signature needs %d bytes", name, n, sig.size)
	}
	if p.funcs[name] != nil {
		return nil, fmt.Errorf("TEXT %s defined twice", name)
	}
	fn := &Func{name: name, file: file, args: n, sig: sig, labels: map[string]int{}}
	p.funcs[name] = fn
	return fn, nil
}

// link resolves the jump targets and checks that the code cannot fall off
// its end.
func (f *Func) link() error {
	for i := range f.code {
		in := &f.code[i]
		if in.label == "" {
			continue
		}
		t, ok := f.labels[in.label]
		if !ok {
			return fmt.Errorf("%s: no label %s", in.pos, in.label)
		}
		in.target = t
	}
	if n := len(f.code); n == 0 || !f.code[n-1].terminal {
		return fmt.Errorf("does not end in RET or JMP")
	}
	return nil
}

// opID returns the id of opcode name, assigning one on first sight.
func (p *Program) opID(name string) int {
	id, ok := p.opIDs[name]
	if !ok {
		id = len(p.opNames)
		p.opIDs[name] = id
		p.opNames = append(p.opNames, name)
	}
	return id
}
