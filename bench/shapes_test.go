package bench

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestDefaultShapesParse(t *testing.T) {
	g := DefaultGemmShapes()
	if len(g) != 12 {
		t.Fatalf("DefaultGemmShapes: %d shapes, want 12", len(g))
	}
	want := GemmShape{Name: "fc_batch64", M: 64, N: 1000, K: 4096, TransB: true}
	var got GemmShape
	for _, s := range g {
		if s.Name == want.Name {
			got = s
		}
	}
	got.Source = ""
	if got != want {
		t.Errorf("fc_batch64 = %+v, want %+v", got, want)
	}
	c := DefaultConvShapes()
	if len(c) != 21 {
		t.Fatalf("DefaultConvShapes: %d shapes, want 21", len(c))
	}
	dims := map[int]int{}
	transposed := 0
	for _, s := range c {
		dims[s.Dims()]++
		if s.Transposed {
			transposed++
		}
	}
	if dims[1] != 3 || dims[2] != 17 || dims[3] != 1 || transposed != 1 {
		t.Errorf("dims %v, transposed %d: want 3 1D, 17 2D, 1 3D, 1 transposed", dims, transposed)
	}
}

// The embedded files are the public ones; when the shared copy is
// present, they must not have drifted apart.
func TestDefaultShapesMatchShared(t *testing.T) {
	for _, f := range []string{"gemm_shapes.tsv", "conv_shapes.tsv"} {
		shared, err := os.ReadFile("../../shared/bench/" + f)
		if err != nil {
			t.Skip("no shared copy:", err)
		}
		ours, err := shapeFiles.ReadFile("shapes/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if string(shared) != string(ours) {
			t.Errorf("bench/shapes/%s differs from ../shared/bench/%s", f, f)
		}
	}
}

func convByName(t *testing.T, name string) ConvShape {
	t.Helper()
	for _, s := range DefaultConvShapes() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no conv shape %q", name)
	return ConvShape{}
}

// Output sizes and FLOPs, computed by hand from PyTorch's formulas.
func TestConvOutAndFLOPs(t *testing.T) {
	cases := []struct {
		name  string
		out   []int
		flops float64
	}{
		// (224 + 2*3 - 1*(7-1) - 1)/2 + 1 = 112; 2*1*64*3*112*112*49.
		{"resnet_stem_7x7s2", []int{112, 112}, 2 * 64 * 3 * 112 * 112 * 49},
		// (227 - 11)/4 + 1 = 55.
		{"alexnet_11x11s4", []int{55, 55}, 2 * 96 * 3 * 55 * 55 * 121},
		// Depthwise: C/groups = 1.
		{"mobilenet_dw3x3_c256", []int{56, 56}, 2 * 256 * 1 * 56 * 56 * 9},
		// (16000 - 8*(2-1) - 1)/1 + 1 = 15992.
		{"wavenet_1d_k2_d8_c64", []int{15992}, 2 * 64 * 64 * 15992 * 2},
		// (64 + 8 - 4*2 - 1) + 1 = 64.
		{"dilated_3x3_d4_c64", []int{64, 64}, 2 * 64 * 64 * 64 * 64 * 9},
		{"volume_3d_3x3x3_c16", []int{32, 32, 32}, 2 * 32 * 16 * 32 * 32 * 32 * 27},
		{"lenet_5x5_c6", []int{10, 10}, 2 * 64 * 16 * 6 * 10 * 10 * 25},
		// Transposed: (28-1)*2 - 0 + 1*(2-1) + 1 = 56; counted as the
		// adjoint convolution 56x56x64 -> 28x28x128: 2*N*C*(K/g)*prod(in)*prod(f).
		{"unet_upconv_2x2s2_c128", []int{56, 56}, 2 * 128 * 64 * 28 * 28 * 4},
	}
	for _, c := range cases {
		s := convByName(t, c.name)
		if got := s.OutSpatial(); !slices.Equal(got, c.out) {
			t.Errorf("%s: OutSpatial = %v, want %v", c.name, got, c.out)
		}
		if got := s.FLOPs(); got != c.flops {
			t.Errorf("%s: FLOPs = %v, want %v", c.name, got, c.flops)
		}
	}
	if got, want := convByName(t, "resnet_stem_7x7s2").String(), "N=1 C=3 224x224 K=64 f=7x7 s=2 p=3 d=1 g=1 -> 112x112"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	g := GemmShape{M: 3, N: 5, K: 7}
	if g.FLOPs() != 210 {
		t.Errorf("GemmShape FLOPs = %v, want 210", g.FLOPs())
	}
}

func TestParseErrors(t *testing.T) {
	const gh = "name\tM\tN\tK\ttransA\ttransB\n"
	const ch = "name\tN\tC\tspatial\tK\tfilter\tstride\tpad\tdilation\tgroups\ttransposed\n"
	cases := []struct {
		conv bool
		text string
		want string
	}{
		{false, "", "x.tsv: no header row"},
		{false, "# only a comment\n", "x.tsv: no header row"},
		{false, gh, "x.tsv: no shapes"},
		{false, "name\tM\tN\tK\ttransA\n", "x.tsv:1: header: missing column \"transB\""},
		{false, "name\tM\tN\tK\ttransA\ttransB\textra\n", "x.tsv:1: header: unknown column \"extra\""},
		{false, "name\tM\tM\tK\ttransA\ttransB\n", "x.tsv:1: header: column \"M\" appears twice"},
		{false, "# c\n" + gh + "a\t1\t2\t3\t0\n", "x.tsv:3: 5 tab-separated fields, the header has 6"},
		{false, gh + "a\t1\tz\t3\t0\t0\n", "x.tsv:2: column N: \"z\" is not an integer"},
		{false, gh + "a\t1\t0\t3\t0\t0\n", "x.tsv:2: column N: 0 < 1"},
		{false, gh + "a\t1\t2\t3\t2\t0\n", "x.tsv:2: column transA: \"2\" is not 0 or 1"},
		{false, gh + "a\t1\t2\t3\t0\t0\n\n# gap\na\t1\t2\t3\t0\t0\n", "x.tsv:5: name \"a\" already used on line 2"},
		{false, gh + "a\t1\t\t3\t0\t0\n", "x.tsv:2: field 3 is empty"},
		{true, ch + "a\t1\t3\t8x8\t4\t3\t1\t0\t1\t1\t0\n", "x.tsv:2: filter \"3\" has 1 dimensions, spatial \"8x8\" has 2"},
		{true, ch + "a\t1\t3\t8x8x8x8\t4\t3x3x3x3\t1\t0\t1\t1\t0\n", "x.tsv:2: column spatial: \"8x8x8x8\" has 4 dimensions, at most 3"},
		{true, ch + "a\t1\t3\t8xq\t4\t3x3\t1\t0\t1\t1\t0\n", "x.tsv:2: column spatial: \"8xq\" is not an 'x'-separated list"},
		{true, ch + "a\t1\t3\t8x8\t4\t3x3\t1\t-1\t1\t1\t0\n", "x.tsv:2: column pad: -1 < 0"},
		{true, ch + "a\t1\t3\t8x8\t4\t3x3\t1\t0\t1\t2\t0\n", "x.tsv:2: groups 2 does not divide C 3 and K 4"},
		{true, ch + "a\t1\t3\t2x8\t4\t3x3\t1\t0\t1\t1\t0\n", "x.tsv:2: output size 0 < 1 in spatial dimension 0"},
		{true, ch + "a\t1\t3\t8x8\t4\t3x3\t0\t0\t1\t1\t0\n", "x.tsv:2: column stride: 0 < 1"},
		// Sizes whose products overflow int.
		{false, gh + "a\t4294967296\t4294967296\t1\t0\t0\n", "x.tsv:2: C is 4294967296x4294967296 float32s: more than math.MaxInt bytes"},
		{false, gh + "a\t2305843009213693952\t1\t1\t1\t0\n", "x.tsv:2: A is 2305843009213693952x1 float32s: more than math.MaxInt bytes"},
		{true, ch + "a\t1\t3\t8x8\t4\t3x3\t1\t4611686018427387904\t1\t1\t0\n",
			"x.tsv:2: spatial dimension 0: input 8, filter 3, stride 1, pad 4611686018427387904, dilation 1: the output size overflows int"},
		{true, ch + "a\t1\t3\t8x8\t4\t1x3\t1\t0\t9223372036854775807\t1\t0\n", "x.tsv:2: spatial dimension 1: input 8, filter 3"},
		{true, ch + "a\t1\t3\t8x4611686018427387904\t4\t3x3\t4\t0\t1\t1\t1\n", "x.tsv:2: spatial dimension 1: input 4611686018427387904, filter 3, stride 4"},
		{true, ch + "a\t1099511627776\t1073741824\t1x1\t4\t1x1\t1\t0\t1\t1\t0\n", "x.tsv:2: x is 1099511627776x1073741824x1x1 float32s: more than math.MaxInt bytes"},
		{true, ch + "a\t1\t2147483648\t1\t2147483648\t1\t1\t0\t1\t1\t0\n", "x.tsv:2: w is 2147483648x2147483648x1 float32s"},
	}
	for _, c := range cases {
		var err error
		if c.conv {
			_, err = ParseConvShapes("x.tsv", strings.NewReader(c.text))
		} else {
			_, err = ParseGemmShapes("x.tsv", strings.NewReader(c.text))
		}
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("parse %q:\n got  %v\n want %s...", c.text, err, c.want)
		}
	}
}

func TestParseVariants(t *testing.T) {
	// Columns in another order, CRLF line ends, comments between rows.
	text := "# x\r\nK\tN\tM\tname\ttransB\ttransA\r\n# y\r\n3\t2\t1\tq\t1\t0\r\n"
	g, err := ParseGemmShapes("v.tsv", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := GemmShape{Name: "q", M: 1, N: 2, K: 3, TransB: true, Source: "v.tsv:4"}
	if len(g) != 1 || g[0] != want {
		t.Errorf("got %+v, want [%+v]", g, want)
	}
	if _, err := LoadGemmShapes("testdata/does-not-exist.tsv"); err == nil {
		t.Error("LoadGemmShapes of a missing file: no error")
	}
}

func TestParsePassesAlgos(t *testing.T) {
	p, err := ParsePasses("fwd, bwd-filter")
	if err != nil || !slices.Equal(p, []Pass{Fwd, BwdFilter}) {
		t.Errorf("ParsePasses = %v, %v", p, err)
	}
	if p, _ := ParsePasses("all"); !slices.Equal(p, Passes) {
		t.Errorf("ParsePasses(all) = %v", p)
	}
	if _, err := ParsePasses("fwd,back"); err == nil {
		t.Error("ParsePasses(back): no error")
	}
	a, err := ParseAlgos("winograd,fft")
	if err != nil || !slices.Equal(a, []string{"winograd", "fft"}) {
		t.Errorf("ParseAlgos = %v, %v", a, err)
	}
	if a, _ := ParseAlgos("all"); slices.Contains(a, "auto") || len(a) != 4 {
		t.Errorf("ParseAlgos(all) = %v", a)
	}
	if _, err := ParseAlgos("gemm"); err == nil {
		t.Error("ParseAlgos(gemm): no error")
	}
}
