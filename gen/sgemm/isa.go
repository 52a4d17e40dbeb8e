package main

import (
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// isa describes one vector instruction set to the kernels, in the shape of
// gen/vec's isa: the kernels ask it (its fields and the emitters below)
// instead of branching on which ISA it is. The instructions whose mnemonic
// is the same for ymm and zmm (VFMADD231PS, VMULPS, VMOVUPS, ...) are
// emitted directly; Avo picks the encoding from the register kind.
type isa struct {
	name  string            // suffix of the kernel names: "AVX2", "AVX512"
	lanes int               // float32 lanes per vector
	regs  int               // vector registers (the budget of a register tile)
	vec   func() VecVirtual // a fresh vector register of the ISA's width
	// opmask: tails use opmask registers (AVX-512), set by BZHI from the
	// live-lane count; otherwise a VMASKMOVPS lane mask read from the
	// sliding table maskTab.
	opmask bool
	// bcstFMA: the FMA takes a broadcast memory operand ({1toN}), so a
	// one-vector row needs no broadcast register.
	bcstFMA bool
	// broadcasts is the number of registers the k loop rotates the
	// broadcasts of A through, so that consecutive rows overlap. AVX2 has
	// room for one only (6x16: 12 accumulators + 2 B + 1 = 15 of 16).
	broadcasts int
}

var (
	avx2   = isa{name: "AVX2", lanes: 8, regs: 16, vec: ctx.YMM, broadcasts: 1}
	avx512 = isa{name: "AVX512", lanes: 16, regs: 32, vec: ctx.ZMM, opmask: true, bcstFMA: true, broadcasts: 2}
)

// vbytes is the size of one vector in bytes.
func (s isa) vbytes() int { return 4 * s.lanes }

// zero clears v. AVX-512F has no VXORPS on zmm (that is AVX512DQ), so the
// opmask ISA clears with the integer VPXORD, of the same cost.
func (s isa) zero(v VecVirtual) {
	if s.opmask {
		ctx.VPXORD(v, v, v)
	} else {
		ctx.VXORPS(v, v, v)
	}
}

// mask selects the first r live lanes of a vector, 1 <= r <= lanes.
type mask struct {
	k OpmaskVirtual // opmask ISAs
	p GPVirtual     // the others: address of the lane mask in maskTab
	v VecVirtual    // the others: the lane mask, once loaded (loaded)
}

// tailMask returns the mask of the first r lanes, r in a register it
// consumes (the table form scales it in place). The table form is only an
// address: see loaded.
func (s isa) tailMask(r GPVirtual) mask {
	if s.opmask {
		ones := ctx.GP32()
		ctx.MOVL(U32(0xffffffff), ones)
		kr := ctx.GP32()
		ctx.BZHIL(r.As32(), ones, kr)
		k := ctx.K()
		ctx.KMOVW(kr, k)
		return mask{k: k}
	}
	// p = maskTab + 32 - 4r: 8 all-ones int32 then 8 zeros.
	p := ctx.GP64().(GPVirtual)
	ctx.LEAQ(maskTab.Offset(32), p)
	ctx.SHLQ(Imm(2), r)
	ctx.SUBQ(r, p)
	return mask{p: p}
}

// loaded returns m with the table form's lane mask in a register of its
// own (a no-op for opmasks), for loops that use it more than once per
// iteration.
func (s isa) loaded(m mask) mask {
	if !s.opmask && m.v == nil {
		m.v = s.vec()
		ctx.VMOVDQU(Mem{Base: m.p}, m.v)
	}
	return m
}

// loadMasked sets dst to the live lanes at src and the others to 0; the
// masked-off lanes are not read (masked loads suppress their faults). With
// the table form not loaded, the mask rides in dst itself, so the load
// needs no extra vector register.
func (s isa) loadMasked(src Mem, m mask, dst VecVirtual) {
	switch {
	case s.opmask:
		ctx.VMOVUPS_Z(src, m.k, dst)
	case m.v != nil:
		ctx.VMASKMOVPS(src, m.v, dst)
	default:
		ctx.VMOVDQU(Mem{Base: m.p}, dst)
		ctx.VMASKMOVPS(src, dst, dst)
	}
}

// storeMasked writes the live lanes of v to dst and nothing else; the
// table form must be loaded.
func (s isa) storeMasked(v VecVirtual, m mask, dst Mem) {
	if s.opmask {
		ctx.VMOVUPS(v, m.k, dst)
	} else {
		ctx.VMASKMOVPS(v, m.v, dst)
	}
}

// load is a whole vector load, or loadMasked when m is not nil.
func (s isa) load(src Mem, m *mask, dst VecVirtual) {
	if m != nil {
		s.loadMasked(src, *m, dst)
	} else {
		ctx.VMOVUPS(src, dst)
	}
}

// store is a whole vector store, or storeMasked when m is not nil.
func (s isa) store(v VecVirtual, m *mask, dst Mem) {
	if m != nil {
		s.storeMasked(v, *m, dst)
	} else {
		ctx.VMOVUPS(v, dst)
	}
}

// hsum returns an xmm register whose lane 0 holds the sum of v's lanes
// (v is clobbered): halve the width until one lane is left.
func (s isa) hsum(z VecVirtual) Register {
	var v Register = z
	if s.lanes == 16 {
		y := ctx.YMM()
		ctx.VEXTRACTF64X4(U8(1), z, y)
		v = z.AsY()
		ctx.VADDPS(y, v, v)
	}
	hi := ctx.XMM()
	ctx.VEXTRACTF128(U8(1), v, hi)
	lo := v.(Vec).AsX()
	ctx.VADDPS(hi, lo, lo)
	ctx.VMOVHLPS(lo, lo, hi)
	ctx.VADDPS(hi, lo, lo)
	ctx.VMOVSHDUP(lo, hi)
	ctx.VADDSS(hi, lo, lo)
	return lo
}

// transpose transposes the lanes x lanes block whose rows are the vectors
// x, with the lanes scratch vectors t, and returns the rows of the
// transpose (registers of x and t; both are clobbered). The steps are the
// standard ones: interleave pairs, then quads, inside every 128-bit block,
// then move the blocks.
func (s isa) transpose(x, t []VecVirtual) []VecVirtual {
	n := s.lanes
	for i := 0; i < n/2; i++ {
		ctx.VUNPCKLPS(x[2*i+1], x[2*i], t[2*i])
		ctx.VUNPCKHPS(x[2*i+1], x[2*i], t[2*i+1])
	}
	// t[2i], t[2i+1]: the low and high pairs of rows 2i, 2i+1 in each block.
	for g := 0; g < n; g += 4 {
		ctx.VSHUFPS(U8(0x44), t[g+2], t[g], x[g])
		ctx.VSHUFPS(U8(0xEE), t[g+2], t[g], x[g+1])
		ctx.VSHUFPS(U8(0x44), t[g+3], t[g+1], x[g+2])
		ctx.VSHUFPS(U8(0xEE), t[g+3], t[g+1], x[g+3])
	}
	// x[g+c] (g a multiple of 4) holds in its 128-bit block b column 4b+c
	// of rows g..g+3: row 4b+c of the transpose is block b of x[c], x[4+c],
	// ... in order.
	out := make([]VecVirtual, n)
	if n == 8 {
		for b, imm := range []uint8{0x20, 0x31} {
			for c := 0; c < 4; c++ {
				out[4*b+c] = t[4*b+c]
				ctx.VPERM2F128(U8(imm), x[4+c], x[c], out[4*b+c])
			}
		}
		return out
	}
	// Four blocks: gather pairs of blocks, then the blocks themselves
	// (VSHUFF32X4 takes two blocks from each source).
	for c := 0; c < 4; c++ {
		ctx.VSHUFF32X4(U8(0x44), x[4+c], x[c], t[c])   // x[c].0 x[c].1 x[4+c].0 x[4+c].1
		ctx.VSHUFF32X4(U8(0xEE), x[4+c], x[c], t[4+c]) // blocks 2, 3 of the same
		ctx.VSHUFF32X4(U8(0x44), x[12+c], x[8+c], t[8+c])
		ctx.VSHUFF32X4(U8(0xEE), x[12+c], x[8+c], t[12+c])
	}
	for c := 0; c < 4; c++ {
		for b, src := range [4][2]VecVirtual{{t[c], t[8+c]}, {t[c], t[8+c]}, {t[4+c], t[12+c]}, {t[4+c], t[12+c]}} {
			imm := uint8(0x88) // blocks 0 and 2 of each source; 0xDD: blocks 1 and 3
			if b%2 == 1 {
				imm = 0xDD
			}
			out[4*b+c] = x[4*b+c]
			ctx.VSHUFF32X4(U8(imm), src[1], src[0], out[4*b+c])
		}
	}
	return out
}
