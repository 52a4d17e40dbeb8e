package gemm

import "github.com/convkit/convkit/kernels"

// Matrix-vector and small-batch products. When m or n is at most 4, each
// element of the large operand is used at most four times: the product is
// bound by that operand's trip from memory, while a register tile would
// run with most of its rows or lanes empty (a batch-1 linear layer,
// 1 x 1000 x 4096 with B transposed, ran at 0.34x oneDNN on the tile
// kernels on the AVX2 host). These forms stream the large operand once,
// contiguous rows four at a time, through dot and axpy kernels. A vector
// operand with a stride is gathered into the workspace.
type gemvForm int

const (
	gemvNone  gemvForm = iota
	gemvDot1           // m == n == 1: one dot product
	gemvDotB           // m == 1, B stored transposed: C[j] = x . (row j of the stored B)
	gemvDotA           // n == 1, A as stored: C[i] = (row i of A) . y
	gemvAxpyB          // m <= 4, B as stored: row i of C = sum over p of op(A)[i, p] * (row p of B)
	gemvAxpyA          // n <= 4, A stored transposed: column c of C = sum over p of op(B)[p, c] * (row p of the stored A)
	gemvDotsB          // 1 < m <= 4, B stored transposed: column j of C = the rows of A . (row j of the stored B)
	gemvDotsA          // 1 < n <= 4, A as stored: row i of C = (row i of A) . the columns of op(B)
)

// Below these lengths the per-call cost of the vector kernels outweighs
// what the tile kernels lose on one live row or lane.
const (
	gemvMinDot  = 16 // k, for the dot forms
	gemvMinAxpy = 16 // the output length, for the axpy forms

	gemvAxpyMinPiece = 1024 // output elements per thread in the axpy forms
)

// gemvFormFor picks the matrix-vector form of a product, or gemvNone. An
// axpy form with q > 1 output vectors passes over each group of four
// matrix rows q times; it runs where those four rows fit in half of an
// l1-byte L1 (output length 1024 at 32 KiB), or where the tiles would have
// to pack the whole matrix for q uses of each element (packB, packA: its
// rows alias into few cache sets or split cache lines). Measured on the
// AVX2 host: 2 x 1000 x 4096 tiles 8.5, axpy 15.5 GFLOPS; 3 x 3136 x 576
// (B read in place by the tiles) tiles 42.6, axpy 26.8; 4 x 2048 x 2048
// (B packed by the tiles) tiles 18.8, axpy 24.7.
func gemvFormFor(transA, transB bool, m, n, k, l1 int, packA, packB bool) gemvForm {
	maxOut := l1 / 2 / (4 * 4)
	switch {
	case m == 1 && n == 1:
		return gemvDot1
	case m == 1 && transB && k >= gemvMinDot:
		return gemvDotB
	case n == 1 && !transA && k >= gemvMinDot:
		return gemvDotA
	case m <= 4 && !transB && n >= gemvMinAxpy && (m == 1 || n <= maxOut || packB):
		return gemvAxpyB
	case n <= 4 && transA && m >= gemvMinAxpy && (n == 1 || m <= maxOut || packA):
		return gemvAxpyA
	case m <= 4 && !transA && transB && k >= gemvMinDot:
		// A few rows of A against the rows of a transposed B (a small-batch
		// linear layer): each B row streams once and meets all of A's rows,
		// where a register tile would keep m of its MR rows live.
		return gemvDotsB
	case n <= 4 && !transA && k >= gemvMinDot:
		// The same with the roles of A and B exchanged: four rows of A at
		// a time meet the few columns of op(B), gathered when strided.
		return gemvDotsA
	}
	return gemvNone
}

// runGemv computes rows [i0, i0+m) and columns [j0, j0+n) of a product
// that gemvFormFor gave a form.
func (w *workspace) runGemv(p *problem, vec *kernels.VecKernels, i0, m, j0, n int) {
	k := p.k
	switch p.gemv {
	case gemvDot1:
		x := w.vector(&w.gx, p.a, p.lda, p.transA, k)
		y := w.vector(&w.gy, p.b, p.ldb, !p.transB, k)
		p.store(&p.c[0], vec.Dot(x, y))
	case gemvDotB:
		x := [4][]float32{w.vector(&w.gx, p.a, p.lda, p.transA, k)}
		p.dotBlock(vec, &x, 1, p.b, p.ldb, j0, n, p.c[j0:], 0, 1)
	case gemvDotA:
		y := [4][]float32{w.vector(&w.gy, p.b, p.ldb, !p.transB, k)}
		p.dotBlock(vec, &y, 1, p.a, p.lda, i0, m, p.c[i0*p.ldc:], 0, p.ldc)
	case gemvDotsB: // the job's columns [j0, j0+n), every row of A against B's rows
		var rowsA [4][]float32
		for i := range m {
			rowsA[i] = p.a[(i0+i)*p.lda : (i0+i)*p.lda+k]
		}
		p.dotBlock(vec, &rowsA, m, p.b, p.ldb, j0, n, p.c[i0*p.ldc+j0:], p.ldc, 1)
	case gemvDotsA: // the job's rows [i0, i0+m), A's rows against every column of op(B)
		ys, q := w.formVectors(p)
		p.dotBlock(vec, &ys, q, p.a, p.lda, i0, m, p.c[i0*p.ldc:], 1, p.ldc)
	case gemvAxpyB: // rows of C, the job's columns [j0, j0+n)
		vs, q := w.formVectors(p)
		acc := w.accumulate(p, vec, &vs, q, 0, k, p.b, p.ldb, j0, n)
		for i := range q {
			for j, v := range acc[i*n : (i+1)*n] {
				p.store(&p.c[i*p.ldc+j0+j], v)
			}
		}
	case gemvAxpyA: // columns of C, the job's rows [i0, i0+m)
		vs, q := w.formVectors(p)
		acc := w.accumulate(p, vec, &vs, q, 0, k, p.a, p.lda, i0, m)
		for c := range q {
			for i, v := range acc[c*m : (c+1)*m] {
				p.store(&p.c[(i0+i)*p.ldc+c], v)
			}
		}
	}
}

// gemvSplitK runs an axpy form whose output is too short to split on t
// threads: each thread sums a range of k into its own accumulators, and
// the accumulators are added once all are done.
func (ctx *Context) gemvSplitK(p *problem, t, m, n int) {
	chunk := ceilDiv(p.k, t)
	t = ceilDiv(p.k, chunk)
	for i := range t {
		ctx.jobs[i] = job{p: p, i0: 0, m: m, j0: 0, n: n, ws: ctx.ws[i], k0: i * chunk, k1: min(p.k, (i+1)*chunk)}
	}
	ctx.runParallel(t)
	clear(ctx.jobs[:t])
	q, out, ldo, step := m, n, 1, p.ldc // gemvAxpyB: q rows of C
	if p.gemv == gemvAxpyA {
		q, out, ldo, step = n, m, p.ldc, 1 // q columns of C
	}
	acc := ctx.ws[0].gacc[:q*out]
	for _, w := range ctx.ws[1:t] {
		p.vec.Add(acc, acc, w.gacc[:q*out])
	}
	for r := range q {
		for x, v := range acc[r*out : (r+1)*out] {
			p.store(&p.c[r*step+x*ldo], v)
		}
	}
}

// gemvPartial is one thread's share of gemvSplitK: the sums over k in
// [k0, k1) of an axpy form, left in w.gacc.
func (w *workspace) gemvPartial(p *problem, k0, k1 int) {
	vs, q := w.formVectors(p)
	if p.gemv == gemvAxpyB {
		w.accumulate(p, p.vec, &vs, q, k0, k1, p.b, p.ldb, 0, p.n)
		return
	}
	w.accumulate(p, p.vec, &vs, q, k0, k1, p.a, p.lda, 0, p.m)
}

// dotBlock stores out[f*fs+i*rs] = alpha*(fixed[f] . row r0+i of mat) +
// beta*out[f*fs+i*rs] for f < q and i < cnt, the matrix rows
// len(fixed[0]) long and ld floats apart. On the generated paths the rows
// go four at a time through dotRows4 (four streams from memory at once),
// each group met by all q fixed vectors while it is in cache; otherwise,
// and for the last cnt mod 4 rows, one Dot per output.
func (p *problem) dotBlock(vec *kernels.VecKernels, fixed *[4][]float32, q int, mat []float32, ld, r0, cnt int, out []float32, fs, rs int) {
	k := len(fixed[0])
	i := 0
	if p.fast != nil { // the generated (amd64) paths
		var rows [4]*float32
		var d [4]float32
		for ; i+4 <= cnt; i += 4 {
			for r := range rows {
				o := (r0 + i + r) * ld
				rows[r] = &mat[o : o+k][0]
			}
			for f := range q {
				p.fast.dotRows4(&fixed[f][0], &rows, k, &d)
				for r, v := range d {
					p.store(&out[f*fs+(i+r)*rs], v)
				}
			}
		}
	}
	for ; i < cnt; i++ {
		o := (r0 + i) * ld
		for f := range q {
			p.store(&out[f*fs+i*rs], vec.Dot(fixed[f], mat[o:o+k]))
		}
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

// formVectors returns the q <= 4 vectors of a form, k long each: the rows
// of op(A) (gemvAxpyB) or the columns of op(B) (gemvAxpyA, gemvDotsA),
// gathered into the workspace where they are strided.
func (w *workspace) formVectors(p *problem) (vs [4][]float32, q int) {
	k := p.k
	if len(w.gx) < 4*k {
		w.gx = make([]float32, 4*k)
	}
	if p.gemv == gemvAxpyB {
		q = p.m
		for i := range q {
			if p.transA {
				vs[i] = gather(w.gx[i*k:(i+1)*k], p.a[i:], p.lda) // column i of the stored A
			} else {
				vs[i] = p.a[i*p.lda : i*p.lda+k]
			}
		}
		return vs, q
	}
	q = p.n
	for c := range q {
		if p.transB {
			vs[c] = p.b[c*p.ldb : c*p.ldb+k]
		} else {
			vs[c] = gather(w.gx[c*k:(c+1)*k], p.b[c:], p.ldb) // column c of B
		}
	}
	return vs, q
}

// gather copies v[p*ld] for p < len(dst) into dst and returns it.
func gather(dst, v []float32, ld int) []float32 {
	for p := range dst {
		dst[p] = v[p*ld]
	}
	return dst
}

// accumulate sets acc[r*cnt : (r+1)*cnt] = sum over p in [k0, k1) of
// vs[r][p] * mat[p*ld+x0 : p*ld+x0+cnt] for r < q, in the workspace. The
// matrix streams past once, whole rows in order: four rows per step
// through axpyRows4 on the generated paths (four streams at once, each
// accumulator loaded and stored once per four rows), one Axpy per row and
// vector otherwise. (Going in column chunks that stay in L1 cost 20-47% on
// the memory-bound shapes; gemvFormFor keeps q > 1 to short rows instead.)
func (w *workspace) accumulate(p *problem, vec *kernels.VecKernels, vs *[4][]float32, q, k0, k1 int, mat []float32, ld, x0, cnt int) []float32 {
	if len(w.gacc) < q*cnt {
		w.gacc = make([]float32, q*cnt)
	}
	acc := w.gacc[:q*cnt]
	clear(acc)
	pp := k0
	if p.fast != nil { // the generated (amd64) paths
		var rows [4]*float32
		var x [4]float32
		for ; pp+4 <= k1; pp += 4 {
			for r := range rows {
				o := (pp+r)*ld + x0
				rows[r] = &mat[o : o+cnt][0]
			}
			for i := range q {
				copy(x[:], vs[i][pp:pp+4])
				p.fast.axpyRows4(&acc[i*cnt : (i+1)*cnt][0], cnt, &rows, &x)
			}
		}
	}
	for ; pp < k1; pp++ {
		row := mat[pp*ld+x0 : pp*ld+x0+cnt]
		for i := range q {
			vec.Axpy(vs[i][pp], row, acc[i*cnt:(i+1)*cnt])
		}
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
