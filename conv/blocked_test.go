package conv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convkit/convkit/kernels"
)

// blockedOperands are a problem's activations in channels-first order
// and in a blocked layout, the blocked ones' padding lanes NaN (they must
// not be read).
type blockedOperands struct {
	ro          *Reorderer
	first, blk  *Shape
	x, dy, r    []float32 // channels first
	bx, bdy, br []float32 // blocked (br's padding lanes zero: they are added)
}

func newBlockedOperands(t *testing.T, r *rand.Rand, p Problem, l Layout) *blockedOperands {
	t.Helper()
	p.Layout = ChannelsFirst
	first, err := p.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	p.Layout = l
	blk, err := p.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	o := &blockedOperands{ro: NewReorderer(l, 2), first: first, blk: blk}
	o.x, o.dy, o.r = randF32(r, first.XLen), randF32(r, first.YLen), randF32(r, first.YLen)
	o.bx, o.bdy, o.br = o.blocked(o.x, first.C, first.InSize, true), o.blocked(o.dy, first.K, first.OutLen, true), o.blocked(o.r, first.K, first.OutLen, false)
	return o
}

// blocked reorders v (n x c x spatial) into the blocked layout, NaN in
// the padding lanes when nan is set.
func (o *blockedOperands) blocked(v []float32, c, spatial int, nan bool) []float32 {
	out := make([]float32, o.ro.BlockedLen(o.first.N, c, spatial))
	o.ro.ToBlocked(out, v, o.first.N, c, spatial)
	if L := o.ro.L; nan && c%L != 0 {
		for i := range out {
			if i%L >= c%L && i/L%(spatial*ceilDiv(c, L))/spatial == c/L {
				out[i] = float32(math.NaN())
			}
		}
	}
	return out
}

// unblocked reorders blocked v back, failing t unless its padding lanes
// are zero.
func (o *blockedOperands) unblocked(t *testing.T, what string, v []float32, c, spatial int) []float32 {
	t.Helper()
	L := o.ro.L
	for i, f := range v {
		if i%L >= c%L && c%L != 0 && i/L%(spatial*ceilDiv(c, L))/spatial == c/L && f != 0 {
			t.Fatalf("%s: padding lane %d holds %v, want 0", what, i, f)
		}
	}
	out := make([]float32, o.first.N*c*spatial)
	o.ro.ToChannelsFirst(out, v, o.first.N, c, spatial)
	return out
}

// sameBits fails t unless got and want are bitwise equal.
func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %v, want %v (the channels-first plan's)", what, i, got[i], want[i])
		}
	}
}

// channelsLast reorders v (n x c x spatial, channels first) to
// channels last.
func channelsLast(v []float32, n, c, spatial int) []float32 {
	out := make([]float32, len(v))
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			for q := 0; q < spatial; q++ {
				out[(i*spatial+q)*c+ch] = v[(i*c+ch)*spatial+q]
			}
		}
	}
	return out
}

// channelsFirst is channelsLast's inverse.
func channelsFirst(v []float32, n, c, spatial int) []float32 {
	out := make([]float32, len(v))
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			for q := 0; q < spatial; q++ {
				out[(i*c+ch)*spatial+q] = v[(i*spatial+q)*c+ch]
			}
		}
	}
	return out
}

// refPlan runs a pass of p in an unblocked layout on operands given and
// returned channels first.
type refPlan struct {
	pl *Plan
	s  *Shape
}

func (r refPlan) in(v []float32, c, spatial int) []float32 {
	if r.s.Layout == ChannelsLast {
		return channelsLast(v, r.s.N, c, spatial)
	}
	return v
}

func (r refPlan) out(v []float32, c, spatial int) []float32 {
	if r.s.Layout == ChannelsLast {
		return channelsFirst(v, r.s.N, c, spatial)
	}
	return v
}

// checkBlocked runs every pass of p under opt in layout l, and requires
// the bits of the same plan in an unblocked layout: channels last where
// the pass runs in the blocked layout itself (the same kernels, reading
// whole blocks), channels first where it runs on the channels-first twin.
// The forward pass has bias, a residual and ReLU; backward-filter
// accumulates. seen records which passes ran in the layout itself.
func checkBlocked(t *testing.T, r *rand.Rand, p Problem, l Layout, opt Options, seen map[string]bool) {
	t.Helper()
	o := newBlockedOperands(t, r, p, l)
	s := o.first
	p.Layout = l
	pl, err := NewPlan(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	w := randF32(r, s.WLen)
	var b, db, bdb []float32
	if s.Bias {
		b, db = randF32(r, s.K), randF32(r, s.K)
		bdb = append(bdb, db...)
	}
	bep := &Epilogue{Residual: o.br, ReLU: true}
	for _, pass := range []Pass{PassForward, PassBackwardData, PassBackwardFilter} {
		if !opt.Passes.Has(pass) {
			continue
		}
		be := pl.engines[pass].(*blockedEngine)
		p.Layout = ChannelsFirst
		if be.inPlace(pass) {
			p.Layout = ChannelsLast
		}
		one := opt
		one.Passes = PassSet(pass)
		one.Algorithm = pl.Variant(pass) // auto's pick may differ by layout: the reference runs the blocked plan's
		rp, err := NewPlan(p, one)
		if err != nil {
			t.Fatalf("%s in %s: %v (blocked: fine)", pass, p.Layout, err)
		}
		ref := refPlan{rp, rp.Shape()}
		if pl.Variant(pass) != ref.pl.Variant(pass) {
			t.Fatalf("%s runs %s blocked, %s %s", pass, pl.Variant(pass), ref.pl.Variant(pass), ref.s.Layout)
		}
		seen[fmt.Sprintf("%s %s in place %v", pl.Algorithm(pass), pass, be.inPlace(pass))] = true
		x, dy := ref.in(o.x, s.C, s.InSize), ref.in(o.dy, s.K, s.OutLen)
		switch pass {
		case PassForward:
			y, by := make([]float32, s.YLen), make([]float32, pl.s.YLen)
			ref.pl.Forward(y, x, w, b, &Epilogue{Residual: ref.in(o.r, s.K, s.OutLen), ReLU: true})
			pl.Forward(by, o.bx, w, b, bep)
			sameBits(t, "forward", o.unblocked(t, "forward", by, s.K, s.OutLen), ref.out(y, s.K, s.OutLen))
		case PassBackwardData:
			dx, bdx := make([]float32, s.XLen), make([]float32, pl.s.XLen)
			ref.pl.BackwardData(dx, dy, w)
			pl.BackwardData(bdx, o.bdy, w)
			sameBits(t, "backward-data", o.unblocked(t, "backward-data", bdx, s.C, s.InSize), ref.out(dx, s.C, s.InSize))
		default:
			dw := randF32(r, s.WLen)
			bdw := append([]float32(nil), dw...)
			ref.pl.BackwardFilter(dw, db, x, dy, true)
			pl.BackwardFilter(bdw, bdb, o.bx, o.bdy, true)
			sameBits(t, "backward-filter dw", bdw, dw)
			sameBits(t, "backward-filter db", bdb, db)
		}
	}
}

// validProblem draws random problems until one resolves.
func validProblem(r *rand.Rand) Problem {
	for {
		p := randomProblem(r)
		if _, err := p.Resolve(); err == nil {
			return p
		}
	}
}

// TestBlockedLayouts checks every pass of random problems in each blocked
// layout against channels-first order, bit for bit, on direct, on auto
// on winograd and on every ISA path, with NaN in the inputs' padding lanes (never
// read) and the outputs' required zero; and that direct ran in the
// host's blocked layout itself where it can (forward and backward-data)
// and through the reorders where it cannot.
func TestBlockedLayouts(t *testing.T) {
	eachISA(t, func(isa kernels.ISA) {
		L := directLanes()
		native, _ := Blocked(L)
		r := rand.New(rand.NewPCG(uint64(isa), 77))
		seen := map[string]bool{}
		for i := 0; i < 60; i++ {
			p := directProblem(r, L)
			algo := "direct"
			switch i % 4 {
			case 2:
				for p, algo = winogradProblemFor(r, L), "winograd"; ; p = winogradProblemFor(r, L) {
					if _, err := p.Resolve(); err == nil {
						break
					}
				}
			case 3:
				p, algo = validProblem(r), "auto"
			}
			l := native
			if i%5 == 4 {
				l = []Layout{Blocked4, Blocked8, Blocked16}[r.IntN(3)]
			}
			t.Run(fmt.Sprintf("%s/%d/%s/%s", isa, i, algo, l), func(t *testing.T) {
				opt := Options{Algorithm: algo, Threads: 1 + i%3}
				switch algo {
				case "direct":
					opt, _ = directPasses(t, p, 1+i%3)
				case "winograd":
					opt.Passes = PassSet(winogradPasses(t, p)...)
				}
				if opt.Passes == 0 && algo != "auto" {
					t.Skip("no pass on " + algo)
				}
				checkBlocked(t, r, p, l, opt, seen)
			})
		}
		requireSeen(t, seen, isa.String()+": no problem", "direct fwd in place true", "direct bwd-data in place true",
			"direct fwd in place false", "direct bwd-filter in place true", "direct bwd-filter in place false", "winograd fwd in place true",
			"winograd bwd-data in place true", "winograd bwd-filter in place true")
	})
}

// TestBlockedInPlaceInput checks the direct forward pass in the host's
// blocked layout on a problem whose input it reads in place (no padding,
// whole blocks) and on one it copies (padding), and that neither
// allocates.
func TestBlockedInPlaceInput(t *testing.T) {
	L := directLanes()
	native, _ := Blocked(L)
	r := rand.New(rand.NewPCG(5, 6))
	for _, p := range []Problem{
		{N: 2, C: 2 * L, K: L + 3, In: []int{9, 7}, Kernel: []int{1, 1}, Bias: true},
		{N: 1, C: 2*L + 1, K: 2 * L, In: []int{8, 11}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true},
	} {
		checkBlocked(t, r, p, native, Options{Algorithm: "direct"}, map[string]bool{})
		p.Layout = native
		pl, err := NewPlan(p, Options{Algorithm: "direct", Passes: PassSet(PassForward, PassBackwardData)})
		if err != nil {
			t.Fatal(err)
		}
		e := pl.engines[PassForward].(*blockedEngine).native.(*directPlan).pass(PassForward).e.(*directEngine)
		if want := p.Padding.Before != nil; e.copyX != want || e.bufY {
			t.Errorf("%v: copied input %v (want %v), buffered output %v (want false)", p.Kernel, e.copyX, want, e.bufY)
		}
		s := pl.Shape()
		x, y, w := make([]float32, s.XLen), make([]float32, s.YLen), make([]float32, s.WLen)
		ep := &Epilogue{Residual: make([]float32, s.YLen), ReLU: true}
		b := make([]float32, s.K)
		if n := steadyAllocs(5, func() { pl.Forward(y, x, w, b, ep) }); n != 0 {
			t.Errorf("%v allocations per forward", n)
		}
		if n := steadyAllocs(5, func() { pl.BackwardData(x, y, w) }); n != 0 {
			t.Errorf("%v allocations per backward-data", n)
		}
	}
}

// TestBlockedTwinAllocs checks that a pass through the reorders allocates
// nothing either.
func TestBlockedTwinAllocs(t *testing.T) {
	p := Problem{N: 2, C: 5, K: 7, In: []int{10, 9}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true, Layout: Blocked8}
	pl, err := NewPlan(p, Options{Algorithm: "im2col", Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	s := pl.Shape()
	x, y, w, b := make([]float32, s.XLen), make([]float32, s.YLen), make([]float32, s.WLen), make([]float32, s.K)
	ep := &Epilogue{Residual: make([]float32, s.YLen), ReLU: true}
	for _, call := range []func(){
		func() { pl.Forward(y, x, w, b, ep) },
		func() { pl.BackwardData(x, y, w) },
		func() { pl.BackwardFilter(w, b, x, y, false) },
	} {
		call()
		if n := steadyAllocs(5, call); n != 0 {
			t.Errorf("%v allocations per call", n)
		}
	}
}

// TestBlockedLayoutNames checks the layouts' names, sizes and errors.
func TestBlockedLayoutNames(t *testing.T) {
	for _, c := range []struct {
		name string
		l    Layout
	}{{"nchw", ChannelsFirst}, {"ndhwc", ChannelsLast}, {"nchw16c", Blocked16}, {"ncw8c", Blocked8}, {"ncdhw4c", Blocked4}, {"blocked", BlockedLayout()}} {
		if l, err := ParseLayout(c.name); err != nil || l != c.l {
			t.Errorf("ParseLayout(%q) = %v, %v; want %v", c.name, l, err, c.l)
		}
	}
	if _, err := ParseLayout("nchw5c"); err == nil {
		t.Error("nchw5c parsed")
	}
	s, err := Problem{N: 2, C: 17, K: 3, In: []int{5}, Kernel: []int{2}, Layout: Blocked16}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if s.XLen != 2*32*5 || s.YLen != 2*16*4 {
		t.Errorf("XLen %d, YLen %d: want %d, %d", s.XLen, s.YLen, 2*32*5, 2*16*4)
	}
	if _, err := (Problem{N: 1, C: 1, K: 1, In: []int{5}, Kernel: []int{2}, Layout: numLayouts}).Resolve(); err == nil {
		t.Error("layout out of range resolved")
	}
}

// TestReferenceBlocked checks the float64 oracle in a blocked layout
// against itself channels first: the same values, the inputs' padding
// lanes (NaN) unread, zeros in the outputs'.
func TestReferenceBlocked(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 1))
	for i := 0; i < 30; i++ {
		p := validProblem(r)
		p.Layout = ChannelsFirst
		s, _ := p.Resolve()
		l := []Layout{Blocked4, Blocked8, Blocked16}[i%3]
		p.Layout = l
		bs, _ := p.Resolve()
		o := newBlockedOperands(t, r, p, l)
		f64 := func(v []float32) []float64 {
			out := make([]float64, len(v))
			for i, x := range v {
				out[i] = float64(x)
			}
			return out
		}
		f32 := func(v []float64) []float32 {
			out := make([]float32, len(v))
			for i, x := range v {
				out[i] = float32(x)
			}
			return out
		}
		w := f64(randF32(r, s.WLen))
		var b []float64
		if s.Bias {
			b = f64(randF32(r, s.K))
		}
		ref, bref := NewReference(s), NewReference(bs)
		sameBits(t, "forward", o.unblocked(t, "forward", f32(bref.Forward(f64(o.bx), w, b)), s.K, s.OutLen), f32(ref.Forward(f64(o.x), w, b)))
		sameBits(t, "backward-data", o.unblocked(t, "backward-data", f32(bref.BackwardData(f64(o.bdy), w)), s.C, s.InSize), f32(ref.BackwardData(f64(o.dy), w)))
		dw, _ := ref.BackwardFilter(f64(o.x), f64(o.dy))
		bdw, _ := bref.BackwardFilter(f64(o.bx), f64(o.bdy))
		sameBits(t, "backward-filter", f32(bdw), f32(dw))
	}
}
