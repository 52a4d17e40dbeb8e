package asmemu

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"strings"
)

// signature is a stub's parameters and results, laid out as the Go ABI0
// argument frame: each in order at its alignment, the results from the
// next multiple of 8.
type signature struct {
	params, results []param
	size            int
}

// param is one slot of the frame.
type param struct {
	name string
	typ  string // as written in the stub: int, float32, []float32, *[4]*float32, ...
	off  int
	size int
}

// parseStubs returns the signatures of the body-less functions of a Go file.
func parseStubs(file, src string) (map[string]*signature, error) {
	f, err := parser.ParseFile(token.NewFileSet(), file, src, 0)
	if err != nil {
		return nil, fmt.Errorf("asmemu: %w", err)
	}
	sigs := map[string]*signature{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body != nil || fd.Recv != nil {
			continue
		}
		s, err := layout(fd.Type)
		if err != nil {
			return nil, fmt.Errorf("asmemu: %s: func %s: %w", file, fd.Name.Name, err)
		}
		sigs[fd.Name.Name] = s
	}
	return sigs, nil
}

func layout(ft *ast.FuncType) (*signature, error) {
	s := &signature{}
	off := 0
	add := func(list *[]param, fields *ast.FieldList, unnamed func(i int) string) error {
		if fields == nil {
			return nil
		}
		i := 0
		for _, fl := range fields.List {
			typ := types.ExprString(fl.Type)
			size, align, err := sizeOf(typ)
			if err != nil {
				return err
			}
			names := fl.Names
			if len(names) == 0 {
				names = []*ast.Ident{{Name: unnamed(i)}}
			}
			for _, n := range names {
				off = (off + align - 1) / align * align
				*list = append(*list, param{name: n.Name, typ: typ, off: off, size: size})
				off += size
				i++
			}
		}
		return nil
	}
	if err := add(&s.params, ft.Params, func(int) string { return "_" }); err != nil {
		return nil, err
	}
	off = (off + 7) / 8 * 8
	nres := 0
	if ft.Results != nil {
		nres = ft.Results.NumFields()
	}
	err := add(&s.results, ft.Results, func(i int) string {
		if nres == 1 {
			return "ret"
		}
		return fmt.Sprintf("ret%d", i)
	})
	if err != nil {
		return nil, err
	}
	s.size = off
	return s, nil
}

// sizeOf is the size and alignment of a stub type on amd64.
func sizeOf(typ string) (size, align int, err error) {
	switch {
	case typ == "int" || typ == "uint" || typ == "int64" || typ == "uint64" || typ == "uintptr" || typ == "float64":
		return 8, 8, nil
	case typ == "float32" || typ == "int32" || typ == "uint32":
		return 4, 4, nil
	case strings.HasPrefix(typ, "[]"):
		return 24, 8, nil
	case strings.HasPrefix(typ, "*"):
		return 8, 8, nil
	}
	return 0, 0, fmt.Errorf("parameter type %s: not interpreted", typ)
}

// frameSlot resolves an FP reference `name+off(FP)` against the signature,
// as go vet's asmdecl does: a slice's words are name_base, name_len and
// name_cap. It returns the width of the slot.
func (s *signature) frameSlot(name string, off int) (int, error) {
	for _, list := range [][]param{s.params, s.results} {
		for _, p := range list {
			word, part := p.off, ""
			base, suffix, sliced := strings.Cut(name, "_")
			if strings.HasPrefix(p.typ, "[]") && sliced && base == p.name {
				switch suffix {
				case "base":
				case "len":
					word += 8
				case "cap":
					word += 16
				default:
					continue
				}
				part = suffix
			} else if name != p.name {
				continue
			}
			if off != word {
				return 0, fmt.Errorf("%s+%d(FP): %s is at offset %d", name, off, name, word)
			}
			if part != "" {
				return 8, nil
			}
			return p.size, nil
		}
	}
	return 0, fmt.Errorf("%s+%d(FP): no such parameter or result", name, off)
}
