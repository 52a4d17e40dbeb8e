package asmemu

import (
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"testing"

	"github.com/convkit/convkit/winograd"
)

// winogradName parses a Winograd transform's name: kind, tile, ISA.
var winogradName = regexp.MustCompile(`^Winograd(In|Out|Filter|GradDy|GradDw)F(\d)(AVX2|AVX512)$`)

// testWinograd runs a transform on one tile and three (strides with
// slack, an infinity in the input) against winograd.Twin bit for bit,
// and natively where the host can.
func testWinograd(t *testing.T, p *Program, name string) {
	m := winogradName.FindStringSubmatch(name)
	tile, _ := strconv.Atoi(m[2])
	lanes := map[string]int{"AVX2": 8, "AVX512": 16}[m[3]]
	v, err := winograd.ByM(tile)
	if err != nil {
		t.Fatal(err)
	}
	var kind winograd.Kind
	for _, k := range winograd.Kinds() {
		if k.String() == m[1] {
			kind = k
		}
	}
	tw := winograd.Twin(v, kind, lanes)
	_, rows, cols := v.Matrix(kind)
	r := rand.New(rand.NewPCG(uint64(tile), uint64(kind)))
	rnd := func(n int) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = float32(r.NormFloat64())
		}
		return out
	}
	// side returns a side's stride and floats for n tiles of e x e.
	side := func(grid bool, e, n int) (stride, size int) {
		if grid {
			stride = ((n-1)*tile+e)*lanes + lanes
			return stride, (e-1)*stride + ((n-1)*tile+e)*lanes
		}
		stride = n*lanes + lanes
		return stride, (e*e-1)*stride + n*lanes
	}
	for _, n := range []int{1, 3} {
		ss, sn := side(kind.SrcGrid(), cols, n)
		ds, dn := side(kind.DstGrid(), rows, n)
		src, dst0 := rnd(sn), rnd(dn)
		src[n] = float32(math.Inf(-1))
		var bias []float32
		if kind == winograd.Out {
			bias = rnd(lanes)
		}
		want := append([]float32(nil), dst0...)
		tw.Run(want, src, make([]float32, tw.TmpLen()), bias, n, ss, ds)
		args, _ := call(t, p, name, func() ([]any, []Region) {
			return []any{append([]float32(nil), dst0...), src, make([]float32, tw.TmpLen()), tw.Coef(), bias, n, 4 * ss, 4 * ds}, nil
		})
		got := args[0].([]float32)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%d tiles: dst[%d] = %v, want %v", n, i, got[i], want[i])
			}
		}
	}
}
