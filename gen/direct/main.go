// Command direct generates convkit's direct-convolution kernels: AVX2+FMA
// and AVX-512 on amd64, NEON on arm64, from one description written
// against the kernel-writing layer gen/kw. asm/doc.go runs it once per
// architecture:
//
//	go run -C ../gen ./direct -out ../asm/direct_amd64.s -stubs ../asm/direct_amd64.go -table ../asm/direct_tiles_amd64.go -pkg asm
//	go run -C ../gen ./direct -arch arm64 -out ../asm/direct_arm64.s -stubs ../asm/direct_arm64.go -table ../asm/direct_tiles_arm64.go -pkg asm
//
// Every kernel computes one register tile of a convolution's output: U
// output pixels along a row times B output-channel vectors (B*Lanes
// channels), summed over input channels and filter taps with
// broadcast-input x weight-vector FMAs, the accumulators never leaving
// the registers. The taps come as a table of byte offsets (one entry per
// filter tap the tile's pixels all see), so one kernel serves 1D, 2D and
// 3D, any stride, dilation and padding: a tap that falls in the padding
// is simply not in the table, and nothing is read outside the input. The
// strides are arguments, so one kernel reads a channel-blocked input
// (nCdhw<Lanes>c), a channels-last one, or channel planes.
//
// Two input forms:
//   - B (blocked): the input channels come in blocks of Lanes, interleaved
//     in each pixel (channel-blocked or channels-last activations); a tap
//     is Lanes broadcasts per pixel (on NEON, one vector load and FMAs by
//     lane).
//   - P (planes): one input channel per step, a pixel's value one float
//     (channels-first activations read in place: the first layer, whose
//     few channels a block would pad to Lanes).
//
// The menu of tile shapes per ISA follows from its register count (see
// shapes), and a kernel exists for every U up to the widest, so that a
// row's last tile never needs pixels past it. The depthwise kernels are
// in depthwise.go. With -table it also writes
// the Go table of the families generated (asm.DirectFamilies).
package main

import (
	"fmt"
	"strings"

	"github.com/convkit/convkit/gen/kw"
)

// maxU is the widest tile along a row: more pixels than this gain
// nothing (the weights are loaded once per tap and input channel for all
// of them) and need more address registers.
const maxU = 14

// maxB is the most output-channel vectors of a tile (the "up to 4").
const maxB = 4

// forms are the input forms, in emission order.
var forms = []byte{'B', 'P'}

// cin is the number of input channels one tap step of form covers.
func cin(isa kw.ISA, form byte) int {
	if form == 'B' {
		return isa.Lanes
	}
	return 1
}

// laneLoads reports whether form's tap step loads a pixel's channels as
// one vector and multiplies by lane (NEON's FMLA by element) instead of
// broadcasting each channel.
func laneLoads(isa kw.ISA, form byte) bool { return isa.LaneFMA && form == 'B' }

// widest is the most pixels of a tile of b vectors that the registers
// hold: U*b accumulators, b weight vectors, and then either U input
// vectors (FMA by lane) or broadcast registers (two where the ISA has
// room, so that consecutive pixels overlap; one on a 16-register ISA).
func widest(isa kw.ISA, form byte, b int) int {
	free := isa.Regs - b
	var u int
	if laneLoads(isa, form) {
		u = free / (b + 1)
	} else {
		bc := 1
		if isa.Regs >= 32 {
			bc = 2
		}
		u = (free - bc) / b
	}
	return min(u, maxU)
}

// shapes lists the tile families of an ISA: for each B, the widest U.
// A B whose widest tile is under 3 pixels is left out (AVX2's B = 4): its
// loads would outnumber its FMAs.
func shapes(isa kw.ISA, form byte) [][2]int {
	var out [][2]int
	for b := 1; b <= maxB; b++ {
		if u := widest(isa, form, b); u >= 3 {
			out = append(out, [2]int{u, b})
		}
	}
	return out
}

// archISAs are the ISAs of each architecture's output, in emission order.
var archISAs = map[string][]kw.ISA{"amd64": {kw.AVX2, kw.AVX512}, "arm64": {kw.NEON}}

func main() {
	kw.MainWith("direct", "directMaskTab", func(f *kw.Func) {
		for _, form := range forms {
			for _, sh := range shapes(f.ISA, form) {
				for u := 1; u <= sh[0]; u++ {
					genKernel(f, form, u, sh[1])
				}
			}
		}
		genUnpack(f)
		genDepthwise(f)
	}, kw.Options{Table: goTable})
}

// kernelName is the exported name of a kernel: Direct14x2AVX512B.
func kernelName(isa string, form byte, u, b int) string {
	return fmt.Sprintf("Direct%dx%d%s%c", u, b, isa, form)
}

// signature is every kernel's Go type (asm.DirectTileFunc).
const signature = "func(dst *float32, src *float32, w *float32, taps *int, ntaps int, icb int, srcICB int, wICB int, srcPix int, dstPix int, dstOCB int, bias *float32, res *float32, flags int)"

// goTable returns the declarations of asm/direct_tiles_<arch>.go: every
// family main emits for the ISAs of arch.
func goTable(arch string) string {
	var b strings.Builder
	b.WriteString("// DirectFamilies lists every generated direct-convolution tile family:\n")
	b.WriteString("// Kernels[u-1] computes a tile of u pixels.\n")
	b.WriteString("var DirectFamilies = []DirectFamily{\n")
	for _, isa := range archISAs[arch] {
		for _, form := range forms {
			for _, sh := range shapes(isa, form) {
				fmt.Fprintf(&b, "{ISA: %q, Lanes: %d, Form: '%c', Cin: %d, U: %d, B: %d, Kernels: []Kernel[DirectTileFunc]{\n",
					isa.Name, isa.Lanes, form, cin(isa, form), sh[0], sh[1])
				for u := 1; u <= sh[0]; u++ {
					n := kernelName(isa.Name, form, u, sh[1])
					fmt.Fprintf(&b, "{Name: %q, Func: %s},\n", n, n)
				}
				b.WriteString("}},\n")
			}
		}
	}
	b.WriteString("}\n\n")
	b.WriteString("// DirectUnpacks lists the unpacking kernel of every ISA.\n")
	b.WriteString("var DirectUnpacks = []DirectUnpack{\n")
	for _, isa := range archISAs[arch] {
		n := unpackName(isa)
		fmt.Fprintf(&b, "{ISA: %q, Lanes: %d, Kernel: Kernel[DirectUnpackFunc]{Name: %q, Func: %s}},\n", isa.Name, isa.Lanes, n, n)
	}
	b.WriteString("}\n\n")
	b.WriteString(dwTable(archISAs[arch]))
	return b.String()
}

// unpackName is the name of an ISA's unpacking kernel: DirectUnpackAVX2.
func unpackName(isa kw.ISA) string { return "DirectUnpack" + isa.Name }

// genUnpack emits the kernel that moves channel-blocked pixels into
// channel planes, an L x L block (L pixels of L channels) transposed in
// registers per step: the output reorder of the blocked kernels.
func genUnpack(f *kw.Func) {
	L := f.ISA.Lanes
	name := unpackName(f.ISA)
	f.Function(name, "func(dst *float32, stride int, src *float32, blocks int)",
		fmt.Sprintf("%s moves %d*blocks channel-blocked pixels of %d channels into planes", name, L, L),
		"stride floats apart:",
		"",
		fmt.Sprintf("	for p < %d*blocks, c < %d:", L, L),
		fmt.Sprintf("	  dst[c*stride+p] = src[p*%d+c]", L),
		"",
		"Its reference is direct.Transposer.Deinterleave's loop.")
	dst, src := f.Int("dst"), f.Int("src")
	stride := f.Int("stride")
	f.ShlImm(stride, 2)
	n := f.Int("blocks")
	f.JumpIfNotPositive(n, "done")
	f.Label("loop")
	x := make([]kw.V, L)
	for r := range x {
		x[r] = f.Vec()
		f.LoadVec(kw.Mem{Base: src, Disp: r * f.ISA.VBytes()}, x[r])
	}
	p := f.MoveGP(dst)
	for _, v := range f.Transpose(x) {
		f.StoreVec(v, kw.Mem{Base: p})
		f.AddGP(p, stride)
	}
	f.AddImm(src, L*f.ISA.VBytes())
	f.AddImm(dst, f.ISA.VBytes())
	f.DecJumpNonZero(n, "loop")
	f.Label("done")
	f.Ret()
}

// The flags argument.
const (
	flagAccumulate = 1 // start from dst instead of the bias
	flagReLU       = 2 // max(y, 0) at the end, NaN passing through
)

// kernel is the state of one kernel under construction.
type kernel struct {
	f    *kw.Func
	form byte
	u, b int
	cin  int
	vb   int // bytes per vector
	accs [][]kw.V
}

func genKernel(f *kw.Func, form byte, u, b int) {
	name := kernelName(f.ISA.Name, form, u, b)
	k := &kernel{f: f, form: form, u: u, b: b, cin: cin(f.ISA, form), vb: f.ISA.VBytes()}
	L := f.ISA.Lanes
	lane := "src[p + t.Src + i*srcPix + c*4]"
	if form == 'P' {
		lane = "src[p + t.Src + i*srcPix]"
	}
	f.Function(name, signature,
		fmt.Sprintf("%s computes %d output pixels x %d channels (%d vectors) of a direct", name, u, b*L, b),
		"convolution, in bytes (every offset and stride; a float is 4 bytes):",
		"",
		fmt.Sprintf("\tfor i < %d, o < %d, l < %d:", u, b, L),
		"\t  acc := bias[o*L+l] (0 if bias is nil), or dst[D] with flags&1 (D = i*dstPix + o*dstOCB + 4*l)",
		"\t  for g < icb, each tap t of taps[:2*ntaps] (pairs t.Src, t.W):",
		"\t    p, q := g*srcICB, g*wICB + t.W",
		fmt.Sprintf("\t    for c < %d: acc += %s * w[q + (c*%d + o*%d + l)*4]", k.cin, lane, b*L, L),
		"\t  acc += res[D] unless res is nil; acc = relu(acc) with flags&2",
		"\t  dst[D] = acc",
		"",
		"Each sum is in that order, fused (one rounding per product), and the",
		"ReLU keeps NaN. The kernel reads only the addresses above. Its",
		"reference and test oracle is direct.TileGeneric.")
	k.accs = make([][]kw.V, u)
	for i := range k.accs {
		k.accs[i] = make([]kw.V, b)
		for o := range k.accs[i] {
			k.accs[i][o] = f.Vec()
		}
	}
	k.start()
	k.loops()
	k.finish()
	f.Ret()
}

// pixels addresses pixel i of a row whose pixels lie s bytes apart from
// base: base + i*s through x86's scaled indexes (s, 3s, 5s, 7s times 1,
// 2, 4 or 8) and, past pixel 7, a second base 8s on.
type pixels struct {
	base, b8      kw.G
	s, s3, s5, s7 kw.G
	hasB8         bool
	u             int
	f             *kw.Func
}

// strideRegs loads the stride s (bytes) and its multiples for u pixels.
func strideRegs(f *kw.Func, s kw.G, u int) pixels {
	p := pixels{s: s, u: u, f: f}
	if u > 3 {
		p.s3 = f.GP()
		f.Lea(kw.Mem{Base: s, Index: s, Scale: 2}, p.s3)
	}
	if u > 5 {
		p.s5 = f.GP()
		f.Lea(kw.Mem{Base: s, Index: s, Scale: 4}, p.s5)
	}
	if u > 7 {
		p.s7 = f.GP()
		f.Lea(kw.Mem{Base: p.s3, Index: s, Scale: 4}, p.s7)
	}
	return p
}

// at sets the row's base (and the second base when needed).
func (p *pixels) at(base kw.G) {
	p.base = base
	if p.u > 8 {
		if !p.hasB8 {
			p.b8, p.hasB8 = p.f.GP(), true
		}
		p.f.Lea(kw.Mem{Base: base, Index: p.s, Scale: 8}, p.b8)
	}
}

// mem is pixel i's address plus disp bytes.
func (p *pixels) mem(i, disp int) kw.Mem {
	base := p.base
	if i >= 8 {
		base, i = p.b8, i-8
	}
	switch i {
	case 0:
		return kw.Mem{Base: base, Disp: disp}
	case 1, 2, 4:
		return kw.Mem{Base: base, Index: p.s, Scale: i, Disp: disp}
	case 3, 6:
		return kw.Mem{Base: base, Index: p.s3, Scale: i / 3, Disp: disp}
	case 5:
		return kw.Mem{Base: base, Index: p.s5, Scale: 1, Disp: disp}
	default: // 7
		return kw.Mem{Base: base, Index: p.s7, Scale: 1, Disp: disp}
	}
}

// start sets the accumulators: from dst (flags&1), else the bias vectors,
// else zero.
func (k *kernel) start() {
	f := k.f
	flags := f.Int("flags")
	f.JumpIfBitsClear(flags, flagAccumulate, "fresh")
	k.eachDst("dst", func(i, o int, m kw.Mem) { f.LoadVec(m, k.accs[i][o]) })
	f.Jump("summed")
	f.Label("fresh")
	bias := f.Int("bias")
	f.JumpIfZero(bias, "zero")
	for o := 0; o < k.b; o++ {
		f.LoadVec(kw.Mem{Base: bias, Disp: o * k.vb}, k.accs[0][o])
		for i := 1; i < k.u; i++ {
			f.Move(k.accs[0][o], k.accs[i][o])
		}
	}
	f.Jump("summed")
	f.Label("zero")
	z := f.Zero()
	for i := range k.accs {
		for o := range k.accs[i] {
			f.Move(z, k.accs[i][o])
		}
	}
	f.Label("summed")
}

// eachDst calls fn for every accumulator with its address in the
// argument named ptr (dst or res), laid out as dst is.
func (k *kernel) eachDst(ptr string, fn func(i, o int, m kw.Mem)) {
	f := k.f
	base := f.Int(ptr)
	ocb := f.Int("dstOCB")
	px := strideRegs(f, f.Int("dstPix"), k.u)
	for o := 0; o < k.b; o++ {
		if o > 0 {
			f.AddGP(base, ocb)
		}
		px.at(base)
		for i := 0; i < k.u; i++ {
			fn(i, o, px.mem(i, 0))
		}
	}
}

// loops emits the sums: input-channel groups outside, taps inside.
func (k *kernel) loops() {
	f := k.f
	icb := f.Int("icb")
	f.JumpIfNotPositive(icb, "done")
	ntaps := f.Int("ntaps")
	f.JumpIfNotPositive(ntaps, "done")
	src, w := f.Int("src"), f.Int("w")
	px := strideRegs(f, f.Int("srcPix"), k.u)
	wv := make([]kw.V, k.b)
	for o := range wv {
		wv[o] = f.Vec()
	}
	var in []kw.V // the pixels' inputs: vectors (by lane) or broadcasts
	switch {
	case laneLoads(f.ISA, k.form):
		in = make([]kw.V, k.u)
	case f.ISA.Regs >= 32:
		in = make([]kw.V, 2)
	default:
		in = make([]kw.V, 1)
	}
	for i := range in {
		in[i] = f.Vec()
	}

	f.Label("group")
	t := f.Int("taps")
	n := f.Int("ntaps")
	f.Label("tap")
	p := f.LoadGP(kw.Mem{Base: t})
	f.AddGP(p, src)
	q := f.LoadGP(kw.Mem{Base: t, Disp: 8})
	f.AddGP(q, w)
	px.at(p)
	if laneLoads(f.ISA, k.form) {
		for i := 0; i < k.u; i++ {
			f.LoadVec(px.mem(i, 0), in[i])
		}
	}
	for c := 0; c < k.cin; c++ {
		for o := 0; o < k.b; o++ {
			f.LoadVec(kw.Mem{Base: q, Disp: (c*k.b + o) * k.vb}, wv[o])
		}
		for i := 0; i < k.u; i++ {
			if laneLoads(f.ISA, k.form) {
				for o := 0; o < k.b; o++ {
					f.FMALane(k.accs[i][o], wv[o], in[i], c)
				}
				continue
			}
			if f.ISA.EmbeddedBroadcast && k.b == 1 {
				// One output-channel vector: each broadcast feeds one
				// FMA, so fold it into the FMA's memory operand (one
				// instruction instead of two). Zen 4, one thread, auto's
				// direct rows: lenet_5x5_c6 forward 0.50 -> 0.33 ms,
				// large_15x15_c16 23.1 -> 17.2, the stem's backward-data
				// 18.7 -> 14.1; no row slower beyond noise.
				f.FMABcast(k.accs[i][0], wv[0], px.mem(i, 4*c))
				continue
			}
			x := in[i%len(in)]
			f.Broadcast(px.mem(i, 4*c), x)
			for o := 0; o < k.b; o++ {
				f.FMA(k.accs[i][o], x, wv[o])
			}
		}
	}
	f.AddImm(t, 16)
	f.DecJumpNonZero(n, "tap")

	// The next group of input channels: step src and w, count icb down
	// in its argument slot.
	f.AddGP(src, f.Int("srcICB"))
	f.AddGP(w, f.Int("wICB"))
	g := f.Int("icb")
	f.DecJumpZero(g, "done")
	f.StoreParam(g, "icb")
	f.Jump("group")
	f.Label("done")
}

// finish adds the residual, applies the ReLU and stores the tile.
func (k *kernel) finish() {
	f := k.f
	res := f.Int("res")
	f.JumpIfZero(res, "nores")
	tmp := f.Vec()
	k.eachDst("res", func(i, o int, m kw.Mem) {
		f.LoadVec(m, tmp)
		f.Binary(kw.Add, k.accs[i][o], k.accs[i][o], tmp)
	})
	f.Label("nores")
	flags := f.Int("flags")
	f.JumpIfBitsClear(flags, flagReLU, "store")
	zero := f.Zero()
	for i := range k.accs {
		for o := range k.accs[i] {
			keep := f.Cmp(kw.NGE, zero, k.accs[i][o]) // !(0 >= y): y > 0 or NaN
			f.ZeroUnless(keep, k.accs[i][o], k.accs[i][o])
		}
	}
	f.Label("store")
	k.eachDst("dst", func(i, o int, m kw.Mem) { f.StoreVec(k.accs[i][o], m) })
}
