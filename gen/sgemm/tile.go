package main

import (
	"fmt"

	"github.com/convkit/convkit/gen/kw"
)

// tileFamily emits every kernel of every tile of f's ISA: the P, R (and Q)
// kernels for each row count and the Micro entry point.
func tileFamily(f *kw.Func) {
	for _, t := range tiles {
		if t.isa != f.ISA.Name {
			continue
		}
		if t.nr%f.ISA.Lanes != 0 {
			panic(fmt.Sprintf("sgemm: %s tile %dx%d: NR is not a multiple of %d lanes", f.ISA.Name, t.mr, t.nr, f.ISA.Lanes))
		}
		for _, mode := range t.forms() {
			for rows := 1; rows <= t.mr; rows++ {
				genKernel(f, t, mode, rows)
			}
		}
		if t.role.micro() {
			genMicro(f, t)
		}
	}
}

// kernelName is the exported name of a kernel, e.g. Sgemm6x16AVX2P3.
func kernelName(t tile, mode byte, rows int) string {
	return fmt.Sprintf("Sgemm%dx%d%s%c%d", t.mr, t.nr, t.isa, mode, rows)
}

// microName is the exported name of a family's Micro entry point.
func microName(t tile) string { return fmt.Sprintf("SgemmMicro%dx%d%s", t.mr, t.nr, t.isa) }

// operands is what the kernel body needs, already in registers.
type operands struct {
	k     kw.G // k >= 0, consumed
	a     kw.G // A base (P) or row 0 (R)
	sa    kw.G // A stride in bytes
	b     kw.G
	sb    kw.G  // B row stride in bytes
	nr    *kw.G // live columns (nil: always NR)
	loadC func() (c, ldc kw.G)
	mode  byte
	rows  int
	// loop: the kernel runs tiles tiles, advancing a, b and c between them
	// (the kernel families); otherwise it returns after one (Micro).
	loop bool
	t    tile
	nv   int // vectors per row of the tile
}

func genKernel(f *kw.Func, t tile, mode byte, rows int) {
	name := kernelName(t, mode, rows)
	aIdx := "a[i+p*sa]"
	if mode == 'R' {
		aIdx = "a[i*sa+p]"
	}
	doc := []string{
		fmt.Sprintf("%s computes a %d x nr tile (1 <= nr <= %d) of C = alpha*A*B + beta*C", name, rows, t.nr),
		fmt.Sprintf("with A(i, p) = %s, B(p, j) = b[p*sb+j] and C(i, j) = c[i*ldc+j]:", aIdx),
		"",
		fmt.Sprintf("\tfor i < %d, j < nr:", rows),
		"\t  ab := sum over p < k of A(i, p) * B(p, j)",
		"\t  C(i, j) = alpha*ab + beta*C(i, j)    (beta == 0: C is not read)",
		"",
		"It reads no element of a, b or c outside those index sets. It repeats",
		"for tiles >= 1 tiles, advancing a by an, b by bn and c by cn elements",
		"before each next one (a row or column of tiles in one call). The",
		"reference is kernels.MicroGeneric (gemm/driver.go shows how gemm calls it).",
	}
	if mode == 'Q' {
		doc = append(doc, "",
			"It is the P kernel plus prefetches of B's rows 8 steps ahead, for a B read",
			"in place (prefetches never fault, and read nothing a program can see).")
	}
	f.Function(name, "func(k int, a *float32, sa int, b *float32, sb int, c *float32, ldc int, nr int, alpha float32, beta float32, tiles int, an int, bn int, cn int)", doc...)
	f.Label("top")
	o := operands{mode: mode, rows: rows, t: t, nv: t.nr / f.ISA.Lanes, loop: true}
	o.k = f.Int("k")
	o.a = f.Int("a")
	o.sa = strideBytes(f, "sa")
	o.b = f.Int("b")
	o.sb = strideBytes(f, "sb")
	nr := f.Int("nr")
	o.nr = &nr
	o.loadC = func() (kw.G, kw.G) {
		c := f.Int("c")
		return c, strideBytes(f, "ldc")
	}
	body(f, o)
}

// genMicro emits the kernels.GemmKernels.Micro entry point of a tile: packed
// panels, a full MR x NR tile.
func genMicro(f *kw.Func, t tile) {
	name := microName(t)
	f.Function(name, "func(k int, a, b, c []float32, ldc int, alpha, beta float32)",
		fmt.Sprintf("%s is the kernels.GemmKernels.Micro contract for MR = %d, NR = %d:", name, t.mr, t.nr),
		"",
		fmt.Sprintf("\tfor i < %d, j < %d:", t.mr, t.nr),
		fmt.Sprintf("\t  ab := sum over p < k of a[p*%d+i] * b[p*%d+j]", t.mr, t.nr),
		"\t  c[i*ldc+j] = alpha*ab + beta*c[i*ldc+j]   (beta == 0: c is not read)",
		"",
		"The slices' lengths are trusted (see the contract); the reference is",
		"kernels.MicroGeneric.",
	)
	o := operands{mode: 'P', rows: t.mr, t: t, nv: t.nr / f.ISA.Lanes}
	o.k = f.Int("k")
	o.a = f.Ptr("a")
	o.sa = f.Imm(t.mr * 4)
	o.b = f.Ptr("b")
	o.sb = f.Imm(t.nr * 4)
	o.loadC = func() (kw.G, kw.G) {
		c := f.Ptr("c")
		return c, strideBytes(f, "ldc")
	}
	body(f, o)
}

// strideBytes loads the int parameter name, a count of floats (a leading
// dimension or panel stride), as bytes.
func strideBytes(f *kw.Func, name string) kw.G {
	r := f.Int(name)
	f.ShlImm(r, 2)
	return r
}

// exit ends a tile: on to the next one (families) or return (Micro).
func (o operands) exit(f *kw.Func) {
	if o.loop {
		f.Jump("next")
		return
	}
	f.Ret()
}

// body emits everything after the arguments are loaded.
func body(f *kw.Func, o operands) {
	prefetchC(f, o)
	acc := make([][]kw.V, o.rows)
	for i := range acc {
		acc[i] = f.Zeros(o.nv)
	}
	if o.nr != nil {
		f.JumpIfNotEqual(*o.nr, o.t.nr, "edge")
	}
	kloop(f, o, acc, o.nv, nil, 4, "full")
	epilogue(f, o, acc, o.nv, nil, "full")
	if o.nr == nil {
		return
	}
	// The n edge: l live vectors, the last partial.
	f.Label("edge")
	f.Edges(*o.nr, o.nv, "edge", func(l int, p kw.Partial, lbl string) {
		kloop(f, o, acc, l, &p, 2, lbl)
		epilogue(f, o, acc, l, &p, lbl)
	})
	if o.loop {
		nextTile(f)
	}
}

// prefetchC fetches the C tile now so that its lines are near by the time
// the k loop is done (the stores would otherwise miss at the very end):
// into L2, not L1. A tile's rows ldc apart share L1 sets when ldc is a
// multiple of 1024 floats (vgg_3x3_c3's 224x224 planes), and its 28 to 42
// lines fetched into L1 at the start evicted one another and the packed
// panels the k loop reads. Zen 4, one thread, 64x50176x27: 43-53 -> 57-60
// GFLOPS; the same GEMM in 2048-column calls with C rows 50176 apart,
// 52 -> 72; the public SGEMM shapes unchanged within noise.
func prefetchC(f *kw.Func, o operands) {
	c, ldc := o.loadC()
	for i := 0; i < o.rows; i++ {
		for off := 0; off < o.t.nr*4; off += 64 {
			f.PrefetchL2(kw.Mem{Base: c, Disp: off})
		}
		f.PrefetchL2(kw.Mem{Base: c, Disp: o.t.nr*4 - 4})
		if i+1 < o.rows {
			f.AddGP(c, ldc)
		}
	}
}

// nextTile advances a, b and c by an, bn and cn floats in the argument
// slots and starts over, until tiles is used up.
func nextTile(f *kw.Func) {
	f.Label("next")
	tiles := f.Int("tiles")
	f.DecJumpZero(tiles, "last")
	f.StoreParam(tiles, "tiles")
	// Only when another tile follows: the pointers then stay inside their
	// arrays (the stack slots are scanned by the GC).
	for _, pn := range [][2]string{{"a", "an"}, {"b", "bn"}, {"c", "cn"}} {
		ptr := f.Int(pn[0])
		step := f.Int(pn[1])
		f.Lea(kw.Mem{Base: ptr, Index: step, Scale: 4}, ptr)
		f.StoreParam(ptr, pn[0])
	}
	f.Jump("top")
	f.Label("last")
	f.Ret()
}

// stepMem addresses step 0..3 of an unrolled iteration of a stream with
// byte stride s (s3 = 3s): base, +s, +2s, +3s.
func stepMem(base, s, s3 kw.G, step, disp int) kw.Mem {
	switch step {
	case 0:
		return kw.Mem{Base: base, Disp: disp}
	case 1:
		return kw.Mem{Base: base, Index: s, Scale: 1, Disp: disp}
	case 2:
		return kw.Mem{Base: base, Index: s, Scale: 2, Disp: disp}
	default:
		return kw.Mem{Base: base, Index: s3, Scale: 1, Disp: disp}
	}
}

// kloop emits the k loop over l live vectors per row, unrolled u times
// (u is 4 or 2), with partial loads of the last vector when p != nil.
func kloop(f *kw.Func, o operands, acc [][]kw.V, l int, p *kw.Partial, u int, lbl string) {
	vbytes := f.ISA.VBytes()
	bv := make([]kw.V, l)
	for v := range bv {
		bv[v] = f.Vec()
	}
	// With an FMA by lane and A's rows consecutive (P and Q: A(i, p) =
	// a[i+p*sa]), a step loads A as ceil(rows/lanes) vectors and every
	// FMA takes its row's lane: no broadcasts. Otherwise A is broadcast a
	// row at a time; two broadcast registers let consecutive rows
	// overlap, and a 16-register ISA has room for one only (12
	// accumulators + 2 B + 1).
	L := f.ISA.Lanes
	laneA := f.ISA.LaneFMA && o.mode != 'R'
	var av, bc []kw.V
	if laneA {
		av = make([]kw.V, (o.rows+L-1)/L)
	} else {
		nb := 1
		if f.ISA.Regs >= 32 {
			nb = 2
		}
		bc = make([]kw.V, nb)
	}
	for _, r := range [][]kw.V{av, bc} {
		for i := range r {
			r[i] = f.Vec()
		}
	}

	nb := len(bc)
	sa3 := f.GP()
	f.Lea(kw.Mem{Base: o.sa, Index: o.sa, Scale: 2}, sa3)
	sb3 := f.GP()
	f.Lea(kw.Mem{Base: o.sb, Index: o.sb, Scale: 2}, sb3)

	// Row bases of an R kernel: rows 3g, 3g+1, 3g+2 are base[g] + 0, sa, 2sa.
	var bases []kw.G
	if o.mode == 'R' {
		bases = append(bases, o.a)
		for g := 1; g*3 < o.rows; g++ {
			r := f.GP()
			f.Lea(kw.Mem{Base: bases[g-1], Index: sa3, Scale: 1}, r)
			bases = append(bases, r)
		}
	}
	aMem := func(i, step int) kw.Mem {
		if o.mode != 'R' {
			return stepMem(o.a, o.sa, sa3, step, 4*i)
		}
		base := bases[i/3]
		switch i % 3 {
		case 0:
			return kw.Mem{Base: base, Disp: 4 * step}
		case 1:
			return kw.Mem{Base: base, Index: o.sa, Scale: 1, Disp: 4 * step}
		default:
			return kw.Mem{Base: base, Index: o.sa, Scale: 2, Disp: 4 * step}
		}
	}

	emitStep := func(step int) {
		for v := 0; v < l; v++ {
			src := stepMem(o.b, o.sb, sb3, step, v*vbytes)
			if p != nil && v == l-1 {
				f.LoadPartial(src, *p, bv[v])
			} else {
				f.LoadVec(src, bv[v])
			}
		}
		if laneA {
			for g := range av {
				if live := o.rows - g*L; live < L {
					f.LoadPartial(aMem(g*L, step), kw.Lanes(live), av[g])
				} else {
					f.LoadVec(aMem(g*L, step), av[g])
				}
			}
			for i := 0; i < o.rows; i++ {
				for v := 0; v < l; v++ {
					f.FMALane(acc[i][v], bv[v], av[i/L], i%L)
				}
			}
			return
		}
		for i := 0; i < o.rows; i++ {
			am := aMem(i, step)
			if f.ISA.EmbeddedBroadcast && l == 1 {
				f.FMABcast(acc[i][0], bv[0], am)
				continue
			}
			x := bc[i%nb]
			f.Broadcast(am, x)
			for v := 0; v < l; v++ {
				f.FMA(acc[i][v], x, bv[v])
			}
		}
	}
	advance := func(steps int) {
		if o.mode != 'R' {
			f.Lea(kw.Mem{Base: o.a, Index: o.sa, Scale: steps}, o.a)
		} else {
			for _, base := range bases {
				f.AddImm(base, 4*steps)
			}
		}
		f.Lea(kw.Mem{Base: o.b, Index: o.sb, Scale: steps}, o.b)
	}

	n := f.MoveGP(o.k)
	shift := 2
	if u == 2 {
		shift = 1
	}
	f.ShrImmJumpZero(n, shift, lbl+"tail")
	var pf kw.G
	if o.mode == 'Q' {
		pf = f.GP()
	}
	f.Label(lbl + "loop")
	if o.mode != 'R' {
		// Packed A streams through at rows*4 bytes per step: fetch the
		// lines 8 steps ahead (prefetches never fault).
		ahead := kw.Mem{Base: o.a, Index: o.sa, Scale: 8}
		for off := 0; off < o.rows*4*u; off += 64 {
			f.Prefetch(ahead.Offset(off))
		}
	}
	if o.mode == 'Q' {
		// B read in place with small m: a column of rows sb apart, on a
		// new page per row for conv-shaped products (where the hardware
		// prefetchers stop), re-read by every tile down the column and
		// evicted from L1 in between by set conflicts. Fetch each step's
		// row 8 steps ahead. Measured on the AVX2 host, interleaved:
		// conv-shaped products (m = 32..128, n = 3136) +2.5-5%; in the P
		// kernels (packed B, already in L1) the same prefetches cost 2.6%
		// at 1024^3, hence a family of their own, which the driver uses
		// only where B's strip cannot stay in L1 (gemm's stripInL1). On
		// the AVX-512 Xeon, interleaved: 64x3136x576 1.34-1.38x, 64x3136x256
		// 1.32x, every other public shape within noise.
		//
		// The same row of the next strip (the NR floats to the right)
		// is fetched too: the first tile down that column then finds it
		// in L2, where it waited on L3 or memory, a page per row, which
		// the hardware prefetchers do not cross. Measured on Zen 4
		// (AVX-512), one thread, 64x3136x576: median 95 -> 108 GFLOPS
		// (oneDNN's sgemm 110-114 in the same session); tiles further
		// down the column fetch it again, from L1, at no measurable cost.
		// As PREFETCHT1 (L2 only) it gained half as much.
		f.Lea(kw.Mem{Base: o.b, Index: o.sb, Scale: 8}, pf)
		for s := 0; s < u; s++ {
			// Every line of the row and of the next strip's: NR floats
			// span two on AVX-512.
			for off := 0; off < 2*o.t.nr*4; off += 64 {
				f.Prefetch(stepMem(pf, o.sb, sb3, s, off))
			}
		}
	}
	for s := 0; s < u; s++ {
		emitStep(s)
	}
	advance(u)
	f.DecJumpNonZero(n, lbl+"loop")
	f.Label(lbl + "tail")
	f.AndImmJumpZero(o.k, u-1, lbl+"done")
	f.Label(lbl + "tailloop")
	emitStep(0)
	advance(1)
	f.DecJumpNonZero(o.k, lbl+"tailloop")
	f.Label(lbl + "done")
}

// epilogue scales the accumulators by alpha, adds beta*C unless beta == 0,
// and stores the rows x l-vector tile (the last vector partial when
// p != nil).
func epilogue(f *kw.Func, o operands, acc [][]kw.V, l int, p *kw.Partial, lbl string) {
	vbytes := f.ISA.VBytes()
	alpha := f.BroadcastParam("alpha")
	var ps kw.Partial
	if p != nil {
		ps = f.ForStores(*p)
	}
	// beta == +0 or -0: C must not be read (it may hold NaN).
	f.JumpIfFloatParamZero("beta", lbl+"beta0")

	store := func(withBeta bool, beta kw.V) {
		c, ldc := o.loadC()
		tmp := f.Vec()
		for i := 0; i < o.rows; i++ {
			for v := 0; v < l; v++ {
				dst := kw.Mem{Base: c, Disp: v * vbytes}
				partial := p != nil && v == l-1
				f.Mul(acc[i][v], acc[i][v], alpha)
				if withBeta {
					if partial {
						f.LoadPartial(dst, ps, tmp)
					} else {
						f.LoadVec(dst, tmp)
					}
					f.FMA(acc[i][v], beta, tmp)
				}
				if partial {
					f.StorePartial(acc[i][v], ps, dst)
				} else {
					f.StoreVec(acc[i][v], dst)
				}
			}
			if i+1 < o.rows {
				f.AddGP(c, ldc)
			}
		}
	}
	beta := f.BroadcastParam("beta")
	store(true, beta)
	o.exit(f)
	f.Label(lbl + "beta0")
	store(false, kw.V{})
	o.exit(f)
}
