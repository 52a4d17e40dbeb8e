package kw

import (
	"fmt"
	"strings"
)

// Type is a Go parameter type a kernel can take.
type Type uint8

// The parameter types of convkit's kernels.
const (
	Float32 Type = iota
	Int
	Float32Slice
	Float32Ptr
)

var typeNames = map[string]Type{"float32": Float32, "int": Int, "[]float32": Float32Slice, "*float32": Float32Ptr}

// GoName is the type's Go spelling.
func (t Type) GoName() string {
	for s, u := range typeNames {
		if u == t {
			return s
		}
	}
	panic(fmt.Sprintf("kw: unknown type %d", t))
}

// Param is one named argument. Every pointer type is laid out as a
// Float32Ptr; GoType keeps its spelling ("*[4]*float32").
type Param struct {
	Name   string
	Type   Type
	GoType string
}

// Signature is a kernel's Go function type: its source text (which Avo
// parses itself) and its parsed parameters and optional result.
type Signature struct {
	Expr   string
	Params []Param
	Result *Type
}

// parseSig parses "func(a, b []float32, n int) float32": the subset of Go
// function types kernels use (named parameters, at most one unnamed
// result). A signature outside it is a generator bug: it panics.
func parseSig(fn, expr string) Signature {
	bad := func(why string) { panic(fmt.Sprintf("kw: %s: signature %q: %s", fn, expr, why)) }
	s := strings.TrimSpace(expr)
	if !strings.HasPrefix(s, "func(") {
		bad("does not start with func(")
	}
	close := strings.Index(s, ")")
	if close < 0 {
		bad("no closing parenthesis")
	}
	sig := Signature{Expr: expr}
	var pending []string // names waiting for their type ("x, y []float32")
	for _, part := range strings.Split(s[len("func("):close], ",") {
		f := strings.Fields(part)
		switch len(f) {
		case 0:
			continue
		case 1:
			pending = append(pending, f[0])
		case 2:
			t, ok := typeNames[f[1]]
			if !ok && strings.HasPrefix(f[1], "*") {
				t, ok = Float32Ptr, true // any pointer: one word
			}
			if !ok {
				bad("type " + f[1] + " is not a kernel type")
			}
			for _, n := range append(pending, f[0]) {
				sig.Params = append(sig.Params, Param{n, t, f[1]})
			}
			pending = nil
		default:
			bad("cannot parse " + part)
		}
	}
	if len(pending) > 0 {
		bad("parameters without a type")
	}
	if res := strings.TrimSpace(s[close+1:]); res != "" {
		t, ok := typeNames[res]
		if !ok {
			bad("result " + res + " is not a kernel type")
		}
		sig.Result = &t
	}
	return sig
}

// hasPointers reports whether an argument holds a pointer (so the stub
// gets //go:noescape).
func (s Signature) hasPointers() bool {
	for _, p := range s.Params {
		if p.Type == Float32Slice || p.Type == Float32Ptr {
			return true
		}
	}
	return false
}
