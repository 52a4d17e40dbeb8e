package asmemu

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestGeneratedOpcodesKnown scans the generated files for their opcodes
// on its own (not through the parser) and requires the interpreter to know
// each, so that a new generator instruction fails here first;
// TestKernels then requires each to have run.
func TestGeneratedOpcodesKnown(t *testing.T) {
	files, err := GeneratedFiles()
	if err != nil {
		t.Fatal(err)
	}
	first := regexp.MustCompile(`(?m)^\s*([A-Z][A-Z0-9_.]*)`)
	seen := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range first.FindAllStringSubmatch(string(src), -1) {
			seen[m[1]] = true
		}
	}
	for _, directive := range []string{"TEXT", "DATA", "GLOBL"} {
		delete(seen, directive)
	}
	if len(seen) == 0 {
		t.Fatal("no opcodes found")
	}
	for op := range seen {
		if !Supported(op) {
			t.Errorf("opcode %s of the generated files is not interpreted", op)
		}
	}
	p := generatedProgram(t)
	if got := len(p.Opcodes()); got != len(seen) {
		t.Errorf("the program has %d opcodes, the files %d", got, len(seen))
	}
	t.Logf("%d opcodes", len(seen))
}

// TestFaults checks the memory model: an access past a slice fails the
// call and names where it went, a masked-off lane is no access.
func TestFaults(t *testing.T) {
	p, err := Parse(`
TEXT ·Read(SB), $0-36
	MOVQ x_base+0(FP), AX
	MOVQ i+24(FP), CX
	MOVSS (AX)(CX*4), X0
	MOVSS X0, ret+32(FP)
	RET

TEXT ·Masked(SB), $0-32
	MOVQ    x_base+0(FP), AX
	MOVQ    n+24(FP), CX
	MOVL    $0xffff, DX
	BZHIL   CX, DX, DX
	KMOVW   DX, K1
	VMOVUPS.Z (AX), K1, Z0
	VADDPS  Z0, Z0, K1, Z0
	VMOVUPS Z0, K1, (AX)
	RET
`, "package x\nfunc Read(x []float32, i int) float32\nfunc Masked(x []float32, n int)\n")
	if err != nil {
		t.Fatal(err)
	}
	x := []float32{1, 2, 3}
	if r, err := p.Call("Read", x, 2); err != nil || r[0].(float32) != 3 {
		t.Fatalf("Read(x, 2) = %v, %v", r, err)
	}
	if _, err := p.Call("Read", x, 3); err == nil || !strings.Contains(err.Error(), "x+12, past its 12 bytes") {
		t.Fatalf("Read(x, 3): %v, want a fault past x", err)
	}
	if _, err := p.Call("Read", x, -1); err == nil || !strings.Contains(err.Error(), "4 bytes before x") {
		t.Fatalf("Read(x, -1): %v, want a fault before x", err)
	}
	if _, err := p.Call("Masked", x, 3); err != nil || x[2] != 6 {
		t.Fatalf("Masked(x, 3): %v, x = %v", err, x)
	}
	if _, err := p.Call("Masked", x, 4); err == nil {
		t.Fatal("Masked(x, 4): no fault for the lane past x")
	}
	if _, err := p.Call("Read", x); err == nil || !strings.Contains(err.Error(), "takes 2 arguments") {
		t.Fatalf("Read(x): %v", err)
	}
	if _, err := p.Call("Read", x, float32(1)); err == nil || !strings.Contains(err.Error(), "parameter i (int): got float32") {
		t.Fatalf("Read(x, float32): %v", err)
	}
}

// TestRejects checks that what the interpreter does not model fails the
// load with the line named.
func TestRejects(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"VFMSUB231PS Y0, Y1, Y2", "opcode VFMSUB231PS: not interpreted"},
		{"VADDPS.RN_SAE Z0, Z1, Z2", "not interpreted"},
		{"VMASKMOVPS (AX), Z1, Z2", "AVX-512 encoding"},
		{"VADDPS Y0, Z1, Z2", "different widths"},
		{"VSHUFF32X4 $0x44, Y0, Y1, Y2", "16-lane registers"},
		{"VSHUFF32X4 $0x44, Z0, Z1, K1, Z2", "too many operands"},
		{"VPERMPD $0xd8, X0, X1", "Y or Z registers"},
		{"VPERMPD $0xd8, Z0, K1, Z1", "form ivkv not interpreted"},
		{"VMOVUPS.Z Z0, Z1", ".Z without an opmask"},
		{"VMOVUPS.Z Z0, K1, (AX)", "cannot zero-mask"},
		{"MOVQ (AX), (BX)", "operand form mm"},
		{"JMP nowhere", "no label nowhere"},
		{"MOVQ y+8(FP), AX", "no such parameter"},
		{"MOVQ x_len+0(FP), AX", "x_len is at offset 8"},
		{"LEAQ nosym<>+0(SB), AX", "no DATA symbol nosym<>"},
	} {
		_, err := Parse("TEXT ·Masked(SB), $0-32\n\t"+c.body+"\n\tRET\n", "package x\nfunc Masked(x []float32, n int)\n")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "src.s:2") {
			t.Errorf("%s: %v, want %q at src.s:2", c.body, err, c.want)
		}
	}
}
