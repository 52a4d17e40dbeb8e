package fft

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// asComplex views 2n floats as n complex values.
func asComplex(f []float32) []complex64 {
	return unsafe.Slice((*complex64)(unsafe.Pointer(unsafe.SliceData(f))), len(f)/2)
}

// TestTransposeKernels holds every host path's transpose to the twin on
// sizes around the block sizes, with pitches of both signs (the
// reversals the real transforms use), against guard pages.
func TestTransposeKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	sizes := []int{0, 1, 3, 8, 15, 16, 17, 33, 40}
	for _, k := range append(hostKernels(), laneKernels{}) {
		for _, rows := range sizes {
			for _, cols := range sizes {
				for _, sign := range [][2]int{{1, 1}, {-1, 1}, {1, -1}, {-1, -1}} {
					sp, dp := sign[0]*(cols+3), sign[1]*(rows+1)
					ssize, s0 := layout(max(rows, 1), cols, sp, 0)
					dsize, d0 := layout(max(cols, 1), rows, dp, 0)
					src, dst0 := randSlice(r, ssize), randSlice(r, dsize)
					want := append([]float32{}, dst0...)
					transposeGo(want, d0, dp, src, s0, sp, rows, cols)
					got := guarded(t, dst0, src, func(d, s []float32) {
						k.transpose(d, d0, dp, s, s0, sp, rows, cols)
					})
					sameBits(t, fmt.Sprintf("%s transpose %dx%d pitches %d %d", k.name(), rows, cols, sp, dp), got, want)
				}
			}
		}
	}
}

// TestZipKernels: the moves between pairs and planes, every length.
func TestZipKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, k := range append(hostKernels(), laneKernels{}) {
		for _, n := range laneLens {
			pairs := randSlice(r, 2*n)
			planes := guarded(t, randSlice(r, 2*n), pairs, func(d, s []float32) {
				k.unzip(d[:n], d[n:], asComplex(s))
			})
			for l := 0; l < n; l++ {
				if planes[l] != pairs[2*l] || planes[n+l] != pairs[2*l+1] {
					t.Fatalf("%s unzip n=%d: lane %d = %v, %v; want %v, %v", k.name(), n, l, planes[l], planes[n+l], pairs[2*l], pairs[2*l+1])
				}
			}
			back := guarded(t, randSlice(r, 2*n), planes, func(d, s []float32) {
				k.zip(asComplex(d), s[:n], s[n:])
			})
			sameBits(t, fmt.Sprintf("%s zip n=%d", k.name(), n), back, pairs)
		}
	}
}

func TestTransposeRefusesOutside(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a transpose past its slice did not panic")
		}
	}()
	src, dst := make([]float32, 16*16), make([]float32, 16*16)
	laneKernels{}.transpose(dst, 0, 17, src, 0, 16, 16, 16)
}

// TestRealHalfKernels holds every host path's RealHalf to the twin on
// planes of several lengths, one vector and several, against guard
// pages.
func TestRealHalfKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, k := range hostKernels() {
		L := k.set.Lanes
		for _, m := range []int{2*L + 2, 2*L + 6, 6 * L, 8*L + 10} {
			count := (m/2 - 1) / L
			for _, k0 := range []int{1, m/2 - count*L} {
				im := m + 3
				src, dst0, tw := randSlice(r, 2*im), randSlice(r, 2*im), randSlice(r, 2*(m/2+1))
				want := append([]float32{}, dst0...)
				realHalfGo(run{data: want, im: im}, run{data: src, im: im}, run{data: tw, im: m/2 + 1}, m, k0, k0+count*L, 0.5)
				got := guarded(t, dst0, src, func(d, s []float32) {
					k.realHalf(run{data: d, im: im}, run{data: s, im: im}, run{data: tw, im: m/2 + 1}, m, k0, count, L, 0.5)
				})
				sameBits(t, fmt.Sprintf("%s realHalf m=%d k0=%d", k.name(), m, k0), got, want)
			}
		}
	}
}

// TestConjSumKernels holds every host path's channel sum to the
// twin (and so to chans calls of ScaleAddConj) on run lengths around
// the vectors, against guard pages.
func TestConjSumKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, k := range hostKernels() {
		for _, n := range laneLens {
			for _, shape := range [][2]int{{1, 1}, {3, 1}, {2, 4}} { // rows, chans
				rows, chans := shape[0], shape[1]
				pitch := n + 1
				plane := rows * pitch
				srcChan, twChan := 2*plane+3, 2*rows+1
				src := randSlice(r, chans*srcChan)
				dst0, tw := randSlice(r, 2*plane), randSlice(r, chans*twChan)
				want := append([]float32{}, dst0...)
				conjSumGo(run{data: want, im: plane}, run{data: src, im: plane}, n, rows, pitch, tw, chans, srcChan, twChan)
				got := guarded(t, dst0, src, func(d, s []float32) {
					o := SplitOps{k}
					o.MulConjRowsSum(Split{Data: d, Im: plane, Step: pitch}, Split{Data: s, Im: plane, Step: pitch}, srcChan, tw, twChan, chans, rows, n)
				})
				sameBits(t, fmt.Sprintf("%s sum n=%d rows=%d chans=%d", k.name(), n, rows, chans), got, want)
				// The same as chans calls of ScaleAddConj on a cleared dst.
				seq := append([]float32{}, dst0...)
				for row := 0; row < rows; row++ {
					clear(seq[row*pitch:][:n])
					clear(seq[plane+row*pitch:][:n])
				}
				for c := 0; c < chans; c++ {
					scaleAddConjGo(run{data: seq, im: plane, step: pitch}, run{data: src, re: c * srcChan, im: c*srcChan + plane, step: pitch}, n, rows, tw[c*twChan:])
				}
				sameBits(t, fmt.Sprintf("%s sum n=%d vs calls", k.name(), n), got, seq)
			}
		}
	}
}

// TestZipRowsKernels: the row forms of the moves, pitches wider than
// the rows, against the twins and guard pages.
func TestZipRowsKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, k := range append(hostKernels(), laneKernels{}) {
		for _, n := range laneLens {
			rows, sp, dp := 3, n+2, n+1
			if n == 0 {
				continue
			}
			pairs := randSlice(r, 2*((rows-1)*sp+n))
			plane := (rows-1)*dp + n
			planes := guarded(t, randSlice(r, 2*plane), pairs, func(d, s []float32) {
				k.unzipRows(d[:plane], d[plane:], dp, asComplex(s), sp, n, rows)
			})
			for row := 0; row < rows; row++ {
				for l := 0; l < n; l++ {
					c := 2 * (row*sp + l)
					if planes[row*dp+l] != pairs[c] || planes[plane+row*dp+l] != pairs[c+1] {
						t.Fatalf("%s unzipRows n=%d: row %d lane %d", k.name(), n, row, l)
					}
				}
			}
			back := guarded(t, append([]float32{}, pairs...), planes, func(d, s []float32) {
				k.zipRows(asComplex(d), sp, s[:plane], s[plane:], dp, n, rows)
			})
			sameBits(t, fmt.Sprintf("%s zipRows n=%d", k.name(), n), back, pairs)
		}
	}
}

// TestStrideOverflowRefused: distances whose products overflow must be
// refused by the checks, not passed to a kernel (a review found
// MulConjRowsSum's wrapping to a false yes: a SIGSEGV in the kernel).
func TestStrideOverflowRefused(t *testing.T) {
	refused := func(what string, call func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", what)
			}
		}()
		call()
	}
	for _, k := range append(hostKernels(), laneKernels{}) {
		o := SplitOps{k}
		a, d, w := make([]float32, 64), make([]float32, 64), make([]float32, 2)
		refused("rows sum, channels 2^61 apart", func() {
			o.MulConjRowsSum(Dense(d, 1, 16), Dense(a, 1, 16), 1<<61, w, 0, 9, 1, 16)
		})
		refused("rows sum, weights 2^61 apart", func() {
			o.MulConjRowsSum(Dense(d, 1, 16), Dense(a, 1, 16), 0, w, 1<<61, 9, 1, 16)
		})
		tw := make([]float32, 2*9)
		refused("butterflies 2^61 apart", func() {
			k.butterfly(2, run{data: d, im: 32, step: 8}, run{data: a, im: 32, step: 8}, 4, tw, 9, 1<<61, 0, false)
		})
		refused("pitch MinInt", func() {
			k.transpose(d, 32, -1<<63, a, 0, 8, 2, 2)
		})
	}
}
