package direct

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convkit/convkit/internal/guardpage"
	"github.com/convkit/convkit/kernels"
)

// tileRunner runs one kernel of a family: natively, or interpreted.
type tileRunner func(t *testing.T, u int, dst, src, w []float32, a *Args, bias, res []float32)

// tileCase is one random call: its arguments, each buffer exactly as long
// as the contract needs and placed against a guard page.
type tileCase struct {
	u              int
	a              Args
	src, w, bias   []float32
	res, dst0      []float32
	dstLen         int
	bufs           []*guardpage.Buffer
	name           string
	accumulate     bool
	lanes, cin, nb int
}

func (c *tileCase) free() {
	for _, b := range c.bufs {
		b.Free()
	}
}

// guarded returns a copy of v against a guard page: at its end or, for
// odd seeds, at its start.
func (c *tileCase) guarded(v []float32, start bool) []float32 {
	var s []float32
	var b *guardpage.Buffer
	if start {
		s, b = guardpage.Start(len(v))
	} else {
		s, b = guardpage.End(len(v))
	}
	copy(s, v)
	c.bufs = append(c.bufs, b)
	return s
}

func randFloats(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// newTileCase draws a call of u pixels for a family of lanes lanes, cin
// channels per step and nb vectors: the destination laid out
// channel-blocked or channels-last, the input's strides loose or tight,
// taps anywhere in the input, the flags and optional operands at random.
func newTileCase(r *rand.Rand, lanes, cin, nb, u int) *tileCase {
	c := &tileCase{u: u, lanes: lanes, cin: cin, nb: nb}
	vb := 4 * lanes
	a := &c.a
	a.ICB = 1 + r.IntN(3)
	ntaps := r.IntN(6)
	a.SrcPix = 4 * (cin + r.IntN(2*cin+1))
	if r.IntN(4) == 0 {
		a.SrcPix = 4 * cin * (2 + r.IntN(3)) // a stride of 2-4 pixels
	}
	span := 4 * (cin + r.IntN(40))
	wtap := cin * nb * vb
	var offs []int
	maxSrc, maxW := 0, 0
	for t := 0; t < ntaps; t++ {
		offs = append(offs, 4*r.IntN(span/4+1), t*wtap+4*r.IntN(3))
		maxSrc, maxW = max(maxSrc, offs[2*t]), max(maxW, offs[2*t+1])
	}
	a.Taps = NewTaps(offs)
	a.SrcICB = maxSrc + (u-1)*a.SrcPix + 4*cin + 4*r.IntN(5)
	a.WICB = maxW + wtap + 4*r.IntN(5)
	if r.IntN(2) == 0 { // channels-last: the vectors of a pixel together
		a.DstOCB = vb
		a.DstPix = nb*vb + 4*r.IntN(3)
	} else { // channel-blocked: a vector's pixels together
		a.DstPix = vb
		a.DstOCB = u*vb + 4*r.IntN(3)
	}
	c.accumulate = r.IntN(3) == 0
	if c.accumulate {
		a.Flags |= Accumulate
	}
	if r.IntN(2) == 0 {
		a.Flags |= ReLU
	}
	srcLen := ((a.ICB-1)*a.SrcICB + maxSrc + (u-1)*a.SrcPix + 4*cin) / 4
	wLen := ((a.ICB-1)*a.WICB + maxW + wtap) / 4
	if ntaps == 0 {
		srcLen, wLen = 1+r.IntN(3), 1+r.IntN(3)
	}
	c.dstLen = ((u-1)*a.DstPix + (nb-1)*a.DstOCB + vb) / 4
	start := r.IntN(2) == 0
	c.src = c.guarded(randFloats(r, srcLen), start)
	c.w = c.guarded(randFloats(r, wLen), !start)
	if r.IntN(2) == 0 {
		c.bias = c.guarded(randFloats(r, nb*lanes), start)
	}
	if r.IntN(3) == 0 {
		c.res = c.guarded(randFloats(r, c.dstLen), !start)
	}
	c.dst0 = randFloats(r, c.dstLen)
	if r.IntN(8) == 0 && c.dstLen > 0 { // NaN must pass the ReLU
		c.dst0[r.IntN(c.dstLen)] = float32(math.NaN())
	}
	c.name = fmt.Sprintf("u=%d icb=%d taps=%d srcPix=%d dstPix=%d dstOCB=%d flags=%d bias=%v res=%v",
		u, a.ICB, ntaps, a.SrcPix, a.DstPix, a.DstOCB, a.Flags, c.bias != nil, c.res != nil)
	return c
}

// run calls k on a fresh guarded copy of the destination and returns it.
func (c *tileCase) run(t *testing.T, k tileRunner) []float32 {
	dst := c.guarded(c.dst0, len(c.bufs)%2 == 0)
	k(t, c.u, dst, c.src, c.w, &c.a, c.bias, c.res)
	return append([]float32(nil), dst...)
}

// sameBits compares two results bit for bit (NaNs by bits too).
func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d = %v, want %v (the twin)", what, i, got[i], want[i])
		}
	}
}

// checkFamily runs every kernel of a family of the given shape on random
// calls against the Go twin, bit for bit.
func checkFamily(t *testing.T, lanes, cin, maxU, nb int, k tileRunner) {
	r := rand.New(rand.NewPCG(uint64(lanes*1000+cin*100+nb), uint64(maxU)))
	for u := 1; u <= maxU; u++ {
		for trial := 0; trial < 6; trial++ {
			c := newTileCase(r, lanes, cin, nb, u)
			twin := func(t *testing.T, u int, dst, src, w []float32, a *Args, bias, res []float32) {
				TileGeneric(lanes, cin, u, nb, dst, src, w, a, bias, res)
			}
			want := c.run(t, twin)
			got := c.run(t, k)
			sameBits(t, c.name, got, want)
			c.free()
		}
	}
}

// TestTileFamilies checks every family of every path the host runs
// (generated kernels natively, the generic path's twins) against the
// twin, and that the host's best path has generated kernels where the
// build has them.
func TestTileFamilies(t *testing.T) {
	for _, isa := range kernels.Available() {
		for _, f := range Families(isa) {
			t.Run(isa.String()+"/"+f.Name(), func(t *testing.T) {
				checkFamily(t, f.Lanes, f.Cin, f.U, f.B, func(t *testing.T, u int, dst, src, w []float32, a *Args, bias, res []float32) {
					f.Tile(u, dst, src, w, a, bias, res)
				})
			})
		}
	}
	best := kernels.Best()
	if best != kernels.Generic && Families(best)[0].Source != "asm" {
		t.Errorf("path %s has no generated direct kernels", best)
	}
}

// TestTwinMatchesSum checks the twin itself against a plain float64 sum
// of the contract, on random calls.
func TestTwinMatchesSum(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	for trial := 0; trial < 200; trial++ {
		lanes, nb := []int{4, 8, 16}[r.IntN(3)], 1+r.IntN(4)
		cin := []int{1, lanes}[r.IntN(2)]
		u := 1 + r.IntN(8)
		c := newTileCase(r, lanes, cin, nb, u)
		got := c.run(t, func(t *testing.T, u int, dst, src, w []float32, a *Args, bias, res []float32) {
			TileGeneric(lanes, cin, u, nb, dst, src, w, a, bias, res)
		})
		a := &c.a
		for i := 0; i < u; i++ {
			for j := 0; j < nb*lanes; j++ {
				d := (i*a.DstPix+(j/lanes)*a.DstOCB)/4 + j%lanes
				var s, mag float64
				if a.Flags&Accumulate != 0 {
					s = float64(c.dst0[d])
				} else if c.bias != nil {
					s = float64(c.bias[j])
				}
				mag = math.Abs(s)
				for g := 0; g < a.ICB; g++ {
					for tp := 0; tp < a.Taps.Len(); tp++ {
						ts, tw := a.Taps.At(tp)
						p, q := (g*a.SrcICB+ts)/4, (g*a.WICB+tw)/4
						for ch := 0; ch < cin; ch++ {
							term := float64(c.src[p+i*a.SrcPix/4+ch]) * float64(c.w[q+ch*nb*lanes+j])
							s += term
							mag += math.Abs(term)
						}
					}
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

// TestTileChecks: a call whose table or strides reach outside a slice
// panics before any kernel runs.
func TestTileChecks(t *testing.T) {
	f := Families(kernels.Current())[0]
	vb := 4 * f.Lanes
	ok := func() (dst, src, w []float32, a *Args) {
		a = &Args{Taps: NewTaps([]int{0, 0}), ICB: 1, SrcPix: 4 * f.Cin, DstPix: vb, DstOCB: vb * f.U}
		return make([]float32, f.U*f.Lanes*f.B), make([]float32, f.U*f.Cin), make([]float32, f.WBytes()/4), a
	}
	dst, src, w, a := ok()
	f.Tile(f.U, dst, src, w, a, nil, nil) // fits exactly
	for name, spoil := range map[string]func(dst, src, w *[]float32, a *Args) int{
		"short src":  func(_, src, _ *[]float32, _ *Args) int { *src = (*src)[:len(*src)-1]; return f.U },
		"short w":    func(_, _, w *[]float32, _ *Args) int { *w = (*w)[:len(*w)-1]; return f.U },
		"short dst":  func(dst, _, _ *[]float32, _ *Args) int { *dst = (*dst)[:len(*dst)-1]; return f.U },
		"far tap":    func(_, _, _ *[]float32, a *Args) int { a.Taps = NewTaps([]int{4, 0}); return f.U },
		"far weight": func(_, _, _ *[]float32, a *Args) int { a.Taps = NewTaps([]int{0, 4}); return f.U },
		"no table":   func(_, _, _ *[]float32, a *Args) int { a.Taps = nil; return f.U },
		"wide tile":  func(_, _, _ *[]float32, _ *Args) int { return f.U + 1 },
		"negative":   func(_, _, _ *[]float32, a *Args) int { a.Taps = NewTaps([]int{-4, 0}); return f.U },
		"unaligned":  func(_, _, _ *[]float32, a *Args) int { a.Taps = NewTaps([]int{0, 2}); return f.U },
		"odd table":  func(_, _, _ *[]float32, a *Args) int { a.Taps = NewTaps([]int{0}); return f.U },
		"overflow":   func(_, _, _ *[]float32, a *Args) int { a.ICB, a.SrcICB = 1<<62+1, 4; return f.U },
		"wide dst":   func(_, _, _ *[]float32, a *Args) int { a.DstPix = 1 << 62; return f.U },
		"odd stride": func(_, _, _ *[]float32, a *Args) int { a.SrcPix = 6; return f.U },
		"neg stride": func(_, _, _ *[]float32, a *Args) int { a.DstOCB = -4; return f.U },
	} {
		calls := map[string]func(u int, dst, src, w []float32, a *Args){
			"tile":     func(u int, dst, src, w []float32, a *Args) { f.Tile(u, dst, src, w, a, nil, nil) },
			"prepared": func(u int, dst, src, w []float32, a *Args) { f.Prepare(u, a).Run(dst, src, w, false) }, // checked when made
		}
		for via, call := range calls {
			dst, src, w, a := ok()
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s: no panic from a %s call", name, via)
					}
				}()
				u := spoil(&dst, &src, &w, a) // a bad table panics here
				call(u, dst, src, w, a)
			}()
		}
	}
}

// TestTileCall checks a prepared call against Tile on random calls of
// every family of the bound path, with and without Accumulate whatever
// the Args' own flag, bit for bit.
func TestTileCall(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, f := range Families(kernels.Current()) {
		for u := 1; u <= f.U; u++ {
			c := newTileCase(r, f.Lanes, f.Cin, f.B, u)
			c.bias, c.res = nil, nil
			for _, acc := range []bool{false, true} {
				want := c.run(t, func(t *testing.T, u int, dst, src, w []float32, a *Args, _, _ []float32) {
					b := *a
					b.Flags &^= Accumulate
					if acc {
						b.Flags |= Accumulate
					}
					f.Tile(u, dst, src, w, &b, nil, nil)
				})
				got := c.run(t, func(t *testing.T, u int, dst, src, w []float32, a *Args, _, _ []float32) {
					f.Prepare(u, a).Run(dst, src, w, acc)
				})
				sameBits(t, fmt.Sprintf("%s u=%d accumulate=%v %s", f.Name(), u, acc, c.name), got, want)
			}
			c.free()
		}
	}
}

// TestTileRow checks that a row of any width gives what Tile gives on
// its balanced pieces, bit for bit, and that a row reaching past a slice
// panics before any kernel runs.
func TestTileRow(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, f := range Families(kernels.Current()) {
		if f.Form != Blocked {
			continue
		}
		L := f.Lanes
		for _, n := range []int{1, f.U, f.U + 1, 2*f.U + 3} {
			a := &Args{Taps: NewTaps([]int{0, 0}), ICB: 2, SrcICB: 4 * n * L, SrcPix: 4 * L, DstPix: 4 * L, DstOCB: 4 * n * L, WICB: f.WBytes()}
			src, w := randFloats(r, 2*n*L), randFloats(r, 2*f.WBytes()/4)
			bias := randFloats(r, f.B*L)
			got, want := make([]float32, f.B*n*L), make([]float32, f.B*n*L)
			f.TileRow(n, got, src, w, a, bias, nil)
			calls := (n + f.U - 1) / f.U
			for c := 0; c < calls; c++ {
				t0, t1 := c*n/calls, (c+1)*n/calls
				f.Tile(t1-t0, want[t0*L:], src[t0*L:], w, a, bias, nil)
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s n=%d: dst[%d] = %v, want %v", f.Name(), n, i, got[i], want[i])
				}
			}
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s n=%d: a short src did not panic", f.Name(), n)
					}
				}()
				f.TileRow(n, got, src[:len(src)-1], w, a, bias, nil)
			}()
		}
	}
}

// TestTileBand checks a band of rows against a TileRow per row, bit for
// bit, with and without res, and that a band whose last row overruns a
// slice panics before any kernel runs.
func TestTileBand(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, f := range Families(kernels.Current()) {
		if f.Form != Blocked {
			continue
		}
		L := f.Lanes
		for _, n := range []int{1, f.U + 1, 2*f.U + 3} {
			for _, rows := range []int{1, 3} {
				for _, withRes := range []bool{false, true} {
					// Rows of n pixels, a pixel of padding between them in
					// dst and two in src; two input-channel groups.
					dstRow, srcRow := (n+1)*L, (n+2)*L
					a := &Args{Taps: NewTaps([]int{0, 0, 4 * L, 0}), ICB: 2, SrcICB: 4 * rows * srcRow, SrcPix: 4 * L,
						DstPix: 4 * L, DstOCB: 4 * rows * dstRow, WICB: f.WBytes(), Flags: ReLU}
					// Each slice ends where the last row's last pixel reaches.
					srcLen := rows*srcRow + (rows-1)*srcRow + (n+1)*L
					dstLen := (f.B-1)*rows*dstRow + (rows-1)*dstRow + n*L
					src, w := randFloats(r, srcLen), randFloats(r, 2*f.WBytes()/4)
					bias := randFloats(r, f.B*L)
					var res []float32
					if withRes {
						res = randFloats(r, dstLen)
					}
					got, want := make([]float32, dstLen), make([]float32, dstLen)
					b := Band{Rows: rows, Pixels: n, DstRow: 4 * dstRow, SrcRow: 4 * srcRow}
					f.TileBand(b, got, src, w, a, bias, res)
					for i := range rows {
						var rr []float32
						if res != nil {
							rr = res[i*dstRow:]
						}
						f.TileRow(n, want[i*dstRow:], src[i*srcRow:], w, a, bias, rr)
					}
					name := fmt.Sprintf("%s n=%d rows=%d res=%v", f.Name(), n, rows, withRes)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s: dst[%d] = %v, want %v", name, i, got[i], want[i])
						}
					}
					mustPanic(t, name+": a short src", func() { f.TileBand(b, got, src[:len(src)-1], w, a, bias, res) })
					mustPanic(t, name+": a short dst", func() { f.TileBand(b, got[:len(got)-1], src, w, a, bias, res) })
					if res != nil {
						mustPanic(t, name+": a short res", func() { f.TileBand(b, got, src, w, a, bias, res[:len(res)-1]) })
					}
					bad := b
					bad.SrcRow = -4
					mustPanic(t, name+": a negative row stride", func() { f.TileBand(bad, got, src, w, a, bias, res) })
				}
			}
		}
	}
}

func mustPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	fn()
}

// TestPreparedCallsKeepTheirArgs: overwriting the table a prepared call
// (TileCall, DWSweep) was made from leaves the call as it was checked,
// where a far table would otherwise take its kernel past the slices.
func TestPreparedCallsKeepTheirArgs(t *testing.T) {
	f := Families(kernels.Current())[0]
	vb := 4 * f.Lanes
	taps := NewTaps([]int{0, 0})
	a := &Args{Taps: taps, ICB: 1, SrcPix: 4 * f.Cin, DstPix: vb, DstOCB: vb * f.U}
	dst, src, w := make([]float32, f.U*f.Lanes*f.B), make([]float32, f.U*f.Cin), make([]float32, f.WBytes()/4)
	for i := range src {
		src[i] = float32(i + 1)
	}
	for i := range w {
		w[i] = 1
	}
	call := f.Prepare(f.U, a)
	sw := DWFamilies(kernels.Current())[0]
	da := &DWArgs{Taps: NewTaps([]int{0, 0}), SrcPix: sw.B * 4 * sw.Lanes, DstPix: sw.B * 4 * sw.Lanes}
	sweep := sw.Sweep(1, da)
	*taps = *NewTaps([]int{4 << 20, 0}) // far past src
	*da.Taps = *NewTaps([]int{4 << 20, 0})
	call.Run(dst, src, w, false)
	want := make([]float32, len(dst))
	f.Tile(f.U, want, src, w, &Args{Taps: NewTaps([]int{0, 0}), ICB: 1, SrcPix: 4 * f.Cin, DstPix: vb, DstOCB: vb * f.U}, nil, nil)
	sameBits(t, "prepared tile after its table was overwritten", dst, want)
	ds := make([]float32, sw.B*sw.Lanes)
	sweep.Run(ds, make([]float32, sw.B*sw.Lanes), make([]float32, sw.WFloats()), nil, nil)
}
