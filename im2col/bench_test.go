package im2col

import (
	"fmt"
	"testing"

	"github.com/convkit/convkit/kernels"
)

// BenchmarkLower lowers resnet_3x3_c64 (64 channels of 56x56, a 3x3
// filter, padding 1: a flat lowering) and resnet_stem_7x7s2 (3 channels
// of 224x224, 7x7 at stride 2, padding 3: run by run) in tiles of several
// widths (and lenet_5x5_c6's image: runs of 10), to separate the per-row cost from the per-element one.
func BenchmarkLower(b *testing.B) {
	c64 := Geometry{Short: []int{56, 56}, Long: []int{56, 56}, Kernel: []int{3, 3},
		Stride: []int{1, 1}, Dilation: []int{1, 1}, Pad: []int{1, 1}}
	stem := Geometry{Short: []int{112, 112}, Long: []int{224, 224}, Kernel: []int{7, 7},
		Stride: []int{2, 2}, Dilation: []int{1, 1}, Pad: []int{3, 3}}
	alexnet := Geometry{Short: []int{55, 55}, Long: []int{227, 227}, Kernel: []int{11, 11},
		Stride: []int{4, 4}, Dilation: []int{1, 1}, Pad: []int{0, 0}}
	lenet := Geometry{Short: []int{10, 10}, Long: []int{14, 14}, Kernel: []int{5, 5},
		Stride: []int{1, 1}, Dilation: []int{1, 1}, Pad: []int{0, 0}}
	for _, c := range []struct {
		name  string
		g     Geometry
		chans int
	}{{"c64", c64, 64}, {"stem", stem, 3}, {"alexnet", alexnet, 3}, {"lenet_c6", lenet, 6}} {
		l := New(c.g)
		src := make([]float32, c.chans*l.LongPlane())
		for i := range src {
			src[i] = float32(i % 7)
		}
		for _, tile := range []int{100, 192, 608, 3136} {
			if tile > l.ShortLen() {
				continue
			}
			col := make([]float32, c.chans*l.KernelSize()*tile)
			b.Run(fmt.Sprintf("%s/tile%d", c.name, tile), func(b *testing.B) {
				for b.Loop() {
					for j0 := 0; j0 < l.ShortLen(); j0 += tile {
						cols := min(tile, l.ShortLen()-j0)
						l.Lower(col, cols, src, c.chans, j0, cols)
					}
				}
				b.SetBytes(int64(4 * c.chans * l.KernelSize() * l.ShortLen()))
			})
			if !l.Phased() {
				continue
			}
			// The phased lowering, its Phase pass included.
			phased := make([]float32, len(src))
			b.Run(fmt.Sprintf("%s/phased/tile%d", c.name, tile), func(b *testing.B) {
				for b.Loop() {
					l.Phase(phased, src, c.chans)
					for j0 := 0; j0 < l.ShortLen(); j0 += tile {
						cols := min(tile, l.ShortLen()-j0)
						l.LowerPhased(col, cols, phased, c.chans, j0, cols)
					}
				}
				b.SetBytes(int64(4 * c.chans * l.KernelSize() * l.ShortLen()))
			})
		}
	}
}

// BenchmarkGatherStrided gathers runs of 55 (alexnet_11x11s4's output
// rows) at strides 2 to 4.
func BenchmarkGatherStrided(b *testing.B) {
	vec := &kernels.Bound().Vec
	for _, stride := range []int{2, 3, 4} {
		src := make([]float32, 64*stride)
		dst := make([]float32, 55)
		b.Run(fmt.Sprint("stride", stride), func(b *testing.B) {
			for b.Loop() {
				gatherStrided(dst, src, stride, vec)
			}
			b.SetBytes(4 * int64(len(dst)))
		})
	}
}
