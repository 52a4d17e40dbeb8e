package direct

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convkit/convkit/kernels"
)

// dwRunner runs one depthwise kernel: natively, or interpreted.
type dwRunner func(t *testing.T, u int, dst, src, w []float32, a *DWArgs, bias, res []float32)

// dwCase is one random depthwise call, each buffer exactly as long as
// the contract needs and against a guard page.
type dwCase struct {
	tileCase
	da DWArgs
}

// dwKind is what a depthwise family's calls look like: lanes per
// vector, mode, mode Rows' filter height (else 0) and vectors per row.
type dwKind struct {
	lanes  int
	m      Mode
	kh, nb int
}

// kindOf is f's dwKind.
func kindOf(f *DWFamily) dwKind { return dwKind{f.Lanes, f.Mode, f.KH, f.B} }

// newDWCase draws a call of u x k.nb vectors of k.lanes lanes in mode
// k.m: rows (pixels) loose or tight, taps anywhere (mode Rows: columns of
// k.kh taps, each SrcPix below the one above, the columns anywhere), the
// operands at random.
func newDWCase(r *rand.Rand, k dwKind, u int) *dwCase {
	lanes, m, nb := k.lanes, k.m, k.nb
	c := &dwCase{}
	c.u = u
	vb := 4 * lanes
	a := &c.da
	ntaps := r.IntN(10)
	along := nb // the vectors of a row that a tile reads (OutChannels: one)
	if m == OutChannels {
		along = 1
	}
	a.SrcPix = along*vb + 4*r.IntN(2*lanes)
	if m == Channels && r.IntN(3) == 0 {
		a.SrcPix = vb * (2 + r.IntN(3)) // a stride of 2-4 pixels
	}
	a.DstPix = along*vb + 4*r.IntN(3)
	c.dstLen = ((u-1)*a.DstPix + nb*vb) / 4
	wf := lanes
	switch m {
	case Width, Rows:
		wf = 1
	case OutChannels:
		// The output channels' planes: one after another (loose or
		// tight), or their rows interleaved.
		wf = nb
		a.ChStride = u*a.DstPix + 4*r.IntN(4)
		if r.IntN(3) == 0 {
			a.DstPix, a.ChStride = nb*vb+4*r.IntN(3), vb
		}
		c.dstLen = ((u-1)*a.DstPix + (nb-1)*a.ChStride + vb) / 4
	}
	var offs []int
	maxSrc, maxW := 0, 0
	if m == Rows {
		ntaps = k.kh * r.IntN(4)
	}
	top := 0 // mode Rows: the input of the column's first tap
	for t := 0; t < ntaps; t++ {
		src := 4 * r.IntN(3*lanes+1)
		if m == Rows {
			if t%k.kh == 0 {
				top = src
			}
			src = top + t%k.kh*a.SrcPix
		}
		offs = append(offs, src, 4*(t*wf+r.IntN(3)))
		maxSrc, maxW = max(maxSrc, offs[2*t]), max(maxW, offs[2*t+1])
	}
	a.Taps = NewTaps(offs)
	if r.IntN(2) == 0 {
		a.Flags |= ReLU
	}
	srcLen := (maxSrc + (u-1)*a.SrcPix + along*vb) / 4
	wLen := maxW/4 + wf
	if ntaps == 0 {
		srcLen, wLen = 1+r.IntN(3), 1+r.IntN(3)
	}
	start := r.IntN(2) == 0
	c.src = c.guarded(randFloats(r, srcLen), start)
	c.w = c.guarded(randFloats(r, wLen), !start)
	if r.IntN(3) > 0 {
		c.bias = c.guarded(randFloats(r, wf), start)
	}
	if r.IntN(3) == 0 {
		c.res = c.guarded(randFloats(r, c.dstLen), !start)
	}
	c.dst0 = randFloats(r, c.dstLen)
	if r.IntN(6) == 0 && srcLen > 0 { // NaN must pass the ReLU
		c.src[r.IntN(srcLen)] = float32(math.NaN())
	}
	c.name = fmt.Sprintf("u=%d taps=%d srcPix=%d dstPix=%d chStride=%d flags=%d bias=%v res=%v",
		u, ntaps, a.SrcPix, a.DstPix, a.ChStride, a.Flags, c.bias != nil, c.res != nil)
	return c
}

func (c *dwCase) run(t *testing.T, k dwRunner) []float32 {
	dst := c.guarded(c.dst0, len(c.bufs)%2 == 0)
	k(t, c.u, dst, c.src, c.w, &c.da, c.bias, c.res)
	return append([]float32(nil), dst...)
}

// checkDWFamily runs every kernel of a depthwise family on random calls
// against the twin, bit for bit.
func checkDWFamily(t *testing.T, kd dwKind, maxU int, k dwRunner) {
	r := rand.New(rand.NewPCG(uint64(kd.lanes*1000+int(kd.m)*10+kd.nb+100000*kd.kh), uint64(maxU)))
	for u := 1; u <= maxU; u++ {
		for trial := 0; trial < 6; trial++ {
			c := newDWCase(r, kd, u)
			want := c.run(t, func(t *testing.T, u int, dst, src, w []float32, a *DWArgs, bias, res []float32) {
				DepthwiseGeneric(kd.lanes, kd.m, u, kd.nb, dst, src, w, a, bias, res)
			})
			got := c.run(t, k)
			sameBits(t, c.name, got, want)
			c.free()
		}
	}
}

// TestDWFamilies checks every depthwise family of every path the host
// runs against the twin, and that the best path's are generated.
func TestDWFamilies(t *testing.T) {
	for _, isa := range kernels.Available() {
		for _, f := range DWFamilies(isa) {
			t.Run(isa.String()+"/"+f.Name(), func(t *testing.T) {
				checkDWFamily(t, kindOf(f), f.U, func(t *testing.T, u int, dst, src, w []float32, a *DWArgs, bias, res []float32) {
					f.Tile(u, dst, src, w, a, bias, res)
				})
			})
		}
	}
	best := kernels.Best()
	if best != kernels.Generic && DWFamilies(best)[0].Source != "asm" {
		t.Errorf("path %s has no generated depthwise kernels", best)
	}
}

// TestDWTwinMatchesSum checks the twin against a float64 sum of the
// contract.
func TestDWTwinMatchesSum(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for trial := 0; trial < 200; trial++ {
		lanes, nb := []int{4, 8, 16}[r.IntN(3)], 1+r.IntN(4)
		m := []Mode{Channels, Width, OutChannels, Rows}[r.IntN(4)]
		if m == OutChannels && nb == 1 {
			nb = 2
		}
		kh := 0
		if m == Rows {
			kh = 1 + r.IntN(5)
		}
		u := 1 + r.IntN(8)
		c := newDWCase(r, dwKind{lanes, m, kh, nb}, u)
		got := c.run(t, func(t *testing.T, u int, dst, src, w []float32, a *DWArgs, bias, res []float32) {
			DepthwiseGeneric(lanes, m, u, nb, dst, src, w, a, bias, res)
		})
		a := &c.da
		for i := 0; i < u; i++ {
			for j := 0; j < nb*lanes; j++ {
				l, o := j%lanes, j/lanes
				var s float64
				if c.bias != nil {
					switch m {
					case Channels:
						s = float64(c.bias[l])
					case OutChannels:
						s = float64(c.bias[o])
					default:
						s = float64(c.bias[0])
					}
				}
				mag := math.Abs(s)
				in, d := i*a.SrcPix/4+j, i*a.DstPix/4+j
				if m == OutChannels {
					in, d = i*a.SrcPix/4+l, (i*a.DstPix+o*a.ChStride)/4+l
				}
				for tp := 0; tp < a.Taps.Len(); tp++ {
					ts, tw := a.Taps.At(tp)
					var wt float32
					switch m {
					case Channels:
						wt = c.w[tw/4+l]
					case OutChannels:
						wt = c.w[tw/4+o]
					default:
						wt = c.w[tw/4]
					}
					term := float64(c.src[ts/4+in]) * float64(wt)
					s += term
					mag += math.Abs(term)
				}
				if c.res != nil {
					s += float64(c.res[d])
					mag += math.Abs(float64(c.res[d]))
				}
				if a.Flags&ReLU != 0 && s <= 0 {
					s, mag = 0, mag+1
				}
				if math.IsNaN(s) != math.IsNaN(float64(got[d])) || math.Abs(s-float64(got[d])) > 1e-5*(mag+1) {
					t.Fatalf("%s: element %d = %v, want %v", c.name, d, got[d], s)
				}
			}
		}
		c.free()
	}
}

// TestDWChecks: a depthwise call reaching outside a slice panics before
// any kernel runs.
func TestDWChecks(t *testing.T) {
	for _, f := range DWFamilies(kernels.Current()) {
		vb := 4 * f.Lanes
		pix := f.B * vb // SrcPix, but in mode OutChannels
		if f.Mode == OutChannels {
			pix = vb
		}
		// column is a table of one tap (mode Rows: one column) from
		// input byte src and weight byte w.
		column := func(src, w int) *Taps {
			offs := []int{src, w}
			for r := 1; r < f.KH; r++ {
				offs = append(offs, src+r*pix, w)
			}
			return NewTaps(offs)
		}
		rows := f.U + max(f.KH, 1) - 1 // the input rows of a tile
		ok := func() (dst, src, w []float32, a *DWArgs) {
			a = &DWArgs{Taps: column(0, 0), SrcPix: pix, DstPix: f.B * vb}
			srcLen := rows * f.B * f.Lanes
			if f.Mode == OutChannels { // one input vector per row; B planes of U rows
				a.DstPix, a.ChStride, srcLen = vb, f.U*vb, f.U*f.Lanes
			}
			return make([]float32, f.U*f.B*f.Lanes), make([]float32, srcLen), make([]float32, f.WFloats()), a
		}
		dst, src, w, a := ok()
		f.Tile(f.U, dst, src, w, a, nil, nil) // fits exactly
		spoils := map[string]func(dst, src, w *[]float32, a *DWArgs) int{
			"short src":  func(_, src, _ *[]float32, _ *DWArgs) int { *src = (*src)[:len(*src)-1]; return f.U },
			"short w":    func(_, _, w *[]float32, _ *DWArgs) int { *w = (*w)[:len(*w)-1]; return f.U },
			"short dst":  func(dst, _, _ *[]float32, _ *DWArgs) int { *dst = (*dst)[:len(*dst)-1]; return f.U },
			"far tap":    func(_, _, _ *[]float32, a *DWArgs) int { a.Taps = column(4, 0); return f.U },
			"far weight": func(_, _, _ *[]float32, a *DWArgs) int { a.Taps = column(0, 4); return f.U },
			"no table":   func(_, _, _ *[]float32, a *DWArgs) int { a.Taps = nil; return f.U },
			"wide tile":  func(_, _, _ *[]float32, _ *DWArgs) int { return f.U + 1 },
			"wide dst":   func(_, _, _ *[]float32, a *DWArgs) int { a.DstPix = 1 << 62; return f.U },
			"odd stride": func(_, _, _ *[]float32, a *DWArgs) int { a.SrcPix = 6; return f.U },
			"odd planes": func(_, _, _ *[]float32, a *DWArgs) int { a.ChStride = -4; return f.U },
			"flags":      func(_, _, _ *[]float32, a *DWArgs) int { a.Flags = Accumulate; return f.U },
		}
		if f.Mode == Rows {
			spoils["short column"] = func(_, _, _ *[]float32, a *DWArgs) int {
				a.Taps = NewTaps(a.Taps.Offsets()[:2*(f.KH-1)])
				return f.U
			}
			spoils["skewed column"] = func(_, _, _ *[]float32, a *DWArgs) int {
				offs := append([]int(nil), a.Taps.Offsets()...)
				offs[2] -= 4 // the second tap a float left of the row below the first
				a.Taps = NewTaps(offs)
				return f.U
			}
		}
		for name, spoil := range spoils {
			calls := map[string]func(u int, dst, src, w []float32, a *DWArgs){
				"tile": func(u int, dst, src, w []float32, a *DWArgs) { f.Tile(u, dst, src, w, a, nil, nil) },
				"sweep": func(u int, dst, src, w []float32, a *DWArgs) { // checked when made
					if u > f.U { // a sweep may span any rows; a tile may not
						panic("a tile too wide")
					}
					f.Sweep(u, a).Run(dst, src, w, nil, nil)
				},
			}
			for via, call := range calls {
				dst, src, w, a := ok()
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("%s %s: no panic from a %s", f.Name(), name, via)
						}
					}()
					call(spoil(&dst, &src, &w, a), dst, src, w, a)
				}()
			}
		}
	}
}

// TestDWRows checks Rows (whole tiles in one call, the rest in a
// narrower one) against the twin over all the rows, bit for bit, on
// every path's families, for row counts around multiples of U.
func TestDWRows(t *testing.T) {
	for _, isa := range kernels.Available() {
		for _, f := range DWFamilies(isa) {
			r := rand.New(rand.NewPCG(uint64(f.U), uint64(f.B)))
			for _, rows := range []int{1, f.U - 1, f.U, f.U + 1, 2 * f.U, 3*f.U + 2} {
				if rows < 1 {
					continue
				}
				c := newDWCase(r, kindOf(f), rows)
				want := c.run(t, func(t *testing.T, u int, dst, src, w []float32, a *DWArgs, bias, res []float32) {
					DepthwiseGeneric(f.Lanes, f.Mode, u, f.B, dst, src, w, a, bias, res)
				})
				got := c.run(t, func(t *testing.T, u int, dst, src, w []float32, a *DWArgs, bias, res []float32) {
					f.Rows(u, dst, src, w, a, bias, res)
				})
				sameBits(t, fmt.Sprintf("%s/%s rows=%d %s", isa, f.Name(), rows, c.name), got, want)
				swept := c.run(t, func(t *testing.T, u int, dst, src, w []float32, a *DWArgs, bias, res []float32) {
					f.Sweep(u, a).Run(dst, src, w, bias, res)
				})
				sameBits(t, fmt.Sprintf("%s/%s sweep rows=%d %s", isa, f.Name(), rows, c.name), swept, want)
				c.free()
			}
		}
	}
}
