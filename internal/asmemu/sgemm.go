package asmemu

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
)

// The generated SGEMM tile families, read off the program's symbols. The
// generator's table (asm.SgemmFamilies) is the list, but it compiles only
// into amd64 builds, and the interpreter is there for the hosts that lack
// the ISA, arm64 among them: TileFamilies gives the interpreted tests of
// every GOARCH the same families, and on amd64 TestTileFamiliesTable
// requires it to equal the table, so the two cannot drift apart.

// TileFamily is one generated SGEMM tile family: for each operand form
// (P, R, Q: see gen/sgemm) and each row count 1..MR a kernel
// Sgemm<MR>x<NR><ISA><form><rows>, and a Micro entry point
// SgemmMicro<MR>x<NR><ISA> if generated.
type TileFamily struct {
	ISA    string // AVX2 or AVX512
	MR, NR int
	Lanes  int    // float32 lanes of the ISA's vectors
	Forms  string // the operand forms generated, in P, Q, R order
	Micro  bool
}

// Name is the family's part of its kernels' names: 6x16AVX2.
func (f TileFamily) Name() string { return fmt.Sprintf("%dx%d%s", f.MR, f.NR, f.ISA) }

// Kernel is the name of the member for operand form form and rows rows.
func (f TileFamily) Kernel(form byte, rows int) string {
	return fmt.Sprintf("Sgemm%s%c%d", f.Name(), form, rows)
}

// MicroKernel is the name of the family's Micro entry point.
func (f TileFamily) MicroKernel() string { return "SgemmMicro" + f.Name() }

var tileName = regexp.MustCompile(`^Sgemm(Micro)?(\d+)x(\d+)(AVX2|AVX512)([PQR]?)(\d*)$`)

// TileFamilies lists the program's SGEMM tile families, each complete
// (every form it has for every row count: an incomplete family is an
// error), sorted by ISA then shape.
func (p *Program) TileFamilies() ([]TileFamily, error) {
	fams := map[string]*TileFamily{}
	rows := map[string]map[byte]int{}
	for name := range p.funcs {
		s := tileName.FindStringSubmatch(name)
		if s == nil {
			continue
		}
		mr, _ := strconv.Atoi(s[2])
		nr, _ := strconv.Atoi(s[3])
		f := &TileFamily{ISA: s[4], MR: mr, NR: nr, Lanes: map[string]int{"AVX2": 8, "AVX512": 16}[s[4]]}
		if g := fams[f.Name()]; g != nil {
			f = g
		}
		fams[f.Name()] = f
		if s[1] != "" {
			f.Micro = true
			continue
		}
		if rows[f.Name()] == nil {
			rows[f.Name()] = map[byte]int{}
		}
		rows[f.Name()][s[5][0]]++
	}
	var out []TileFamily
	for n, f := range fams {
		for _, form := range []byte("PQR") {
			switch c := rows[n][form]; {
			case c == 0:
			case c != f.MR:
				return nil, fmt.Errorf("asmemu: family %s has %d of its %d %c kernels", n, c, f.MR, form)
			default:
				f.Forms += string(form)
			}
		}
		for r := 1; r <= f.MR; r++ {
			for _, form := range []byte(f.Forms) {
				if !p.Has(f.Kernel(form, r)) {
					return nil, fmt.Errorf("asmemu: family %s lacks %s", n, f.Kernel(form, r))
				}
			}
		}
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ISA != b.ISA {
			return a.ISA < b.ISA
		}
		return a.MR*1000+a.NR < b.MR*1000+b.NR
	})
	return out, nil
}
