//go:build amd64 && !purego

package winograd

import (
	"testing"

	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/internal/asmemu"
)

// TestKernelsInterpreted runs every generated amd64 transform through the
// assembly interpreter against the twin, so that the AVX2 and AVX-512
// kernels are checked on any amd64 host; an access outside the slices
// fails the call.
func TestKernelsInterpreted(t *testing.T) {
	p, err := asmemu.Generated()
	if err != nil {
		t.Fatal(err)
	}
	if testing.Short() {
		t.Skip("the interpreter is slow; -short skips it")
	}
	for _, g := range asm.WinogradKernels {
		v, err := ByM(g.M)
		if err != nil {
			t.Fatal(err)
		}
		var k Kind
		for k = In; k.String() != g.Kind; k++ {
		}
		tr := newTwin(v, k, g.Lanes)
		t.Run(g.Kernel.Name, func(t *testing.T) {
			before := p.Stats().Calls
			checkAgainstTwin(t, tr, func(t *testing.T, tr *Transform, dst, src, tmp, bias []float32, n, ss, ds int) {
				if _, err := p.Call(g.Kernel.Name, dst, src, tmp, tr.coef, bias, n, 4*ss, 4*ds); err != nil {
					t.Fatal(err)
				}
			})
			if p.Stats().Calls == before {
				t.Fatal("no kernel ran in the interpreter")
			}
		})
	}
}
