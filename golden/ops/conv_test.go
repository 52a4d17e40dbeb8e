package ops

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/convkit/convkit/conv"
	"github.com/convkit/convkit/golden"
	"github.com/convkit/convkit/kernels"
)

// publicGolden is the shared PyTorch golden set (../shared beside the
// checkout, as CI lays it out).
const publicGolden = "../../../shared/golden/public"

func convCases(t *testing.T) []*golden.Case {
	m, err := golden.Open(publicGolden)
	if err != nil {
		t.Skipf("no public golden set: %v", err)
	}
	var cs []*golden.Case
	for _, c := range m.Cases {
		if strings.HasPrefix(c.Op, "conv") {
			cs = append(cs, c)
		}
	}
	if len(cs) < 77 {
		t.Fatalf("%d conv cases, the public set has 77", len(cs))
	}
	return cs
}

func wide(t *testing.T, c *golden.Case, name string) []float64 {
	if !c.Has(name) {
		return nil
	}
	x, err := c.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return golden.F64(x)
}

// TestConvReferenceGolden checks conv's float64 reference, every pass,
// against PyTorch's float64 results on every conv and conv_transpose
// case: the oracle the engine's algorithms are tested against.
func TestConvReferenceGolden(t *testing.T) {
	worst := 0.0
	for _, c := range convCases(t) {
		p, err := ConvProblem(c)
		if err != nil {
			t.Fatal(err)
		}
		s, err := p.Resolve()
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if want := c.Shape("y")[2:]; !slices.Equal(s.Out, want) {
			t.Errorf("%s: out %v, PyTorch %v", c.Name, s.Out, want)
			continue
		}
		ref := conv.NewReference(s)
		x, w, b, dy := wide(t, c, "x"), wide(t, c, "w"), wide(t, c, "b"), wide(t, c, "dy")
		outs := map[string][]float64{"y": ref.Forward(x, w, b)}
		if dy != nil {
			outs["dx"] = ref.BackwardData(dy, w)
			outs["dw"], outs["db"] = ref.BackwardFilter(x, dy)
		}
		for name, got := range outs {
			if !c.Has(name) {
				continue
			}
			want, err := c.Float64(name)
			if err != nil {
				t.Fatal(err)
			}
			var num, den float64
			for i := range want {
				num, den = max(num, math.Abs(got[i]-want[i])), max(den, math.Abs(want[i]))
			}
			worst = max(worst, num/den)
			if num > 1e-12*den {
				t.Errorf("%s %s: max rel err %.3g", c.Name, name, num/den)
			}
		}
	}
	t.Logf("max rel err %.3g", worst)
}

// TestConvGolden runs every conv and conv_transpose case through the
// engine (golden.Check, the op's registered tolerance) on every ISA path,
// with auto and with each algorithm by name.
func TestConvGolden(t *testing.T) {
	cases := convCases(t)
	orig := kernels.Current()
	defer kernels.Use(orig)
	defer SetConvAlgorithm("auto")
	algos := []string{"auto"}
	for _, a := range conv.Algorithms() {
		algos = append(algos, a.Name())
	}
	for _, algo := range algos {
		if err := SetConvAlgorithm(algo); err != nil {
			t.Fatal(err)
		}
		for _, isa := range kernels.Available() {
			if err := kernels.Use(isa); err != nil {
				t.Fatal(err)
			}
			for _, c := range cases {
				if r := golden.Check(c); !r.Pass {
					t.Errorf("%s %s: %v", algo, isa, r)
				}
			}
		}
		// The public set's 3x3 stride-1 cases: 5 with the three passes
		// (the filter gradient on the weight-gradient form), 5 forward.
		named, _ := ConvRuns()
		if algo == "winograd" && named != 15*len(kernels.Available()) {
			t.Errorf("winograd ran %d passes on %d ISA paths, want 15 each", named, len(kernels.Available()))
		}
		if algo == "fft" {
			t.Logf("fft ran %d passes on each ISA path", named/len(kernels.Available()))
			if named == 0 {
				t.Error("fft ran no pass")
			}
		}
	}
	if err := SetConvAlgorithm("nosuch"); err == nil {
		t.Error("SetConvAlgorithm(nosuch): no error")
	}
}
