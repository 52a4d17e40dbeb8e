package im2col

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convkit/convkit/internal/guardpage"
	"github.com/convkit/convkit/kernels"
)

// tapOf is the plain definition: the long plane offset of short position j
// at kernel offset r, through the mode, or -1.
func tapOf(g Geometry, j, r int) int {
	d := len(g.Short)
	sp, kp := make([]int, d), make([]int, d)
	unflatten(j, g.Short, sp)
	unflatten(r, g.Kernel, kp)
	off := 0
	for i := range d {
		v := MapIndex(sp[i]*g.Stride[i]-g.Pad[i]+kp[i]*g.Dilation[i], g.Long[i], g.Mode)
		if v < 0 {
			return -1
		}
		off = off*g.Long[i] + v
	}
	return off
}

// randomGeometry draws a 1-3D geometry whose padding obeys the modes'
// rules (reflect below the size, circular at most the size).
// A third of them are flat ("same" padding at stride 1: the fast path).
func randomGeometry(r *rand.Rand) Geometry {
	d := 1 + r.IntN(3)
	g := Geometry{Mode: Mode(r.IntN(4))}
	flat := r.IntN(3) == 0
	for range d {
		long := 1 + r.IntN(9)
		k, s, dil := 1+r.IntN(4), 1+r.IntN(3), 1+r.IntN(3)
		maxPad := long
		if g.Mode == Reflect {
			maxPad = long - 1
		}
		p := r.IntN(min(maxPad, 4) + 1)
		if flat {
			s, k = 1, 1+2*r.IntN(2)
			if p = dil * (k - 1) / 2; p > maxPad {
				k, p = 1, 0
			}
		}
		span := dil * (k - 1)
		if long+2*p <= span { // no output: make the filter fit
			k, dil, span = 1, 1, 0
		}
		g.Long = append(g.Long, long)
		g.Kernel = append(g.Kernel, k)
		g.Stride = append(g.Stride, s)
		g.Dilation = append(g.Dilation, dil)
		g.Pad = append(g.Pad, p)
		g.Short = append(g.Short, (long+2*p-span-1)/s+1)
	}
	return g
}

func TestLowerLiftMatchDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	flat, zeroFlat, zeroRuns, phased := 0, 0, 0, 0
	defer func() {
		if flat < 50 || zeroFlat < 15 || zeroRuns < 40 || phased < 25 {
			t.Errorf("only %d of the geometries took the flat path, %d of them zero-padded (zeroPadding); %d zero-padded run by run (lowerZeroEnds), %d phased", flat, zeroFlat, zeroRuns, phased)
		}
	}()
	for trial := range 400 {
		g := randomGeometry(r)
		l := New(g)
		if l.flat {
			flat++
		}
		if l.padRows != nil {
			zeroFlat++
		}
		if !l.flat && g.Mode == Zeros {
			zeroRuns++
		}
		chans := 1 + r.IntN(3)
		src := make([]float32, chans*l.LongPlane())
		for i := range src {
			src[i] = float32(r.IntN(17) - 8)
		}
		var phasedSrc []float32
		if l.Phased() {
			phased++
			phasedSrc = make([]float32, len(src))
			l.Phase(phasedSrc, src, chans)
		}
		rows := chans * l.KernelSize()
		tile := 1 + r.IntN(l.ShortLen())
		name := fmt.Sprintf("trial %d %+v chans %d tile %d", trial, g, chans, tile)
		want := make([]float32, l.LongPlane()*chans)
		got := make([]float32, len(want))
		for j0 := 0; j0 < l.ShortLen(); j0 += tile {
			cols := min(tile, l.ShortLen()-j0)
			ld := cols + r.IntN(3) // rows ld apart: the gaps stay untouched
			col := make([]float32, rows*ld+3)
			for i := range col {
				col[i] = 7
			}
			l.Lower(col, ld, src, chans, j0, cols)
			if phasedSrc != nil {
				// The phased source lowers to the same columns, bit for bit.
				again := make([]float32, len(col))
				for i := range again {
					again[i] = 7
				}
				l.LowerPhased(again, ld, phasedSrc, chans, j0, cols)
				for i := range col {
					if math.Float32bits(again[i]) != math.Float32bits(col[i]) {
						t.Fatalf("%s: LowerPhased wrote col[%d] = %v, Lower %v", name, i, again[i], col[i])
					}
				}
			}
			for i, v := range col {
				if (i >= rows*ld || i%ld >= cols) && v != 7 {
					t.Fatalf("%s: Lower wrote col[%d] outside the tile (ld %d)", name, i, ld)
				}
			}
			for c := range chans {
				for k := range l.KernelSize() {
					for j := range cols {
						w := float32(0)
						if o := tapOf(g, j0+j, k); o >= 0 {
							w = src[c*l.LongPlane()+o]
						}
						if v := col[(c*l.KernelSize()+k)*ld+j]; v != w {
							t.Fatalf("%s: col[(%d,%d), %d] = %v, want %v", name, c, k, j0+j, v, w)
						}
						// The definition of the adjoint, on the same values
						// (small integers: every order sums them exactly).
						if o := tapOf(g, j0+j, k); o >= 0 {
							want[c*l.LongPlane()+o] += w
						}
					}
				}
			}
			l.Lift(got, col, ld, chans, j0, cols)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: Lift: dst[%d] = %v, want %v", name, i, got[i], want[i])
			}
		}
	}
}

func TestIdentity(t *testing.T) {
	one := []int{1, 1}
	g := Geometry{Short: []int{3, 5}, Long: []int{3, 5}, Kernel: one, Stride: one, Dilation: one, Pad: []int{0, 0}}
	if !New(g).Identity() {
		t.Fatal("1x1, stride 1, unpadded: not the identity")
	}
	g.Pad = []int{0, 1}
	g.Short = []int{3, 7}
	if New(g).Identity() {
		t.Fatal("padded: the identity")
	}
}

func TestLowerChecksArguments(t *testing.T) {
	one := []int{1}
	l := New(Geometry{Short: []int{4}, Long: []int{4}, Kernel: one, Stride: one, Dilation: one, Pad: []int{0}})
	for _, c := range []struct {
		name            string
		col, src        []float32
		chans, j0, cols int
	}{
		{"columns past the end", make([]float32, 8), make([]float32, 4), 1, 2, 3},
		{"short col", make([]float32, 2), make([]float32, 4), 1, 0, 4},
		{"short src", make([]float32, 8), make([]float32, 3), 1, 0, 4},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.name)
				}
			}()
			l.Lower(c.col, c.cols, c.src, c.chans, c.j0, c.cols)
		}()
	}
}

// TestGuardPages lowers and lifts with the long tensor and the tile each
// flush against an inaccessible page, at both ends: the runs (copies,
// the generated stride-2 kernels, the padding taps) touch nothing
// outside them.
func TestGuardPages(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 150 {
		g := randomGeometry(r)
		l := New(g)
		chans := 1 + r.IntN(2)
		j0 := r.IntN(l.ShortLen())
		rows, n := chans*l.KernelSize(), 1+r.IntN(l.ShortLen()-j0)
		for _, atEnd := range []bool{true, false} {
			alloc := guardpage.Start
			if atEnd {
				alloc = guardpage.End
			}
			src, sb := alloc(chans * l.LongPlane())
			col, cb := alloc(rows * n)
			for i := range src {
				src[i] = float32(i%7) - 3
			}
			l.Lower(col, n, src, chans, j0, n)
			l.Lift(src, col, n, chans, j0, n)
			sb.Free()
			cb.Free()
		}
	}
}

// TestGatherStrided checks every stride's gather, the unrolled constant
// strides included, on lengths around their groups of four, with the
// source cut to exactly what it reads.
func TestGatherStrided(t *testing.T) {
	vec := &kernels.Bound().Vec
	for stride := 2; stride <= 6; stride++ {
		for n := 0; n <= 13; n++ {
			src := make([]float32, max(0, (n-1)*stride+1))
			for i := range src {
				src[i] = float32(i)
			}
			dst := make([]float32, n)
			gatherStrided(dst, src, stride, vec)
			for i, v := range dst {
				if v != float32(i*stride) {
					t.Fatalf("stride %d, n %d: dst[%d] = %v, want %v", stride, n, i, v, i*stride)
				}
			}
		}
	}
}

// TestPlace checks Place against Lift on disjoint geometries (2-tap
// stride-2 last dims, zipped, and others, strided), tile by tile: every
// position a tap reaches holds its value, bit for bit, and the others keep
// theirs; where the lowering covers the long tensor, none is left.
func TestPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for gi, g := range []Geometry{
		{Short: []int{7}, Long: []int{14}, Kernel: []int{2}},
		{Short: []int{7}, Long: []int{16}, Kernel: []int{2}}, // output padding: two positions no tap reaches
		{Short: []int{5, 9}, Long: []int{10, 18}, Kernel: []int{2, 2}},
		{Short: []int{3, 4, 6}, Long: []int{3, 8, 12}, Kernel: []int{1, 2, 2}},
		{Short: []int{4, 5}, Long: []int{12, 15}, Kernel: []int{3, 3}},
		{Short: []int{6, 5}, Long: []int{6, 5}, Kernel: []int{1, 1}},
	} {
		d := len(g.Short)
		g.Stride, g.Dilation, g.Pad = append([]int(nil), g.Kernel...), make([]int, d), make([]int, d)
		for i := range d {
			g.Dilation[i] = 1
		}
		l := New(g)
		if !l.Disjoint() {
			t.Fatalf("geometry %d %+v: not disjoint", gi, g)
		}
		covers := gi != 1
		if l.Covers() != covers {
			t.Errorf("geometry %d: Covers %v, want %v", gi, l.Covers(), covers)
		}
		chans := 1 + r.IntN(3)
		rows := chans * l.KernelSize()
		for _, tile := range []int{1, 3, l.ShortLen()/2 + 1, l.ShortLen()} {
			const untouched = -99 // no single tap's value (they are -8..8)
			placed := make([]float32, chans*l.LongPlane())
			for i := range placed {
				placed[i] = untouched
			}
			lifted := make([]float32, len(placed))
			for j0 := 0; j0 < l.ShortLen(); j0 += tile {
				cols := min(tile, l.ShortLen()-j0)
				col := make([]float32, rows*cols)
				for i := range col {
					col[i] = float32(r.IntN(17) - 8)
				}
				l.Place(placed, col, cols, chans, j0, cols)
				l.Lift(lifted, col, cols, chans, j0, cols)
			}
			for i := range placed {
				switch {
				case placed[i] == untouched && (covers || lifted[i] != 0):
					t.Fatalf("geometry %d tile %d: element %d not placed (lifted %v)", gi, tile, i, lifted[i])
				case placed[i] != untouched && math.Float32bits(placed[i]) != math.Float32bits(lifted[i]):
					t.Fatalf("geometry %d tile %d: element %d placed %v, lifted %v", gi, tile, i, placed[i], lifted[i])
				}
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Place on a lowering that is not disjoint did not panic")
		}
	}()
	New(Geometry{Short: []int{3}, Long: []int{5}, Kernel: []int{3}, Stride: []int{1}, Dilation: []int{1}, Pad: []int{0}}).Place(make([]float32, 5), make([]float32, 9), 3, 1, 0, 3)
}
