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

	// gemvSplitUnit is what the thread split of C rounds the forms' rows
	// and columns to: whole groups of four matrix rows for dotRows4 (so
	// that the same rows meet the same kernel on any split) and whole
	// cache lines of output for the axpy forms.
	gemvSplitUnit = 16

	// gemvMinChunk is the fewest k rows an axpy form sums per chunk: the
	// chunk's sums are cleared and added once more, about 3/gemvMinChunk
	// of the traffic, on accumulators that stay in cache.
	gemvMinChunk = 256
)

// gemvAdmits reports whether form f can compute a product of this shape,
// whether or not gemvFormFor would pick it.
func gemvAdmits(f gemvForm, transA, transB bool, m, n int) bool {
	switch f {
	case gemvDot1:
		return m == 1 && n == 1
	case gemvDotB:
		return m == 1 && transB
	case gemvDotA:
		return n == 1 && !transA
	case gemvAxpyB:
		return m <= 4 && !transB
	case gemvAxpyA:
		return n <= 4 && transA
	case gemvDotsB:
		return m <= 4 && !transA && transB
	case gemvDotsA:
		return n <= 4 && !transA
	}
	return false
}

// gemvKChunk is the k chunk of the axpy forms at depth k, fixed by the
// problem so that each output sums the same chunks in the same order on
// any number of threads: k splits into the most of 24, 12, 6, 4 or 2
// chunks (counts that two, three and four threads share evenly) of at
// least gemvMinChunk rows, rounded up to whole groups of four rows
// (axpyRows4); a shorter k is one chunk.
func gemvKChunk(k int) int {
	for _, c := range [...]int{24, 12, 6, 4, 2} {
		if k >= c*gemvMinChunk {
			return roundUp(ceilDiv(k, c), 4)
		}
	}
	return k
}

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
// planned as a matrix-vector form.
func (w *workspace) runGemv(p *problem, i0, m, j0, n int) {
	k, vec := p.k, p.vec
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
		p.storeAxpy(w.sumK(p, &vs, q, j0, n), q, j0, n)
	case gemvAxpyA: // columns of C, the job's rows [i0, i0+m)
		vs, q := w.formVectors(p)
		p.storeAxpy(w.sumK(p, &vs, q, i0, m), q, i0, m)
	}
}

// axpyMatrix is the matrix an axpy form streams (its rows run along the
// output), the number of vectors and the output length: B, m and n for
// gemvAxpyB, the stored A, n and m for gemvAxpyA.
func (p *problem) axpyMatrix() (mat []float32, ld, q, out int) {
	if p.gemv == gemvAxpyA {
		return p.a, p.lda, p.n, p.m
	}
	return p.b, p.ldb, p.m, p.n
}

// storeAxpy stores the q x cnt sums acc of an axpy form into the outputs
// [x0, x0+cnt) of C: vector r is row r of C (gemvAxpyB) or column r
// (gemvAxpyA).
func (p *problem) storeAxpy(acc []float32, q, x0, cnt int) {
	step, ldo := p.ldc, 1
	if p.gemv == gemvAxpyA {
		step, ldo = 1, p.ldc
	}
	for r := range q {
		for x, v := range acc[r*cnt : (r+1)*cnt] {
			p.store(&p.c[r*step+(x0+x)*ldo], v)
		}
	}
}

// sumK returns, in the workspace, an axpy form's sums over all of k for
// the outputs [x0, x0+cnt): chunk by chunk (p.kChunk), each chunk summed
// from zero and added in chunk order, which gives the same bits as
// gemvSplitK on any number of threads.
func (w *workspace) sumK(p *problem, vs *[4][]float32, q, x0, cnt int) []float32 {
	mat, ld, _, _ := p.axpyMatrix()
	acc := growFloats(&w.gacc, q*cnt)
	w.accumulate(p, vs, q, 0, min(p.k, p.kChunk), mat, ld, x0, cnt, acc)
	if p.kChunk < p.k {
		part := growFloats(&w.gpart, q*cnt)
		for k0 := p.kChunk; k0 < p.k; k0 += p.kChunk {
			w.accumulate(p, vs, q, k0, min(p.k, k0+p.kChunk), mat, ld, x0, cnt, part)
			p.vec.Add(acc, acc, part)
		}
	}
	return acc
}

// gemvSplitFor is the split of an axpy form whose output is too short to
// split on t threads: along the output each thread would stream a piece
// of every matrix row, and pieces under about 4 KiB defeat the
// prefetchers. Measured on the AVX2 host, 2 threads vs 1, interleaved:
// 1 x 1000 x 4096 0.93x, 1 x 4096 x 4096 1.45x, 4096 x 1 x 4096
// (A transposed) 1.32x. Such an output splits its k chunks instead.
func gemvSplitFor(p *problem, t int) (split, bool) {
	chunks := ceilDiv(p.k, p.kChunk)
	if p.gemv != gemvAxpyA && p.gemv != gemvAxpyB || max(p.m, p.n)/gemvAxpyMinPiece >= t || chunks < 2 {
		return split{}, false
	}
	return split{jobs: min(t, chunks), byK: true}, true
}

// gemvSplitK runs an axpy form split over k: job i sums its share of the
// k chunks, each into its own slot of ctx.partials, and once all are done
// the slots are added in chunk order, as sumK adds them on one thread.
func (ctx *Context) gemvSplitK(p *problem) {
	_, _, q, out := p.axpyMatrix()
	chunks, t, sz := ceilDiv(p.k, p.kChunk), p.split.jobs, q*out
	part := growFloats(&ctx.partials, chunks*sz)
	for i := range t {
		c0, c1 := i*chunks/t, (i+1)*chunks/t
		ctx.jobs[i] = job{p: p, m: p.m, n: p.n, ws: ctx.ws[i], c0: c0, c1: c1, part: part[c0*sz : c1*sz]}
	}
	ctx.runParallel(t)
	clear(ctx.jobs[:t])
	acc := part[:sz]
	for c := 1; c < chunks; c++ {
		p.vec.Add(acc, acc, part[c*sz:(c+1)*sz])
	}
	p.storeAxpy(acc, q, 0, out)
}

// gemvPartial is one job of gemvSplitK: the sums of the k chunks
// [c0, c1) of an axpy form over its whole output, chunk c0+i in the i-th
// q x out slot of part.
func (w *workspace) gemvPartial(p *problem, c0, c1 int, part []float32) {
	vs, q := w.formVectors(p)
	mat, ld, _, out := p.axpyMatrix()
	sz := q * out
	for c := c0; c < c1; c++ {
		slot := part[(c-c0)*sz : (c-c0+1)*sz]
		w.accumulate(p, &vs, q, c*p.kChunk, min(p.k, (c+1)*p.kChunk), mat, ld, 0, out, slot)
	}
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
	if p.fast != nil { // the generated paths (amd64, arm64)
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
	return gather((*buf)[:k], v, ld)
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
// vs[r][p] * mat[p*ld+x0 : p*ld+x0+cnt] for r < q (len(acc) = q*cnt). The
// matrix streams past once, whole rows in order: four rows per step
// through axpyRows4 on the generated paths (four streams at once, each
// accumulator loaded and stored once per four rows), one Axpy per row and
// vector otherwise. (Going in column chunks that stay in L1 cost 20-47% on
// the memory-bound shapes; gemvFormFor keeps q > 1 to short rows instead.)
func (w *workspace) accumulate(p *problem, vs *[4][]float32, q, k0, k1 int, mat []float32, ld, x0, cnt int, acc []float32) {
	clear(acc)
	pp := k0
	if p.fast != nil { // the generated paths (amd64, arm64)
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
			p.vec.Axpy(vs[i][pp], row, acc[i*cnt:(i+1)*cnt])
		}
	}
}

// growFloats returns (*buf)[:n], growing *buf first if it is shorter.
func growFloats(buf *[]float32, n int) []float32 {
	if len(*buf) < n {
		*buf = make([]float32, n)
	}
	return (*buf)[:n]
}

// store sets *c = alpha*ab + beta*(*c), not reading *c when beta == 0.
func (p *problem) store(c *float32, ab float32) {
	if p.beta == 0 {
		*c = p.alpha * ab
		return
	}
	*c = p.alpha*ab + p.beta**c
}
