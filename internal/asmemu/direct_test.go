package asmemu

import (
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"testing"

	"github.com/convkit/convkit/direct"
)

// directName parses a direct-convolution tile kernel's name: pixels,
// vectors, ISA and input form (gen/direct).
var directName = regexp.MustCompile(`^Direct(\d+)x(\d+)(AVX2|AVX512)([BP])$`)

// testDirect runs a direct tile kernel on a few calls with every flag and
// optional operand, against direct.TileGeneric bit for bit and, where the host can, natively. (Package
// direct's own tests cover the family on many more random calls, through
// this interpreter too; this keeps TestKernels' every-function and
// every-opcode accounting whole.)
func testDirect(t *testing.T, p *Program, name string) {
	m := directName.FindStringSubmatch(name)
	u, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	lanes := map[string]int{"AVX2": 8, "AVX512": 16}[m[3]]
	cin := 1
	if m[4] == "B" {
		cin = lanes
	}
	r := rand.New(rand.NewPCG(uint64(u), uint64(b)))
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	vb, wtap := 4*lanes, 4*cin*b*lanes
	for flags := 0; flags < 4; flags++ {
		a := direct.Args{ICB: 2, SrcPix: 8 * cin, DstPix: vb, DstOCB: u * vb, Flags: flags,
			Taps: direct.NewTaps([]int{0, 0, 4 * cin, wtap, 12 * cin, 2 * wtap})}
		a.SrcICB = 12*cin + (u-1)*a.SrcPix + 4*cin
		a.WICB = 3 * wtap
		src, w := rnd(2*a.SrcICB/4), rnd(2*a.WICB/4)
		dst0 := rnd(u * b * lanes)
		var bias, res []float32
		if flags&1 == 0 {
			bias = rnd(b * lanes)
		}
		if flags&2 != 0 {
			res = rnd(len(dst0))
		}
		want := append([]float32(nil), dst0...)
		direct.TileGeneric(lanes, cin, u, b, want, src, w, &a, bias, res)
		args, _ := call(t, p, name, func() ([]any, []Region) {
			return []any{append([]float32(nil), dst0...), src, w, a.Taps.Offsets(), a.Taps.Len(), a.ICB, a.SrcICB, a.WICB, a.SrcPix, a.DstPix, a.DstOCB, bias, res, a.Flags}, nil
		})
		got := args[0].([]float32)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("flags %d: dst[%d] = %v, want %v", flags, i, got[i], want[i])
			}
		}
	}
}

// unpackName matches the unpacking kernels of gen/direct.
var unpackName = regexp.MustCompile(`^DirectUnpack(AVX2|AVX512)$`)

// testUnpack runs an unpacking kernel on 0 to 3 blocks into planes with
// slack between them, against its definition (the slack untouched).
func testUnpack(t *testing.T, p *Program, name string) {
	L := map[string]int{"AVX2": 8, "AVX512": 16}[unpackName.FindStringSubmatch(name)[1]]
	r := rand.New(rand.NewPCG(uint64(L), 3))
	for blocks := 0; blocks <= 3; blocks++ {
		stride := blocks*L + 3
		src := make([]float32, blocks*L*L)
		for i := range src {
			src[i] = float32(r.NormFloat64())
		}
		dst0 := make([]float32, (L-1)*stride+blocks*L+1)
		for i := range dst0 {
			dst0[i] = float32(i)
		}
		args, _ := call(t, p, name, func() ([]any, []Region) {
			return []any{append([]float32(nil), dst0...), stride, src, blocks}, nil
		})
		got := args[0].([]float32)
		for i, v := range got {
			want := dst0[i]
			if c, q := i/stride, i%stride; c < L && q < blocks*L {
				want = src[q*L+c]
			}
			if v != want {
				t.Fatalf("%d blocks: dst[%d] = %v, want %v", blocks, i, v, want)
			}
		}
	}
}

// dwName parses a depthwise kernel's name: tile, vectors, ISA, mode.
var dwName = regexp.MustCompile(`^Depthwise(\d+)x(\d+)(AVX2|AVX512)([CWK]|R(\d))$`)

// testDepthwise runs a depthwise kernel on one tile and two, with and
// without each optional operand and the flag, against
// direct.DepthwiseGeneric bit for bit (and natively where the host can).
func testDepthwise(t *testing.T, p *Program, name string) {
	m := dwName.FindStringSubmatch(name)
	u, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	lanes := map[string]int{"AVX2": 8, "AVX512": 16}[m[3]]
	mode := direct.Mode(m[4][0])
	kh, _ := strconv.Atoi(m[5]) // mode Rows' filter height
	wf := lanes
	switch mode {
	case direct.Width, direct.Rows:
		wf = 1
	case direct.OutChannels:
		wf = b // a tap's weights of the b channels; their rows interleaved in dst
	}
	r := rand.New(rand.NewPCG(uint64(u), uint64(b)+7))
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	vb := 4 * lanes
	for variant := 0; variant < 8; variant++ {
		tiles := 1 + variant/4 // one tile, then two
		rows := tiles * u
		a := direct.DWArgs{SrcPix: b*vb + 8, DstPix: b * vb, Flags: variant & direct.ReLU,
			Taps: direct.NewTaps([]int{0, 0, 4, 4 * wf, 12 + vb, 8 * wf})}
		ntaps, nw := a.Taps.Len(), 3*wf
		if mode == direct.OutChannels {
			a.ChStride = vb
		}
		if mode == direct.Rows { // two columns of kh taps, their own weights each
			var offs []int
			for c, top := range []int{4, 12 + vb} {
				for i := 0; i < kh; i++ {
					offs = append(offs, top+i*a.SrcPix, 4*(c*kh+i))
				}
			}
			a.Taps, ntaps, nw = direct.NewTaps(offs), 2, 2*kh
		}
		src, w := rnd((12+vb+(rows-1+kh)*a.SrcPix+b*vb)/4), rnd(nw)
		dst0 := rnd(rows * b * lanes)
		var bias, res []float32
		if variant&1 == 0 {
			bias = rnd(wf)
		}
		if variant&3 == 0 || variant&3 == 3 { // with and without the bias
			res = rnd(len(dst0))
		}
		want := append([]float32(nil), dst0...)
		for j := 0; j < tiles; j++ {
			var rt []float32
			if res != nil {
				rt = res[j*u*a.DstPix/4:]
			}
			direct.DepthwiseGeneric(lanes, mode, u, b, want[j*u*a.DstPix/4:], src[j*u*a.SrcPix/4:], w, &a, bias, rt)
		}
		args, _ := call(t, p, name, func() ([]any, []Region) {
			return []any{append([]float32(nil), dst0...), src, w, a.Taps.Offsets(), ntaps, tiles, a.SrcPix, a.DstPix, bias, res, a.Flags, a.ChStride}, nil
		})
		got := args[0].([]float32)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("variant %d: dst[%d] = %v, want %v", variant, i, got[i], want[i])
			}
		}
	}
}
