package kernels

import (
	"errors"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// funcPtr is the code address of a func value: two func values bind the
// same kernel exactly when their addresses are equal.
func funcPtr(f any) uintptr { return reflect.ValueOf(f).Pointer() }

// tableFuncs lists the kernels of t by field name ("Vec.Axpy", ..., "Peak").
func tableFuncs(t *Table) map[string]uintptr {
	m := map[string]uintptr{"Peak": funcPtr(t.Peak)}
	v := reflect.ValueOf(t.Vec)
	for i := 0; i < v.NumField(); i++ {
		m["Vec."+v.Type().Field(i).Name] = v.Field(i).Pointer()
	}
	return m
}

// checkBound checks that the bound table is the one TableFor gives for isa,
// with no kernel missing.
func checkBound(t *testing.T, isa ISA) {
	t.Helper()
	if Current() != isa {
		t.Errorf("Current() = %v, want %v", Current(), isa)
	}
	want, err := TableFor(isa)
	if err != nil {
		t.Fatal(err)
	}
	if Bound() != want {
		t.Errorf("%v: Bound() is not the table of TableFor(%v)", isa, isa)
	}
	for name, p := range tableFuncs(want) {
		if p == 0 {
			t.Errorf("%v: %s is nil", isa, name)
		}
	}
	if want.Gemm.Micro == nil || want.Gemm.MR < 1 || want.Gemm.NR < 1 {
		t.Errorf("%v: Gemm %dx%d, Micro nil: %v", isa, want.Gemm.MR, want.Gemm.NR, want.Gemm.Micro == nil)
	}
}

// TestUseBinds checks that Use rebinds every kernel to the path's table,
// and that no two paths share a vector kernel (a path that silently fell
// back to another would pass every comparison test without testing asm).
func TestUseBinds(t *testing.T) {
	orig := Current()
	defer func() {
		if err := Use(orig); err != nil {
			t.Fatal(err)
		}
	}()
	avail := Available()
	for _, isa := range avail {
		if err := Use(isa); err != nil {
			t.Fatalf("Use(%v): %v", isa, err)
		}
		checkBound(t, isa)
	}
	for i, a := range avail {
		ta, _ := TableFor(a)
		fa := tableFuncs(ta)
		for _, b := range avail[i+1:] {
			tb, _ := TableFor(b)
			for name, p := range tableFuncs(tb) {
				if fa[name] == p {
					t.Errorf("%v and %v share %s", a, b, name)
				}
			}
		}
	}
}

func TestUseUnsupported(t *testing.T) {
	orig := Current()
	for i := ISA(-1); i <= numISA; i++ {
		if Supported(i) {
			continue
		}
		if err := Use(i); err == nil {
			t.Errorf("Use(%v) succeeded on a host that cannot run it", i)
		}
		if _, err := TableFor(i); err == nil {
			t.Errorf("TableFor(%v) succeeded on a host that cannot run it", i)
		}
		if Current() != orig {
			t.Fatalf("failed Use(%v) changed the binding to %v", i, Current())
		}
	}
}

// envWant tells TestEnvISAChild, run in a child process, which path
// CONVKIT_ISA asked for.
const envWant = "CONVKIT_TEST_WANT_ISA"

func TestEnvISAChild(t *testing.T) {
	want := os.Getenv(envWant)
	if want == "" {
		t.Skip("run by TestEnvISA in a child process")
	}
	isa, err := ParseISA(want)
	if err != nil {
		t.Fatal(err)
	}
	checkBound(t, isa)
}

// runChild runs this test binary's TestEnvISAChild with CONVKIT_ISA=value.
func runChild(t *testing.T, value string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestEnvISAChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), EnvISA+"="+value, envWant+"="+value)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Skipf("cannot re-run the test binary (%v)", err)
	}
	return string(out), err
}

// TestEnvISA starts this test binary again with CONVKIT_ISA set to every
// path the host runs (each must be bound at start-up), and to paths it
// cannot run or does not know (start-up must fail naming the variable).
func TestEnvISA(t *testing.T) {
	for _, isa := range Available() {
		for _, name := range []string{isa.String(), strings.ToUpper(isa.String())} {
			out, err := runChild(t, name)
			if err != nil || !strings.Contains(out, "--- PASS: TestEnvISAChild") {
				t.Errorf("%s=%s: %v\n%s", EnvISA, name, err, out)
			}
		}
	}
	bad := []string{"bogus"}
	for i := Generic; i < numISA; i++ {
		if !Supported(i) {
			bad = append(bad, i.String())
		}
	}
	for _, name := range bad {
		out, err := runChild(t, name)
		if err == nil || !strings.Contains(out, EnvISA) {
			t.Errorf("%s=%s: want a start-up failure naming %s, got err=%v\n%s", EnvISA, name, EnvISA, err, out)
		}
	}
}
