package ops

import (
	"testing"

	"github.com/convkit/convkit/golden"
	"github.com/convkit/convkit/kernels"
)

// The relu cases pass on every ISA path this host runs.
func TestReluGolden(t *testing.T) {
	m, err := golden.Open("../../testdata/golden")
	if err != nil {
		t.Fatal(err)
	}
	prev := kernels.Current()
	defer kernels.Use(prev)
	n := 0
	for _, isa := range kernels.Available() {
		if err := kernels.Use(isa); err != nil {
			t.Fatal(err)
		}
		for _, c := range m.Cases {
			if c.Op != "relu" {
				continue
			}
			n++
			if r := golden.Check(c); !r.Pass || r.MaxRelErr != 0 {
				t.Errorf("%s: %v", isa, r)
			}
		}
	}
	if n < 2*len(kernels.Available()) {
		t.Errorf("checked %d relu cases, want at least 2 per ISA", n)
	}
}
