package winograd

import "github.com/convkit/convkit/kernels"

// The evaluation plan of a 1D transform (P, r x c, applied to c values):
// the operation order the generated kernels and the twin share, bit for
// bit. gen/winograd's plan.go derives the same plan by the same rule.
//
//  1. Column pairs: columns k < k2 whose every row has P[i][k2] = +-P[i][k]
//     (zeros in the same rows) become two operands, s = x[k] + x[k2] and
//     d = x[k] - x[k2], each computed only if a row uses it: the
//     points +-p of A^T, whose rows alternate the sign.
//  2. Row pairs: rows i < i2 with the same operands, coefficient by
//     coefficient equal up to sign (tau), are E + O and E - O, E the
//     terms of tau = +1 and O those of -1, with row i's coefficients: the
//     points +-p of B^T.
//  3. A sum of terms runs in order: the first a copy (+1), 0 - x (-1) or
//     a product, then adds, subtracts or fused multiply-adds.
//
// Zero coefficients are skipped; a pair or row is taken greedily, the
// lowest index first.

// term is coef times operand op (x[k] for op < c; then s, d of each
// column pair); col is the coefficient's column in P (its table entry).
type term struct {
	coef float32
	op   int
	col  int
}

// rowPlan is one output: its terms, and for the first of a row pair the
// partner's index and each term's sign in it.
type rowPlan struct {
	terms   []term
	partner int // -1: none; the second of a pair has partner < its index and no terms
	tau     []int
	e, o    []term // a pair's terms of tau +1 and -1
}

// plan1D is the plan of one matrix.
type plan1D struct {
	r, c  int
	pairs [][2]int // column pairs
	useS  []bool   // pair p's s (and d, useD) is used
	useD  []bool
	rows  []rowPlan
}

func newPlan1D(p []float32, r, c int) *plan1D {
	pl := &plan1D{r: r, c: c}
	paired := make([]bool, c)
	opOf := make([]int, c) // the operand of column k's first-of-pair, -1 for a second
	for k := range opOf {
		opOf[k] = k
	}
	for k := 0; k < c; k++ {
		for k2 := k + 1; k2 < c && !paired[k]; k2++ {
			if !paired[k2] && columnsPair(p, r, c, k, k2) {
				paired[k], paired[k2] = true, true
				opOf[k], opOf[k2] = c+2*len(pl.pairs), -1
				pl.pairs = append(pl.pairs, [2]int{k, k2})
			}
		}
	}
	pl.useS, pl.useD = make([]bool, len(pl.pairs)), make([]bool, len(pl.pairs))
	pl.rows = make([]rowPlan, r)
	for i := 0; i < r; i++ {
		var ts []term
		for k := 0; k < c; k++ {
			v := p[i*c+k]
			if v == 0 || opOf[k] < 0 {
				continue
			}
			op := opOf[k]
			if op >= c { // a column pair: s where the second has the same sign
				pi := (op - c) / 2
				if p[i*c+pl.pairs[pi][1]] != v {
					op++
				}
			}
			ts = append(ts, term{coef: v, op: op, col: k})
		}
		pl.rows[i] = rowPlan{terms: ts, partner: -1}
	}
	for i := 0; i < r; i++ {
		for i2 := i + 1; i2 < r && pl.rows[i].partner < 0; i2++ {
			if pl.rows[i2].partner < 0 && len(pl.rows[i2].terms) > 0 {
				if tau := rowsPair(pl.rows[i].terms, pl.rows[i2].terms); tau != nil {
					row := &pl.rows[i]
					row.partner, row.tau = i2, tau
					for j, t := range row.terms {
						if tau[j] > 0 {
							row.e = append(row.e, t)
						} else {
							row.o = append(row.o, t)
						}
					}
					pl.rows[i2] = rowPlan{partner: i}
				}
			}
		}
	}
	for _, row := range pl.rows {
		for _, t := range row.terms {
			if t.op >= c {
				if (t.op-c)%2 == 0 {
					pl.useS[(t.op-c)/2] = true
				} else {
					pl.useD[(t.op-c)/2] = true
				}
			}
		}
	}
	return pl
}

// columnsPair reports whether columns k and k2 pair: in every row both
// zero or equal up to sign, and some row nonzero.
func columnsPair(p []float32, r, c, k, k2 int) bool {
	any := false
	for i := 0; i < r; i++ {
		a, b := p[i*c+k], p[i*c+k2]
		if (a == 0) != (b == 0) || (a != b && a != -b) {
			return false
		}
		any = any || a != 0
	}
	return any
}

// rowsPair returns the signs that make b's terms a's (same operands in
// the same order, coefficients equal up to sign), nil if none do; a
// pair needs terms of both signs to save work.
func rowsPair(a, b []term) []int {
	if len(a) != len(b) || len(a) == 0 {
		return nil
	}
	tau := make([]int, len(a))
	plus, minus := false, false
	for j := range a {
		switch {
		case a[j].op != b[j].op:
			return nil
		case a[j].coef == b[j].coef:
			tau[j], plus = 1, true
		case a[j].coef == -b[j].coef:
			tau[j], minus = -1, true
		default:
			return nil
		}
	}
	if !plus || !minus {
		return nil
	}
	return tau
}

// opsLen is the operands' count: x, then s and d of each pair.
func (pl *plan1D) opsLen() int { return pl.c + 2*len(pl.pairs) }

// fma32 is x*y + z rounded once to float32, as the kernels' FMA is
// (kernels.FMA32: float64's FMA rounded twice can differ).
func fma32(x, y, z float32) float32 { return kernels.FMA32(x, y, z) }

// sumTerms evaluates terms over the operands by rule 3.
func sumTerms(ts []term, ops []float32) float32 {
	var acc float32
	for j, t := range ts {
		x := ops[t.op]
		switch {
		case j == 0 && t.coef == 1:
			acc = x
		case j == 0 && t.coef == -1:
			acc = 0 - x
		case j == 0:
			acc = t.coef * x
		case t.coef == 1:
			acc += x
		case t.coef == -1:
			acc -= x
		default:
			acc = fma32(x, t.coef, acc)
		}
	}
	return acc
}

// eval applies the plan to x (c values) into out (r values); ops is
// scratch of c + 2*len(pairs).
func (pl *plan1D) eval(x, out, ops []float32) {
	copy(ops, x)
	for i, pr := range pl.pairs {
		a, b := x[pr[0]], x[pr[1]]
		if pl.useS[i] {
			ops[pl.c+2*i] = a + b
		}
		if pl.useD[i] {
			ops[pl.c+2*i+1] = a - b
		}
	}
	for i, row := range pl.rows {
		switch {
		case row.partner >= 0 && row.partner < i:
			continue // computed with its pair
		case row.partner >= 0:
			ev, ov := sumTerms(row.e, ops), sumTerms(row.o, ops)
			out[i], out[row.partner] = ev+ov, ev-ov
		default:
			out[i] = sumTerms(row.terms, ops)
		}
	}
}
