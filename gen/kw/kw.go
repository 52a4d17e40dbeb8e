// Package kw is convkit's kernel-writing layer: every kernel family is
// written once against it, and its backends emit Plan 9 assembly for each
// ISA: AVX2+FMA and AVX-512 through Avo, NEON through gen/arm64asm. A new
// ISA is a new Backend plus an ISA value (lanes, registers, tail strategy,
// unroll factors), never a second copy of a kernel.
//
// A kernel works on virtual registers: V (one vector of ISA.Lanes float32),
// G (a 64-bit general register) and Mask (a lane predicate: an opmask on
// AVX-512, an all-ones/all-zeros vector elsewhere). The Avo backend hands
// them to Avo's register allocator; the NEON backend allocates them itself
// (regalloc.go). Memory operands are a base register plus a displacement
// in bytes.
//
// Loops over float32 streams go through Func.Loop, which runs a body in
// three kinds of Step: unrolled full vectors, single full vectors, and the
// tail (the last elements, fewer than one vector). How the tail is done is
// the backend's tail strategy: masked loads and stores (AVX-512 opmasks,
// AVX2 VMASKMOVPS) or a scalar loop (NEON). Either way no kernel reads or
// writes one element past the lengths it was given. Func.LoopPairs is the
// same walk with some pointers at stride 2 (im2col's strided rows).
package kw

import "fmt"

// V is a virtual vector register of the kernel's ISA.
type V struct{ r any }

// G is a virtual 64-bit general-purpose register.
type G struct{ r any }

// Mask is a lane predicate: the result of a comparison or a tail mask.
type Mask struct{ r any }

// Mem is the memory operand Base + Index*Scale + Disp (bytes; Index is
// optional, Scale 1, 2, 4 or 8). x86 encodes it in the instruction; NEON,
// whose vector loads take base+offset only, adds the index in a scratch
// register first.
type Mem struct {
	Base  G
	Index G
	Scale int
	Disp  int
}

func (m Mem) indexed() bool { return m.Index.r != nil }

// Offset returns m moved by d bytes.
func (m Mem) Offset(d int) Mem { m.Disp += d; return m }

// Operand is a V or a Mem: the second source of an arithmetic operation.
// An ISA that can fold a memory operand into arithmetic (x86) does;
// another (NEON) loads it into a scratch register first.
type Operand interface{ isOperand() }

func (V) isOperand()   {}
func (Mem) isOperand() {}

// Pred is a lane comparison x pred y.
type Pred uint8

// The comparisons. Each states its NaN rule, which every backend keeps.
const (
	Unord Pred = iota // x or y is NaN
	LT                // x < y; false if either is NaN
	NGE               // !(x >= y); true if either is NaN
	GT                // x > y; false if either is NaN
)

// Op is a lane-wise binary operation (Add and Max also reduce).
type Op uint8

// The binary operations.
const (
	Add Op = iota
	Max    // the x86 rule: a NaN operand may be dropped; track NaN apart
	Sub
	Min // like Max: a NaN operand may be dropped
)

// Tail is a backend's strategy for the last elements of a stream.
type Tail uint8

// The tail strategies.
const (
	// TailOpmask: one masked vector, AVX-512 opmask registers.
	TailOpmask Tail = iota
	// TailMaskVector: one masked vector, a lane-mask vector register
	// (AVX2 VMASKMOVPS, whose masked-off lanes never fault).
	TailMaskVector
	// TailScalar: a loop of one element at a time in lane 0 (NEON, which
	// has no masked loads).
	TailScalar
)

// ISA is the parameter set of one target: what kernels may ask of it.
type ISA struct {
	Name     string // suffix of every kernel name: "AVX2", "AVX512", "NEON"
	What     string // what doc comments call the path
	Lanes    int    // float32 lanes per vector
	Regs     int    // vector registers
	Tail     Tail   // how streams end
	Unroll   int    // vectors per main-loop iteration, elementwise kernels
	Accs     int    // independent partial results, reductions
	PeakAccs int    // independent FMA chains of the FMA-peak probe
	// EmbeddedBroadcast: an FMA can broadcast its memory operand
	// (AVX-512's {1to16}), saving the broadcast register and instruction.
	EmbeddedBroadcast bool
	// LaneFMA: an FMA can take one lane of a register as its multiplier
	// (NEON's FMLA by element), so Lanes consecutive floats loaded as one
	// vector serve Lanes broadcasts.
	LaneFMA bool
}

// VBytes is the size of one vector in bytes.
func (i ISA) VBytes() int { return 4 * i.Lanes }

// Step is one trip through a loop body: Count vectors at the current
// pointers. In the tail, Tail is set and the vector is partial: masked
// (Scalar false) or a single element in lane 0 (Scalar true).
type Step struct {
	Count  int
	Tail   bool
	Scalar bool
	mask   Mask
	stride int // bytes between the step's vectors
	// In a masked tail of LoopPairs: the two vectors of pairs behind each
	// paired pointer are pairFull full vectors, then one masked by
	// pairMask, then none (the rest lies past the end).
	pairFull int
	pairMask Mask
	// wholePairs: the pairs of a LoopWholePairs, whose last pair is whole,
	// so a scalar tail loads and stores both of its elements.
	wholePairs bool
}

// At is the j-th vector of this step behind pointer p.
func (s Step) At(p G, j int) Mem { return Mem{Base: p, Disp: j * s.stride} }

// PairAt is the j-th vector of pairs of this step behind a paired pointer
// of LoopPairs: the two vectors there hold the pairs of the j-th vector of
// the plain pointers.
func (s Step) PairAt(p G, j int) Mem { return Mem{Base: p, Disp: 2 * j * s.stride} }

// Func is the kernel under construction: the frontend kernels call. The
// ISA-independent parts (loops, folds, operand handling) live here; every
// instruction goes through the Backend.
type Func struct {
	Backend
	ISA   ISA
	fresh map[string]int // label prefixes used in the current function
}

// Fresh returns a label prefix unique in the current function: prefix the
// first time, then prefix2, prefix3, ... so that helpers that place
// labels (Loop, and a family's own) can run more than once per function.
func (f *Func) Fresh(prefix string) string {
	f.fresh[prefix]++
	if n := f.fresh[prefix]; n > 1 {
		return fmt.Sprintf("%s%d", prefix, n)
	}
	return prefix
}

// New returns a frontend over backend b.
func New(b Backend) *Func { return &Func{Backend: b, ISA: b.ISA()} }

// Kernel starts the function base+ISA.Name with the Go signature sig
// (e.g. "func(alpha float32, x, y []float32)"). Its doc comment names the
// kernels.VecKernels field it fills and the pure-Go twin that specifies it,
// then the contract as code (spec, one line each).
func (f *Func) Kernel(base, sig string, spec ...string) {
	name := base + f.ISA.Name
	doc := []string{
		fmt.Sprintf("%s is VecKernels.%s for %s.", name, base, f.ISA.What),
		fmt.Sprintf("Its reference and test oracle is kernels.%sGeneric:", base),
		"",
	}
	for _, l := range spec {
		doc = append(doc, "\t"+l)
	}
	f.begin(name, sig, doc)
}

func (f *Func) begin(name, sig string, doc []string) {
	f.fresh = map[string]int{}
	f.Begin(name, parseSig(name, sig), doc)
}

// Loop runs body over the n float32 elements behind ptrs: unroll vectors at
// a time, then single vectors, then the tail, so that a kernel never
// touches an element at or past n. body must not change ptrs or n; n is
// consumed.
func (f *Func) Loop(n G, ptrs []G, unroll int, body func(s Step)) {
	lanes, vb := f.ISA.Lanes, f.ISA.VBytes()
	unrolled, single, tail, done := f.Fresh("unrolled"), f.Fresh("single"), f.Fresh("tail"), f.Fresh("done")
	f.Comment(fmt.Sprintf("Main loop: %d vectors (%d elements) per iteration.", unroll, unroll*lanes))
	f.Label(unrolled)
	f.JumpIfLess(n, unroll*lanes, single)
	body(Step{Count: unroll, stride: vb})
	f.advance(n, ptrs, unroll*lanes, unroll*vb)
	f.Jump(unrolled)

	f.Label(single)
	f.Comment("One vector at a time.")
	f.JumpIfLess(n, lanes, tail)
	body(Step{Count: 1, stride: vb})
	f.advance(n, ptrs, lanes, vb)
	f.Jump(single)

	f.Label(tail)
	if f.ISA.Tail == TailScalar {
		f.Comment(fmt.Sprintf("The last 0..%d elements, one at a time in lane 0.", lanes-1))
		f.JumpIfLess(n, 1, done)
		body(Step{Count: 1, Tail: true, Scalar: true, stride: 4})
		f.advance(n, ptrs, 1, 4)
		f.Jump(tail)
	} else {
		f.Comment(fmt.Sprintf("The last 0..%d elements, masked: nothing outside the slices is touched.", lanes-1))
		f.JumpIfZero(n, done)
		body(Step{Count: 1, Tail: true, mask: f.TailMask(n)})
	}
	f.Label(done)
}

// advance moves every pointer on by bytes and counts elems off n.
func (f *Func) advance(n G, ptrs []G, elems, bytes int) {
	for _, p := range ptrs {
		f.AddImm(p, bytes)
	}
	f.SubImm(n, elems)
}

// LoopPairs is Loop over n elements of the plain pointers and, in step,
// n pairs of float32 of the paired ones, of which the last is half: its
// second element lies past the end. A paired pointer is thus a stride-2
// view of 2n-1 floats (the strided rows of im2col and col2im), and the
// kernel never touches the float at 2n-1 or past it. body reaches the
// plain vectors with Step.At and the pairs with Step.PairAt, LoadPairs,
// LoadEvens and StorePairs.
//
// The half pair is what shapes the loop: a full step runs only while more
// than its elements are left, so that the half pair always falls in the
// tail, which runs 1..Lanes elements (none only when n is 0). A masking
// ISA runs the tail as one step, whose two vectors of pairs have 2r-1 live
// lanes between them for r elements: a short case (r <= Lanes/2, the
// first vector partial, the second absent) and a long one (the first
// full, the second partial), so that each mask is an ordinary tail mask.
// A scalar-tail ISA runs it one element, the first of its pair, at a
// time. body must not change the pointers or n; n is consumed.
func (f *Func) LoopPairs(n G, plain, paired []G, unroll int, body func(s Step)) {
	f.loopPairs(n, plain, paired, unroll, false, body)
}

// LoopWholePairs is LoopPairs for paired views of 2n floats: every pair is
// whole, the last one too (the 2x2 windows of a stride-2 pooling), so both
// elements of every pair are loaded and stored, and LoadPairs' odd vector
// may be computed on. A full step runs while its elements are left; the
// masked tail's r elements cover 2r lanes (a short case r <= Lanes/2 and a
// long one), the scalar tail loads each pair's two elements into lane 0 of
// even and odd.
func (f *Func) LoopWholePairs(n G, plain, paired []G, unroll int, body func(s Step)) {
	f.loopPairs(n, plain, paired, unroll, true, body)
}

// loopPairs is LoopPairs (whole false: the last pair is half) and
// LoopWholePairs.
func (f *Func) loopPairs(n G, plain, paired []G, unroll int, whole bool, body func(s Step)) {
	lanes, vb := f.ISA.Lanes, f.ISA.VBytes()
	unrolled, single, tail, done := f.Fresh("unrolled"), f.Fresh("single"), f.Fresh("tail"), f.Fresh("done")
	// A half last pair is the tail's: full steps run only while more than
	// their elements are left. Whole pairs run while theirs are.
	atMost := f.JumpIfLessEq
	if whole {
		atMost = f.JumpIfLess
		f.Comment(fmt.Sprintf("Main loop: %d vectors (%d elements; %d vectors of whole pairs) per iteration.", unroll, unroll*lanes, 2*unroll))
	} else {
		f.Comment(fmt.Sprintf("Main loop: %d vectors (%d elements; %d vectors of pairs) per iteration, while", unroll, unroll*lanes, 2*unroll),
			"more than that is left: the last pair, which has no second element, is the tail's.")
	}
	f.Label(unrolled)
	atMost(n, unroll*lanes, single)
	body(Step{Count: unroll, stride: vb, wholePairs: whole})
	f.advancePairs(n, plain, paired, unroll*lanes, unroll*vb)
	f.Jump(unrolled)

	f.Label(single)
	if whole {
		f.Comment("One vector at a time.")
	} else {
		f.Comment("One vector at a time, while more than one is left.")
	}
	atMost(n, lanes, tail)
	body(Step{Count: 1, stride: vb, wholePairs: whole})
	f.advancePairs(n, plain, paired, lanes, vb)
	f.Jump(single)

	f.Label(tail)
	if f.ISA.Tail == TailScalar {
		if whole {
			f.Comment(fmt.Sprintf("The last 0..%d elements, one at a time in lane 0, each pair whole.", lanes-1))
		} else {
			f.Comment(fmt.Sprintf("The last 1..%d elements, one at a time in lane 0: the first of each pair only.", lanes))
		}
		f.JumpIfZero(n, done)
		body(Step{Count: 1, Tail: true, Scalar: true, stride: 4, wholePairs: whole})
		f.advancePairs(n, plain, paired, 1, 4)
		f.Jump(tail)
		f.Label(done)
		return
	}
	short := f.Fresh("tailshort")
	f.JumpIfZero(n, done)
	f.JumpIfLessEq(n, lanes/2, short)
	if whole {
		f.Comment(fmt.Sprintf("The last r = %d..%d elements, masked: the first vector of pairs is full, the", lanes/2+1, lanes-1),
			fmt.Sprintf("second has 2r-%d live lanes.", lanes))
	} else {
		f.Comment(fmt.Sprintf("The last r = %d..%d elements, masked: the first vector of pairs is full, the", lanes/2+1, lanes),
			fmt.Sprintf("second has 2r-%d live lanes, so the missing half of the last pair is not touched.", lanes+1))
	}
	f.pairTail(n, 1, whole, body)
	f.Jump(done)
	f.Label(short)
	if whole {
		f.Comment(fmt.Sprintf("The last r = 1..%d elements, masked: the first vector of pairs has 2r live", lanes/2),
			"lanes, the second is past the end.")
	} else {
		f.Comment(fmt.Sprintf("The last r = 1..%d elements, masked: the first vector of pairs has 2r-1", lanes/2),
			"live lanes, the second is past the end.")
	}
	f.pairTail(n, 0, whole, body)
	f.Label(done)
}

// pairTail runs body as the masked tail of a pair loop for the r = n
// elements left: the first full (0 or 1) vectors of pairs are full, the
// next has the remaining 2r-1-full*Lanes lanes live (2r-full*Lanes for
// whole pairs).
func (f *Func) pairTail(n G, full int, whole bool, body func(s Step)) {
	live := f.MoveGP(n)
	f.ShlImm(live, 1)
	if off := full * f.ISA.Lanes; !whole {
		f.SubImm(live, 1+off)
	} else if off > 0 {
		f.SubImm(live, off)
	}
	body(Step{Count: 1, Tail: true, mask: f.TailMask(n), stride: f.ISA.VBytes(),
		pairFull: full, pairMask: f.TailMask(live), wholePairs: whole})
}

// advancePairs is advance with the paired pointers moved twice as far.
func (f *Func) advancePairs(n G, plain, paired []G, elems, bytes int) {
	for _, p := range paired {
		f.AddImm(p, 2*bytes)
	}
	f.advance(n, plain, elems, bytes)
}

// pairVec returns the k-th (0 or 1) vector of pairs at m: in a masked
// tail only its live lanes loaded (the others 0), or zeros if it lies past
// the end.
func (f *Func) pairVec(s Step, k int, m Mem) V {
	if s.Tail && k > s.pairFull {
		return f.Zero()
	}
	v := f.Vec()
	if s.Tail && k == s.pairFull {
		f.LoadMasked(m, s.pairMask, v)
	} else {
		f.LoadVec(m, v)
	}
	return v
}

// storePairVec is the store of pairVec: nothing if the vector lies past
// the end.
func (f *Func) storePairVec(s Step, k int, v V, m Mem) {
	switch {
	case !s.Tail || k < s.pairFull:
		f.StoreVec(v, m)
	case k == s.pairFull:
		f.StoreMasked(v, s.pairMask, m)
	}
}

// LoadPairs sets even and odd to the first and second elements of the
// pairs at m (a Step.PairAt): lane i of each holds pair i of the step's
// vector. In a masked tail the elements past the end are 0 and are not
// read. In LoopPairs the second elements are there to be passed to
// StorePairs unchanged, never computed on: a scalar tail loads lane 0 of
// even alone and leaves odd unset. In LoopWholePairs both are loaded.
func (f *Func) LoadPairs(s Step, m Mem, even, odd V) {
	if s.Scalar {
		f.LoadScalar(m, even)
		if s.wholePairs {
			f.LoadScalar(m.Offset(4), odd)
		}
		return
	}
	f.Unzip(even, odd, f.pairVec(s, 0, m), f.pairVec(s, 1, m.Offset(s.stride)))
}

// LoadEvens is LoadPairs for the first elements alone.
func (f *Func) LoadEvens(s Step, m Mem, even V) {
	if s.Scalar {
		f.LoadScalar(m, even)
		return
	}
	f.Evens(even, f.pairVec(s, 0, m), f.pairVec(s, 1, m.Offset(s.stride)))
}

// StorePairs writes the pairs (even[i], odd[i]) to m, odd as LoadPairs
// gave it: in a masked tail only the elements before the end, in a scalar
// tail lane 0 of even alone.
func (f *Func) StorePairs(s Step, even, odd V, m Mem) {
	if s.Scalar {
		f.StoreScalar(even, m)
		if s.wholePairs {
			f.StoreScalar(odd, m.Offset(4))
		}
		return
	}
	x, y := f.Vec(), f.Vec()
	f.Zip(x, y, even, odd)
	f.storePairVec(s, 0, x, m)
	f.storePairVec(s, 1, y, m.Offset(s.stride))
}

// Load sets dst to the vector at m; in a masked tail the lanes past the
// end are 0 and are not read, in a scalar one lane 0 is loaded and the
// others are 0.
func (f *Func) Load(s Step, m Mem, dst V) {
	switch {
	case !s.Tail:
		f.LoadVec(m, dst)
	case s.Scalar:
		f.LoadScalar(m, dst)
	default:
		f.LoadMasked(m, s.mask, dst)
	}
}

// LoadFill is Load with the lanes past the end set to fill's.
func (f *Func) LoadFill(s Step, m Mem, fill, dst V) {
	switch {
	case !s.Tail:
		f.LoadVec(m, dst)
	case s.Scalar:
		f.Move(fill, dst)
		f.LoadLane0(m, dst)
	default:
		f.LoadMaskedFill(m, s.mask, fill, dst)
	}
}

// Src is an operand for the vector at m: m itself in full steps (so that
// ISAs with memory operands fold the load into the arithmetic), a loaded
// register in the tail.
func (f *Func) Src(s Step, m Mem) Operand {
	if !s.Tail {
		return m
	}
	v := f.Vec()
	f.Load(s, m, v)
	return v
}

// Store writes v to m: only the valid lanes in the tail.
func (f *Func) Store(s Step, v V, m Mem) {
	switch {
	case !s.Tail:
		f.StoreVec(v, m)
	case s.Scalar:
		f.StoreScalar(v, m)
	default:
		f.StoreMasked(v, s.mask, m)
	}
}

// Zeros returns k vectors of +0.
func (f *Func) Zeros(k int) []V {
	vs := make([]V, k)
	for i := range vs {
		vs[i] = f.Zero()
	}
	return vs
}

// Fold combines vs pairwise with op into one vector (a tree, so the chain
// is log2(len) deep) and returns it.
func (f *Func) Fold(op Op, vs []V) V {
	for len(vs) > 1 {
		h := (len(vs) + 1) / 2
		for i := 0; i+h < len(vs); i++ {
			f.Binary(op, vs[i], vs[i], vs[i+h])
		}
		vs = vs[:h]
	}
	return vs[0]
}

// Function starts the function name with the Go signature sig and the
// given doc comment lines (Kernel is the form for VecKernels entries).
func (f *Func) Function(name, sig string, doc ...string) { f.begin(name, sig, doc) }

// Edges is ByCount over the n edge of a tile of nv vectors: the live
// column count nr, 1 <= nr < nv*Lanes.
func (f *Func) Edges(nr G, nv int, prefix string, body func(l int, p Partial, label string)) {
	f.ByCount(nr, nv*f.ISA.Lanes-1, prefix, body)
}

// ByCount emits a dispatch on the count n (1 <= n <= max, in a register
// it does not change) to one copy of body per case, each under its own
// label: body(l, p, label) runs with l vectors, the last one partial with
// live lanes p. A masking ISA gets one case per l (p computed at run time,
// all lanes live when n is a multiple of Lanes); a scalar-tail ISA one
// case per count (p fixed). Each body must end by jumping away.
func (f *Func) ByCount(n G, max int, prefix string, body func(l int, p Partial, label string)) {
	lanes := f.ISA.Lanes
	if f.ISA.Tail != TailScalar {
		groups := (max + lanes - 1) / lanes
		for l := 1; l < groups; l++ {
			f.JumpIfLessEq(n, l*lanes, fmt.Sprintf("%s%d", prefix, l))
		}
		if groups > 1 {
			f.Jump(fmt.Sprintf("%s%d", prefix, groups))
		}
		for l := 1; l <= groups; l++ {
			lbl := fmt.Sprintf("%s%d", prefix, l)
			f.Label(lbl)
			r := f.MoveGP(n)
			if l > 1 {
				f.SubImm(r, (l-1)*lanes)
			}
			body(l, f.PartialFor(r), lbl)
		}
		return
	}
	for c := 1; c < max; c++ {
		f.JumpIfLessEq(n, c, fmt.Sprintf("%s%d", prefix, c))
	}
	if max > 1 {
		f.Jump(fmt.Sprintf("%s%d", prefix, max))
	}
	for c := 1; c <= max; c++ {
		lbl := fmt.Sprintf("%s%d", prefix, c)
		f.Label(lbl)
		l := (c + lanes - 1) / lanes
		body(l, Partial{lanes: c - (l-1)*lanes}, lbl)
	}
}
