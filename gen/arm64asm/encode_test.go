package arm64asm

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// knownWords were checked against GNU as (binutils 2.40,
// aarch64-linux-gnu-as) and against the Arm ARM's encoding diagrams; the
// test keeps them correct on machines without a cross assembler.
var knownWords = []struct {
	w    Word
	bits uint32
	text string
}{
	{FADD(S4, 0, 0, 0), 0x4e20d400, "fadd v0.4s, v0.4s, v0.4s"},
	{FADD(S4, 1, 2, 3), 0x4e23d441, "fadd v1.4s, v2.4s, v3.4s"},
	{FADD(S2, 31, 30, 29), 0x0e3dd7df, "fadd v31.2s, v30.2s, v29.2s"},
	{FADD(D2, 5, 6, 7), 0x4e67d4c5, "fadd v5.2d, v6.2d, v7.2d"},
	{FSUB(S4, 1, 2, 3), 0x4ea3d441, "fsub v1.4s, v2.4s, v3.4s"},
	{FMUL(S4, 0, 0, 31), 0x6e3fdc00, "fmul v0.4s, v0.4s, v31.4s"},
	{FMAX(S4, 16, 16, 0), 0x4e20f610, "fmax v16.4s, v16.4s, v0.4s"},
	{FMIN(S4, 16, 16, 0), 0x4ea0f610, "fmin v16.4s, v16.4s, v0.4s"},
	{FADDP(S4, 16, 16, 16), 0x6e30d610, "faddp v16.4s, v16.4s, v16.4s"},
	{FMAXP(S4, 16, 16, 17), 0x6e31f610, "fmaxp v16.4s, v16.4s, v17.4s"},
	{FCMGT(S4, 0, 1, 2), 0x6ea2e420, "fcmgt v0.4s, v1.4s, v2.4s"},
	{FCMEQ(S4, 0, 1, 2), 0x4e22e420, "fcmeq v0.4s, v1.4s, v2.4s"},
	{FCMGE(S4, 0, 1, 2), 0x6e22e420, "fcmge v0.4s, v1.4s, v2.4s"},
	{NOT(0, 1), 0x6e205820, "not v0.16b, v1.16b"},
	{NOT(31, 17), 0x6e205a3f, "not v31.16b, v17.16b"},
	{FCMGTZero(S4, 0, 0), 0x4ea0c800, "fcmgt v0.4s, v0.4s, #0.0"},
	{FCMGTZero(S4, 3, 17), 0x4ea0ca23, "fcmgt v3.4s, v17.4s, #0.0"},
	{FCMGEZero(S4, 3, 17), 0x6ea0ca23, "fcmge v3.4s, v17.4s, #0.0"},
	{FCMEQZero(S2, 3, 17), 0x0ea0da23, "fcmeq v3.2s, v17.2s, #0.0"},
	{FCMLEZero(S4, 3, 17), 0x6ea0da23, "fcmle v3.4s, v17.4s, #0.0"},
	{FCMLTZero(S4, 3, 17), 0x4ea0ea23, "fcmlt v3.4s, v17.4s, #0.0"},
	{FMLAElem(S4, 8, 2, 0, 0), 0x4f801048, "fmla v8.4s, v2.4s, v0.s[0]"},
	{FMLAElem(S4, 31, 4, 1, 3), 0x4fa1189f, "fmla v31.4s, v4.4s, v1.s[3]"},
	{FMLAElem(S4, 9, 3, 17, 2), 0x4f911869, "fmla v9.4s, v3.4s, v17.s[2]"},
	{FMLAElem(D2, 9, 3, 17, 1), 0x4fd11869, "fmla v9.2d, v3.2d, v17.d[1]"},
	{FMLSElem(S4, 8, 2, 0, 1), 0x4fa05048, "fmls v8.4s, v2.4s, v0.s[1]"},
	{FMULElem(S4, 2, 2, 1, 0), 0x4f819042, "fmul v2.4s, v2.4s, v1.s[0]"},
	{FMAXV(S4, 16, 16), 0x6e30fa10, "fmaxv s16, v16.4s"},
	{FMINV(S4, 16, 16), 0x6eb0fa10, "fminv s16, v16.4s"},
	{FADDPScalar(S2, 16, 16), 0x7e30da10, "faddp s16, v16.2s"},
	{FADDPScalar(D2, 1, 2), 0x7e70d841, "faddp d1, v2.2d"},
	{FMAXPScalar(S2, 16, 16), 0x7e30fa10, "fmaxp s16, v16.2s"},
}

func TestKnownEncodings(t *testing.T) {
	for _, c := range knownWords {
		if c.w.Bits != c.bits || c.w.Text != c.text {
			t.Errorf("got %08x %q, want %08x %q", c.w.Bits, c.w.Text, c.bits, c.text)
		}
	}
}

func TestWordString(t *testing.T) {
	got := FADD(S4, 0, 0, 0).String()
	want := "WORD $0x4e20d400 // fadd v0.4s, v0.4s, v0.4s"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// allWords is a sweep over every encoder with operands that exercise each
// register field's high and low bits and every lane index.
func allWords() []Word {
	var ws []Word
	regs := []VReg{0, 1, 7, 8, 15, 16, 17, 30, 31}
	three := []func(Arr, VReg, VReg, VReg) Word{FADD, FSUB, FMUL, FMAX, FMIN, FADDP, FMAXP, FCMGT, FCMEQ}
	two := []func(Arr, VReg, VReg) Word{FCMGTZero, FCMGEZero, FCMEQZero, FCMLEZero, FCMLTZero}
	elem := []func(Arr, VReg, VReg, VReg, int) Word{FMLAElem, FMLSElem, FMULElem}
	for _, a := range []Arr{S2, S4, D2} {
		for i, r := range regs {
			d, n, m := r, regs[(i+3)%len(regs)], regs[(i+5)%len(regs)]
			for _, f := range three {
				ws = append(ws, f(a, d, n, m))
			}
			for _, f := range two {
				ws = append(ws, f(a, d, n))
			}
			for idx := 0; idx < a.Lanes(); idx++ {
				for _, f := range elem {
					ws = append(ws, f(a, d, n, m, idx))
				}
			}
		}
	}
	for i, r := range regs {
		n := regs[(i+4)%len(regs)]
		ws = append(ws, FMAXV(S4, r, n), FMINV(S4, r, n),
			FADDPScalar(S2, r, n), FADDPScalar(D2, r, n), FMAXPScalar(S2, r, n), FMAXPScalar(D2, r, n))
	}
	return ws
}

// TestAgainstGNUAs assembles every Word's text with the GNU cross assembler,
// when it is installed (Debian: binutils-aarch64-linux-gnu), and compares
// the machine code with the computed encodings.
func TestAgainstGNUAs(t *testing.T) {
	as, err1 := exec.LookPath("aarch64-linux-gnu-as")
	objcopy, err2 := exec.LookPath("aarch64-linux-gnu-objcopy")
	if err1 != nil || err2 != nil {
		t.Skip("aarch64-linux-gnu-as/objcopy not installed; the known-encoding table still ran")
	}
	ws := allWords()
	dir := t.TempDir()
	var src strings.Builder
	for _, w := range ws {
		src.WriteString(w.Text + "\n")
	}
	srcPath := filepath.Join(dir, "w.s")
	if err := os.WriteFile(srcPath, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	obj, bin := filepath.Join(dir, "w.o"), filepath.Join(dir, "w.bin")
	if out, err := exec.Command(as, "-o", obj, srcPath).CombinedOutput(); err != nil {
		t.Fatalf("as: %v\n%s", err, out)
	}
	if out, err := exec.Command(objcopy, "-O", "binary", "-j", ".text", obj, bin).CombinedOutput(); err != nil {
		t.Fatalf("objcopy: %v\n%s", err, out)
	}
	code, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != 4*len(ws) {
		t.Fatalf("as produced %d bytes for %d instructions", len(code), len(ws))
	}
	for i, w := range ws {
		if got := binary.LittleEndian.Uint32(code[4*i:]); got != w.Bits {
			t.Errorf("%s: as gives %08x, encoder %08x", w.Text, got, w.Bits)
		}
	}
	t.Logf("%d encodings agree with %s", len(ws), as)
}

func TestEncoderPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"lane 4 of 4s":    func() { FMLAElem(S4, 0, 0, 0, 4) },
		"lane 2 of 2d":    func() { FMLAElem(D2, 0, 0, 0, 2) },
		"fadd 16b":        func() { FADD(B16, 0, 0, 0) },
		"fmaxv 2s":        func() { FMAXV(S2, 0, 0) },
		"v32":             func() { FADD(S4, 32, 0, 0) },
		"scalar faddp 4s": func() { FADDPScalar(S4, 0, 0) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
