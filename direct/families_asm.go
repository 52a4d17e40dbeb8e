//go:build (amd64 || arm64) && !purego

package direct

import (
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
