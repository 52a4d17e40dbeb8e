package asmemu

import (
	"encoding/binary"
	"fmt"
)

// The vector and opmask instructions. Go operand order is the reverse of
// Intel's, so for a three-operand `OP a0, a1, dst` the manual's first
// source is a1 and its second a0. A VEX or EVEX write clears the register
// above the destination width; only the legacy MOVSS keeps it.

func init() {
	bin := []string{"vvv", "mvv"}
	for name, d := range map[string]*opDef{
		"VMOVUPS":       {exec: vmov, forms: []string{"mv", "vm", "vv"}, masks: true, check: noZeroStore},
		"VMOVDQU":       {exec: vmov, forms: []string{"mv", "vm", "vv"}},
		"VBROADCASTSS":  {exec: vbroadcastss, forms: []string{"mv", "vv"}, masks: true, mixed: true, check: broadcastSrc},
		"VMASKMOVPS":    {exec: vmaskmov, forms: []string{"mvv", "vvm"}},
		"VFMADD231PS":   {exec: fma231, forms: bin, masks: true, bcst: true},
		"VFMADD213PS":   {exec: fma213, forms: bin, masks: true, bcst: true},
		"VFNMADD231PS":  {exec: fnma231, forms: bin, masks: true, bcst: true},
		"VADDPS":        {exec: binop(addF), forms: bin, masks: true, bcst: true},
		"VSUBPS":        {exec: binop(subF), forms: bin, masks: true, bcst: true},
		"VMULPS":        {exec: binop(mulF), forms: bin, masks: true, bcst: true},
		"VMAXPS":        {exec: binop(maxF), forms: bin, masks: true, bcst: true},
		"VXORPS":        {exec: binop(func(a, b uint32) uint32 { return a ^ b }), forms: bin, masks: true, bcst: true},
		"VPXORD":        {exec: binop(func(a, b uint32) uint32 { return a ^ b }), forms: bin, masks: true, bcst: true},
		"VANDPS":        {exec: binop(func(a, b uint32) uint32 { return a & b }), forms: bin, masks: true, bcst: true},
		"VORPS":         {exec: binop(func(a, b uint32) uint32 { return a | b }), forms: bin, masks: true, bcst: true},
		"VCMPPS":        {exec: vcmpps, forms: []string{"ivvv", "imvv", "ivvk", "imvk"}, masks: true, bcst: true, check: cmpDest},
		"VBLENDVPS":     {exec: vblendvps, forms: []string{"vvvv", "vmvv"}},
		"VBLENDMPS":     {exec: vblendmps, forms: bin, masks: true, evex: true, check: noZeroBlend},
		"VPTEST":        {exec: vptest, forms: []string{"vv", "mv"}},
		"VEXTRACTF128":  {exec: vextract(4), forms: []string{"ivv", "ivm"}, mixed: true, check: widths(8, 4)},
		"VEXTRACTF64X4": {exec: vextract(8), forms: []string{"ivv", "ivm"}, evex: true, mixed: true, check: widths(16, 8)},
		"VMOVHLPS":      {exec: vmovhlps, forms: []string{"vvv"}, check: widths(4, 4)},
		"VMOVSHDUP":     {exec: vmovshdup, forms: []string{"vv", "mv"}, masks: true, check: noMaskedMemPermute},
		"VUNPCKLPS":     {exec: vunpck(0), forms: bin, masks: true, check: noMaskedMemPermute},
		"VUNPCKHPS":     {exec: vunpck(2), forms: bin, masks: true, check: noMaskedMemPermute},
		"VSHUFPS":       {exec: vshufps, forms: []string{"ivvv", "imvv"}, masks: true, check: noMaskedMemPermute},
		"VPERM2F128":    {exec: vperm2f128, forms: []string{"ivvv", "imvv"}, check: widths(8, 8)},
		"VPERMI2PS":     {exec: vpermi2ps, forms: []string{"vvv", "mvv"}, evex: true, check: widths(16, 16)},
		"VSHUFF32X4":    {exec: vshuff32x4, forms: []string{"ivvv", "imvv"}, evex: true, check: widths(16, 16)},
		"VPERMPD":       {exec: vpermpd, forms: []string{"ivv", "imv"}, evex: true, check: noXMM},
		"MOVSS":         {exec: movss, forms: []string{"mv", "vm", "vv"}, check: widths(4, 4)},
		"VMOVSS":        {exec: vmovss, forms: []string{"mv", "vm", "vvv"}, check: widths(4, 4)},
		"VADDSS":        {exec: vaddss, forms: bin, check: widths(4, 4)},
		"VMOVD":         {exec: vmovd, forms: []string{"rv", "vr", "mv", "vm"}, check: widths(4, 4)},
		"KMOVW":         {exec: kmovw, forms: []string{"rk", "kr", "kk", "mk", "km"}},
		"KORW":          {exec: kop(func(a, b uint64) uint64 { return a | b }), forms: []string{"kkk"}},
		"KXORW":         {exec: kop(func(a, b uint64) uint64 { return a ^ b }), forms: []string{"kkk"}},
		"KORTESTW":      {exec: kortestw, forms: []string{"kk"}},
		"PREFETCHT0":    {exec: func(*machine, *inst) {}, forms: []string{"m"}}, // a hint: never faults
		"PREFETCHT1":    {exec: func(*machine, *inst) {}, forms: []string{"m"}},
		"VZEROUPPER":    {exec: vzeroupper, forms: []string{""}},
	} {
		ops[name] = d
	}
}

// widths checks the vector register widths (in lanes) of an instruction
// whose first vector operand must be src lanes wide and the others dst
// (0: any).
func widths(src, dst uint8) func(in *inst) error {
	return func(in *inst) error {
		first := true
		for _, o := range in.a[:in.n] {
			if o.kind != oVec {
				continue
			}
			want := dst
			if first {
				want, first = src, false
			}
			if want != 0 && o.width != want {
				return fmt.Errorf("%s: this form takes %d-lane registers there", regName(o), want)
			}
		}
		return nil
	}
}

// broadcastSrc: a register source of VBROADCASTSS is an X register.
func broadcastSrc(in *inst) error {
	if s := in.a[0]; s.kind == oVec && s.width != 4 {
		return fmt.Errorf("%s: the source is an X register", regName(s))
	}
	return nil
}

// noZeroStore: x86 has no zeroing-masked store.
func noZeroStore(in *inst) error {
	if in.zeroing && in.a[in.n-1].kind == oMem {
		return fmt.Errorf("a store cannot zero-mask")
	}
	return nil
}

// noMaskedMemPermute: a permute's memory lanes are not its result lanes,
// so which of them a mask suppresses is not modelled; none is emitted.
func noMaskedMemPermute(in *inst) error {
	for _, o := range in.a[:in.n] {
		if o.kind == oMem && in.mask != 0 {
			return fmt.Errorf("a masked permute of memory is not interpreted")
		}
	}
	return nil
}

// cmpDest: an opmask destination takes no .Z (the compare always zeroes
// the masked-off bits).
func cmpDest(in *inst) error {
	if in.a[in.n-1].kind == oK && in.zeroing {
		return fmt.Errorf("a compare into an opmask cannot take .Z")
	}
	if in.a[in.n-1].kind == oVec && in.lanes == 16 {
		return fmt.Errorf("a 512-bit compare writes an opmask")
	}
	return nil
}

// active is the set of lanes an instruction computes: its width, under its
// opmask.
func (m *machine) active(in *inst) uint32 {
	en := uint32(1)<<in.lanes - 1
	if in.mask != 0 {
		en &= uint32(m.k[in.mask])
	}
	return en
}

// vsrc reads vector source o into t: a register, or in.lanes float32 at
// its address (one, broadcast, for .BCST). A memory lane outside en is not
// read, as the hardware suppresses its fault, and reads as 0.
func (m *machine) vsrc(in *inst, o *operand, en uint32, t *[16]uint32) {
	if o.kind == oVec {
		*t = m.v[o.reg]
		return
	}
	a := m.addr(o)
	if in.bcst {
		if en != 0 {
			w := m.load32(a)
			for i := range int(in.lanes) {
				t[i] = w
			}
		}
		return
	}
	m.loadLanes(a, int(in.lanes), en, t)
}

func (m *machine) loadLanes(a uint64, lanes int, en uint32, t *[16]uint32) {
	if en == 1<<lanes-1 {
		b := m.bytes(a, 4*lanes, false)
		for i := range lanes {
			t[i] = binary.LittleEndian.Uint32(b[4*i:])
		}
		return
	}
	for i := range lanes {
		if en>>i&1 != 0 {
			t[i] = m.load32(a + 4*uint64(i))
		}
	}
}

func (m *machine) storeLanes(a uint64, lanes int, en uint32, s *[16]uint32) {
	if en == 1<<lanes-1 {
		b := m.bytes(a, 4*lanes, true)
		for i := range lanes {
			binary.LittleEndian.PutUint32(b[4*i:], s[i])
		}
		return
	}
	for i := range lanes {
		if en>>i&1 != 0 {
			m.store32(a+4*uint64(i), s[i])
		}
	}
}

// vset writes r to register d: the lanes in en from r, the other lanes
// below in.lanes zeroed (.Z) or kept (merge masking), the rest of the
// register zeroed.
func (m *machine) vset(in *inst, d uint8, r *[16]uint32, en uint32) {
	dst := &m.v[d]
	for i := range dst {
		switch {
		case i >= int(in.lanes):
			dst[i] = 0
		case en>>i&1 != 0:
			dst[i] = r[i]
		case in.zeroing:
			dst[i] = 0
		}
	}
}

// setLow writes the low n lanes of register d from r and zeroes the rest.
func (m *machine) setLow(d uint8, r []uint32) {
	m.v[d] = [16]uint32{}
	copy(m.v[d][:], r)
}

// signs is the set of lanes of register r whose sign bit is set.
func (m *machine) signs(r uint8, lanes int) uint32 {
	var en uint32
	for i := range lanes {
		en |= m.v[r][i] >> 31 << i
	}
	return en
}

func vmov(m *machine, in *inst) {
	en := m.active(in)
	if d := &in.a[1]; d.kind == oMem {
		m.storeLanes(m.addr(d), int(in.lanes), en, &m.v[in.a[0].reg])
		return
	}
	var t [16]uint32
	m.vsrc(in, &in.a[0], en, &t)
	m.vset(in, in.a[1].reg, &t, en)
}

func vbroadcastss(m *machine, in *inst) {
	en := m.active(in)
	var w uint32
	if s := &in.a[0]; s.kind == oVec {
		w = m.v[s.reg][0]
	} else if en != 0 {
		w = m.load32(m.addr(s))
	}
	var t [16]uint32
	for i := range t {
		t[i] = w
	}
	m.vset(in, in.a[1].reg, &t, en)
}

// vmaskmov is VMASKMOVPS: load `mem, mask, dst` (masked-off lanes zeroed)
// or store `src, mask, mem`; the mask is each lane's sign bit.
func vmaskmov(m *machine, in *inst) {
	en := m.signs(in.a[1].reg, int(in.lanes))
	if d := &in.a[2]; d.kind == oMem {
		m.storeLanes(m.addr(d), int(in.lanes), en, &m.v[in.a[0].reg])
		return
	}
	var t [16]uint32
	m.loadLanes(m.addr(&in.a[0]), int(in.lanes), en, &t)
	m.setLow(in.a[2].reg, t[:in.lanes])
}

// binop is a lanewise `OP src2, src1, dst` with dst = f(src1, src2).
func binop(f func(a, b uint32) uint32) func(m *machine, in *inst) {
	return func(m *machine, in *inst) {
		en := m.active(in)
		var s2, r [16]uint32
		m.vsrc(in, &in.a[0], en, &s2)
		s1 := &m.v[in.a[1].reg]
		for i := range int(in.lanes) {
			r[i] = f(s1[i], s2[i])
		}
		m.vset(in, in.a[2].reg, &r, en)
	}
}

// fma231 is VFMADD231PS src3, src2, dst: dst = src2*src3 + dst.
func fma231(m *machine, in *inst) {
	en := m.active(in)
	var s3, r [16]uint32
	m.vsrc(in, &in.a[0], en, &s3)
	s2, d := &m.v[in.a[1].reg], &m.v[in.a[2].reg]
	for i := range int(in.lanes) {
		r[i] = fmaF(s2[i], s3[i], d[i])
	}
	m.vset(in, in.a[2].reg, &r, en)
}

// fnma231 is VFNMADD231PS src3, src2, dst: dst = -(src2*src3) + dst, one
// rounding (the product's sign flipped, exactly, before the sum).
func fnma231(m *machine, in *inst) {
	en := m.active(in)
	var s3, r [16]uint32
	m.vsrc(in, &in.a[0], en, &s3)
	s2, d := &m.v[in.a[1].reg], &m.v[in.a[2].reg]
	for i := range int(in.lanes) {
		if n, ok := nanOf(s2[i], s3[i], d[i]); ok {
			r[i] = n
			continue
		}
		r[i] = fmaF(s2[i]^0x80000000, s3[i], d[i])
	}
	m.vset(in, in.a[2].reg, &r, en)
}

// fma213 is VFMADD213PS src3, src2, dst: dst = src2*dst + src3.
func fma213(m *machine, in *inst) {
	en := m.active(in)
	var s3, r [16]uint32
	m.vsrc(in, &in.a[0], en, &s3)
	s2, d := &m.v[in.a[1].reg], &m.v[in.a[2].reg]
	for i := range int(in.lanes) {
		r[i] = fmaF(s2[i], d[i], s3[i])
	}
	m.vset(in, in.a[2].reg, &r, en)
}

// vcmpps is VCMPPS $pred, src2, src1, dst: dst lane = pred(src1, src2),
// all ones or zero in a vector register, one bit (under the opmask) in an
// opmask register.
func vcmpps(m *machine, in *inst) {
	en := m.active(in)
	pred := uint8(in.a[0].disp)
	var s2 [16]uint32
	m.vsrc(in, &in.a[1], en, &s2)
	s1 := &m.v[in.a[2].reg]
	var bits uint32
	for i := range int(in.lanes) {
		if cmpF(pred, s1[i], s2[i]) {
			bits |= 1 << i
		}
	}
	if d := &in.a[3]; d.kind == oK {
		m.k[d.reg] = uint64(bits & en)
		return
	}
	var r [16]uint32
	for i := range int(in.lanes) {
		r[i] = -(bits >> i & 1)
	}
	m.vset(in, in.a[3].reg, &r, en)
}

// vblendvps is VBLENDVPS mask, src2, src1, dst: src2 where the mask lane's
// sign is set, else src1.
func vblendvps(m *machine, in *inst) {
	en := m.signs(in.a[0].reg, int(in.lanes))
	var s2, r [16]uint32
	m.vsrc(in, &in.a[1], 1<<in.lanes-1, &s2)
	s1 := &m.v[in.a[2].reg]
	for i := range int(in.lanes) {
		r[i] = s1[i]
		if en>>i&1 != 0 {
			r[i] = s2[i]
		}
	}
	m.setLow(in.a[3].reg, r[:in.lanes])
}

// vblendmps is VBLENDMPS src2, src1, k, dst: lane i from src2 where k's
// bit i is set, else from src1. The opmask selects rather than masks the
// write: every lane is written.
func vblendmps(m *machine, in *inst) {
	en := m.active(in)
	var s2, r [16]uint32
	m.vsrc(in, &in.a[0], 1<<in.lanes-1, &s2)
	s1 := &m.v[in.a[1].reg]
	for i := range int(in.lanes) {
		r[i] = s1[i]
		if en>>i&1 != 0 {
			r[i] = s2[i]
		}
	}
	m.setLow(in.a[2].reg, r[:in.lanes])
}

// noZeroBlend refuses VBLENDMPS.Z, whose zeroing the interpreter does not
// model (the kernels never use it).
func noZeroBlend(in *inst) error {
	if in.zeroing {
		return fmt.Errorf("VBLENDMPS.Z is not interpreted")
	}
	return nil
}

// vptest is VPTEST src2, src1: ZF = (src1 AND src2) == 0, CF = (NOT src1
// AND src2) == 0; the other flags cleared.
func vptest(m *machine, in *inst) {
	var s2 [16]uint32
	m.vsrc(in, &in.a[0], 1<<in.lanes-1, &s2)
	s1 := &m.v[in.a[1].reg]
	var and, andn uint32
	for i := range int(in.lanes) {
		and |= s1[i] & s2[i]
		andn |= ^s1[i] & s2[i]
	}
	m.zf, m.cf, m.sf, m.of = and == 0, andn == 0, false, false
}

// vextract is VEXTRACTF128 or VEXTRACTF64X4 $i, src, dst: part i of n
// lanes of src.
func vextract(n int) func(m *machine, in *inst) {
	return func(m *machine, in *inst) {
		part := int(in.a[0].disp&1) * n
		src := m.v[in.a[1].reg]
		if d := &in.a[2]; d.kind == oMem {
			var t [16]uint32
			copy(t[:], src[part:part+n])
			m.storeLanes(m.addr(d), n, 1<<n-1, &t)
			return
		}
		m.setLow(in.a[2].reg, src[part:part+n])
	}
}

// vmovhlps is VMOVHLPS src2, src1, dst: the high halves of src2 then src1.
func vmovhlps(m *machine, in *inst) {
	s2, s1 := m.v[in.a[0].reg], m.v[in.a[1].reg]
	m.setLow(in.a[2].reg, []uint32{s2[2], s2[3], s1[2], s1[3]})
}

// vmovshdup duplicates the odd lanes into the even ones below them.
func vmovshdup(m *machine, in *inst) {
	en := m.active(in)
	var t, r [16]uint32
	m.vsrc(in, &in.a[0], 1<<in.lanes-1, &t)
	for i := 0; i < int(in.lanes); i += 2 {
		r[i], r[i+1] = t[i+1], t[i+1]
	}
	m.vset(in, in.a[1].reg, &r, en)
}

// vunpck is VUNPCKLPS (off 0) or VUNPCKHPS (off 2) src2, src1, dst: in
// each 128-bit block, lanes off and off+1 of src1 and src2 interleaved.
func vunpck(off int) func(m *machine, in *inst) {
	return func(m *machine, in *inst) {
		en := m.active(in)
		var s2, r [16]uint32
		m.vsrc(in, &in.a[0], 1<<in.lanes-1, &s2)
		s1 := &m.v[in.a[1].reg]
		for b := 0; b < int(in.lanes); b += 4 {
			r[b], r[b+1], r[b+2], r[b+3] = s1[b+off], s2[b+off], s1[b+off+1], s2[b+off+1]
		}
		m.vset(in, in.a[2].reg, &r, en)
	}
}

// vshufps is VSHUFPS $imm, src2, src1, dst: in each 128-bit block, two
// lanes of src1 then two of src2, chosen by the 2-bit fields of imm.
func vshufps(m *machine, in *inst) {
	en := m.active(in)
	imm := int(in.a[0].disp)
	var s2, r [16]uint32
	m.vsrc(in, &in.a[1], 1<<in.lanes-1, &s2)
	s1 := &m.v[in.a[2].reg]
	for b := 0; b < int(in.lanes); b += 4 {
		r[b], r[b+1] = s1[b+imm&3], s1[b+imm>>2&3]
		r[b+2], r[b+3] = s2[b+imm>>4&3], s2[b+imm>>6&3]
	}
	m.vset(in, in.a[3].reg, &r, en)
}

// vperm2f128 is VPERM2F128 $imm, src2, src1, dst: each 128-bit half of dst
// is the half of src1 or src2 that its nibble of imm names, or zero.
func vperm2f128(m *machine, in *inst) {
	imm := int(in.a[0].disp)
	var s2, r [16]uint32
	m.vsrc(in, &in.a[1], 0xff, &s2)
	s1 := m.v[in.a[2].reg]
	for h := range 2 {
		sel := imm >> (4 * h) & 0xf
		if sel&8 != 0 {
			continue
		}
		src := s1
		if sel&2 != 0 {
			src = s2
		}
		copy(r[4*h:4*h+4], src[4*(sel&1):])
	}
	m.setLow(in.a[3].reg, r[:8])
}

// vshuff32x4 is VSHUFF32X4 $imm, src2, src1, dst on Z registers: the
// 128-bit blocks 0 and 1 of dst are the blocks of src1, 2 and 3 those of
// src2, each chosen by its 2-bit field of imm. Only the unmasked 512-bit
// form is interpreted: it is the one the transposes emit, so the one
// TestKernels checks against the hardware (the 256-bit form has 1-bit
// fields).
func vshuff32x4(m *machine, in *inst) {
	imm := int(in.a[0].disp)
	var s2, r [16]uint32
	m.vsrc(in, &in.a[1], 0xffff, &s2)
	s1 := &m.v[in.a[2].reg]
	for blk := range 4 {
		src := s1[:]
		if blk >= 2 {
			src = s2[:]
		}
		sel := imm >> (2 * blk) & 3
		copy(r[4*blk:4*blk+4], src[4*sel:])
	}
	m.setLow(in.a[3].reg, r[:])
}

// vpermi2ps is VPERMI2PS src, table1, idx: lane i of idx becomes lane
// idx[i]&15 of table1, or of src (the second table) where idx[i]&16 is
// set; the index is overwritten.
func vpermi2ps(m *machine, in *inst) {
	var t2, r [16]uint32
	m.vsrc(in, &in.a[0], 0xffff, &t2)
	t1, idx := &m.v[in.a[1].reg], &m.v[in.a[2].reg]
	for i := range 16 {
		j := idx[i] & 31
		if j&16 != 0 {
			r[i] = t2[j&15]
		} else {
			r[i] = t1[j]
		}
	}
	m.setLow(in.a[2].reg, r[:])
}

// noXMM: the instruction has Y and Z forms only.
func noXMM(in *inst) error {
	if in.lanes < 8 {
		return fmt.Errorf("this instruction takes Y or Z registers")
	}
	return nil
}

// vpermpd is VPERMPD $imm, src, dst: in each 256-bit half, 64-bit lane i
// of dst is lane imm>>(2i)&3 of the same half of src. Only the unmasked
// immediate form is interpreted (the one Unzip emits).
func vpermpd(m *machine, in *inst) {
	imm := int(in.a[0].disp)
	var s, r [16]uint32
	m.vsrc(in, &in.a[1], 1<<in.lanes-1, &s)
	for h := 0; h < int(in.lanes); h += 8 {
		for i := range 4 {
			sel := imm >> (2 * i) & 3
			r[h+2*i], r[h+2*i+1] = s[h+2*sel], s[h+2*sel+1]
		}
	}
	m.setLow(in.a[2].reg, r[:in.lanes])
}

// movss is the legacy SSE MOVSS, which leaves bits 128 and up alone: a load
// zeroes lanes 1-3, a register move keeps them.
func movss(m *machine, in *inst) {
	s, d := &in.a[0], &in.a[1]
	switch {
	case d.kind == oMem:
		m.store32(m.addr(d), m.v[s.reg][0])
	case s.kind == oMem:
		r := &m.v[d.reg]
		r[0], r[1], r[2], r[3] = m.load32(m.addr(s)), 0, 0, 0
	default:
		m.v[d.reg][0] = m.v[s.reg][0]
	}
}

// vmovss is VMOVSS: load (zeroing the rest), store, or `src3, src2, dst`:
// lane 0 of src3 and lanes 1-3 of src2.
func vmovss(m *machine, in *inst) {
	switch s := &in.a[0]; {
	case in.a[in.n-1].kind == oMem:
		m.store32(m.addr(&in.a[1]), m.v[s.reg][0])
	case s.kind == oMem:
		m.setLow(in.a[1].reg, []uint32{m.load32(m.addr(s))})
	default:
		s2 := m.v[in.a[1].reg]
		m.setLow(in.a[2].reg, []uint32{m.v[s.reg][0], s2[1], s2[2], s2[3]})
	}
}

// vaddss is VADDSS src2, src1, dst: lane 0 the sum, lanes 1-3 from src1.
func vaddss(m *machine, in *inst) {
	var b uint32
	if s := &in.a[0]; s.kind == oMem {
		b = m.load32(m.addr(s))
	} else {
		b = m.v[s.reg][0]
	}
	s1 := m.v[in.a[1].reg]
	m.setLow(in.a[2].reg, []uint32{addF(s1[0], b), s1[1], s1[2], s1[3]})
}

// vmovd moves 32 bits between a GP register or memory and lane 0 (the
// other lanes zeroed).
func vmovd(m *machine, in *inst) {
	s, d := &in.a[0], &in.a[1]
	switch {
	case d.kind == oVec && s.kind == oGP:
		m.setLow(d.reg, []uint32{uint32(m.gp[s.reg])})
	case d.kind == oVec:
		m.setLow(d.reg, []uint32{m.load32(m.addr(s))})
	case d.kind == oGP:
		m.gp[d.reg] = uint64(m.v[s.reg][0])
	default:
		m.store32(m.addr(d), m.v[s.reg][0])
	}
}

func kmovw(m *machine, in *inst) {
	s, d := &in.a[0], &in.a[1]
	var v uint64
	switch s.kind {
	case oK:
		v = m.k[s.reg]
	case oGP:
		v = m.gp[s.reg]
	default:
		v = uint64(binary.LittleEndian.Uint16(m.bytes(m.addr(s), 2, false)))
	}
	v &= 0xffff
	switch d.kind {
	case oK:
		m.k[d.reg] = v
	case oGP:
		m.gp[d.reg] = v
	default:
		binary.LittleEndian.PutUint16(m.bytes(m.addr(d), 2, true), uint16(v))
	}
}

// kop is a 16-bit opmask `OP src2, src1, dst`.
func kop(f func(a, b uint64) uint64) func(m *machine, in *inst) {
	return func(m *machine, in *inst) {
		m.k[in.a[2].reg] = f(m.k[in.a[1].reg], m.k[in.a[0].reg]) & 0xffff
	}
}

// kortestw sets ZF if the OR of the two masks is all zeros, CF if all ones.
func kortestw(m *machine, in *inst) {
	t := (m.k[in.a[0].reg] | m.k[in.a[1].reg]) & 0xffff
	m.zf, m.cf, m.sf, m.of = t == 0, t == 0xffff, false, false
}

// vzeroupper zeroes bits 128 and up of registers 0-15 (not 16-31).
func vzeroupper(m *machine, in *inst) {
	for r := range 16 {
		m.v[r] = [16]uint32{m.v[r][0], m.v[r][1], m.v[r][2], m.v[r][3]}
	}
}
