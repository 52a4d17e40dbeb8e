package layers

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Sequential runs layers in order, as torch.nn.Sequential does, and is a
// Layer itself. Its parameters are named by position, as PyTorch names
// them ("0.weight", "3.bias"), so a state dict moves between the two.
//
// A Conv followed by a ReLU is fused: the convolution applies the ReLU
// in its epilogue while its output is in cache, and the ReLU layer is
// skipped (its position, and so the names, stay). A Conv followed by a
// BatchNorm with running statistics folds it in evaluation: the filters
// are scaled and the bias shifted by the statistics, and the batch norm
// is skipped; in training both run.
type Sequential struct {
	Layers []Layer
	fused  []bool // fused[i]: layer i is a ReLU done by layer i-1
	folded []bool // folded[i]: layer i is a batch norm that layer i-1 folds in evaluation
}

// NewSequential returns the layers as one network.
func NewSequential(layers ...Layer) *Sequential {
	s := &Sequential{Layers: layers, fused: make([]bool, len(layers)), folded: make([]bool, len(layers))}
	for i := 1; i < len(layers); i++ {
		c, isConv := layers[i-1].(*Conv)
		if !isConv || s.fused[i-1] || c.bn != nil {
			continue
		}
		switch l := layers[i].(type) {
		case *ReLU:
			c.fuseReLU()
			s.fused[i] = true
		case *BatchNorm:
			if l.RunningMean != nil && l.cfg.Features == c.cfg.Out {
				c.bn = l
				s.folded[i] = true
			}
		}
	}
	return s
}

// Forward runs every layer on the previous one's output.
func (s *Sequential) Forward(x *Tensor) (*Tensor, error) {
	for i, l := range s.Layers {
		if s.fused[i] || (s.folded[i] && !l.(*BatchNorm).batchStats()) {
			continue
		}
		y, err := l.Forward(x)
		if err != nil {
			return nil, fmt.Errorf("layer %d (%T): %w", i, l, err)
		}
		x = y
	}
	return x, nil
}

// Backward runs the layers' Backward in reverse; the first layer computes
// its input gradient only when needDX.
func (s *Sequential) Backward(dy *Tensor, needDX bool) (*Tensor, error) {
	first := 0
	for first < len(s.Layers) && s.fused[first] {
		first++
	}
	for i := len(s.Layers) - 1; i >= 0; i-- {
		if s.fused[i] || (s.folded[i] && !s.Layers[i].(*BatchNorm).batchStats()) {
			continue // the folding conv refuses Backward in evaluation
		}
		dx, err := s.Layers[i].Backward(dy, needDX || i > first)
		if err != nil {
			return nil, fmt.Errorf("layer %d (%T): %w", i, s.Layers[i], err)
		}
		dy = dx
	}
	return dy, nil
}

// Params returns every layer's parameters, named "<position>.<name>".
func (s *Sequential) Params() []*Param {
	var out []*Param
	for i, l := range s.Layers {
		for _, p := range l.Params() {
			out = append(out, &Param{Name: strconv.Itoa(i) + "." + p.Name, Value: p.Value, Grad: p.Grad})
		}
	}
	return out
}

// Buffers returns every layer's buffers, named as Params names them.
func (s *Sequential) Buffers() []*Buffer {
	var out []*Buffer
	for i, l := range s.Layers {
		out = append(out, buffersOf(strconv.Itoa(i)+".", l)...)
	}
	return out
}

// SetTraining sets the mode of every layer that has one.
func (s *Sequential) SetTraining(training bool) {
	for _, l := range s.Layers {
		setTraining(l, training)
	}
}

// SetThreads sets the thread count of every layer that runs threads.
func (s *Sequential) SetThreads(n int) {
	for _, l := range s.Layers {
		setThreads(l, n)
	}
}

// Reset re-initializes every layer's parameters in order from one stream
// seeded by seed, so a network's initial weights follow from the seed.
func (s *Sequential) Reset(seed uint64) {
	s.ResetFrom(rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)))
}

// ResetFrom re-initializes every layer with parameters (a nested
// Sequential's too) in order from rng.
func (s *Sequential) ResetFrom(rng *rand.Rand) {
	for _, l := range s.Layers {
		resetFrom(l, rng)
	}
}
