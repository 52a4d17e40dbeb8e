package golden

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const testDir = "../testdata/golden"

func TestOpen(t *testing.T) {
	m, err := Open(testDir)
	if err != nil {
		t.Fatal(err)
	}
	if m.FormatVersion != 1 || m.Set != "public" || m.NumCases != 5 || len(m.Cases) != 5 {
		t.Fatalf("manifest: %+v", m)
	}
	if err := m.Verify(); err != nil {
		t.Fatal(err)
	}
	c := m.Case("relu_4d")
	if c == nil || c.Op != "relu" {
		t.Fatalf("relu_4d: %+v", c)
	}
	if got := c.TensorNames(); !slices.Equal(got, []string{"dx", "dy", "x", "y"}) {
		t.Errorf("relu_4d tensors %v", got)
	}
	if got := c.Outputs(); !slices.Equal(got, []string{"dx", "y"}) {
		t.Errorf("relu_4d outputs %v", got)
	}
	x, err := c.Float32("x")
	if err != nil || len(x) != 2*3*9*11 || !slices.Equal(c.Shape("x"), []int{2, 3, 9, 11}) {
		t.Fatalf("x: %d values, %v", len(x), err)
	}
	y, err := c.Float64("y")
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if want := math.Max(float64(x[i]), 0); y[i] != want {
			t.Fatalf("y[%d] = %v, relu(x) = %v", i, y[i], want)
		}
	}
	if _, err := c.Int64("x"); err == nil {
		t.Error("Int64 of an f32 tensor: no error")
	}
	if _, err := c.Float64("nope"); err == nil || !strings.Contains(err.Error(), `no tensor "nope"`) {
		t.Errorf("missing tensor: %v", err)
	}

	ce := m.Case("cross_entropy_n8_c10")
	target, err := ce.Int64("target")
	if err != nil || len(target) != 8 {
		t.Fatalf("target: %v %v", target, err)
	}
	for _, v := range target {
		if v < 0 || v >= 10 {
			t.Errorf("target value %d outside [0,10)", v)
		}
	}
	loss, err := ce.Float64("y")
	if err != nil || len(loss) != 1 || len(ce.Shape("y")) != 0 {
		t.Errorf("scalar y: %v %v shape %v", loss, err, ce.Shape("y"))
	}
	var classes int
	var red string
	if err := ce.Param("num_classes", &classes); err != nil || classes != 10 {
		t.Errorf("num_classes = %d, %v", classes, err)
	}
	if err := ce.Param("reduction", &red); err != nil || (red != "mean" && red != "sum") {
		t.Errorf("reduction = %q, %v", red, err)
	}
	if err := ce.Param("missing", &red); err == nil {
		t.Error("missing param: no error")
	}
	idx, err := m.Case("max_pool1d_k2_s2").Int64("indices")
	if err != nil || len(idx) == 0 {
		t.Errorf("indices: %v", err)
	}
}

// copyCase writes a one-case golden directory holding case name from
// testDir and returns it with the manifest.
func copyCase(t *testing.T, name string) (string, map[string]any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keep []any
	for _, c := range m["cases"].([]any) {
		if c.(map[string]any)["name"] == name {
			keep = append(keep, c)
		}
	}
	m["cases"], m["num_cases"] = keep, 1
	dir := t.TempDir()
	for _, tn := range keep[0].(map[string]any)["tensors"].(map[string]any) {
		f := tn.(map[string]any)["file"].(string)
		data, err := os.ReadFile(filepath.Join(testDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeManifest(t, dir, m)
	return dir, m
}

func writeManifest(t *testing.T, dir string, m map[string]any) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestChecksumsAndSizes(t *testing.T) {
	dir, _ := copyCase(t, "relu_4d")
	m, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(); err != nil {
		t.Fatal(err)
	}
	// One flipped byte: the sha256 check catches it.
	p := filepath.Join(dir, "relu_4d.x.bin")
	data, _ := os.ReadFile(p)
	data[5] ^= 1
	os.WriteFile(p, data, 0o644)
	if _, err := m.Cases[0].Float32("x"); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("corrupted file: %v", err)
	}
	Register("test_load_x", func(c *Case) (map[string][]float64, error) {
		_, err := c.Float32("x")
		return nil, err
	})
	m.Cases[0].Op = "test_load_x"
	if r := Check(m.Cases[0]); r.Pass || !strings.Contains(r.Reason, "sha256") {
		t.Errorf("Check of a corrupted case: %v", r)
	}
	// A truncated file: the size check catches it.
	os.WriteFile(p, data[:len(data)-4], 0o644)
	if _, err := m.Cases[0].Float32("x"); err == nil || !strings.Contains(err.Error(), "bytes, want") {
		t.Errorf("truncated file: %v", err)
	}
	if err := m.Verify(); err == nil {
		t.Error("Verify of a truncated file: no error")
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(t.TempDir()); err == nil {
		t.Error("Open of a directory without manifest: no error")
	}
	mutate := []struct {
		f    func(m map[string]any)
		want string
	}{
		{func(m map[string]any) { m["format_version"] = 2 }, "format_version 2"},
		{func(m map[string]any) { m["num_cases"] = 3 }, "num_cases 3 but 1 cases"},
		{func(m map[string]any) { tensor(m, "x")["dtype"] = "f16" }, `unknown dtype "f16"`},
		{func(m map[string]any) { tensor(m, "x")["role"] = "both" }, `unknown role "both"`},
		{func(m map[string]any) { tensor(m, "x")["file"] = "../x.bin" }, `bad file name`},
		{func(m map[string]any) { tensor(m, "x")["shape"] = []int{2, -1} }, `negative dimension in shape [2 -1]`},
		// 1<<32 x 1<<32 elements wrap to 0, which an empty file would match.
		{func(m map[string]any) { tensor(m, "x")["shape"] = []int{1 << 32, 1 << 32} }, `shape [4294967296 4294967296] has more than math.MaxInt bytes`},
		{func(m map[string]any) { tensor(m, "x")["shape"] = []int{1 << 31, 1 << 30} }, `shape [2147483648 1073741824] has more than math.MaxInt bytes of f32`},
	}
	for _, c := range mutate {
		dir, m := copyCase(t, "relu_2d")
		c.f(m)
		writeManifest(t, dir, m)
		if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

func tensor(m map[string]any, name string) map[string]any {
	return m["cases"].([]any)[0].(map[string]any)["tensors"].(map[string]any)[name].(map[string]any)
}

func TestRelErr(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		y, ref []float64
		want   float64
	}{
		{[]float64{1, 2}, []float64{1, 2}, 0},
		{[]float64{3, 4}, []float64{0, 0}, 5}, // all-zero reference: absolute
		{[]float64{1, 1}, []float64{1, 0}, 1},
		{[]float64{nan, 1}, []float64{nan, 1}, 0},
		{[]float64{inf, 1}, []float64{inf, 1}, 0},
		{[]float64{nan, 1}, []float64{0, 1}, nan},
		{[]float64{0, 1}, []float64{nan, 1}, nan},
		{[]float64{-inf, 1}, []float64{inf, 1}, nan},
	}
	for _, c := range cases {
		got := RelErr(c.y, c.ref)
		if !(got == c.want || math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("RelErr(%v, %v) = %v, want %v", c.y, c.ref, got, c.want)
		}
	}
	if got := RelErr([]float64{3, 4.0001}, []float64{3, 4}); math.Abs(got-1e-4/5) > 1e-12 {
		t.Errorf("RelErr = %v, want 2e-5", got)
	}
}

func TestCheck(t *testing.T) {
	m, err := Open(testDir)
	if err != nil {
		t.Fatal(err)
	}
	c := m.Case("conv2d_k3_basic")
	r := Check(c)
	if r.Pass || r.Reason != "not implemented: op conv2d" || !math.IsNaN(r.MaxRelErr) {
		t.Errorf("unregistered op: %+v", r)
	}
	if got, want := r.String(), "FAIL conv2d_k3_basic conv2d max_rel_err=NaN reason=not implemented: op conv2d"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}

	// A fake implementation of the op under a test-only name, driven by
	// the case's stored outputs.
	var mode string
	const op = "test_conv2d"
	Register(op, func(c *Case) (map[string][]float64, error) {
		out := map[string][]float64{}
		for _, n := range c.Outputs() {
			v, err := c.Float64(n)
			if err != nil {
				return nil, err
			}
			out[n] = v
		}
		switch mode {
		case "small":
			out["y"][0] *= 1 + 1e-9
		case "big":
			out["dw"][0] += 1
		case "nan":
			out["db"][1] = math.NaN()
		case "missing":
			delete(out, "dx")
		case "extra":
			out["x"] = nil
		case "short":
			out["y"] = out["y"][1:]
		case "panic":
			panic("boom")
		}
		return out, nil
	}, WithTolerance(1e-6))
	if tol, ok := Tolerance(op); !ok || tol != 1e-6 {
		t.Errorf("Tolerance = %v, %v", tol, ok)
	}
	if !slices.Contains(Registered(), op) {
		t.Errorf("Registered() = %v", Registered())
	}
	c.Op = op
	defer func() { c.Op = "conv2d" }()
	for _, tc := range []struct{ mode, reason string }{
		{"", ""},
		{"small", ""},
		{"big", "output dw: relative error"},
		{"nan", "output db: NaN"},
		{"missing", "output dx not computed"},
		{"extra", `eval returned "x"`},
		{"short", "output y has 143 elements, want 144"},
		{"panic", "panic: boom"},
	} {
		mode = tc.mode
		r := Check(c)
		if r.Pass != (tc.reason == "") || !strings.HasPrefix(r.Reason, tc.reason) {
			t.Errorf("mode %q: %+v, want reason %q", tc.mode, r, tc.reason)
		}
		if r.Pass && !strings.HasPrefix(r.String(), "PASS conv2d_k3_basic test_conv2d max_rel_err=") {
			t.Errorf("mode %q: line %q", tc.mode, r)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("second Register of an op: no panic")
			}
		}()
		Register(op, nil)
	}()
	if p, f := Summary([]Result{{Pass: true}, {}, {}}); p != 1 || f != 2 {
		t.Errorf("Summary = %d, %d", p, f)
	}
}
