package kw

// Backend is what an ISA implements for the kernel-writing layer: 71
// emitters, each one instruction or a short fixed sequence, in six groups.
// Operands are in Intel-manual order, destination first. A new ISA writes
// the groups below (avx.go and neon.go are the two examples: Avo's
// registers, and a recorder with its own allocator) plus an ISA value.
// Masking is the only group a scalar-tail ISA may leave to panics; the
// capability methods at the end of Vectors are called only where the ISA
// value says it has them.
type Backend interface {
	// ISA is the backend's parameter set.
	ISA() ISA
	Frame
	Scalars
	Vectors
	Predicates
	Masking
	Permutes
}

// Frame is a function's shape: its start and ends, labels, arguments and
// results (by parameter name).
type Frame interface {
	// Begin starts a leaf function (no frame, NOSPLIT) with the given
	// signature and doc comment; Ret ends a path out of it.
	Begin(name string, sig Signature, doc []string)
	Ret()
	Comment(lines ...string)
	Label(name string)
	Jump(label string)

	Ptr(slice string) G                      // the data pointer of a slice argument
	Len(slice string) G                      // the length of a slice argument
	Int(name string) G                       // an int or pointer argument
	StoreParam(g G, name string)             // write an int or pointer argument slot
	BroadcastParam(name string) V            // a float32 argument in every lane
	JumpIfFloatParamZero(name, label string) // the float32 argument is +0 or -0
	ReturnFloat(v V)                         // lane 0 of v is the float32 result
	ReturnFloatBits(bits uint32)             // the float32 result, by its bits
	ReturnInt(g G)                           // g is the int result
}

// Scalars are the general registers: pointer arithmetic, counters and the
// branches on them.
type Scalars interface {
	GP() G
	ZeroGP() G
	MoveGP(src G) G
	Imm(imm int) G  // a fresh register holding imm
	LoadGP(m Mem) G // a fresh register holding the 64 bits at m
	Lea(m Mem, dst G)
	AddGP(dst, src G)
	SubGP(dst, src G) // dst -= src
	AddImm(g G, imm int)
	SubImm(g G, imm int)
	MulImm(dst, src G, imm int) // dst = src * imm
	ShlImm(g G, s int)

	JumpIfZero(g G, label string)
	JumpIfNotPositive(g G, label string)        // g <= 0
	JumpIfLess(g G, imm int, label string)      // signed g < imm
	JumpIfLessEq(g G, imm int, label string)    // signed g <= imm
	JumpIfNotEqual(g G, imm int, label string)  // g != imm
	JumpIfBitsClear(g G, imm int, label string) // g & imm == 0
	DecJumpNonZero(g G, label string)           // g--; if g != 0 goto label
	DecJumpZero(g G, label string)              // g--; if g == 0 goto label
	ShrImmJumpZero(g G, s int, label string)    // g >>= s (unsigned); if g == 0 goto label
	AndImmJumpZero(g G, imm int, label string)  // g &= imm; if g == 0 goto label
}

// Vectors are the vector registers, memory and arithmetic, lane by lane.
type Vectors interface {
	Vec() V
	Zero() V
	Splat(bits uint32) V // every lane the float32 with these bits
	Move(src, dst V)
	LoadVec(m Mem, dst V)
	StoreVec(v V, m Mem)
	LoadScalar(m Mem, dst V) // lane 0 from m, the other lanes 0
	LoadLane0(m Mem, dst V)  // lane 0 from m, the other lanes kept
	StoreScalar(v V, m Mem)  // lane 0 to m
	Broadcast(m Mem, dst V)  // the float32 at m in every lane
	Prefetch(m Mem)          // into L1; never faults
	PrefetchL2(m Mem)        // into L2 (not L1), for a line to be written; never faults

	Binary(op Op, dst, x V, y Operand) // dst = x op y
	Mul(dst, x V, y Operand)           // dst = x * y
	FMA(acc, x V, y Operand)           // acc += x*y, one rounding
	FNMA(acc, x V, y Operand)          // acc -= x*y, one rounding
	MulAdd(dst, m V, y Operand)        // dst = dst*m + y, one rounding
	// Reduce folds the lanes of v with op, halving the width (lane i
	// meets lane i+Lanes/2, ...); lane 0 of the result holds it.
	Reduce(op Op, v V) V

	FMABcast(acc, x V, m Mem)      // acc += x * (the float32 at m); ISA.EmbeddedBroadcast only
	FMALane(acc, x, v V, lane int) // acc += x * v[lane]; ISA.LaneFMA only
}

// Predicates are lane comparisons and what consumes them.
type Predicates interface {
	Cmp(p Pred, x V, y Operand) Mask
	ZeroUnless(k Mask, src Operand, dst V) // dst = k ? src : +0
	Select(k Mask, x, y, dst V)            // dst = k ? x : y
	EmptyMask() Mask
	OrMask(k, acc Mask) // acc |= k
	JumpIfAny(k Mask, label string)
}

// Masking is the tail strategy's half: masked vectors of a count known at
// run time (stream tails, the n edge of a tile). Scalar-tail backends
// implement the partial accesses for counts fixed at generation (Lanes)
// and panic on the rest.
type Masking interface {
	TailMask(n G) Mask // the first n lanes, 0 < n <= Lanes
	LoadMasked(m Mem, k Mask, dst V)
	LoadMaskedFill(m Mem, k Mask, fill, dst V)
	StoreMasked(v V, k Mask, m Mem)

	PartialFor(r G) Partial              // r live lanes, 1 <= r <= Lanes; r is consumed
	ForStores(p Partial) Partial         // p, ready for several partial accesses
	LoadPartial(m Mem, p Partial, dst V) // the live lanes from m, the others 0
	StorePartial(v V, p Partial, m Mem)  // only the live lanes to m
}

// Permutes are the lane moves of packing, FFT and Winograd.
type Permutes interface {
	// Transpose transposes the Lanes x Lanes block whose rows are the
	// Lanes vectors x and returns the rows of the transpose (x is
	// clobbered).
	Transpose(x []V) []V
	// Zip interleaves the lanes of x and y in pairs: lo = x0 y0 x1 y1 ...
	// (the lower halves), hi = the same of the upper halves (complex
	// numbers from real and imaginary parts). Unzip is its inverse over
	// the pairs of x then y: even = the even lanes, odd = the odd ones.
	Zip(lo, hi, x, y V)
	Unzip(even, odd, x, y V)
	// Evens is Unzip's even half alone: dst = the even lanes of x then y.
	Evens(dst, x, y V)
	// Reverse sets dst to x's lanes in reverse order (dst may be x):
	// the mirrored half of a real transform's spectrum.
	Reverse(dst, x V)
}

// Lanes is the partial vector of n live lanes (1 <= n <= Lanes) fixed when
// the code is generated: on a TailScalar ISA, for lengths the generator
// knows (a tile's row count); masking ISAs take PartialFor.
func Lanes(n int) Partial { return Partial{lanes: n} }

// Partial is the live-lane set of a partial vector: a backend's mask (an
// opmask, or the address of an AVX2 lane mask) or, for a scalar-tail ISA,
// a lane count fixed when the code was generated.
type Partial struct {
	r     any
	lanes int // static live lanes (TailScalar backends); 0: dynamic
	reg   any // AVX2: the mask loaded into a register by ForStores
}
