package gemm

import "github.com/convkit/convkit/kernels"

// Matrix-vector products. When m == 1 or n == 1 every element of the
// matrix operand is used once: the product is bound by that operand's trip
// from memory, while a register tile would run with one live row or lane
// (a batch-1 linear layer, 1 x 1000 x 4096 with B transposed, ran at 0.34x
// oneDNN on the tile kernels on the AVX2 host). These forms run on the
// vector kernels instead and stream the matrix once, a contiguous row at a
// time. A vector operand with a stride is gathered into the workspace.
type gemvForm int

const (
	gemvNone  gemvForm = iota
	gemvDot1           // m == n == 1: one dot product
	gemvDotB           // m == 1, B stored transposed: C[j] = x . (row j of the stored B)
	gemvDotA           // n == 1, A as stored: C[i] = (row i of A) . y
	gemvAxpyB          // m == 1, B as stored: C row = sum over p of x[p] * (row p of B)
	gemvAxpyA          // n == 1, A stored transposed: C column = sum over p of y[p] * (row p of the stored A)
	gemvDotsB          // 1 < m <= 4, B stored transposed: column j of C = the rows of A . (row j of the stored B)
)

// Below these lengths the per-call cost of the vector kernels outweighs
// what the tile kernels lose on one live row or lane.
const (
	gemvMinDot  = 16 // k, for the dot forms
	gemvMinAxpy = 16 // the output length, for the axpy forms

	gemvAxpyMinPiece = 1024 // output elements per thread in the axpy forms
)

// gemvFormFor picks the matrix-vector form of a product, or gemvNone.
func gemvFormFor(transA, transB bool, m, n, k int) gemvForm {
	switch {
	case m == 1 && n == 1:
		return gemvDot1
	case m == 1 && transB && k >= gemvMinDot:
		return gemvDotB
	case n == 1 && !transA && k >= gemvMinDot:
		return gemvDotA
	case m == 1 && !transB && n >= gemvMinAxpy:
		return gemvAxpyB
	case n == 1 && transA && m >= gemvMinAxpy:
		return gemvAxpyA
	case m <= 4 && !transA && transB && k >= gemvMinDot:
		// A few rows of A against the rows of a transposed B (a small-batch
		// linear layer): each B row streams once and meets all of A's rows,
		// where a register tile would keep m of its MR rows live.
		return gemvDotsB
	}
	return gemvNone
}

// runGemv computes rows [i0, i0+m) and columns [j0, j0+n) of a
// matrix-vector product (the product's m or n is 1).
func (w *workspace) runGemv(p *problem, vec *kernels.VecKernels, i0, m, j0, n int) {
	k := p.k
	switch p.gemv {
	case gemvDot1:
		x := w.vector(&w.gx, p.a, p.lda, p.transA, k)
		y := w.vector(&w.gy, p.b, p.ldb, !p.transB, k)
		p.store(&p.c[0], vec.Dot(x, y))
	case gemvDotB:
		x := w.vector(&w.gx, p.a, p.lda, p.transA, k)
		p.dotRows(vec, x, p.b, p.ldb, j0, n, p.c[j0:], 1)
	case gemvDotA:
		y := w.vector(&w.gy, p.b, p.ldb, !p.transB, k)
		p.dotRows(vec, y, p.a, p.lda, i0, m, p.c[i0*p.ldc:], p.ldc)
	case gemvDotsB:
		// Four rows of B at a time (four streams from memory), each met by
		// every row of A while the four are in L1 and L2.
		j := j0
		if p.fast != nil { // the generated (amd64) paths
			var rows [4]*float32
			var d [4]float32
			for ; j+4 <= j0+n; j += 4 {
				for r := range rows {
					o := (j + r) * p.ldb
					rows[r] = &p.b[o : o+k][0]
				}
				for i := i0; i < i0+m; i++ {
					dotRows4(&p.a[i*p.lda : i*p.lda+k][0], &rows, k, &d)
					for r, v := range d {
						p.store(&p.c[i*p.ldc+j+r], v)
					}
				}
			}
		}
		for ; j < j0+n; j++ {
			for i := i0; i < i0+m; i++ {
				p.store(&p.c[i*p.ldc+j], vec.Dot(p.a[i*p.lda:i*p.lda+k], p.b[j*p.ldb:j*p.ldb+k]))
			}
		}
	case gemvAxpyB:
		x := w.vector(&w.gx, p.a, p.lda, p.transA, k)
		acc := w.accumulate(p, vec, x, p.b, p.ldb, j0, n)
		for j, v := range acc {
			p.store(&p.c[j0+j], v)
		}
	case gemvAxpyA:
		y := w.vector(&w.gy, p.b, p.ldb, !p.transB, k)
		acc := w.accumulate(p, vec, y, p.a, p.lda, i0, m)
		for i, v := range acc {
			p.store(&p.c[(i0+i)*p.ldc], v)
		}
	}
}

// gemvSplitK runs an axpy form whose output is too short to split on t
// threads: each thread sums a range of k into its own accumulator, and the
// accumulators are added once all are done.
func (ctx *Context) gemvSplitK(p *problem, t, m, n int) {
	chunk := ceilDiv(p.k, t)
	t = ceilDiv(p.k, chunk)
	for i := range t {
		ctx.jobs[i] = job{p: p, i0: 0, m: m, j0: 0, n: n, ws: ctx.ws[i], k0: i * chunk, k1: min(p.k, (i+1)*chunk)}
	}
	ctx.runParallel(t)
	clear(ctx.jobs[:t])
	out := max(m, n)
	acc := ctx.ws[0].gacc[:out]
	for _, w := range ctx.ws[1:t] {
		p.vec.Add(acc, acc, w.gacc[:out])
	}
	ldo := 1 // gemvAxpyB: C is one row
	if p.gemv == gemvAxpyA {
		ldo = p.ldc // C is one column
	}
	for i, v := range acc {
		p.store(&p.c[i*ldo], v)
	}
}

// gemvPartial is one thread's share of gemvSplitK: the sum over k in
// [k0, k1) of an axpy form, left in w.gacc[:out].
func (w *workspace) gemvPartial(p *problem, k0, k1, out int) {
	if p.gemv == gemvAxpyB {
		x := w.vector(&w.gx, p.a, p.lda, p.transA, p.k)
		w.accumulate(p, p.vec, x[k0:k1], p.b[k0*p.ldb:], p.ldb, 0, out)
		return
	}
	y := w.vector(&w.gy, p.b, p.ldb, !p.transB, p.k)
	w.accumulate(p, p.vec, y[k0:k1], p.a[k0*p.lda:], p.lda, 0, out)
}

// dotRows stores out[i*ldo] = alpha*(row r0+i of mat) . x + beta*out[i*ldo]
// for i < cnt, the rows len(x) long and ld floats apart: four rows at a
// time through dotRows4 where the path has it (four streams from memory
// at once), the rest one Dot each.
func (p *problem) dotRows(vec *kernels.VecKernels, x, mat []float32, ld, r0, cnt int, out []float32, ldo int) {
	k := len(x)
	i := 0
	if p.fast != nil { // the generated (amd64) paths

		var rows [4]*float32
		var d [4]float32
		for ; i+4 <= cnt; i += 4 {
			for r := range rows {
				o := (r0 + i + r) * ld
				rows[r] = &mat[o : o+k][0]
			}
			dotRows4(&x[0], &rows, k, &d)
			for r, v := range d {
				p.store(&out[(i+r)*ldo], v)
			}
		}
	}
	for ; i < cnt; i++ {
		o := (r0 + i) * ld
		p.store(&out[i*ldo], vec.Dot(x, mat[o:o+k]))
	}
}

// vector returns the k elements v[p*ld] (strided) or v[p] as one
// contiguous slice, gathering a strided one into *buf.
func (w *workspace) vector(buf *[]float32, v []float32, ld int, strided bool, k int) []float32 {
	if !strided || ld == 1 {
		return v[:k]
	}
	if len(*buf) < k {
		*buf = make([]float32, k)
	}
	g := (*buf)[:k]
	for p := range g {
		g[p] = v[p*ld]
	}
	return g
}

// accumulate returns sum over p of v[p] * mat[p*ld+x0 : p*ld+x0+cnt] in
// the workspace, the accumulator staying in cache while the matrix rows
// stream past: four rows per pass through axpyRows4 on the generated
// paths (four streams at once, one load and store of the accumulator),
// one Axpy per row otherwise.
func (w *workspace) accumulate(p *problem, vec *kernels.VecKernels, v, mat []float32, ld, x0, cnt int) []float32 {
	if len(w.gacc) < cnt {
		w.gacc = make([]float32, cnt)
	}
	acc := w.gacc[:cnt]
	clear(acc)
	q := 0
	if p.fast != nil { // the generated (amd64) paths
		var rows [4]*float32
		var x [4]float32
		for ; q+4 <= len(v); q += 4 {
			for r := range rows {
				o := (q+r)*ld + x0
				rows[r] = &mat[o : o+cnt][0]
			}
			copy(x[:], v[q:q+4])
			axpyRows4(&acc[0], cnt, &rows, &x)
		}
	}
	for ; q < len(v); q++ {
		vec.Axpy(v[q], mat[q*ld+x0:q*ld+x0+cnt], acc)
	}
	return acc
}

// store sets *c = alpha*ab + beta*(*c), not reading *c when beta == 0.
func (p *problem) store(c *float32, ab float32) {
	if p.beta == 0 {
		*c = p.alpha * ab
		return
	}
	*c = p.alpha*ab + p.beta**c
}
