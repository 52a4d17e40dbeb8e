// Command lenet trains LeNet-5 on MNIST with package layers: the whole
// API in one page. (convkit mnist is the full-featured version: progress,
// validation, early stopping, checkpoints.)
//
//	go run ./examples/lenet
package main

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/convkit/convkit/conv"
	"github.com/convkit/convkit/internal/mnist"
	"github.com/convkit/convkit/layers"
)

func main() {
	dir, err := mnist.DefaultDir() // GoMNIST's data folder in the module cache
	check(err)
	train, test, err := mnist.Load(dir)
	check(err)

	c1, _ := layers.NewConv(layers.ConvConfig{In: 1, Out: 6, Kernel: []int{5, 5}, Padding: conv.Pad(2, 2)})
	c2, _ := layers.NewConv(layers.ConvConfig{In: 6, Out: 16, Kernel: []int{5, 5}})
	p1, _ := layers.NewMaxPool(layers.PoolConfig{Kernel: []int{2, 2}})
	p2, _ := layers.NewMaxPool(layers.PoolConfig{Kernel: []int{2, 2}})
	f1, _ := layers.NewLinear(400, 120, true)
	f2, _ := layers.NewLinear(120, 84, true)
	f3, _ := layers.NewLinear(84, 10, true)
	net := layers.NewSequential(c1, layers.NewReLU(), p1, c2, layers.NewReLU(), p2,
		layers.NewFlatten(), f1, layers.NewReLU(), f2, layers.NewReLU(), f3)
	net.Reset(1)
	opt, err := layers.NewSGD(net.Params(), layers.SGDConfig{LR: 0.02, Momentum: 0.9, WeightDecay: 5e-4})
	check(err)
	loss := layers.NewCrossEntropy(layers.Mean)

	const epochs, batch = 3, 64
	rng := rand.New(rand.NewPCG(1, 1))
	x, target := layers.NewTensor(batch, 1, 28, 28), make([]int, batch)
	for ep := 1; ep <= epochs; ep++ {
		opt.SetLR(layers.CosineLR(0.02, 0, epochs)(ep - 1))
		perm := rng.Perm(train.Len())
		for at := 0; at+batch <= len(perm); at += batch {
			for i, j := range perm[at : at+batch] {
				copy(x.Data[i*784:(i+1)*784], train.Image(j))
				target[i] = train.Labels[j]
			}
			y, err := net.Forward(x)
			check(err)
			_, err = loss.Forward(y, target)
			check(err)
			g, _ := loss.Backward(1)
			_, err = net.Backward(g, false)
			check(err)
			opt.Step()
		}
		fmt.Printf("epoch %d: test accuracy %.2f%%\n", ep, 100*accuracy(net, test))
	}
}

// accuracy classifies the test set in evaluation mode.
func accuracy(net *layers.Sequential, test *mnist.Set) float64 {
	net.SetTraining(false)
	defer net.SetTraining(true)
	x, pred, right := layers.NewTensor(1000, 1, 28, 28), make([]int, 1000), 0
	for at := 0; at < test.Len(); at += 1000 {
		copy(x.Data, test.Images[at*784:(at+1000)*784])
		y, err := net.Forward(x)
		check(err)
		layers.Argmax(pred, y)
		for i, p := range pred {
			if p == test.Labels[at+i] {
				right++
			}
		}
	}
	return float64(right) / float64(test.Len())
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
