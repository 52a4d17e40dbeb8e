package main

import "github.com/convkit/convkit/gen/kw"

// The evaluation plan of a 1D transform, the rule package winograd's
// plan.go states (its twin follows the same plan, bit for bit): column
// pairs become s = x[k] + x[k2] and d = x[k] - x[k2] where a row uses
// them, row pairs become E + O and E - O, and each sum runs its terms in
// order (a copy, 0 - x or a product first, then adds, subtracts and
// fused multiply-adds). It is derived from P rounded to float32, as the
// twin's is.

// term is coef times operand op (x[k] for op < c, then s, d per pair);
// col is the coefficient's column, its entry in the coefficient table.
type term struct {
	coef float32
	op   int
	col  int
}

type rowPlan struct {
	terms   []term
	partner int // -1 none; the second of a pair has a lower partner
	e, o    []term
}

type plan1D struct {
	r, c       int
	pairs      [][2]int
	useS, useD []bool
	rows       []rowPlan
}

func newPlan1D(p []float32, r, c int) *plan1D {
	pl := &plan1D{r: r, c: c}
	opOf := make([]int, c)
	paired := make([]bool, c)
	for k := range opOf {
		opOf[k] = k
	}
	for k := 0; k < c; k++ {
		for k2 := k + 1; k2 < c && !paired[k]; k2++ {
			if !paired[k2] && pairable(p, r, c, k, k2) {
				paired[k], paired[k2] = true, true
				opOf[k], opOf[k2] = c+2*len(pl.pairs), -1
				pl.pairs = append(pl.pairs, [2]int{k, k2})
			}
		}
	}
	pl.useS, pl.useD = make([]bool, len(pl.pairs)), make([]bool, len(pl.pairs))
	for i := 0; i < r; i++ {
		row := rowPlan{partner: -1}
		for k := 0; k < c; k++ {
			v := p[i*c+k]
			if v == 0 || opOf[k] < 0 {
				continue
			}
			op := opOf[k]
			if op >= c && p[i*c+pl.pairs[(op-c)/2][1]] != v {
				op++ // d: the second column has the other sign
			}
			row.terms = append(row.terms, term{coef: v, op: op, col: k})
		}
		pl.rows = append(pl.rows, row)
	}
	for i := 0; i < r; i++ {
		for i2 := i + 1; i2 < r && pl.rows[i].partner < 0; i2++ {
			if pl.rows[i2].partner >= 0 {
				continue
			}
			if e, o, ok := split(pl.rows[i].terms, pl.rows[i2].terms); ok {
				pl.rows[i].partner, pl.rows[i].e, pl.rows[i].o = i2, e, o
				pl.rows[i2] = rowPlan{partner: i}
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

// pairable: columns k and k2 are zero in the same rows, elsewhere equal
// up to sign, and not all zero.
func pairable(p []float32, r, c, k, k2 int) bool {
	nonzero := false
	for i := 0; i < r; i++ {
		a, b := p[i*c+k], p[i*c+k2]
		if (a == 0) != (b == 0) || (a != b && a != -b) {
			return false
		}
		nonzero = nonzero || a != 0
	}
	return nonzero
}

// split returns a's terms that b has with the same sign (e) and with the
// other (o), when b is a up to those signs and both kinds occur.
func split(a, b []term) (e, o []term, ok bool) {
	if len(a) != len(b) || len(a) == 0 {
		return nil, nil, false
	}
	for j := range a {
		switch {
		case a[j].op != b[j].op:
			return nil, nil, false
		case a[j].coef == b[j].coef:
			e = append(e, a[j])
		case a[j].coef == -b[j].coef:
			o = append(o, a[j])
		default:
			return nil, nil, false
		}
	}
	return e, o, len(e) > 0 && len(o) > 0
}

// emit computes the plan's r outputs from the vectors in, calling store
// with each output as soon as it is ready; row i's coefficients are the
// table entries (i*c + col) behind t.coef.
func (pl *plan1D) emit(t *transform, in []kw.V, store func(i int, v kw.V)) {
	f := t.f
	ops := make([]kw.V, pl.c+2*len(pl.pairs))
	copy(ops, in)
	for i, pr := range pl.pairs {
		if pl.useS[i] {
			ops[pl.c+2*i] = f.Vec()
			f.Binary(kw.Add, ops[pl.c+2*i], in[pr[0]], in[pr[1]])
		}
		if pl.useD[i] {
			ops[pl.c+2*i+1] = f.Vec()
			f.Binary(kw.Sub, ops[pl.c+2*i+1], in[pr[0]], in[pr[1]])
		}
	}
	for i, row := range pl.rows {
		switch {
		case row.partner >= 0 && row.partner < i:
			continue
		case row.partner >= 0:
			ev, ov := t.sum(i, row.e, ops), t.sum(i, row.o, ops)
			out1, out2 := f.Vec(), f.Vec()
			f.Binary(kw.Add, out1, ev, ov)
			f.Binary(kw.Sub, out2, ev, ov)
			store(i, out1)
			store(row.partner, out2)
		default:
			store(i, t.sum(i, row.terms, ops))
		}
	}
}

// sum emits the terms of row i in order into a fresh register.
func (t *transform) sum(i int, ts []term, ops []kw.V) kw.V {
	f := t.f
	acc := f.Vec()
	for j, tm := range ts {
		x := ops[tm.op]
		coef := kw.Mem{Base: t.coef, Disp: (i*t.cols + tm.col) * t.vb}
		switch {
		case j == 0 && tm.coef == 1:
			f.Move(x, acc)
		case j == 0 && tm.coef == -1:
			f.Binary(kw.Sub, acc, t.zero, x)
		case j == 0:
			f.Mul(acc, x, coef)
		case tm.coef == 1:
			f.Binary(kw.Add, acc, acc, x)
		case tm.coef == -1:
			f.Binary(kw.Sub, acc, acc, x)
		default:
			f.FMA(acc, x, coef)
		}
	}
	if len(ts) == 0 {
		panic("winograd: an empty sum")
	}
	return acc
}
