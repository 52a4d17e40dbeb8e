package direct

import "github.com/convkit/convkit/kernels"

// Families returns the tile families of path isa, widest B first within
// each form: the generated kernels where this host runs the path, else
// (the generic path, a path without generated kernels in this build, or
// one the CPU lacks) Go-twin families of 8 lanes, so that nothing bound
// here can fault on an instruction the CPU does not have.
func Families(isa kernels.ISA) []*Family {
	if fs := generated[isa]; len(fs) > 0 && kernels.Supported(isa) {
		return fs
	}
	return twins
}

// Pick returns the family of fs with form form and the most
// output-channel vectors up to b, or nil.
func Pick(fs []*Family, form Form, b int) *Family {
	var best *Family
	for _, f := range fs {
		if f.Form == form && f.B <= b && (best == nil || f.B > best.B) {
			best = f
		}
	}
	return best
}

// twinLanes is the vector width of the Go-twin families: any width
// works; 8 keeps the generic path's blocks as AVX2's.
const twinLanes = 8

// twins are the generic path's families.
var twins = func() []*Family {
	var fs []*Family
	for _, form := range []Form{Blocked, Planes} {
		cin := twinLanes
		if form == Planes {
			cin = 1
		}
		for b := 4; b >= 1; b-- {
			fs = append(fs, &Family{ISA: kernels.Generic, Lanes: twinLanes, Form: form, Cin: cin, U: 8, B: b, Source: "go"})
		}
	}
	return fs
}()
