package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/convkit/convkit/kernels"
)

// convkit runs the command in-process and returns its exit status and
// outputs.
func convkit(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	st := run(args, &out, &errb)
	return st, out.String(), errb.String()
}

// Short timings for every bench test: they check the contract, not speed.
var quick = []string{"-min-time", "1ms", "-max-time", "20ms", "-peak-time", "2ms", "-quiet"}

func TestGolden(t *testing.T) {
	st, out, errs := convkit(t, "golden", "-dir", "../../testdata/golden")
	if st != 0 {
		t.Errorf("exit %d, want 0 (every case passes); stderr %s", st, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines, want 5 cases + summary:\n%s", len(lines), out)
	}
	want := map[string]string{
		"relu_4d":              "PASS relu_4d relu max_rel_err=0",
		"relu_2d":              "PASS relu_2d relu max_rel_err=0",
		"conv2d_k3_basic":      "PASS conv2d_k3_basic conv2d max_rel_err=", // the error's digits depend on the ISA path
		"cross_entropy_n8_c10": "PASS cross_entropy_n8_c10 cross_entropy max_rel_err=",
		"max_pool1d_k2_s2":     "PASS max_pool1d_k2_s2 max_pool1d max_rel_err=0",
	}
	for _, l := range lines[:5] {
		name := strings.Fields(l)[1]
		if w := want[name]; l != w && !(strings.HasSuffix(w, "=") && strings.HasPrefix(l, w)) {
			t.Errorf("line %q, want %q", l, w)
		}
		delete(want, name)
	}
	if len(want) != 0 {
		t.Errorf("cases missing: %v", want)
	}
	if lines[5] != "5 passed, 0 failed" {
		t.Errorf("last line %q, want %q", lines[5], "5 passed, 0 failed")
	}
	testGoldenFailures(t)

	st, out, _ = convkit(t, "golden", "-dir", "../../testdata/golden", "-run", "^relu")
	if st != 0 || !strings.HasSuffix(out, "\n2 passed, 0 failed\n") {
		t.Errorf("-run ^relu: exit %d\n%s", st, out)
	}
	if st, _, errs := convkit(t, "golden", "-dir", t.TempDir()); st != 1 || !strings.Contains(errs, "manifest.json") {
		t.Errorf("empty dir: exit %d, stderr %q", st, errs)
	}
	if st, _, errs := convkit(t, "golden"); st != 2 || !strings.Contains(errs, "-dir is required") {
		t.Errorf("no -dir: exit %d, stderr %q", st, errs)
	}
}

func TestBenchGemmTSV(t *testing.T) {
	args := append([]string{"bench", "gemm", "-shapes", "testdata/tiny_gemm.tsv", "-format", "tsv", "-threads", "1"}, quick...)
	st, out, errs := convkit(t, args...)
	if st != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", st, out, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	header := strings.Split(lines[0], "\t")
	for _, c := range []string{"name", "isa", "threads", "median_ms", "gflops", "pct_peak", "max_rel_err", "status"} {
		if !slices.Contains(header, c) {
			t.Errorf("header %q lacks %s", lines[0], c)
		}
	}
	// 4 shapes x (bound ISA + gonum peer).
	if len(lines) != 1+4*2 {
		t.Fatalf("%d lines, want 9:\n%s", len(lines), out)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	peers := 0
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		if len(f) != len(header) {
			t.Errorf("row %q: %d fields, header %d", l, len(f), len(header))
			continue
		}
		if f[col["status"]] != "ok" || f[col["threads"]] != "1" || f[col["gflops"]] == "" || f[col["max_rel_err"]] == "" {
			t.Errorf("row %q", l)
		}
		if f[col["isa"]] == "gonum" {
			peers++
		}
	}
	if peers != 4 {
		t.Errorf("%d gonum rows, want 4", peers)
	}

	args = append([]string{"bench", "gemm", "-shapes", "testdata/tiny_gemm.tsv", "-format", "json", "-threads", "1,2", "-isa", "all", "-peers=false"}, quick...)
	st, out, _ = convkit(t, args...)
	var rep struct {
		Gemm  []map[string]any
		Peaks []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &rep); st != 0 || err != nil {
		t.Fatalf("json: exit %d, %v\n%s", st, err, out)
	}
	if len(rep.Gemm) != 4*2*countAvailable() || len(rep.Peaks) != 2*countAvailable() {
		t.Errorf("json: %d rows, %d peaks", len(rep.Gemm), len(rep.Peaks))
	}
}

func TestBenchConv(t *testing.T) {
	args := append([]string{"bench", "conv", "-shapes", "testdata/tiny_conv.tsv", "-format", "tsv", "-threads", "1", "-algo", "auto,direct", "-verify"}, quick...)
	st, out, errs := convkit(t, args...)
	if st != 0 {
		t.Fatalf("exit %d\n%s\n%s", st, out, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if lines[0] != "name\tpass\tlayout\talgo\tisa\tthreads\truns\tmedian_ms\tgflops\tpct_peak\tgbps\tmax_rel_err\tstatus" {
		t.Errorf("header %q", lines[0])
	}
	if len(lines) != 1+3*3*2 {
		t.Fatalf("%d lines, want 19:\n%s", len(lines), out)
	}
	if n := strings.Count(out, "\tdirect\t"); n != 9 || strings.Count(out, "\tfwd\tnchw\tdirect\t") != 3 || strings.Count(out, "\tok\n") < 12 {
		t.Errorf("%d direct rows, want 9 (most of them verified)", n)
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		status := f[len(f)-1]
		switch f[3] {
		case "auto:im2col", "auto:direct", "auto:fft": // auto runs the engine's choice, verified (fft where the path's direct is slow: NEON under qemu)
			if status != "ok" || f[8] == "" || f[10] == "" || f[2] != "nchw" {
				t.Errorf("row %q: want numbers and max_rel_err", l)
			}
		case "direct": // verified where it applies, else declined with the reason
			if status != "ok" && !strings.HasPrefix(status, "unsupported: ") || status == "ok" && f[10] == "" {
				t.Errorf("row %q: status %q", l, status)
			}
		default:
			t.Errorf("row %q: algo %q", l, f[3])
		}
	}
	args = append([]string{"bench", "conv", "-shapes", "testdata/tiny_conv.tsv", "-pass", "fwd", "-threads", "1"}, quick...)
	st, out, _ = convkit(t, args...)
	if st != 0 || strings.Count(out, "auto:im2col")+strings.Count(out, "auto:direct")+strings.Count(out, "auto:fft") != 3 || !strings.Contains(out, "Convolution") {
		t.Errorf("table: exit %d\n%s", st, out)
	}
	// Channels-last runs the same rows in nhwc, verified.
	args = append([]string{"bench", "conv", "-shapes", "testdata/tiny_conv.tsv", "-format", "tsv", "-threads", "1", "-algo", "im2col", "-layout", "nhwc", "-verify"}, quick...)
	st, out, _ = convkit(t, args...)
	if st != 0 || strings.Count(out, "\tnhwc\tim2col\t") != 9 || strings.Count(out, "\tok\n") != 9 {
		t.Errorf("-layout nhwc: exit %d\n%s", st, out)
	}
}

// TestBenchFFT runs bench fft on two sizes: a row per implementation,
// kind and size (the lane rows 1D only), fft_bench.c's size names.
func TestBenchFFT(t *testing.T) {
	st, out, errs := convkit(t, "bench", "fft", "-sizes", "96,8x12", "-kind", "r2c,c2c", "-format", "tsv", "-min-time", "1ms", "-max-time", "20ms", "-quiet")
	if st != 0 {
		t.Fatalf("exit %d: %s", st, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "name\tkind\tsize\tisa\tthreads\truns\tmedian_us\tmflops\tstatus" {
		t.Fatalf("header %q", lines[0])
	}
	// The convkit rows name the path their plan ran: the generated
	// kernels where the lengths split into whole vectors (NEON's four
	// lanes do 96 and 8x12; AVX2's and AVX-512's do not), else go.
	for _, want := range []string{"convkit\tr2c\t96\t", "convkit-lanes\tc2c\t96\t", "gonum\tr2c\t96\tgonum", "convkit\tc2c\t8x12\t"} {
		if !strings.Contains(out, want) {
			t.Errorf("no row %q in\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\tok\n"); n != 2*(3+1) {
		t.Errorf("%d ok rows, want 8:\n%s", n, out)
	}
}

func TestBenchErrors(t *testing.T) {
	cases := []struct {
		args []string
		st   int
		msg  string
	}{
		{[]string{"bench", "dft"}, 2, `unknown subcommand "dft"`},
		{[]string{"bench", "fft", "-sizes", "12x"}, 2, `-sizes: size "12x"`},
		{[]string{"bench", "fft", "-kind", "r2r"}, 2, `-kind: kind "r2r"`},
		{[]string{"bench", "fft", "-format", "xml"}, 2, `-format "xml"`},
		{[]string{"bench", "gemm", "-bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"bench", "gemm", "-format", "xml"}, 2, `-format "xml"`},
		{[]string{"bench", "gemm", "-threads", "0"}, 2, "-threads"},
		{[]string{"bench", "gemm", "-isa", "sse9"}, 2, "unknown ISA"},
		{[]string{"bench", "conv", "-algo", "magic"}, 2, `unknown algorithm "magic"`},
		{[]string{"bench", "conv", "-layout", "nchwc"}, 2, `-layout: "nchwc": want nchw, nhwc, blocked`},
		{[]string{"golden", "-dir", ".", "-algo", "magic"}, 2, `-algo`},
		{[]string{"bench", "conv", "-pass", "sideways"}, 2, `unknown pass "sideways"`},
		{[]string{"bench", "conv", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"bench", "gemm", "-shapes", "testdata/nope.tsv"}, 1, "nope.tsv"},
		{[]string{"bench", "gemm", "-shapes", "testdata/tiny_conv.tsv"}, 1, "testdata/tiny_conv.tsv:2: header: missing column"},
		{[]string{"bench", "-shapes", "x"}, 2, "flag provided but not defined: -shapes"},
	}
	for _, c := range cases {
		st, _, errs := convkit(t, c.args...)
		if st != c.st || !strings.Contains(errs, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, st, errs, c.st, c.msg)
		}
	}
}

func TestInfo(t *testing.T) {
	st, out, errs := convkit(t, "info", "-peak-time", "2ms")
	if st != 0 {
		t.Fatalf("exit %d: %s", st, errs)
	}
	for _, s := range []string{"CPU", "Features", "AVX2=", "NEON=", "Caches", "Logical CPUs", "ISA paths", "Bound path",
		"Vec.Axpy", "Vec.Relu", "Gemm.Micro (", "Peak", "FMA peak", "generic"} {
		if !strings.Contains(out, s) {
			t.Errorf("info lacks %q:\n%s", s, out)
		}
	}
	st, out, _ = convkit(t, "info", "-format", "json", "-peak=false")
	var in Info
	if err := json.Unmarshal([]byte(out), &in); st != 0 || err != nil {
		t.Fatalf("json: exit %d %v\n%s", st, err, out)
	}
	if in.LogicalCPUs < 1 || len(in.Available) == 0 || in.Bound == "" || len(in.Kernels) < 10 || len(in.Peaks) != 0 {
		t.Errorf("json info: %+v", in)
	}
	for _, k := range in.Kernels {
		if k.Func == "" || k.Func == "(nil)" {
			t.Errorf("kernel %s bound to %q", k.Primitive, k.Func)
		}
	}
	if st, _, _ := convkit(t, "info", "-format", "tsv"); st != 2 {
		t.Errorf("info -format tsv: exit %d, want 2", st)
	}
}

func TestUsage(t *testing.T) {
	st, out, _ := convkit(t, "help")
	if st != 0 {
		t.Errorf("help: exit %d", st)
	}
	for _, s := range []string{"convkit info", "convkit bench ", "convkit bench gemm", "convkit bench conv", "convkit golden",
		"-shapes", "-threads", "-isa", "-format", "-algo", "-pass", "-verify", "-peers", "-dir"} {
		if !strings.Contains(out, s) {
			t.Errorf("usage lacks %q", s)
		}
	}
	if st, out2, _ := convkit(t, "-h"); st != 0 || out2 != out {
		t.Errorf("-h: exit %d, differs from help", st)
	}
	if st, out, _ := convkit(t, "bench", "gemm", "-h"); st != 0 || !strings.Contains(out, "convkit bench gemm") || !strings.Contains(out, "-peers") {
		t.Errorf("bench gemm -h: exit %d\n%s", st, out)
	}
	if st, out, _ := convkit(t, "help", "golden"); st != 0 || !strings.Contains(out, "-dir") {
		t.Errorf("help golden: exit %d\n%s", st, out)
	}
	for _, args := range [][]string{{}, {"frobnicate"}, {"help", "frobnicate"}, {"info", "-x"}} {
		if st, _, errs := convkit(t, args...); st != 2 || !strings.Contains(errs, "Usage") {
			t.Errorf("%v: exit %d, stderr %q", args, st, errs)
		}
	}
}

func countAvailable() int { return len(kernels.Available()) }

// testGoldenFailures runs a directory with a case of an op convkit does
// not have and a case whose stored output is wrong: both fail, the exit
// status is 1.
func testGoldenFailures(t *testing.T) {
	dir := t.TempDir()
	m, err := os.ReadFile("../../testdata/golden/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var man map[string]any
	if err := json.Unmarshal(m, &man); err != nil {
		t.Fatal(err)
	}
	var relu map[string]any
	for _, c := range man["cases"].([]any) {
		if c.(map[string]any)["name"] == "relu_4d" {
			relu = c.(map[string]any)
		}
	}
	for _, f := range []string{"x", "y", "dx", "dy"} {
		b, err := os.ReadFile("../../testdata/golden/relu_4d." + f + ".bin")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "relu_4d."+f+".bin"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	clone := func(name, op string) map[string]any {
		b, _ := json.Marshal(relu)
		var c map[string]any
		json.Unmarshal(b, &c)
		c["name"], c["op"] = name, op
		return c
	}
	gelu := clone("gelu_4d", "gelu")
	wrong := clone("relu_wrong", "relu")
	y := wrong["tensors"].(map[string]any)["y"].(map[string]any)
	y["file"], y["sha256"], y["dtype"] = "relu_4d.x.bin", "", "f32" // x is not relu(x)
	man["cases"] = []any{relu, gelu, wrong}
	man["num_cases"] = 3
	b, _ := json.Marshal(man)
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	st, out, errs := convkit(t, "golden", "-dir", dir)
	if st != 1 {
		t.Errorf("failing cases: exit %d, want 1; stderr %s", st, errs)
	}
	for _, w := range []string{"PASS relu_4d relu", "FAIL gelu_4d gelu max_rel_err=NaN reason=not implemented: op gelu", "FAIL relu_wrong relu", "1 passed, 2 failed"} {
		if !strings.Contains(out, w) {
			t.Errorf("failing cases: output lacks %q:\n%s", w, out)
		}
	}
}

// TestMnist trains for an epoch on a few images: the output lines, the
// checkpoint (and resuming from it) and the filters' PNG.
func TestMnist(t *testing.T) {
	dir := t.TempDir()
	ckpt, png := filepath.Join(dir, "lenet.safetensors"), filepath.Join(dir, "filters.png")
	args := []string{"mnist", "-quiet", "-limit", "640", "-val", "500", "-epochs", "2", "-save", ckpt}
	st, out, errs := convkit(t, append(args[:len(args):len(args)], "-epochs", "1", "-filters", png)...)
	if st != 0 {
		t.Fatalf("exit %d; stderr %s", st, errs)
	}
	if !regexp.MustCompile(`(?m)^epoch 1: train [0-9.]+ s \([0-9]+ images/s\), loss [0-9.]+, val accuracy [0-9.]+%, test accuracy [0-9.]+%$`).MatchString(out) {
		t.Errorf("no epoch line in\n%s", out)
	}
	for _, f := range []string{ckpt, png} {
		if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	st, out, errs = convkit(t, append(args, "-load", ckpt)...)
	if st != 0 {
		t.Fatalf("resume: exit %d; stderr %s", st, errs)
	}
	if !strings.Contains(out, "resumed from "+ckpt+" after epoch 1") || !strings.Contains(out, "\nepoch 2: ") || strings.Contains(out, "\nepoch 1: ") {
		t.Errorf("resume: output\n%s", out)
	}
	if st, _, errs := convkit(t, "mnist", "-val", "70000"); st != 2 {
		t.Errorf("-val 70000: exit %d, want 2; stderr %s", st, errs)
	}
}
