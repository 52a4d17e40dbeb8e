package layers

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/convkit/convkit/conv"
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
// is skipped; in training both run. A max pool after a fused ReLU applies
// the ReLU's mask to its own gradient, a quarter of the elements.
//
// A blocked input (Tensor.Lanes > 0) stays blocked through the layers
// that take it (the conv family) and is reordered to row-major before
// one that does not (Flatten, Linear); SetBlocked makes a row-major
// input blocked before the first layer that takes it. The output is in
// the input's layout, and Backward reorders the gradients where Forward
// reordered the activations.
//
// A layer belongs to one Sequential: the fusing and folding are set on
// the layers themselves. Layers must not be changed after NewSequential.
type Sequential struct {
	Layers  []Layer
	fused   []bool // fused[i]: layer i is a ReLU done by layer i-1
	folded  []bool // folded[i]: layer i is a batch norm that layer i-1 folds in evaluation
	skipped []bool // skipped[i]: the last Forward skipped layer i, folded
	// The layouts: blocked is SetBlocked's channel block (0: off). The
	// last Forward reordered layer i's input (i = len: the output) where
	// moved[i], from the layout of from[i] lanes; fwd and bwd hold the
	// reorders' buffers.
	blocked  int
	moved    []bool
	from     []int
	fwd, bwd []buffers
	ro       reorder
}

// NewSequential returns the layers as one network.
func NewSequential(layers ...Layer) *Sequential {
	n := len(layers)
	s := &Sequential{Layers: layers, fused: make([]bool, n), folded: make([]bool, n), skipped: make([]bool, n),
		moved: make([]bool, n+1), from: make([]int, n+1), fwd: make([]buffers, n+1), bwd: make([]buffers, n+1)}
	for i := 1; i < len(layers); i++ {
		c, isConv := layers[i-1].(*Conv)
		if !isConv {
			continue
		}
		switch l := layers[i].(type) {
		case *ReLU:
			c.fuseReLU()
			s.fused[i] = true
		case *BatchNorm:
			// Not after a ReLU of the conv's own: relu(bn(y)) is not bn(relu(y)).
			if !c.cfg.ReLU && c.bn == nil && l.RunningMean != nil && l.cfg.Features == c.cfg.Out {
				c.attachBatchNorm(l)
				s.folded[i] = true
			}
		}
	}
	for i := 2; i < len(layers); i++ { // a fused ReLU's mask moves to the max pool after it
		c, isConv := layers[i-2].(*Conv)
		p, isPool := layers[i].(*MaxPool)
		if isConv && s.fused[i-1] && isPool && !c.maskedAfter && !p.reluBefore {
			c.maskedAfter, p.reluBefore = true, true
		}
	}
	return s
}

// SetBlocked turns blocked mode on or off, here and in the Sequentials
// inside (skip connections' bodies). On, activations whose channels fill
// whole blocks of the host's direct kernels (conv.BlockedLayout) are kept
// in those blocks from layer to layer: a row-major one is reordered into
// blocks before a conv-family layer, a blocked one whose last block is
// partial back to row-major (its convolutions would run on a
// channels-first copy anyway, and the padding lanes cost as much as the
// channels). The convolutions on blocks read and write them in place.
func (s *Sequential) SetBlocked(on bool) {
	s.blocked = 0
	if on {
		s.blocked = conv.BlockedLayout().Lanes()
	}
	for _, l := range s.Layers {
		setBlocked(l, on)
	}
}

// setBlocked passes SetBlocked on to a layer that has it, or to a skip
// connection's body.
func setBlocked(l Layer, on bool) {
	switch v := l.(type) {
	case interface{ SetBlocked(bool) }:
		v.SetBlocked(on)
	case *Residual:
		setBlocked(v.Body, on)
	case *Concat:
		setBlocked(v.Body, on)
	}
}

// Forward runs every layer on the previous one's output.
func (s *Sequential) Forward(x *Tensor) (*Tensor, error) {
	if len(s.Layers) != len(s.fused) {
		return nil, fmt.Errorf("layers: the Sequential's layers changed after NewSequential (%d, made with %d): make a new one", len(s.Layers), len(s.fused))
	}
	if err := checkTensor("sequential", "x", x); err != nil {
		return nil, err
	}
	inLanes := x.Lanes
	for i, l := range s.Layers {
		s.moved[i] = false
		s.skipped[i] = s.folded[i] && s.Layers[i-1].(*Conv).folding()
		if s.fused[i] || s.skipped[i] {
			continue
		}
		blocks := takesBlocked(l)
		switch {
		case x.Lanes == 0 && s.blocked > 0 && blocks && len(x.Shape) >= 3 && x.Shape[1]%s.blocked == 0:
			x = s.reorder(i, x, s.blocked)
		case x.Lanes > 0 && (!blocks || s.blocked > 0 && x.Shape[1]%x.Lanes != 0):
			x = s.reorder(i, x, 0)
		}
		y, err := l.Forward(x)
		if err != nil {
			return nil, fmt.Errorf("layer %d (%T): %w", i, l, err)
		}
		x = y
	}
	end := len(s.Layers)
	s.moved[end] = false
	if x.Lanes != inLanes && len(x.Shape) >= 3 { // the output in the input's layout
		x = s.reorder(end, x, inLanes)
	}
	return x, nil
}

// reorder returns t in the layout of lanes (0: row-major), as Forward's
// reorder i, recording it.
func (s *Sequential) reorder(i int, t *Tensor, lanes int) *Tensor {
	s.moved[i], s.from[i] = true, t.Lanes
	return s.reorderInto(&s.fwd[i], t, lanes)
}

// reorderInto returns t in the layout of lanes, in a buffer of b.
func (s *Sequential) reorderInto(b *buffers, t *Tensor, lanes int) *Tensor {
	out := b.getBlocked(lanes, t.Shape...)
	if err := s.ro.to(out, t); err != nil {
		panic(err) // the layouts differ and the shapes agree by construction
	}
	return out
}

// unmove takes gradient g back through Forward's reorder i, if it made
// one: into the layout the activation had before it.
func (s *Sequential) unmove(i int, g *Tensor) *Tensor {
	if !s.moved[i] || g.Lanes == s.from[i] {
		return g
	}
	return s.reorderInto(&s.bwd[i], g, s.from[i])
}

// Backward runs the layers' Backward in reverse; the first layer computes
// its input gradient only when needDX.
func (s *Sequential) Backward(dy *Tensor, needDX bool) (*Tensor, error) {
	for i, sk := range s.skipped {
		if sk {
			return nil, fmt.Errorf("layer %d: the last Forward folded this batch norm into layer %d (evaluation): SetFolding(false) takes gradients in evaluation", i, i-1)
		}
	}
	first := 0
	for first < len(s.Layers) && s.fused[first] {
		first++
	}
	end := len(s.Layers)
	dy = s.unmove(end, dy)
	for i := len(s.Layers) - 1; i >= 0; i-- {
		if s.fused[i] {
			continue
		}
		dx, err := s.Layers[i].Backward(dy, needDX || i > first)
		if err != nil {
			return nil, fmt.Errorf("layer %d (%T): %w", i, s.Layers[i], err)
		}
		if dx != nil {
			dx = s.unmove(i, dx)
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

// SetFolding turns the folding of batch norms into convolutions in
// evaluation on (the default) or off: off, evaluation runs both layers,
// and Backward works in evaluation too (PyTorch allows it: gradients of a
// frozen network, saliency maps).
func (s *Sequential) SetFolding(on bool) {
	for i, f := range s.folded {
		if f {
			s.Layers[i-1].(*Conv).noFold = !on
		}
	}
	for _, l := range s.Layers {
		if sub, ok := l.(interface{ SetFolding(bool) }); ok {
			sub.SetFolding(on)
		}
	}
}

// SetTraining sets the mode of every layer that has one.
func (s *Sequential) SetTraining(training bool) {
	for _, l := range s.Layers {
		setTraining(l, training)
	}
}

// SetThreads sets the thread count of every layer that runs threads, and
// of the reorders.
func (s *Sequential) SetThreads(n int) {
	s.ro.setThreads(n)
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
