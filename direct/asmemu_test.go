//go:build amd64 && !purego

package direct

import (
	"math/rand/v2"
	"testing"

	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/internal/asmemu"
)

// interpreter returns the interpreter of the generated amd64 assembly,
// skipping the test under -short.
func interpreter(t *testing.T) *asmemu.Program {
	t.Helper()
	p, err := asmemu.Generated()
	if err != nil {
		t.Fatal(err)
	}
	if testing.Short() {
		t.Skip("the interpreter is slow; -short skips it")
	}
	return p
}

// tapArg is a tap table as the interpreter passes it: nil when empty.
func tapArg(t *Taps) []int {
	if t.Len() == 0 {
		return nil
	}
	return t.Offsets()
}

// assertInterpreted fails t unless the interpreter made calls since it
// had made before.
func assertInterpreted(t *testing.T, p *asmemu.Program, before int64) {
	t.Helper()
	if p.Stats().Calls == before {
		t.Fatal("no kernel ran in the interpreter")
	}
}

// TestTileFamiliesInterpreted runs every generated amd64 kernel through
// the assembly interpreter against the twin, so that the AVX2 and
// AVX-512 kernels are checked on any amd64 host; an access outside the
// slices fails the call.
func TestTileFamiliesInterpreted(t *testing.T) {
	p := interpreter(t)
	for _, g := range asm.DirectFamilies {
		t.Run(g.Kernels[0].Name, func(t *testing.T) {
			before := p.Stats().Calls
			checkFamily(t, g.Lanes, g.Cin, g.U, g.B, func(t *testing.T, u int, dst, src, w []float32, a *Args, bias, res []float32) {
				_, err := p.Call(g.Kernels[u-1].Name, dst, src, w, tapArg(a.Taps), a.Taps.Len(), a.ICB, a.SrcICB, a.WICB, a.SrcPix, a.DstPix, a.DstOCB, bias, res, a.Flags)
				if err != nil {
					t.Fatal(err)
				}
			})
			assertInterpreted(t, p, before)
		})
	}
}

// dwInterpreted runs depthwise family g's kernels in the interpreter, a
// call of rows rows being tiles tiles of rows/tiles.
func dwInterpreted(p *asmemu.Program, g *asm.DepthwiseFamily, tiles int) dwRunner {
	return func(t *testing.T, rows int, dst, src, w []float32, a *DWArgs, bias, res []float32) {
		n := a.Taps.Len()
		if g.Mode == byte(Rows) {
			n /= g.KH // the kernel counts columns
		}
		_, err := p.Call(g.Kernels[rows/tiles-1].Name, dst, src, w, tapArg(a.Taps), n, tiles, a.SrcPix, a.DstPix, bias, res, a.Flags, a.ChStride)
		if err != nil {
			t.Fatal(err)
		}
	}
}

// asmKind is generated family g's dwKind.
func asmKind(g *asm.DepthwiseFamily) dwKind { return dwKind{g.Lanes, Mode(g.Mode), g.KH, g.B} }

// TestDWFamiliesInterpreted runs every generated amd64 depthwise kernel
// through the interpreter against the twin.
func TestDWFamiliesInterpreted(t *testing.T) {
	p := interpreter(t)
	for i := range asm.DepthwiseFamilies {
		g := &asm.DepthwiseFamilies[i]
		t.Run(g.Kernels[0].Name, func(t *testing.T) {
			before := p.Stats().Calls
			checkDWFamily(t, asmKind(g), g.U, dwInterpreted(p, g, 1))
			assertInterpreted(t, p, before)
		})
	}
}

// TestDWTilesInterpreted runs every generated amd64 depthwise kernel
// through the interpreter on two tiles of rows in one call (its loop over
// tiles) against the twin over all the rows.
func TestDWTilesInterpreted(t *testing.T) {
	p := interpreter(t)
	for i := range asm.DepthwiseFamilies {
		g := &asm.DepthwiseFamilies[i]
		r := rand.New(rand.NewPCG(uint64(g.U), uint64(g.B)+3))
		before := p.Stats().Calls
		for u := 1; u <= g.U; u++ {
			c := newDWCase(r, asmKind(g), 2*u)
			want := c.run(t, func(t *testing.T, rows int, dst, src, w []float32, a *DWArgs, bias, res []float32) {
				DepthwiseGeneric(g.Lanes, Mode(g.Mode), rows, g.B, dst, src, w, a, bias, res)
			})
			got := c.run(t, dwInterpreted(p, g, 2))
			sameBits(t, g.Kernels[u-1].Name+" x2 "+c.name, got, want)
			c.free()
		}
		assertInterpreted(t, p, before)
	}
}
