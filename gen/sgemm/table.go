package main

import (
	"fmt"
	"strings"

	"github.com/convkit/convkit/gen/kw"
)

// goTable returns the declarations of asm/sgemm_tiles_<arch>.go: the list
// of everything main emits for the ISAs of arch, built from the same tiles
// and archISAs lists (the types are in asm/table.go).
func goTable(arch string) string {
	isas := archISAs[arch]
	var b strings.Builder
	b.WriteString("// SgemmFamilies lists every generated SGEMM tile family, the RoleDefault\n")
	b.WriteString("// family of each ISA first.\n")
	b.WriteString("var SgemmFamilies = []SgemmFamily{\n")
	for _, t := range tiles {
		i, ok := isaNamed(isas, t.isa)
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "{TileFamily: TileFamily[SgemmTileFunc]{ISA: %q, Lanes: %d, MR: %d, NR: %d, Role: %s, Forms: []FormKernels[SgemmTileFunc]{\n",
			t.isa, i.Lanes, t.mr, t.nr, roleName[t.role])
		for _, mode := range t.forms() {
			fmt.Fprintf(&b, "{Form: Form%c, Rows: []Kernel[SgemmTileFunc]{\n", mode)
			for rows := 1; rows <= t.mr; rows++ {
				b.WriteString(kernelLit(kernelName(t, mode, rows)))
			}
			b.WriteString("}},\n")
		}
		b.WriteString("}},\n")
		if t.role.micro() {
			fmt.Fprintf(&b, "Micro: Kernel[SgemmMicroFunc]%s", kernelLit(microName(t)))
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n\n")

	b.WriteString("// SgemmRowSets lists the row kernels of every ISA that has them.\n")
	b.WriteString("var SgemmRowSets = []SgemmRows{\n")
	for _, s := range isas {
		fmt.Fprintf(&b, "{ISA: %q, Lanes: %d, Kernels: SgemmRowKernels{\n", s.Name, s.Lanes)
		for _, m := range rowMethods {
			fmt.Fprintf(&b, "%s: Kernel[Sgemm%sFunc]%s", m.field, m.field, kernelLit(rowKernelName(m.base(s), s)))
		}
		b.WriteString("}},\n")
	}
	b.WriteString("}\n")

	for _, m := range rowMethods {
		fmt.Fprintf(&b, "\n// %s calls Kernels.%s.Func of r's ISA directly (see SgemmRows).\n", m.field, m.field)
		fmt.Fprintf(&b, "func (r *SgemmRows) %s(%s) {\n\tswitch r.Lanes {\n", m.field, m.params)
		for _, s := range isas {
			fmt.Fprintf(&b, "\tcase %d:\n\t\t%s(%s)\n", s.Lanes, rowKernelName(m.base(s), s), m.args)
		}
		b.WriteString("\tdefault:\n\t\tpanic(\"asm: SgemmRows of an unknown ISA\")\n\t}\n}\n")
	}
	return b.String()
}

// isaNamed finds the ISA called name among isas.
func isaNamed(isas []kw.ISA, name string) (kw.ISA, bool) {
	for _, i := range isas {
		if i.Name == name {
			return i, true
		}
	}
	return kw.ISA{}, false
}

var roleName = map[role]string{roleDefault: "RoleDefault", roleNarrow: "RoleNarrow", roleCandidate: "RoleCandidate"}

// kernelLit is the composite literal of the asm.Kernel of symbol name.
func kernelLit(name string) string { return fmt.Sprintf("{Name: %q, Func: %s},\n", name, name) }

// rowMethod is one row kernel: its SgemmRowKernels field, the base of its
// symbol name, its Go parameters and arguments, and its emitter.
type rowMethod struct {
	field        string
	base         func(i kw.ISA) string
	params, args string
	gen          func(f *kw.Func)
}

func fixed(base string) func(kw.ISA) string { return func(kw.ISA) string { return base } }

// rowMethods are the row kernels of every ISA, in emission order.
var rowMethods = []rowMethod{
	{"PackT", packTBase, "dst *float32, w int, rows **float32, blocks int", "dst, w, rows, blocks", genPackT},
	{"PackN", fixed("PackN"), "dst *float32, dw int, src *float32, ld int, n int, rows int", "dst, dw, src, ld, n, rows", genPackN},
	{"PackRows", fixed("PackRows"), "dst *float32, w int, ps int, src *float32, ld int, panels int, rows int", "dst, w, ps, src, ld, panels, rows", genPackRows},
	{"DotRows4", fixed("DotRows4"), "x *float32, rows *[4]*float32, k int, out *[4]float32", "x, rows, k, out", genDotRows4},
	{"AxpyRows4", fixed("AxpyRows4"), "acc *float32, n int, rows *[4]*float32, x *[4]float32", "acc, n, rows, x", genAxpyRows4},
}
