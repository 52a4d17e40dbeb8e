package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/convkit/convkit/gen/kw"
)

// The depthwise kernels (groups = channels: each output channel is one
// input channel's own filter) have no sum over channels, so their vectors
// run along whatever the layout keeps contiguous, in one of two modes:
//
//   - C (channels): the vectors are blocks of Lanes channels of a
//     channel-blocked or channels-last input; a tap is one weight vector
//     (the block's channels' weights for that tap) times one input vector
//     per pixel. Any stride: the pixels are srcPix bytes apart.
//   - W (width): the vectors are Lanes neighbouring pixels of one channel
//     plane (NCHW read as it is); a tap is one weight, broadcast, times
//     B vectors along the row, for U rows srcPix bytes apart. The row's
//     pixels must be contiguous (stride 1 along it).
//   - K (output channels): as W, but the B accumulators of a row are B
//     output channels that read the same input (a channel multiplier, a
//     single input channel, the flipped filter of backward-data): a tap is
//     B weights, broadcast once each, times one input vector per row,
//     loaded once and used B times. The output channels' planes are
//     chStride bytes apart, the tap's B weights contiguous.
//   - R (rows): as W, for a filter of KH rows at stride 1 and dilation 1
//     down the plane (KH a kernel parameter): the table lists each column
//     of the filter as KH taps, top row first, input rows srcPix apart.
//     The kernel walks the U+KH-1 input rows of a tile once per column,
//     loading each row's vector once for the (up to KH) output rows it
//     serves, against the column's KH weights held in registers.
//
// Either way the accumulators of a U x B tile stay in registers over the
// tap table. In modes C and W each FMA takes its input vector straight
// from memory: one load per FMA, nearly all of them unaligned, so the
// load ports bound them (mobilenet_dw3x3_c256's W kernels ran at half the
// FMA peak on Zen 4, where a line-crossing 512-bit load takes two load
// slots). Mode K loads an input once for B FMAs and mode R once for up to
// KH, so the FMA ports bound them.

// dwModes are the depthwise modes, in emission order.
var dwModes = []byte{'C', 'W', 'K', 'R'}

// dwRowHeights are the filter heights of mode R: the depthwise filters of
// MobileNets and EfficientNets (3x3, 5x5).
var dwRowHeights = []int{3, 5}

// maxRowsR is the most input rows of a mode-R tile (U+KH-1): what the
// pixel addressing reaches from two bases (see pixels).
const maxRowsR = 16

// dwFamilyKey is one family of depthwise kernels: mode, filter height
// (mode R, else 0), rows U and vectors B.
type dwFamilyKey struct {
	mode     byte
	kh, u, b int
}

// dwFamilies lists the depthwise families of an ISA in emission order.
func dwFamilies(isa kw.ISA) []dwFamilyKey {
	var out []dwFamilyKey
	for _, mode := range dwModes {
		if mode == 'R' {
			for _, kh := range dwRowHeights {
				for _, sh := range dwRowShapes(isa, kh) {
					out = append(out, dwFamilyKey{mode, kh, sh[0], sh[1]})
				}
			}
			continue
		}
		for _, sh := range dwShapes(isa, mode) {
			out = append(out, dwFamilyKey{mode, 0, sh[0], sh[1]})
		}
	}
	return out
}

// dwRowShapes lists the mode-R families of filter height kh as (U, B):
// the accumulators beside the column's kh weights and the input vector,
// the input rows within maxRowsR; the epilogue's spare registers reuse
// the weights' once the columns are done. Tiles of one row reuse
// nothing.
func dwRowShapes(isa kw.ISA, kh int) [][2]int {
	free := isa.Regs - kh - 1 - avoSlack(isa)
	var out [][2]int
	for b := 1; b <= maxB; b++ {
		if u := min(free/b, maxRowsR-kh+1); u >= 2 {
			out = append(out, [2]int{u, b})
		}
	}
	return out
}

// dwSpare is the vector registers a depthwise kernel keeps beside its
// accumulators and weight: the residual's vector, ReLU's zero and mask.
const dwSpare = 3

// dwShapes lists the depthwise families of an ISA and mode as (U, B):
// one channel block of up to maxU pixels (C), or rows x vectors (W),
// for B = 1..maxB, the accumulators U*B within the registers.
func dwShapes(isa kw.ISA, mode byte) [][2]int {
	free := isa.Regs - 1 - dwSpare
	switch mode {
	case 'C':
		return [][2]int{{min(maxU, free), 1}}
	case 'K': // B weights and the row's input vector beside the accumulators
		var out [][2]int
		for b := 2; b <= maxB; b++ {
			out = append(out, [2]int{min(maxU, (free-b)/b), b})
		}
		return out
	}
	var out [][2]int
	for b := 1; b <= maxB; b++ {
		out = append(out, [2]int{min(maxU, free/b), b})
	}
	return out
}

// dwName is the exported name of a depthwise kernel:
// Depthwise9x3AVX512W, or in mode R with its filter height
// Depthwise9x3AVX512R3.
func dwName(isa string, key dwFamilyKey, u int) string {
	n := fmt.Sprintf("Depthwise%dx%d%s%c", u, key.b, isa, key.mode)
	if key.mode == 'R' {
		n += fmt.Sprint(key.kh)
	}
	return n
}

// dwSignature is every depthwise kernel's Go type (asm.DepthwiseFunc).
const dwSignature = "func(dst *float32, src *float32, w *float32, taps *int, ntaps int, tiles int, srcPix int, dstPix int, bias *float32, res *float32, flags int, chStride int)"

// genDepthwise emits every depthwise kernel of f's ISA.
func genDepthwise(f *kw.Func) {
	if dwSpare > slices.Min(dwRowHeights)+1 {
		panic("gen/direct: mode R's epilogue needs more spare registers than its columns free")
	}
	for _, key := range dwFamilies(f.ISA) {
		for u := 1; u <= key.u; u++ {
			if key.mode == 'R' {
				genDWRowsKernel(f, key, u)
			} else {
				genDWKernel(f, key, u)
			}
		}
	}
}

// dwTable returns the Go table of the depthwise families of the ISAs
// (asm.DepthwiseFamilies).
func dwTable(isas []kw.ISA) string {
	var b strings.Builder
	b.WriteString("// DepthwiseFamilies lists every generated depthwise-convolution family:\n")
	b.WriteString("// Kernels[u-1] computes a tile of u pixels (mode 'C') or rows (the others).\n")
	b.WriteString("var DepthwiseFamilies = []DepthwiseFamily{\n")
	for _, isa := range isas {
		for _, key := range dwFamilies(isa) {
			fmt.Fprintf(&b, "{ISA: %q, Lanes: %d, Mode: '%c', KH: %d, U: %d, B: %d, Kernels: []Kernel[DepthwiseFunc]{\n",
				isa.Name, isa.Lanes, key.mode, key.kh, key.u, key.b)
			for u := 1; u <= key.u; u++ {
				n := dwName(isa.Name, key, u)
				fmt.Fprintf(&b, "{Name: %q, Func: %s},\n", n, n)
			}
			b.WriteString("}},\n")
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// genDWKernel emits one depthwise kernel of u x b vectors.
func genDWKernel(f *kw.Func, key dwFamilyKey, u int) {
	mode, b := key.mode, key.b
	name := dwName(f.ISA.Name, key, u)
	L := f.ISA.Lanes
	vb := f.ISA.VBytes()
	wt, bs, in, out := "w[t.W + 4*l]", "bias[l]", fmt.Sprintf("o*%d + ", vb), fmt.Sprintf("o*%d", vb)
	switch mode {
	case 'W':
		wt, bs = "w[t.W]", "bias[0]"
	case 'K':
		wt, bs, in, out = "w[t.W + 4*o]", "bias[o]", "", "o*chStride"
	}
	f.Function(name, dwSignature,
		fmt.Sprintf("%s computes tiles tiles of %d x %d vectors of %d lanes of a depthwise", name, u, b, L),
		"convolution, in bytes (every offset and stride; a float is 4 bytes):",
		"",
		fmt.Sprintf("\tfor j < tiles, i < %d, o < %d, l < %d, with I = j*%d + i:", u, b, L, u),
		fmt.Sprintf("\t  acc := %s (0 if bias is nil)", bs),
		"\t  for each tap t of taps[:2*ntaps] (pairs t.Src, t.W):",
		fmt.Sprintf("\t    acc += src[t.Src + I*srcPix + %s4*l] * %s", in, wt),
		fmt.Sprintf("\t  D := I*dstPix + %s + 4*l", out),
		"\t  acc += res[D] unless res is nil; acc = relu(acc) with flags&2",
		"\t  dst[D] = acc",
		"",
		"Each sum is in that order, fused (one rounding per product), and the",
		"ReLU keeps NaN. The kernel reads only the addresses above. Its",
		"reference and test oracle is direct.DepthwiseGeneric.")
	dwTiles(f, mode, u, b, func(k *kernel) { k.dwTaps(mode) })
}

// dwTiles emits a depthwise kernel's body: its u x b accumulators and
// its loop over the tiles, each started (bias or zero), summed by sum,
// finished (residual, ReLU, store) and stepped past.
func dwTiles(f *kw.Func, mode byte, u, b int, sum func(k *kernel)) {
	k := &kernel{f: f, u: u, b: b, vb: f.ISA.VBytes()}
	k.accs = make([][]kw.V, u)
	for i := range k.accs {
		k.accs[i] = make([]kw.V, b)
		for o := range k.accs[i] {
			k.accs[i][o] = f.Vec()
		}
	}
	f.JumpIfNotPositive(f.Int("tiles"), "end")
	f.Label("tile")
	k.dwStart(mode)
	sum(k)
	k.dwFinish(mode)
	k.dwNextTile()
	f.Label("end")
	f.Ret()
}

// dwNextTile steps src, dst and res (when not nil) by the tile's rows in
// their argument slots and loops while tiles remain.
func (k *kernel) dwNextTile() {
	f := k.f
	step := func(ptr, stride string) {
		p := f.Int(ptr)
		d := f.GP()
		f.MulImm(d, f.Int(stride), k.u)
		f.AddGP(p, d)
		f.StoreParam(p, ptr)
	}
	step("src", "srcPix")
	step("dst", "dstPix")
	f.JumpIfZero(f.Int("res"), "stepped")
	step("res", "dstPix")
	f.Label("stepped")
	n := f.Int("tiles")
	f.DecJumpZero(n, "end")
	f.StoreParam(n, "tiles")
	f.Jump("tile")
}

// dwStart sets the accumulators to the bias (a vector in mode C, one
// value in mode W) or zero.
func (k *kernel) dwStart(mode byte) {
	f := k.f
	bias := f.Int("bias")
	f.JumpIfZero(bias, "zero")
	first := k.accs[0][0]
	switch mode {
	case 'C':
		f.LoadVec(kw.Mem{Base: bias}, first)
	case 'K': // a bias per output channel: per column of the tile
		for o := 0; o < k.b; o++ {
			f.Broadcast(kw.Mem{Base: bias, Disp: 4 * o}, k.accs[0][o])
			for i := 1; i < k.u; i++ {
				f.Move(k.accs[0][o], k.accs[i][o])
			}
		}
		f.Jump("started")
	default:
		f.Broadcast(kw.Mem{Base: bias}, first)
	}
	k.fill(first)
	f.Jump("started")
	f.Label("zero")
	k.fill(f.Zero())
	f.Label("started")
}

// fill copies v into every accumulator (but v itself).
func (k *kernel) fill(v kw.V) {
	for i := range k.accs {
		for _, a := range k.accs[i] {
			if a != v {
				k.f.Move(v, a)
			}
		}
	}
}

// dwTaps emits the loop over the tap table.
func (k *kernel) dwTaps(mode byte) {
	f := k.f
	n := f.Int("ntaps")
	f.JumpIfNotPositive(n, "summed")
	src, w := f.Int("src"), f.Int("w")
	t := f.Int("taps")
	px := strideRegs(f, f.Int("srcPix"), k.u)
	wv := f.Vec()
	var wk []kw.V // mode K: the tap's weight of each output channel
	if mode == 'K' {
		wk = append(wk, wv)
		for o := 1; o < k.b; o++ {
			wk = append(wk, f.Vec())
		}
	}
	f.Label("tap")
	q := f.LoadGP(kw.Mem{Base: t, Disp: 8})
	f.AddGP(q, w)
	switch mode {
	case 'C':
		f.LoadVec(kw.Mem{Base: q}, wv)
	case 'K':
		for o, v := range wk {
			f.Broadcast(kw.Mem{Base: q, Disp: 4 * o}, v)
		}
	default:
		f.Broadcast(kw.Mem{Base: q}, wv)
	}
	p := f.LoadGP(kw.Mem{Base: t})
	f.AddGP(p, src)
	px.at(p)
	if mode == 'K' {
		in := f.Vec()
		for i := 0; i < k.u; i++ {
			f.LoadVec(px.mem(i, 0), in)
			for o, v := range wk {
				f.FMA(k.accs[i][o], v, in)
			}
		}
	} else {
		for i := 0; i < k.u; i++ {
			for o := 0; o < k.b; o++ {
				f.FMA(k.accs[i][o], wv, px.mem(i, o*k.vb))
			}
		}
	}
	f.AddImm(t, 16)
	f.DecJumpNonZero(n, "tap")
	f.Label("summed")
}

// dwFinish adds the residual, applies the ReLU and stores the tile: the
// vectors of a pixel (or row) o*vb bytes apart (mode K: the output
// channels' planes chStride bytes apart), the pixels dstPix.
func (k *kernel) dwFinish(mode byte) {
	f := k.f
	each := func(ptr string, fn func(i, o int, m kw.Mem)) {
		px := strideRegs(f, f.Int("dstPix"), k.u)
		if mode == 'K' {
			base, ch := f.MoveGP(f.Int(ptr)), f.Int("chStride")
			for o := 0; o < k.b; o++ {
				if o > 0 {
					f.AddGP(base, ch)
				}
				px.at(base)
				for i := 0; i < k.u; i++ {
					fn(i, o, px.mem(i, 0))
				}
			}
			return
		}
		px.at(f.Int(ptr))
		for i := 0; i < k.u; i++ {
			for o := 0; o < k.b; o++ {
				fn(i, o, px.mem(i, o*k.vb))
			}
		}
	}
	res := f.Int("res")
	f.JumpIfZero(res, "nores")
	each("res", func(i, o int, m kw.Mem) { f.Binary(kw.Add, k.accs[i][o], k.accs[i][o], m) })
	f.Label("nores")
	flags := f.Int("flags")
	f.JumpIfBitsClear(flags, flagReLU, "store")
	zero := f.Zero()
	for i := range k.accs {
		for _, a := range k.accs[i] {
			keep := f.Cmp(kw.NGE, zero, a) // !(0 >= y): y > 0 or NaN
			f.ZeroUnless(keep, a, a)
		}
	}
	f.Label("store")
	each("dst", func(i, o int, m kw.Mem) { f.StoreVec(k.accs[i][o], m) })
}

// avoSlack is the vector registers a mode-R kernel leaves unused on
// AVX-512: Avo's colouring allocator fails to fit these kernels into 31
// or 32 of its registers (it fills AVX2's 16; kw's own allocator, NEON's,
// fills 32).
func avoSlack(isa kw.ISA) int {
	if isa.Name == kw.AVX512.Name {
		return 2
	}
	return 0
}

// genDWRowsKernel emits one mode-R kernel of u rows x key.b vectors for a
// filter of key.kh rows.
func genDWRowsKernel(f *kw.Func, key dwFamilyKey, u int) {
	name := dwName(f.ISA.Name, key, u)
	L, kh, b := f.ISA.Lanes, key.kh, key.b
	vb := f.ISA.VBytes()
	f.Function(name, dwSignature,
		fmt.Sprintf("%s computes tiles tiles of %d x %d vectors of %d lanes of a depthwise", name, u, b, L),
		fmt.Sprintf("convolution whose filter has %d rows at stride 1 and dilation 1 down the", kh),
		"plane, in bytes (every offset and stride; a float is 4 bytes):",
		"",
		fmt.Sprintf("\tfor j < tiles, i < %d, o < %d, l < %d, with I = j*%d + i:", u, b, L, u),
		"\t  acc := bias[0] (0 if bias is nil)",
		fmt.Sprintf("\t  for each tap t of taps[:2*%d*ntaps] (pairs t.Src, t.W):", kh),
		fmt.Sprintf("\t    acc += src[t.Src + I*srcPix + o*%d + 4*l] * w[t.W]", vb),
		fmt.Sprintf("\t  D := I*dstPix + o*%d + 4*l", vb),
		"\t  acc += res[D] unless res is nil; acc = relu(acc) with flags&2",
		"\t  dst[D] = acc",
		"",
		fmt.Sprintf("where the table is ntaps columns of %d taps each, tap r of a column", kh),
		"reading src r*srcPix bytes past the column's first (the kernel reads",
		"each input row once per column and ignores the other taps' t.Src).",
		"Each sum is in that order, fused (one rounding per product), and the",
		"ReLU keeps NaN. The kernel reads only the addresses above. Its",
		"reference and test oracle is direct.DepthwiseGeneric (mode W).")
	dwTiles(f, 'R', u, b, func(k *kernel) { k.dwColumns(kh) })
}

// dwColumns emits mode R's loop over the table's columns: the column's
// weights into registers, then each of the tile's input rows once, its
// vectors FMA'd into every output row that the row serves (output row i
// takes input row i+r with the column's weight r). An input row that
// serves one output row goes straight from memory into its FMA.
func (k *kernel) dwColumns(kh int) {
	f := k.f
	n := f.Int("ntaps")
	f.JumpIfNotPositive(n, "summed")
	src, w := f.Int("src"), f.Int("w")
	t := f.Int("taps")
	rows := k.u + kh - 1
	px := strideRegs(f, f.Int("srcPix"), rows)
	wv := make([]kw.V, kh)
	for r := range wv {
		wv[r] = f.Vec()
	}
	f.Label("tap")
	for r, v := range wv {
		q := f.LoadGP(kw.Mem{Base: t, Disp: 16*r + 8})
		f.AddGP(q, w)
		f.Broadcast(kw.Mem{Base: q}, v)
	}
	p := f.LoadGP(kw.Mem{Base: t})
	f.AddGP(p, src)
	px.at(p)
	for j := 0; j < rows; j++ {
		var served []int // the weights r whose output row j-r is in the tile
		for r := range wv {
			if i := j - r; i >= 0 && i < k.u {
				served = append(served, r)
			}
		}
		for o := 0; o < k.b; o++ {
			m := px.mem(j, o*k.vb)
			if len(served) == 1 {
				r := served[0]
				f.FMA(k.accs[j-r][o], wv[r], m)
				continue
			}
			in := f.Vec()
			f.LoadVec(m, in)
			for _, r := range served {
				f.FMA(k.accs[j-r][o], wv[r], in)
			}
		}
	}
	f.AddImm(t, 16*kh)
	f.DecJumpNonZero(n, "tap")
	f.Label("summed")
}
