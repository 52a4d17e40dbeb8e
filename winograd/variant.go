package winograd

import "fmt"

// Variant is one algorithm F(M x M, 3 x 3): tiles of M x M outputs read
// Alpha x Alpha inputs (Alpha = M + 2), with y = A^T [(G g G^T) . (B^T d
// B)] A; and its weight-gradient form F(3 x 3, M x M) on the same points,
// with dW = A'^T [(G' dy G'^T) . (B^T x B)] A' summed over the tiles of
// dy (M x M each) and their Alpha x Alpha input patches.
type Variant struct {
	Name     string    // "F2", "F4", "F6"
	M, Alpha int       // outputs and inputs per tile side
	Points   string    // the interpolation points
	BT       []float32 // Alpha x Alpha, row-major
	G        []float32 // Alpha x 3
	AT       []float32 // M x Alpha
	GradG    []float32 // G': Alpha x M
	GradAT   []float32 // A'^T: 3 x Alpha
}

// Variants returns the generated variants, smallest tile first.
func Variants() []*Variant {
	out := make([]*Variant, len(variants))
	for i := range variants {
		out[i] = &variants[i]
	}
	return out
}

// ByM returns the variant of m outputs per tile side, or an error naming
// the ones there are.
func ByM(m int) (*Variant, error) {
	for i := range variants {
		if variants[i].M == m {
			return &variants[i], nil
		}
	}
	return nil, fmt.Errorf("winograd: no variant F(%dx%d,3x3): want m = 2, 4 or 6", m, m)
}

// Kind is one of a variant's three transforms.
type Kind uint8

// The transforms.
const (
	In     Kind = iota // input patch -> transformed tile (B^T)
	Out                // products -> outputs, + bias (A^T)
	Filter             // filter -> transformed filter (G)
	GradDy             // a tile of dy -> transformed (G'), the weight-gradient form
	GradDw             // sums over the tiles -> filter gradient (A'^T)
	numKinds
)

var kindNames = [...]string{"In", "Out", "Filter", "GradDy", "GradDw"}

// String is the kind's part of the kernel names: In, Out, Filter,
// GradDy, GradDw.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Matrix returns the kind's P and its shape r x c: Out = P In P^T.
func (v *Variant) Matrix(k Kind) (p []float32, r, c int) {
	switch k {
	case In:
		return v.BT, v.Alpha, v.Alpha
	case Out:
		return v.AT, v.M, v.Alpha
	case GradDy:
		return v.GradG, v.Alpha, v.M
	case GradDw:
		return v.GradAT, 3, v.Alpha
	}
	return v.G, v.Alpha, 3
}

// Kinds returns every kind, in order.
func Kinds() []Kind {
	out := make([]Kind, numKinds)
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

// SrcGrid reports whether the kind's source is a pixel grid (else a
// linear side; see the package doc).
func (k Kind) SrcGrid() bool { return k == In || k == GradDy }

// DstGrid reports whether the kind's destination is a pixel grid.
func (k Kind) DstGrid() bool { return k == Out }
