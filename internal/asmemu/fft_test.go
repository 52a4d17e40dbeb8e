package asmemu

import (
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/convkit/convkit/fft"
)

// fftName parses an FFT kernel's name: kind, ISA.
var fftName = regexp.MustCompile(`^FFT(Radix2|Radix3|Radix4|Radix8|Radix2Last|Radix3Last|Radix4Last|Radix8Last|RealPair|ScaleAddConj|ConjSum|Mul|MulConj|MulAdd|MulAddConj|Transpose|Unzip|Zip|RealHalf)(AVX2|AVX512)$`)

// testFFT runs an FFT kernel on runs of several lengths (whole vectors,
// a tail, both) with gaps between its streams and planes against fft's
// twin bit for bit, and natively where the host can.
func testFFT(t *testing.T, p *Program, name string) {
	m := fftName.FindStringSubmatch(name)
	kind := m[1]
	r := rand.New(rand.NewPCG(uint64(len(kind)), 7))
	rnd := func(n int) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = float32(r.NormFloat64())
		}
		return out
	}
	switch kind {
	case "Transpose":
		testFFTTranspose(t, p, name, rnd)
		return
	case "ConjSum":
		for _, n := range []int{1, 7, 16, 37} {
			rows, chans, pitch := 3, 2, n+2
			plane := rows * pitch
			srcChan, twChan := 2*plane+1, 2*rows+3
			src, dst0, tw := rnd(chans*srcChan), rnd(2*plane), rnd(chans*twChan)
			want := append([]float32(nil), dst0...)
			fft.SumTwin(want, src, tw, n, rows, 4*pitch, 4*plane, 4*plane, chans, 4*srcChan, 4*twChan)
			args, _ := call(t, p, name, func() ([]any, []Region) {
				return []any{append([]float32(nil), dst0...), src, tw, n, rows, 4 * pitch, 4 * plane, 4 * plane, chans, 4 * srcChan, 4 * twChan}, nil
			})
			same(t, name, n, args[0].([]float32), want)
		}
		return
	case "RealHalf":
		lanes := 8
		if strings.HasSuffix(name, "AVX512") {
			lanes = 16
		}
		for _, m := range []int{2*lanes + 2, 6 * lanes} {
			count, im := (m/2-1)/lanes, m+3
			src, dst0, tw := rnd(2*im), rnd(2*im), rnd(2*(m/2+1))
			want := append([]float32(nil), dst0...)
			fft.RealHalfTwin(want, src, tw, im, m/2+1, m, 1, count, lanes, 0.5)
			b := m - 1 - (lanes - 1)
			args, _ := call(t, p, name, func() ([]any, []Region) {
				d := append([]float32(nil), dst0...)
				// The kernel's pointers, as slices from there: dstB and
				// srcB inside dst and src (regions of their own).
				return []any{d[1:], d[b:], src[1:], src[b:], tw[1:], float32(0.5), count, 4 * im, 4 * im, 4 * (m/2 + 1)}, nil
			})
			same(t, name, m, args[0].([]float32), want[1:])
		}
		return
	case "Unzip", "Zip":
		for _, n := range []int{1, 7, 16, 37} {
			rows, pp, vp := 3, n+1, n+2 // pairs' pitch, planes' pitch (values)
			a, b, c := rnd(2*rows*pp), rnd(rows*vp), rnd(rows*vp)
			if kind == "Unzip" {
				wantRe, wantIm := append([]float32(nil), b...), append([]float32(nil), c...)
				fft.UnzipTwin(wantRe, wantIm, a, n, rows, 8*pp, 4*vp)
				args, _ := call(t, p, name, func() ([]any, []Region) {
					return []any{append([]float32(nil), b...), append([]float32(nil), c...), a, n, rows, 8 * pp, 4 * vp}, nil
				})
				same(t, name, n, args[0].([]float32), wantRe)
				same(t, name, n, args[1].([]float32), wantIm)
				continue
			}
			want := append([]float32(nil), a...)
			fft.ZipTwin(want, b, c, n, rows, 8*pp, 4*vp)
			args, _ := call(t, p, name, func() ([]any, []Region) {
				return []any{append([]float32(nil), a...), b, c, n, rows, 8 * pp, 4 * vp}, nil
			})
			same(t, name, n, args[0].([]float32), want)
		}
		return
	}
	streams := map[string]int{"Radix2": 2, "Radix3": 3, "Radix4": 4, "Radix8": 8, "RealPair": 2}[strings.TrimSuffix(kind, "Last")]
	for _, n := range []int{1, 7, 16, 37} {
		if kind == "ScaleAddConj" { // 3 rows n+2 apart, the planes after them
			rows, pitch := 3, n+2
			dst0, src, tw := rnd(2*rows*pitch), rnd(2*rows*pitch), rnd(2*rows)
			im := 4 * rows * pitch
			want := append([]float32(nil), dst0...)
			fft.RowsTwin(want, src, tw, n, rows, 4*pitch, im, im)
			args, _ := call(t, p, name, func() ([]any, []Region) {
				return []any{append([]float32(nil), dst0...), src, tw, n, rows, 4 * pitch, im, im}, nil
			})
			same(t, name, n, args[0].([]float32), want)
			continue
		}
		if streams == 0 { // a product: dst, a, b of n lanes, planes n+3 apart
			im := 4 * (n + 3)
			dst0, a, b := rnd(2*n+3), rnd(2*n+3), rnd(2*n+3)
			a[1] = float32(math.Inf(1))
			want := append([]float32(nil), dst0...)
			fft.MulTwin(kind, want, a, b, n, im, im, im)
			args, _ := call(t, p, name, func() ([]any, []Region) {
				return []any{append([]float32(nil), dst0...), a, b, n, im, im, im}, nil
			})
			same(t, name, n, args[0].([]float32), want)
			continue
		}
		// streams n+1 floats apart on the source, n+2 on the destination;
		// each imaginary plane after the streams' real parts.
		ss, ds := n+1, n+2
		sim, dim := streams*ss, streams*ds
		src, dst0 := rnd(2*streams*ss), rnd(2*streams*ds)
		if kind == "RealPair" {
			// Two pairs: rows 0 and 1 (srcStep one stream on), then the
			// same row twice (the step less two nexts of half a stream).
			tw := rnd(6)
			h, hd := ss/2, ds/2
			want := append([]float32(nil), dst0...)
			fft.KernelTwin(kind, want, src, tw, n, 4*2*h, 4*2*hd, 4*sim, 4*dim, 2, 4*h, 4*hd)
			args, _ := call(t, p, name, func() ([]any, []Region) {
				return []any{append([]float32(nil), dst0...), src, tw, n, 4 * 2 * h, 4 * 2 * hd, 4 * sim, 4 * dim, 2, 4 * h, 4 * hd}, nil
			})
			same(t, name, n, args[0].([]float32), want)
			continue
		}
		// Two butterflies: the second's streams interleaved with the
		// first's (next = one step on), its own twiddles.
		src, dst0 = rnd(2*streams*ss+ss), rnd(2*streams*ds+ds)
		tw := rnd(2 * 2 * (streams - 1))
		want := append([]float32(nil), dst0...)
		fft.KernelTwin(kind, want, src, tw, n, 4*ss, 4*ds, 4*sim, 4*dim, 2, 4*(ss/2), 4*(ds/2))
		args, _ := call(t, p, name, func() ([]any, []Region) {
			return []any{append([]float32(nil), dst0...), src, tw, n, 4 * ss, 4 * ds, 4 * sim, 4 * dim, 2, 4 * (ss / 2), 4 * (ds / 2)}, nil
		})
		same(t, name, n, args[0].([]float32), want)
	}
}

func same(t *testing.T, name string, n int, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
			t.Fatalf("%s n=%d: dst[%d] = %v, twin %v", name, n, i, got[i], want[i])
		}
	}
}

// testFFTTranspose runs a transpose kernel on 1x1, 2x3 and 3x1 blocks,
// the pitches wider than the rows, against the twin.
func testFFTTranspose(t *testing.T, p *Program, name string, rnd func(int) []float32) {
	lanes := 8
	if strings.HasSuffix(name, "AVX512") {
		lanes = 16
	}
	for _, b := range [][2]int{{1, 1}, {2, 3}, {3, 1}} {
		rows, cols := b[0]*lanes, b[1]*lanes
		sp, dp := cols+5, rows+3
		src, dst0 := rnd(rows*sp), rnd(cols*dp)
		want := append([]float32(nil), dst0...)
		fft.TransposeTwin(want, src, lanes, b[0], b[1], 4*sp, 4*dp)
		args, _ := call(t, p, name, func() ([]any, []Region) {
			return []any{append([]float32(nil), dst0...), src, b[0], b[1], 4 * sp, 4 * dp}, nil
		})
		same(t, name, rows, args[0].([]float32), want)
	}
}
