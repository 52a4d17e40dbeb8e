package direct

import (
	"math/rand/v2"
	"testing"

	"github.com/convkit/convkit/kernels"
)

// TestTransposer checks Interleave and Deinterleave against their
// definitions on every path, for pixel counts around the block, partial
// channel blocks and loose strides, and that the generated pack ran
// where the path has one.
func TestTransposer(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, isa := range kernels.Available() {
		f := Families(isa)[0]
		L := f.Lanes
		tr := NewTransposer(isa, L, 700)
		if want := isa != kernels.Generic && f.Source == "asm"; (tr.packT != nil) != want || (tr.unpack != nil) != want {
			t.Errorf("%s: generated pack %v and unpack %v, want %v", isa, tr.packT != nil, tr.unpack != nil, want)
		}
		for _, n := range []int{1, L - 1, L, L + 1, 3*L + 2, 100, 2*PartRun + 3*L + 1} {
			for _, nc := range []int{1, L - 1, L} {
				stride := n + r.IntN(5)
				src := randFloats(r, (L-1)*stride+n)
				dst := randFloats(r, n*L)
				tr.Interleave(dst, src, stride, nc, n)
				for p := 0; p < n; p++ {
					for c := 0; c < L; c++ {
						want := float32(0)
						if c < nc {
							want = src[c*stride+p]
						}
						if dst[p*L+c] != want {
							t.Fatalf("%s Interleave n=%d nc=%d: dst[%d] = %v, want %v", isa, n, nc, p*L+c, dst[p*L+c], want)
						}
					}
				}
				wide := L + r.IntN(3)*L + 1 // a pixel stride past the block
				dw := randFloats(r, (n-1)*wide+L)
				before := append([]float32(nil), dw...)
				tr.InterleaveTo(dw, wide, src, stride, nc, n)
				for i, v := range dw {
					p, c := i/wide, i%wide
					want := before[i]
					if c < L {
						want = dst[p*L+c]
					}
					if v != want {
						t.Fatalf("%s InterleaveTo n=%d nc=%d stride %d: dst[%d] = %v, want %v", isa, n, nc, wide, i, v, want)
					}
				}
				planes := randFloats(r, (L-1)*stride+n)
				before = append([]float32(nil), planes...)
				tr.Deinterleave(planes, stride, nc, dst, n)
				for i, v := range planes {
					c, p := i/stride, i%stride
					want := before[i]
					if c < nc && p < n {
						want = dst[p*L+c]
					}
					if v != want {
						t.Fatalf("%s Deinterleave n=%d nk=%d: dst[%d] = %v, want %v", isa, n, nc, i, v, want)
					}
				}
			}
		}
	}
}

// TestTransposerChecks: strides that are negative or overflow the reach
// panic before any kernel runs.
func TestTransposerChecks(t *testing.T) {
	f := Families(kernels.Current())[0]
	L := f.Lanes
	tr := NewTransposer(kernels.Current(), L, 64)
	buf := make([]float32, 64*L)
	for name, call := range map[string]func(){
		"deinterleave negative stride": func() { tr.Deinterleave(buf[32*L:], -L, L, buf, L) },
		"deinterleave overflow":        func() { tr.Deinterleave(buf, 1<<62, L, buf, L) },
		"interleave negative stride":   func() { tr.InterleaveTo(buf, L, buf[32*L:], -L, L, L) },
		"interleave overflow":          func() { tr.InterleaveTo(buf, 1<<62, buf, L, L, L) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			call()
		}()
	}
}
