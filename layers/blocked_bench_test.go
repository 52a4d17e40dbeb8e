package layers

import (
	"math/rand/v2"
	"testing"

	"github.com/convkit/convkit/conv"
)

// resnetStage is a ResNet-style stage of 64 and 128 channels: conv, batch
// norm, ReLU, a residual block of two, a max pool, a widening conv, a
// global average pool, then the classifier.
func resnetStage(b *testing.B, side int) *Sequential {
	must := func(l Layer, err error) Layer {
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	c := func(in, out int) Layer {
		return must(NewConv(ConvConfig{In: in, Out: out, Kernel: []int{3, 3}, Padding: conv.Pad(1, 1), NoBias: true}))
	}
	bn := func(f int) Layer { return must(NewBatchNorm(BatchNormConfig{Features: f})) }
	block := NewSequential(c(64, 64), bn(64), NewReLU(), c(64, 64), bn(64))
	net := NewSequential(c(16, 64), bn(64), NewReLU(), NewResidual(block), NewReLU(),
		must(NewMaxPool(PoolConfig{Kernel: []int{2, 2}})), c(64, 128), bn(128), NewReLU(),
		must(NewAvgPool(PoolConfig{Kernel: []int{side / 2, side / 2}})), NewFlatten(), must(NewLinear(128, 10, true)))
	net.Reset(1)
	return net
}

// benchStage times a training step (forward, loss, backward) of the
// stage on 4 images of 16 channels, row-major or blocked.
func benchStage(b *testing.B, blocked bool) {
	const side = 28
	net := resnetStage(b, side)
	net.SetBlocked(blocked)
	x := randTensor(rand.New(rand.NewPCG(1, 1)), 1, 4, 16, side, side)
	loss := NewCrossEntropy(Mean)
	target := []int{1, 2, 3, 4}
	step := func() {
		y, err := net.Forward(x)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := loss.Forward(y, target); err != nil {
			b.Fatal(err)
		}
		g, _ := loss.Backward(1)
		if _, err := net.Backward(g, false); err != nil {
			b.Fatal(err)
		}
	}
	step()
	for b.Loop() {
		step()
	}
}

func BenchmarkStagePlain(b *testing.B)   { benchStage(b, false) }
func BenchmarkStageBlocked(b *testing.B) { benchStage(b, true) }
