package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/convkit/convkit/conv"
)

// randTensor fills a tensor with distinct values in about ±scale, at
// least gap apart, so that max pooling and ReLU have no ties or kinks
// within a finite difference's step.
func randTensor(r *rand.Rand, scale float64, dims ...int) *Tensor {
	t := NewTensor(dims...)
	perm := r.Perm(len(t.Data))
	for i, p := range perm {
		v := (float64(p) + 0.5) / float64(len(t.Data)) // distinct, in (0, 1)
		t.Data[i] = float32((2*v - 1) * scale)
	}
	return t
}

// objective is sum(y * up), accumulated in float64: its gradient with
// respect to y is up.
func objective(y, up *Tensor) float64 {
	var s float64
	for i, v := range y.Data {
		s += float64(v) * float64(up.Data[i])
	}
	return s
}

// gradCheck compares the gradients Backward gives (of x and of every
// parameter) with central differences of the objective, at up to probes
// positions of each.
func gradCheck(t *testing.T, name string, l Layer, x *Tensor, h, tol float64) {
	t.Helper()
	gradCheckKinks(t, name, l, x, h, tol, nil)
}

// positives is the pattern of positive entries of v: after a ReLU, which
// side of the kink each is on.
func positives(v []float32) string {
	b := make([]byte, 0, len(v))
	for _, x := range v {
		if x > 0 {
			b = append(b, '+')
		} else {
			b = append(b, '0')
		}
	}
	return string(b)
}

// signs is kinks' state, "" without kinks.
func signs(kinks func() string) string {
	if kinks == nil {
		return ""
	}
	return kinks()
}

// gradCheckKinks is gradCheck for a layer with kinks inside (ReLUs, max
// pooling): kinks describes which side of each the last Forward was on
// (positives, a pool's indices), and a probe whose two steps differ there
// (a step across a kink) is skipped.
func gradCheckKinks(t *testing.T, name string, l Layer, x *Tensor, h, tol float64, kinks func() string) {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	y, err := l.Forward(x)
	if err != nil {
		t.Fatalf("%s: Forward: %v", name, err)
	}
	up := randTensor(r, 1, y.Shape...)
	dx, err := l.Backward(up, true)
	if err != nil {
		t.Fatalf("%s: Backward: %v", name, err)
	}
	// Keep the analytic gradients: further calls overwrite the buffers.
	wants := map[string][]float32{"x": append([]float32(nil), dx.Data...)}
	targets := map[string]*Tensor{"x": x}
	for _, p := range l.Params() {
		wants[p.Name] = append([]float32(nil), p.Grad.Data...)
		targets[p.Name] = p.Value
	}
	eval := func() float64 {
		y, err := l.Forward(x)
		if err != nil {
			t.Fatalf("%s: Forward: %v", name, err)
		}
		return objective(y, up)
	}
	const probes = 30
	for what, target := range targets {
		want := wants[what]
		var scale float64
		for _, g := range want {
			scale = math.Max(scale, math.Abs(float64(g)))
		}
		checked := 0
		for k := 0; k < min(probes, len(target.Data)); k++ {
			i := k
			if len(target.Data) > probes {
				i = r.IntN(len(target.Data))
			}
			orig := target.Data[i]
			target.Data[i] = orig + float32(h)
			fp := eval()
			sp := signs(kinks)
			target.Data[i] = orig - float32(h)
			fm := eval()
			sm := signs(kinks)
			target.Data[i] = orig
			if sp != sm {
				continue // across a kink
			}
			checked++
			step := float64(orig+float32(h)) - float64(orig-float32(h))
			num := (fp - fm) / step
			if d := math.Abs(num - float64(want[i])); d > tol*math.Max(scale, 1e-3) {
				t.Errorf("%s: d/d%s[%d]: backward %.6g, finite difference %.6g (|diff| %.3g, max |grad| %.3g)", name, what, i, want[i], num, d, scale)
			}
		}
		if checked < min(probes, len(target.Data))/2 {
			t.Errorf("%s: d/d%s: %d probes checked, the rest across kinks", name, what, checked)
		}
	}
}

func TestGradConv(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		name string
		cfg  ConvConfig
		x    []int
	}{
		{"2d pad stride", ConvConfig{In: 3, Out: 4, Kernel: []int{3, 3}, Stride: []int{2, 1}, Padding: conv.Pad(1, 1)}, []int{2, 3, 7, 6}},
		{"2d relu", ConvConfig{In: 2, Out: 3, Kernel: []int{3, 3}, ReLU: true}, []int{2, 2, 6, 6}},
		{"1d dilated groups", ConvConfig{In: 4, Out: 4, Kernel: []int{3}, Dilation: []int{2}, Groups: 2, NoBias: true}, []int{2, 4, 11}},
		{"3d", ConvConfig{In: 2, Out: 2, Kernel: []int{2, 2, 2}, Padding: conv.Pad(1, 0, 1)}, []int{1, 2, 3, 4, 3}},
		{"2d transposed", ConvConfig{In: 3, Out: 2, Kernel: []int{2, 2}, Stride: []int{2, 2}, Transposed: true}, []int{2, 3, 3, 4}},
		{"2d reflect", ConvConfig{In: 2, Out: 2, Kernel: []int{3, 3}, Padding: conv.Pad(1, 1), PaddingMode: conv.Reflect}, []int{1, 2, 5, 5}},
	} {
		l, err := NewConv(c.cfg)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var kinks func() string
		if c.cfg.ReLU {
			kinks = func() string { return positives(l.y.Data) }
		}
		gradCheckKinks(t, "conv "+c.name, l, randTensor(r, 1, c.x...), 1e-2, 2e-3, kinks)
	}
}

func TestGradPooling(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, c := range []struct {
		name string
		cfg  PoolConfig
		max  bool
		x    []int
	}{
		{"max 2x2 (the vector path)", PoolConfig{Kernel: []int{2, 2}}, true, []int{2, 3, 6, 8}},
		{"max 2x2 odd sizes", PoolConfig{Kernel: []int{2, 2}}, true, []int{2, 2, 7, 9}},
		{"max 2x2 ceil odd sizes (partial windows)", PoolConfig{Kernel: []int{2, 2}, CeilMode: true}, true, []int{2, 2, 7, 9}},
		{"avg 2x2 ceil odd sizes", PoolConfig{Kernel: []int{2, 2}, CeilMode: true}, false, []int{2, 2, 5, 7}},
		{"max 3x3 s2 p1 ceil", PoolConfig{Kernel: []int{3, 3}, Stride: []int{2, 2}, Padding: []int{1, 1}, CeilMode: true}, true, []int{1, 2, 7, 6}},
		{"max 1d dilated", PoolConfig{Kernel: []int{3}, Stride: []int{1}, Dilation: []int{2}}, true, []int{2, 2, 9}},
		{"max 3d", PoolConfig{Kernel: []int{2, 2, 2}}, true, []int{1, 2, 4, 4, 6}},
		{"avg 3x3 s2 p1 nopad", PoolConfig{Kernel: []int{3, 3}, Stride: []int{2, 2}, Padding: []int{1, 1}}, false, []int{2, 2, 7, 6}},
		{"avg ceil incpad", PoolConfig{Kernel: []int{3, 3}, Stride: []int{2, 2}, Padding: []int{1, 1}, CeilMode: true, CountIncludePad: true}, false, []int{1, 2, 6, 7}},
		{"avg divisor", PoolConfig{Kernel: []int{2}, DivisorOverride: 3}, false, []int{2, 2, 8}},
	} {
		var l Layer
		var err error
		if c.max {
			l, err = NewMaxPool(c.cfg)
		} else {
			l, err = NewAvgPool(c.cfg)
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		gradCheck(t, "pool "+c.name, l, randTensor(r, 1, c.x...), 1e-4, 2e-3)
	}
}

func TestGradElementwise(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	gradCheck(t, "relu", NewReLU(), randTensor(r, 1, 3, 40), 1e-4, 2e-3)
	gradCheck(t, "leaky relu", NewLeakyReLU(0.1), randTensor(r, 1, 3, 40), 1e-4, 2e-3)
	gradCheck(t, "flatten", NewFlatten(), randTensor(r, 1, 3, 2, 5), 1e-2, 2e-3)
}

func TestGradLinear(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for _, bias := range []bool{true, false} {
		l, err := NewLinear(7, 5, bias)
		if err != nil {
			t.Fatal(err)
		}
		gradCheck(t, "linear", l, randTensor(r, 1, 4, 7), 1e-2, 2e-3)
		gradCheck(t, "linear 3d input", l, randTensor(r, 1, 2, 3, 7), 1e-2, 2e-3)
	}
}

func TestGradBatchNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, c := range []struct {
		name     string
		cfg      BatchNormConfig
		training bool
		x        []int
	}{
		{"2d train", BatchNormConfig{Features: 3}, true, []int{4, 3, 3, 2}},
		{"1d train no affine", BatchNormConfig{Features: 4, NoAffine: true}, true, []int{6, 4}},
		{"3d eval", BatchNormConfig{Features: 2}, false, []int{2, 2, 2, 3, 2}},
	} {
		b, err := NewBatchNorm(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if b.Weight != nil {
			for i := range b.Weight.Value.Data {
				b.Weight.Value.Data[i] = 0.5 + float32(i)/4
				b.Bias.Value.Data[i] = float32(i) / 3
			}
		}
		b.SetTraining(c.training)
		// A large momentum-free running estimate would drift with every
		// Forward of the check: fix them, and evaluate with them.
		gradCheck(t, "batch norm "+c.name, b, randTensor(r, 2, c.x...), 1e-2, 5e-3)
	}
}

func TestGradCrossEntropy(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, c := range []struct {
		name string
		red  Reduction
		x    []int
	}{
		{"classes mean", Mean, []int{5, 7}},
		{"classes sum", Sum, []int{3, 4}},
		{"per pixel", Mean, []int{2, 3, 4, 5}},
	} {
		l := NewCrossEntropy(c.red)
		x := randTensor(r, 3, c.x...)
		target := make([]int, len(x.Data)/c.x[1])
		for i := range target {
			target[i] = r.IntN(c.x[1])
		}
		if _, err := l.Forward(x, target); err != nil {
			t.Fatal(err)
		}
		g, _ := l.Backward(1.5)
		want := append([]float32(nil), g.Data...)
		for k := 0; k < 20; k++ {
			i := r.IntN(len(x.Data))
			orig := x.Data[i]
			const h = 1e-2
			x.Data[i] = orig + h
			fp, _ := l.Forward(x, target)
			x.Data[i] = orig - h
			fm, _ := l.Forward(x, target)
			x.Data[i] = orig
			num := 1.5 * (fp - fm) / float64(float32(orig+h)-float32(orig-h))
			if math.Abs(num-float64(want[i])) > 2e-3*math.Max(1e-2, math.Abs(num)) && math.Abs(num-float64(want[i])) > 1e-5 {
				t.Errorf("%s: d/dx[%d]: backward %.6g, finite difference %.6g", c.name, i, want[i], num)
			}
		}
	}
}

// TestGradSequential checks a whole small network, the fused Conv+ReLU
// included.
func TestGradSequential(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	c1, _ := NewConv(ConvConfig{In: 1, Out: 3, Kernel: []int{3, 3}, Padding: conv.Pad(1, 1)})
	p1, _ := NewMaxPool(PoolConfig{Kernel: []int{2, 2}})
	f1, _ := NewLinear(3*3*3, 4, true)
	net := NewSequential(c1, NewReLU(), p1, NewFlatten(), f1)
	if !net.fused[1] || !c1.cfg.ReLU {
		t.Fatal("the Conv+ReLU pair was not fused")
	}
	gradCheckKinks(t, "sequential", net, randTensor(r, 1, 2, 1, 6, 6), 1e-2, 5e-3, func() string {
		return positives(c1.y.Data) + fmt.Sprint(p1.Indices())
	})
}

func TestGradSkips(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 10))
	c1, _ := NewConv(ConvConfig{In: 2, Out: 2, Kernel: []int{3, 3}, Padding: conv.Pad(1, 1)})
	gradCheck(t, "residual", NewResidual(c1), randTensor(r, 1, 2, 2, 5, 5), 1e-2, 2e-3)
	// A U-Net level: pool, conv, transposed conv back up, beside the input.
	p, _ := NewMaxPool(PoolConfig{Kernel: []int{2, 2}})
	c2, _ := NewConv(ConvConfig{In: 2, Out: 3, Kernel: []int{3, 3}, Padding: conv.Pad(1, 1)})
	up, _ := NewConv(ConvConfig{In: 3, Out: 2, Kernel: []int{2, 2}, Stride: []int{2, 2}, Transposed: true})
	level := NewConcat(NewSequential(p, c2, up))
	gradCheckKinks(t, "concat", level, randTensor(r, 1, 2, 2, 6, 6), 1e-3, 5e-3, func() string { return fmt.Sprint(p.Indices()) })
	if ps := level.Params(); len(ps) != 4 || ps[0].Name != "body.1.weight" {
		t.Errorf("concat params %v", ps)
	}
}

func TestDropout(t *testing.T) {
	d, err := NewDropout(0.3, 1)
	if err != nil {
		t.Fatal(err)
	}
	x := NewTensor(4, 1000)
	for i := range x.Data {
		x.Data[i] = 1
	}
	y, _ := d.Forward(x)
	dropped := 0
	for _, v := range y.Data {
		switch v {
		case 0:
			dropped++
		case float32(1 / 0.7):
		default:
			t.Fatalf("element %v: want 0 or 1/(1-p)", v)
		}
	}
	if f := float64(dropped) / 4000; math.Abs(f-0.3) > 0.03 {
		t.Errorf("dropped %.3f of the elements, want 0.3", f)
	}
	dy := randTensor(rand.New(rand.NewPCG(1, 2)), 1, 4, 1000)
	dx, _ := d.Backward(dy, true)
	for i := range dx.Data {
		if dx.Data[i] != dy.Data[i]*y.Data[i] {
			t.Fatalf("dx[%d] = %v, want dy*mask = %v", i, dx.Data[i], dy.Data[i]*y.Data[i])
		}
	}
	d.SetTraining(false)
	if y, _ := d.Forward(x); y != x {
		t.Error("evaluation: dropout is not the identity")
	}
	if _, err := NewDropout(1, 0); err == nil {
		t.Error("P = 1 accepted")
	}
}
