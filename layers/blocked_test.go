package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/convkit/convkit/conv"
)

// inLanes returns x reordered into channel blocks of lanes.
func inLanes(t *testing.T, x *Tensor, lanes int) *Tensor {
	t.Helper()
	b := NewBlocked(lanes, x.Shape...)
	var r reorder
	if err := r.to(b, x); err != nil {
		t.Fatal(err)
	}
	return b
}

// plainOf returns blocked b row-major, failing t unless its padding lanes
// are zero.
func plainOf(t *testing.T, what string, b *Tensor) *Tensor {
	t.Helper()
	if b.Lanes == 0 {
		t.Fatalf("%s: not blocked", what)
	}
	L, c, sp := b.Lanes, b.Shape[1], spatialOf(b.Shape)
	cb := (c + L - 1) / L
	for i, v := range b.Data {
		if blk := i / L / sp % cb; blk*L+i%L >= c && v != 0 {
			t.Fatalf("%s: padding lane %d holds %v", what, i, v)
		}
	}
	p, err := b.Plain()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// closeTo fails t unless got is want within tol of max|want| (0: bit for
// bit).
func closeTo(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range want {
		if tol == 0 && math.Float32bits(got[i]) != math.Float32bits(want[i]) ||
			tol > 0 && math.Abs(float64(got[i]-want[i])) > tol*scale {
			t.Fatalf("%s: [%d] = %v, want %v (row-major)", what, i, got[i], want[i])
		}
	}
}

// sameThroughBlocks runs two instances of a layer (made alike by mk),
// one on x row-major and one on x in blocks of lanes, forward and
// backward, and requires the same output, input gradient and parameter
// gradients, within tol (0: bit for bit).
func sameThroughBlocks(t *testing.T, mk func() Layer, x *Tensor, lanes int, tol float64) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(lanes), uint64(x.Len())))
	plain, blocked := mk(), mk()
	y, err := plain.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	by, err := blocked.Forward(inLanes(t, x, lanes))
	if err != nil {
		t.Fatal(err)
	}
	if by.Lanes != lanes {
		t.Fatalf("the output has lanes %d, want %d", by.Lanes, lanes)
	}
	closeTo(t, "forward", plainOf(t, "forward", by).Data, y.Data, tol)
	dy := randTensor(r, 1, y.Shape...)
	dx, err := plain.Backward(dy, true)
	if err != nil {
		t.Fatal(err)
	}
	bdx, err := blocked.Backward(inLanes(t, dy, lanes), true)
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "backward", plainOf(t, "backward", bdx).Data, dx.Data, tol)
	bp := blocked.Params()
	for i, p := range plain.Params() {
		closeTo(t, "grad "+p.Name, bp[i].Grad.Data, p.Grad.Data, tol)
	}
}

// TestLayersBlocked checks every conv-family layer on blocked tensors of
// each block size against the same layer row-major: bit for bit where
// the computation is the same (pooling, batch norm, the activations,
// concatenation), within the engine's bound for convolutions (whose
// algorithms may differ by layout).
func TestLayersBlocked(t *testing.T) {
	must := func(l Layer, err error) Layer {
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	convLayer := func(cfg ConvConfig) func() Layer {
		return func() Layer { return must(NewConv(cfg)) }
	}
	pool := func(max bool, cfg PoolConfig) func() Layer {
		return func() Layer {
			if max {
				return must(NewMaxPool(cfg))
			}
			return must(NewAvgPool(cfg))
		}
	}
	bn := func(training bool) func() Layer {
		return func() Layer {
			b := must(NewBatchNorm(BatchNormConfig{Features: 5})).(*BatchNorm)
			for i := range b.Weight.Value.Data {
				b.Weight.Value.Data[i], b.Bias.Value.Data[i] = float32(i)/3+0.5, float32(i)-2
				b.RunningMean.Data[i], b.RunningVar.Data[i] = float32(i)/4, float32(i)+0.5
			}
			b.SetTraining(training)
			return b
		}
	}
	cases := []struct {
		name string
		mk   func() Layer
		x    []int
		tol  float64
	}{
		{"conv2d", convLayer(ConvConfig{In: 5, Out: 7, Kernel: []int{3, 3}, Padding: conv.Pad(1, 1)}), []int{2, 5, 9, 8}, 1e-5},
		{"conv2d 32", convLayer(ConvConfig{In: 32, Out: 16, Kernel: []int{3, 3}, Padding: conv.Pad(1, 1), ReLU: true}), []int{1, 32, 7, 6}, 1e-5},
		{"conv1d strided", convLayer(ConvConfig{In: 16, Out: 5, Kernel: []int{4}, Stride: []int{2}, Groups: 1}), []int{2, 16, 19}, 1e-5},
		{"conv3d", convLayer(ConvConfig{In: 3, Out: 4, Kernel: []int{2, 2, 2}}), []int{1, 3, 4, 5, 3}, 1e-5},
		{"conv transposed", convLayer(ConvConfig{In: 6, Out: 5, Kernel: []int{2, 2}, Stride: []int{2, 2}, Transposed: true}), []int{2, 6, 4, 5}, 1e-5},
		{"conv depthwise", convLayer(ConvConfig{In: 16, Out: 16, Groups: 16, Kernel: []int{3, 3}, Padding: conv.Pad(1, 1)}), []int{1, 16, 6, 7}, 1e-5},
		{"max 2x2", pool(true, PoolConfig{Kernel: []int{2, 2}}), []int{2, 5, 8, 7}, 0},
		{"max 3x3 dilated", pool(true, PoolConfig{Kernel: []int{3, 3}, Stride: []int{2, 1}, Padding: []int{1, 1}, Dilation: []int{1, 2}, CeilMode: true}), []int{1, 9, 9, 8}, 0},
		{"max 1d", pool(true, PoolConfig{Kernel: []int{3}, Stride: []int{2}}), []int{2, 5, 11}, 0},
		{"avg 3x3", pool(false, PoolConfig{Kernel: []int{3, 3}, Stride: []int{2, 2}, Padding: []int{1, 1}, CeilMode: true}), []int{1, 5, 9, 8}, 0},
		{"avg counted", pool(false, PoolConfig{Kernel: []int{2, 3, 2}, Padding: []int{1, 1, 1}, CountIncludePad: true, DivisorOverride: 5}), []int{1, 17, 4, 5, 4}, 0},
		{"batch norm training", bn(true), []int{3, 5, 4, 3}, 0},
		{"batch norm evaluation", bn(false), []int{3, 5, 4, 3}, 0},
		{"relu", func() Layer { return NewReLU() }, []int{2, 5, 3, 3}, 0},
		{"leaky relu", func() Layer { return NewLeakyReLU(0.1) }, []int{2, 5, 3, 3}, 0},
		{"concat", func() Layer {
			return NewConcat(must(NewConv(ConvConfig{In: 5, Out: 6, Kernel: []int{1, 1}})))
		}, []int{2, 5, 4, 3}, 1e-5},
		{"concat aligned", func() Layer {
			return NewConcat(must(NewConv(ConvConfig{In: 16, Out: 3, Kernel: []int{1, 1}})))
		}, []int{2, 16, 4, 3}, 1e-5},
		{"residual", func() Layer {
			return NewResidual(must(NewConv(ConvConfig{In: 5, Out: 5, Kernel: []int{3, 3}, Padding: conv.Pad(1, 1)})))
		}, []int{2, 5, 4, 3}, 1e-5},
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range cases {
		for _, lanes := range []int{4, 8, 16} {
			t.Run(fmt.Sprintf("%s/%d", c.name, lanes), func(t *testing.T) {
				sameThroughBlocks(t, c.mk, randTensor(r, 1, c.x...), lanes, c.tol)
			})
		}
	}
}

// blockedNet is a small network of every kind of layer: a conv with a
// fused ReLU, batch norm, pooling, a residual block, a U-Net style
// concatenation, a conv to 18 channels (a partial block at every block
// size), then Flatten and Linear.
func blockedNet(t *testing.T) *Sequential {
	t.Helper()
	must := func(l Layer, err error) Layer {
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	c := func(in, out int) Layer {
		return must(NewConv(ConvConfig{In: in, Out: out, Kernel: []int{3, 3}, Padding: conv.Pad(1, 1)}))
	}
	body := NewSequential(c(32, 32), NewReLU(), c(32, 32))
	net := NewSequential(
		c(16, 32), NewReLU(), must(NewBatchNorm(BatchNormConfig{Features: 32})),
		must(NewMaxPool(PoolConfig{Kernel: []int{2, 2}})),
		NewResidual(body), NewConcat(c(32, 16)), NewLeakyReLU(0.01), c(48, 18),
		must(NewAvgPool(PoolConfig{Kernel: []int{2, 2}})),
		NewFlatten(), must(NewLinear(18*2*2, 10, true)))
	net.Reset(7)
	return net
}

// TestSequentialBlocked checks a network in blocked mode against itself
// row-major (loss gradients, parameter gradients and the input gradient
// within the convolutions' bound), that it reorders only at its input and
// where a partial block appears, and that a steady training step
// allocates nothing.
func TestSequentialBlocked(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	x := randTensor(r, 1, 2, 16, 8, 8)
	plain, blocked := blockedNet(t), blockedNet(t)
	blocked.SetBlocked(true)
	y, err := plain.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	by, err := blocked.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if by.Lanes != 0 {
		t.Fatalf("the output is blocked (%d lanes)", by.Lanes)
	}
	closeTo(t, "forward", by.Data, y.Data, 1e-5)
	var moved []string
	for i, m := range blocked.moved {
		if m {
			moved = append(moved, fmt.Sprint(i))
		}
	}
	if got := strings.Join(moved, ","); got != "0,8" {
		t.Errorf("reordered before layers %s, want 0 (the input) and 8 (18 channels: a partial block)", got)
	}
	dy := randTensor(r, 1, y.Shape...)
	dx, err := plain.Backward(dy, true)
	if err != nil {
		t.Fatal(err)
	}
	bdx, err := blocked.Backward(dy, true)
	if err != nil {
		t.Fatal(err)
	}
	if bdx.Lanes != 0 {
		t.Fatalf("the input gradient is blocked")
	}
	closeTo(t, "dx", bdx.Data, dx.Data, 1e-5)
	bp := blocked.Params()
	for i, p := range plain.Params() {
		closeTo(t, "grad "+p.Name, bp[i].Grad.Data, p.Grad.Data, 1e-4)
	}
	opt, _ := NewSGD(blocked.Params(), SGDConfig{LR: 0.01, Momentum: 0.9})
	loss := NewCrossEntropy(Mean)
	target := []int{3, 7}
	trainStep(t, blocked, loss, opt, x, target)
	least := math.Inf(1)
	for range 3 {
		least = math.Min(least, testing.AllocsPerRun(5, func() { trainStep(t, blocked, loss, opt, x, target) }))
	}
	if least != 0 {
		t.Errorf("a blocked training step allocates %v times", least)
	}
}

// TestBlockedErrors checks that a blocked tensor handed to a row-major
// layer, a gradient in the wrong layout and a bad block size are errors.
func TestBlockedErrors(t *testing.T) {
	lin, _ := NewLinear(4, 2, true)
	b := NewBlocked(8, 1, 4, 1, 1)
	if _, err := lin.Forward(b); err == nil || !strings.Contains(err.Error(), "blocked") {
		t.Errorf("Linear on a blocked tensor: %v", err)
	}
	relu := NewReLU()
	if _, err := relu.Forward(b); err != nil {
		t.Fatal(err)
	}
	if _, err := relu.Backward(NewTensor(1, 4, 1, 1), true); err == nil {
		t.Error("a row-major gradient of a blocked output was taken")
	}
	if err := checkTensor("x", "x", &Tensor{Shape: []int{1, 3, 2}, Data: make([]float32, 6), Lanes: 5}); err == nil {
		t.Error("5 lanes accepted")
	}
	if _, err := (&Tensor{Shape: []int{1, 3, 2}, Data: make([]float32, 6)}).Blocked(); err != nil {
		t.Error(err)
	}
}
