package layers

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/convkit/convkit/conv"
	"github.com/convkit/convkit/kernels"
)

// TestMaxPool2x2Path checks the vector path of 2x2 stride-2 max pooling
// against the general window loop, bit for bit with the indices, on odd
// and even sizes, with NaNs, ties and signed zeros, on every ISA.
func TestMaxPool2x2Path(t *testing.T) {
	defer kernels.Use(kernels.Current())
	for _, isa := range kernels.Available() {
		if err := kernels.Use(isa); err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(11, 11))
		for _, dims := range [][]int{{2, 3, 8, 8}, {1, 2, 7, 9}, {3, 1, 5, 4}, {1, 1, 2, 33}, {2, 2, 3, 6, 6}} {
			x := NewTensor(dims...)
			few := []float32{1, -1, 0, float32(math.Copysign(0, -1)), float32(math.NaN()), 2, float32(math.Inf(-1))}
			for i := range x.Data {
				x.Data[i] = few[r.IntN(len(few))]
			}
			k := make([]int, len(dims)-2)
			for i := range k {
				k[i] = 2
			}
			if len(k) == 3 {
				k[0] = 1
			}
			p, err := NewMaxPool(PoolConfig{Kernel: k, Stride: append([]int{}, k...)})
			if err != nil {
				t.Fatal(err)
			}
			y, err := p.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			if !p.ps.pairs2x2() {
				t.Fatalf("%v: not on the 2x2 path", dims)
			}
			want, idx := NewTensor(y.Shape...), make([]int32, y.Len())
			maxPoolForward(p.ps, want.Data, idx, x.Data)
			for i := range want.Data {
				if math.Float32bits(y.Data[i]) != math.Float32bits(want.Data[i]) || p.Indices()[i] != idx[i] {
					t.Fatalf("%v %v: y[%d] = %v at %d, the window loop %v at %d", isa, dims, i, y.Data[i], p.Indices()[i], want.Data[i], idx[i])
				}
			}
			dy := randTensor(r, 1, y.Shape...)
			dx, err := p.Backward(dy, true)
			if err != nil {
				t.Fatal(err)
			}
			ref := make([]float32, x.Len())
			for pl := 0; pl < p.ps.planes; pl++ {
				for i := 0; i < p.ps.outLen; i++ {
					ref[pl*p.ps.inLen+int(idx[pl*p.ps.outLen+i])] += dy.Data[pl*p.ps.outLen+i]
				}
			}
			for i := range ref {
				if math.Float32bits(dx.Data[i]) != math.Float32bits(ref[i]) {
					t.Fatalf("%v %v: dx[%d] = %v, want %v", isa, dims, i, dx.Data[i], ref[i])
				}
			}
		}
	}
}

// TestConfigErrors: every bad configuration is an *Error naming the
// parameter.
func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name, param string
		make        func() error
	}{
		{"pool no kernel", "Kernel", func() error { _, err := NewMaxPool(PoolConfig{}); return err }},
		{"pool stride list", "Stride", func() error {
			_, err := NewMaxPool(PoolConfig{Kernel: []int{2, 2}, Stride: []int{2}})
			return err
		}},
		{"pool big padding", "Padding", func() error {
			_, err := NewAvgPool(PoolConfig{Kernel: []int{2}, Padding: []int{2}})
			return err
		}},
		{"avg dilation", "Dilation", func() error {
			_, err := NewAvgPool(PoolConfig{Kernel: []int{2}, Dilation: []int{2}})
			return err
		}},
		{"max divisor", "DivisorOverride", func() error {
			_, err := NewMaxPool(PoolConfig{Kernel: []int{2}, DivisorOverride: 2})
			return err
		}},
		{"linear", "In", func() error { _, err := NewLinear(0, 3, true); return err }},
		{"batch norm", "Features", func() error { _, err := NewBatchNorm(BatchNormConfig{}); return err }},
		{"batch norm momentum", "Momentum", func() error { _, err := NewBatchNorm(BatchNormConfig{Features: 2, Momentum: 2}); return err }},
		{"conv groups", "groups", func() error {
			_, err := NewConv(ConvConfig{In: 3, Out: 4, Kernel: []int{3, 3}, Groups: 2})
			return err
		}},
		{"conv kernel", "Kernel", func() error { _, err := NewConv(ConvConfig{In: 3, Out: 4}); return err }},
		{"sgd", "LR", func() error { _, err := NewSGD(nil, SGDConfig{}); return err }},
		{"adam", "Beta1", func() error { _, err := NewAdam(nil, AdamConfig{Beta1: 1}); return err }},
	} {
		err := c.make()
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: error %v, want an *Error", c.name, err)
			continue
		}
		if !strings.EqualFold(e.Param, c.param) {
			t.Errorf("%s: parameter %q (%v), want %q", c.name, e.Param, err, c.param)
		}
	}
}

// TestShapeErrors: a tensor of the wrong shape is an error naming it,
// never a panic in a kernel.
func TestShapeErrors(t *testing.T) {
	c, _ := NewConv(ConvConfig{In: 3, Out: 4, Kernel: []int{3, 3}})
	p, _ := NewMaxPool(PoolConfig{Kernel: []int{2, 2}})
	l, _ := NewLinear(5, 2, true)
	b, _ := NewBatchNorm(BatchNormConfig{Features: 3})
	for _, k := range []struct {
		name string
		l    Layer
		x    *Tensor
	}{
		{"conv channels", c, NewTensor(1, 2, 5, 5)},
		{"conv dims", c, NewTensor(1, 3, 5)},
		{"conv too small", c, NewTensor(1, 3, 2, 2)},
		{"pool dims", p, NewTensor(2, 5)},
		{"linear features", l, NewTensor(2, 4)},
		{"batch norm channels", b, NewTensor(2, 4, 3)},
	} {
		if _, err := k.l.Forward(k.x); err == nil {
			t.Errorf("%s: Forward(%v) succeeded", k.name, k.x)
		}
	}
	if _, err := l.Forward(NewTensor(3, 5)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Backward(NewTensor(2, 2), true); err == nil {
		t.Error("linear: Backward with dy of 2 rows after 3 succeeded")
	}
	ce := NewCrossEntropy(Mean)
	if _, err := ce.Forward(NewTensor(2, 3), []int{0, 3}); err == nil {
		t.Error("cross entropy: target 3 of 3 classes accepted")
	}
	if _, err := ce.Forward(NewTensor(2, 3), []int{0}); err == nil {
		t.Error("cross entropy: 1 target for 2 samples accepted")
	}
}

// lenetLike is a small network with every layer kind of LeNet.
func lenetLike(threads int) *Sequential {
	c1, _ := NewConv(ConvConfig{In: 1, Out: 4, Kernel: []int{5, 5}, Padding: conv.Pad(2, 2), Threads: threads})
	p1, _ := NewMaxPool(PoolConfig{Kernel: []int{2, 2}})
	c2, _ := NewConv(ConvConfig{In: 4, Out: 8, Kernel: []int{3, 3}, Threads: threads})
	p2, _ := NewMaxPool(PoolConfig{Kernel: []int{2, 2}})
	f1, _ := NewLinear(8*2*2, 16, true)
	f2, _ := NewLinear(16, 10, true)
	net := NewSequential(c1, NewReLU(), p1, c2, NewReLU(), p2, NewFlatten(), f1, NewReLU(), f2)
	net.SetThreads(threads)
	net.Reset(5)
	return net
}

// trainStep is one SGD step of net on x and target.
func trainStep(t testing.TB, net *Sequential, loss *CrossEntropy, opt Optimizer, x *Tensor, target []int) {
	y, err := net.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loss.Forward(y, target); err != nil {
		t.Fatal(err)
	}
	g, _ := loss.Backward(1)
	if _, err := net.Backward(g, false); err != nil {
		t.Fatal(err)
	}
	opt.Step()
}

// TestTrainingStepAllocs: a steady-state training step allocates nothing,
// on the training batch and on a smaller last batch alike.
func TestTrainingStepAllocs(t *testing.T) {
	net := lenetLike(2)
	opt, _ := NewSGD(net.Params(), SGDConfig{LR: 0.01, Momentum: 0.9})
	loss := NewCrossEntropy(Mean)
	r := rand.New(rand.NewPCG(12, 12))
	batches := []*Tensor{randTensor(r, 1, 8, 1, 12, 12), randTensor(r, 1, 3, 1, 12, 12)}
	targets := [][]int{{1, 2, 3, 4, 5, 6, 7, 8}, {0, 9, 1}}
	for i := range batches {
		trainStep(t, net, loss, opt, batches[i], targets[i]) // plans and buffers made here
	}
	min := math.Inf(1)
	for range 3 { // the least of three: cleanups of other tests' teams allocate beside
		n := testing.AllocsPerRun(5, func() {
			for i := range batches {
				trainStep(t, net, loss, opt, batches[i], targets[i])
			}
		})
		min = math.Min(min, n)
	}
	if min != 0 {
		t.Errorf("a training step allocates %v times", min)
	}
}

// TestTrainingDeterministic: the same seed gives the same weights bit for
// bit after several steps on 1, 2 and 3 threads.
func TestTrainingDeterministic(t *testing.T) {
	var ref []*Param
	for threads := 1; threads <= 3; threads++ {
		net := lenetLike(threads)
		opt, _ := NewAdam(net.Params(), AdamConfig{LR: 1e-3})
		loss := NewCrossEntropy(Mean)
		r := rand.New(rand.NewPCG(13, 13))
		for s := 0; s < 4; s++ {
			x := randTensor(r, 1, 6, 1, 12, 12)
			target := []int{s, 1, 2, 3, 4, 5}
			trainStep(t, net, loss, opt, x, target)
		}
		ps := net.Params()
		if ref == nil {
			ref = ps
			continue
		}
		for i, p := range ps {
			for j, v := range p.Value.Data {
				if math.Float32bits(v) != math.Float32bits(ref[i].Value.Data[j]) {
					t.Fatalf("%d threads: %s[%d] = %v, 1 thread %v", threads, p.Name, j, v, ref[i].Value.Data[j])
				}
			}
		}
	}
}

// TestBatchNormFold: in evaluation a Conv followed by a BatchNorm runs as
// one convolution on folded weights, equal to the two layers apart; in
// training both run (the same as apart too), and Backward in evaluation
// is refused.
func TestBatchNormFold(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 14))
	for _, transposed := range []bool{false, true} {
		cfg := ConvConfig{In: 3, Out: 4, Kernel: []int{3, 3}, Padding: conv.Pad(1, 1), NoBias: !transposed, Transposed: transposed, Groups: 1 + btoi(transposed)}
		if transposed {
			cfg.In, cfg.Out, cfg.Padding = 4, 6, conv.Padding{}
		}
		c, err := NewConv(cfg)
		if err != nil {
			t.Fatal(err)
		}
		bn, _ := NewBatchNorm(BatchNormConfig{Features: cfg.Out})
		for i := range bn.RunningMean.Data {
			bn.RunningMean.Data[i], bn.RunningVar.Data[i] = float32(i)/5-0.3, 0.5+float32(i)/3
			bn.Weight.Value.Data[i], bn.Bias.Value.Data[i] = 1.5-float32(i)/4, float32(i)/7
		}
		net := NewSequential(c, bn, NewReLU())
		if !net.folded[1] {
			t.Fatal("the batch norm was not folded")
		}
		c2, _ := NewConv(cfg)
		copy(c2.Weight.Value.Data, c.Weight.Value.Data)
		if c.Bias != nil {
			copy(c2.Bias.Value.Data, c.Bias.Value.Data)
		}
		bn2, _ := NewBatchNorm(BatchNormConfig{Features: cfg.Out})
		for _, p := range [][2]*Tensor{{bn.RunningMean, bn2.RunningMean}, {bn.RunningVar, bn2.RunningVar}, {bn.Weight.Value, bn2.Weight.Value}, {bn.Bias.Value, bn2.Bias.Value}} {
			copy(p[1].Data, p[0].Data)
		}
		apart := func(x *Tensor) []float32 {
			y, _ := c2.Forward(x)
			z, _ := bn2.Forward(y)
			out := make([]float32, z.Len())
			kernels.Relu(out, z.Data)
			return out
		}
		x := randTensor(r, 1, 2, cfg.In, 6, 5)
		for _, training := range []bool{true, false} {
			net.SetTraining(training)
			bn2.SetTraining(training)
			y, err := net.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			want := apart(x)
			var d, m float64
			for i := range want {
				d = math.Max(d, math.Abs(float64(y.Data[i]-want[i])))
				m = math.Max(m, math.Abs(float64(want[i])))
			}
			if d > 1e-5*m {
				t.Errorf("transposed %v training %v: max |diff| %.3g of max %.3g", transposed, training, d, m)
			}
		}
		if _, err := net.Backward(NewTensor(net.Layers[0].(*Conv).y.Shape...), true); err == nil {
			t.Error("Backward in evaluation with the batch norm folded succeeded")
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestFoldRules: no folding after a conv's own ReLU; a conv that ran before
// the Sequential still works; SetFolding(false) allows Backward in
// evaluation; a Backward after a folded Forward fails before any gradient
// is touched.
func TestFoldRules(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 15))
	x := randTensor(r, 1, 2, 2, 5, 5)
	c, _ := NewConv(ConvConfig{In: 2, Out: 3, Kernel: []int{3, 3}, NoBias: true, ReLU: true})
	bn, _ := NewBatchNorm(BatchNormConfig{Features: 3})
	if net := NewSequential(c, bn); net.folded[1] {
		t.Error("a batch norm folded into a conv with a ReLU of its own")
	}
	c2, _ := NewConv(ConvConfig{In: 2, Out: 3, Kernel: []int{3, 3}, NoBias: true})
	if _, err := c2.Forward(x); err != nil { // a plan without bias, before the Sequential
		t.Fatal(err)
	}
	bn2, _ := NewBatchNorm(BatchNormConfig{Features: 3})
	net := NewSequential(c2, bn2, NewReLU())
	net.SetTraining(false)
	y, err := net.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	before := append([]float32(nil), c2.Weight.Grad.Data...)
	if _, err := net.Backward(y, true); err == nil {
		t.Error("Backward after a folded Forward succeeded")
	}
	if !slicesEqual(before, c2.Weight.Grad.Data) {
		t.Error("a refused Backward changed a gradient")
	}
	net.SetFolding(false)
	if y, err = net.Forward(x); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Backward(y, true); err != nil {
		t.Errorf("Backward in evaluation without folding: %v", err)
	}
}

func slicesEqual(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return len(a) == len(b)
}

// TestCrossEntropyNoSubnormals: the gradient of a confident prediction has
// zeros, not subnormal floats, where the other classes' probabilities
// underflow (they would slow every later multiply).
func TestCrossEntropyNoSubnormals(t *testing.T) {
	l := NewCrossEntropy(Mean)
	x, _ := FromData([]float32{100, 0, 13, -5, 90, 1}, 2, 3)
	if _, err := l.Forward(x, []int{0, 1}); err != nil {
		t.Fatal(err)
	}
	g, _ := l.Backward(1)
	for i, v := range g.Data {
		if v != 0 && math.Abs(float64(v)) < 0x1p-126 {
			t.Errorf("dx[%d] = %g is subnormal", i, v)
		}
	}
	if g.Data[1] != 0 || g.Data[0] <= -1 {
		t.Errorf("dx = %v", g.Data)
	}
}
