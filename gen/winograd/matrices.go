package main

import (
	"fmt"
	"math/big"
	"strings"
)

// A variant is one Winograd algorithm F(m x m, 3 x 3): m outputs per tile
// side, alpha = m + 2 inputs, from alpha - 1 finite points and infinity.
type variant struct {
	name   string     // "F4": the kernels' part of the name
	m      int        // outputs per tile side
	points []*big.Rat // the finite interpolation points
	why    string     // where the points come from
}

// r is the filter size: 3x3.
const r = 3

func (v variant) alpha() int { return v.m + r - 1 }

func rat(a, b int64) *big.Rat { return big.NewRat(a, b) }

// variants are the three algorithms, smallest tile first. The points are
// the ones the literature found most accurate in float32: for F(4x4)
// Lavin's 0, ±1, ±2; for F(6x6) Lavin's revised set (0, ±1, ±2, ±1/2,
// the NNPACK issue of March 2016), which Barabasz et al. (arXiv
// 1803.10986) also find among the best for eight points.
var variants = []variant{
	{name: "F2", m: 2, points: []*big.Rat{rat(0, 1), rat(1, 1), rat(-1, 1)}, why: "0, ±1 and infinity"},
	{name: "F4", m: 4, points: []*big.Rat{rat(0, 1), rat(1, 1), rat(-1, 1), rat(2, 1), rat(-2, 1)}, why: "0, ±1, ±2 and infinity (Lavin & Gray)"},
	{name: "F6", m: 6, points: []*big.Rat{rat(0, 1), rat(1, 1), rat(-1, 1), rat(1, 2), rat(-1, 2), rat(2, 1), rat(-2, 1)}, why: "0, ±1, ±1/2, ±2 and infinity (Lavin's revised set; Barabasz et al.)"},
}

// matrix is a dense rational matrix, row-major.
type matrix struct {
	rows, cols int
	v          []*big.Rat
}

func newMatrix(rows, cols int) *matrix {
	m := &matrix{rows: rows, cols: cols, v: make([]*big.Rat, rows*cols)}
	for i := range m.v {
		m.v[i] = new(big.Rat)
	}
	return m
}

func (m *matrix) at(i, j int) *big.Rat { return m.v[i*m.cols+j] }

// evaluation is the alpha x n matrix that evaluates a polynomial of n
// coefficients (lowest first) at the points and at infinity (the last
// row: the leading coefficient).
func (v variant) evaluation(n int) *matrix {
	a := v.alpha()
	e := newMatrix(a, n)
	for j, p := range v.points {
		pow := rat(1, 1)
		for i := 0; i < n; i++ {
			e.at(j, i).Set(pow)
			pow = new(big.Rat).Mul(pow, p)
		}
	}
	e.at(a-1, n-1).SetInt64(1)
	return e
}

// inverse inverts a square matrix by Gauss-Jordan elimination over the
// rationals; it panics on a singular one (repeated points).
func inverse(m *matrix) *matrix {
	n := m.rows
	w := newMatrix(n, 2*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			w.at(i, j).Set(m.at(i, j))
		}
		w.at(i, n+i).SetInt64(1)
	}
	for c := 0; c < n; c++ {
		p := c
		for p < n && w.at(p, c).Sign() == 0 {
			p++
		}
		if p == n {
			panic("winograd: singular evaluation matrix (repeated points)")
		}
		for j := 0; j < 2*n; j++ {
			a, b := w.at(c, j), w.at(p, j)
			w.v[c*w.cols+j], w.v[p*w.cols+j] = b, a
		}
		inv := new(big.Rat).Inv(w.at(c, c))
		for j := 0; j < 2*n; j++ {
			w.at(c, j).Mul(w.at(c, j), inv)
		}
		for i := 0; i < n; i++ {
			if i == c || w.at(i, c).Sign() == 0 {
				continue
			}
			f := new(big.Rat).Set(w.at(i, c))
			for j := 0; j < 2*n; j++ {
				w.at(i, j).Sub(w.at(i, j), new(big.Rat).Mul(f, w.at(c, j)))
			}
		}
	}
	out := newMatrix(n, n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			out.at(i, j).Set(w.at(i, n+j))
		}
	}
	return out
}

// transforms returns the variant's matrices: the input transform B^T
// (alpha x alpha), the filter transform G (alpha x 3) and the output
// transform A^T (m x alpha), with y = A^T [(G g G^T) . (B^T d B)] A.
//
// They come from the polynomial form: the linear convolution of a
// polynomial u of m coefficients with g of 3 is c = E^-1 [(E_m u) . (E_3
// g)], E_n evaluating n coefficients at the points (evaluation), and the
// correlation y_i = sum_k g_k d_{i+k} is that map transposed: y = E_m^T
// diag(E_3 g) E^-T d. So A^T = E_m^T, G = E_3, B^T = E^-T. Each row j of
// B^T is then scaled to integers with no common factor, and row j of G by
// the inverse, which leaves the product unchanged and keeps the data's
// transform exact in its multipliers.
func (v variant) transforms() (bt, g, at *matrix) {
	a := v.alpha()
	em, e3 := v.evaluation(v.m), v.evaluation(r)
	inv := inverse(v.evaluation(a))
	bt = newMatrix(a, a)
	for i := 0; i < a; i++ {
		for j := 0; j < a; j++ {
			bt.at(i, j).Set(inv.at(j, i))
		}
	}
	at = newMatrix(v.m, a)
	for i := 0; i < v.m; i++ {
		for j := 0; j < a; j++ {
			at.at(i, j).Set(em.at(j, i))
		}
	}
	g = e3
	for j := 0; j < a; j++ {
		s := integerScale(bt.v[j*a : (j+1)*a])
		for k := 0; k < a; k++ {
			bt.at(j, k).Mul(bt.at(j, k), s)
		}
		for k := 0; k < r; k++ {
			g.at(j, k).Quo(g.at(j, k), s)
		}
	}
	return bt, g, at
}

// gradTransforms returns the matrices of the weight-gradient form F(3 x
// 3, m x m) on the same points: dW = A'^T [(G' dy G'^T) . (B^T x B)] A'
// with G' (alpha x m) for the dy tiles and A'^T (3 x alpha) for the
// filter gradient, and B^T the input transform. The weight gradient
// dW_r = sum_i dy_i x_(i+r) is the correlation of x with the "filter" dy
// of m taps, 3 outputs: so, as in transforms, dW = E_3^T diag(E_m dy)
// E^-T x, and with B^T's rows scaled by s_j, G' = E_m with row j divided
// by s_j and A'^T = E_3^T.
func (v variant) gradTransforms() (gt, gat *matrix) {
	a := v.alpha()
	bt, _, _ := v.transforms()
	inv := inverse(v.evaluation(a))
	gt = v.evaluation(v.m)
	for j := 0; j < a; j++ {
		// B^T row j over E^-T row j: the scale transforms applied.
		s := new(big.Rat)
		for k := 0; k < a; k++ {
			if inv.at(k, j).Sign() != 0 {
				s.Quo(bt.at(j, k), inv.at(k, j))
				break
			}
		}
		for k := 0; k < v.m; k++ {
			gt.at(j, k).Quo(gt.at(j, k), s)
		}
	}
	e3 := v.evaluation(r)
	gat = newMatrix(r, a)
	for i := 0; i < r; i++ {
		for j := 0; j < a; j++ {
			gat.at(i, j).Set(e3.at(j, i))
		}
	}
	return gt, gat
}

// integerScale is the factor that makes a row of rationals integers with
// greatest common divisor 1, its first nonzero entry positive.
func integerScale(row []*big.Rat) *big.Rat {
	lcm, gcd := big.NewInt(1), new(big.Int)
	sign := 0
	for _, x := range row {
		if x.Sign() == 0 {
			continue
		}
		if sign == 0 {
			sign = x.Sign()
		}
		d := x.Denom()
		g := new(big.Int).GCD(nil, nil, lcm, d)
		lcm.Mul(lcm, new(big.Int).Quo(d, g))
	}
	for _, x := range row {
		if x.Sign() != 0 {
			n := new(big.Int).Mul(x.Num(), new(big.Int).Quo(lcm, x.Denom()))
			gcd.GCD(nil, nil, gcd, n.Abs(n))
		}
	}
	s := new(big.Rat).SetFrac(lcm, gcd)
	if sign < 0 {
		s.Neg(s)
	}
	return s
}

// float32s returns the matrix rounded to float32, row-major.
func (m *matrix) float32s() []float32 {
	out := make([]float32, len(m.v))
	for i, x := range m.v {
		f, _ := x.Float32()
		out[i] = f
	}
	return out
}

// goLiteral is the matrix as a Go []float32 literal, a row per line with
// the exact rationals in a comment.
func (m *matrix) goLiteral() string {
	var b strings.Builder
	b.WriteString("[]float32{\n")
	for i := 0; i < m.rows; i++ {
		var vals, exact []string
		for j := 0; j < m.cols; j++ {
			x := m.at(i, j)
			f, _ := x.Float32()
			vals = append(vals, fmt.Sprintf("%v,", f))
			exact = append(exact, x.RatString())
		}
		fmt.Fprintf(&b, "%s // %s\n", strings.Join(vals, " "), strings.Join(exact, " "))
	}
	b.WriteString("}")
	return b.String()
}
