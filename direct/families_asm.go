//go:build (amd64 || arm64) && !purego

package direct

import (
	"slices"

	"github.com/convkit/convkit/asm"
	"github.com/convkit/convkit/kernels"
)

// generated holds the generated families of each path, from the table
// gen/direct emits (asm.DirectFamilies), widest B first.
var generated = func() map[kernels.ISA][]*Family {
	out := map[kernels.ISA][]*Family{}
	for i := len(asm.DirectFamilies) - 1; i >= 0; i-- {
		g := &asm.DirectFamilies[i]
		isa, err := kernels.ParseISA(g.ISA)
		if err != nil {
			panic("direct: the generated table names an unknown ISA: " + err.Error())
		}
		f := &Family{ISA: isa, Lanes: g.Lanes, Form: Form(g.Form), Cin: g.Cin, U: g.U, B: g.B, Source: "asm"}
		for _, k := range g.Kernels {
			f.asm = append(f.asm, k.Func)
		}
		out[isa] = append(out[isa], f)
	}
	return out
}()

// generatedDW holds the generated depthwise families of each path
// (asm.DepthwiseFamilies), widest B first within each mode and height.
var generatedDW = func() map[kernels.ISA][]*DWFamily {
	out := map[kernels.ISA][]*DWFamily{}
	for _, g := range asm.DepthwiseFamilies {
		isa, err := kernels.ParseISA(g.ISA)
		if err != nil {
			panic("direct: the generated table names an unknown ISA: " + err.Error())
		}
		f := &DWFamily{ISA: isa, Lanes: g.Lanes, Mode: Mode(g.Mode), KH: g.KH, U: g.U, B: g.B, Source: "asm"}
		for _, k := range g.Kernels {
			f.asm = append(f.asm, k.Func)
		}
		out[isa] = append(out[isa], f)
	}
	for _, fs := range out { // widest B first within each mode (and height)
		slices.SortStableFunc(fs, func(a, b *DWFamily) int {
			if a.Mode != b.Mode {
				return int(a.Mode) - int(b.Mode)
			}
			if a.KH != b.KH {
				return a.KH - b.KH
			}
			return b.B - a.B
		})
	}
	return out
}()
