package layers

import (
	"fmt"
	"math"

	"github.com/convkit/convkit/internal/shape"
)

// Reduction is how a loss combines its per-sample terms.
type Reduction uint8

const (
	// Mean averages the terms (PyTorch's default).
	Mean Reduction = iota
	// Sum adds them.
	Sum
)

// CrossEntropy is softmax cross-entropy over class scores, as
// torch.nn.functional.cross_entropy computes it: logits (N, C) with one
// target class per sample, or (N, C, d1, ...) with a target per position
// (N, d1, ...), for segmentation. The softmax is computed stably (the
// maximum subtracted) and in float64.
type CrossEntropy struct {
	Reduction Reduction

	logits *Tensor
	target []int
	terms  int
	dx     buffers
	prob   []float64
}

// NewCrossEntropy returns the loss with that reduction.
func NewCrossEntropy(r Reduction) *CrossEntropy { return &CrossEntropy{Reduction: r} }

// geometry returns the samples, the classes and the positions per sample.
func (l *CrossEntropy) geometry(logits *Tensor, target []int) (n, c, s int, err error) {
	op := shape.Op("cross_entropy")
	if err := checkPlain(op, "logits", logits); err != nil {
		return 0, 0, 0, err
	}
	if len(logits.Shape) < 2 {
		return 0, 0, 0, op.Errorf("logits", "logits has shape %v; want (N, C, ...)", logits.Shape)
	}
	n, c = logits.Shape[0], logits.Shape[1]
	s = 1
	for _, d := range logits.Shape[2:] {
		s *= d
	}
	if len(target) != n*s {
		return 0, 0, 0, op.Errorf("target", "target has %d entries; logits %v need N x positions = %d", len(target), logits.Shape, n*s)
	}
	for i, t := range target {
		if t < 0 || t >= c {
			return 0, 0, 0, op.Errorf("target", "target[%d] = %d is not a class in [0, %d)", i, t, c)
		}
	}
	return n, c, s, nil
}

// Forward returns the loss of logits against target.
func (l *CrossEntropy) Forward(logits *Tensor, target []int) (float64, error) {
	n, c, s, err := l.geometry(logits, target)
	if err != nil {
		return 0, err
	}
	l.logits, l.target, l.terms = logits, target, n*s
	if cap(l.prob) < len(logits.Data) {
		l.prob = make([]float64, len(logits.Data))
	}
	l.prob = l.prob[:len(logits.Data)]
	var loss float64
	for i := 0; i < n; i++ {
		base := i * c * s
		for p := 0; p < s; p++ {
			loss += softmaxAt(l.prob[base+p:], logits.Data[base+p:], c, s, target[i*s+p])
		}
	}
	if l.Reduction == Mean && l.terms > 0 {
		loss /= float64(l.terms)
	}
	return loss, nil
}

// softmaxAt writes the softmax of the c scores x[0], x[s], ... into
// prob[0], prob[s], ... and returns -log prob[target·s].
func softmaxAt(prob []float64, x []float32, c, s, target int) float64 {
	m := math.Inf(-1)
	for k := 0; k < c; k++ {
		m = math.Max(m, float64(x[k*s]))
	}
	var z float64
	for k := 0; k < c; k++ {
		e := math.Exp(float64(x[k*s]) - m)
		prob[k*s] = e
		z += e
	}
	for k := 0; k < c; k++ {
		prob[k*s] /= z
	}
	return m + math.Log(z) - float64(x[target*s])
}

// Backward returns the gradient with respect to the last Forward's
// logits, for an upstream gradient dloss of the loss (1 for a loss that is
// minimized directly): (softmax - onehot)·dloss, divided by the number of
// terms under Mean.
func (l *CrossEntropy) Backward(dloss float64) (*Tensor, error) {
	if l.logits == nil {
		return nil, shape.Op("cross_entropy").Errorf("dloss", "Backward before Forward")
	}
	dx := l.dx.get(l.logits.Shape...)
	scale := dloss
	if l.Reduction == Mean && l.terms > 0 {
		scale /= float64(l.terms)
	}
	n, c := l.logits.Shape[0], l.logits.Shape[1]
	s := l.terms / max(n, 1)
	for i, p := range l.prob {
		dx.Data[i] = float32(flushTiny(p * scale))
	}
	for i := 0; i < n; i++ {
		for p := 0; p < s; p++ {
			at := i*c*s + l.target[i*s+p]*s + p
			dx.Data[at] = float32((l.prob[at] - 1) * scale)
		}
	}
	return dx, nil
}

// flushTiny is v, or 0 when |v| < 2^-100. A confident prediction's other
// classes have probabilities far below float32's normal range (exp(-100)
// and less); as gradients they would be subnormal floats, every multiply
// of which costs a microcode assist on x86 through the whole backward
// pass (measured: a LeNet epoch went from 3.8 s to 6-8 s as the loss fell
// late in training). They move no weight by a bit.
func flushTiny(v float64) float64 {
	if math.Abs(v) < 0x1p-100 {
		return 0
	}
	return v
}

// Argmax writes the highest-scoring class of each sample (and position)
// of logits (N, C, ...) into pred, which must hold N x positions entries
// (it panics otherwise, naming both).
func Argmax(pred []int, logits *Tensor) {
	if len(logits.Shape) < 2 || len(pred) < len(logits.Data)/max(logits.Shape[1], 1) {
		panic(fmt.Sprintf("layers.Argmax: logits of shape %v into %d predictions", logits.Shape, len(pred)))
	}
	n, c := logits.Shape[0], logits.Shape[1]
	s := len(logits.Data) / max(n*c, 1)
	for i := 0; i < n; i++ {
		for p := 0; p < s; p++ {
			best, at := float32(math.Inf(-1)), 0
			for k := 0; k < c; k++ {
				if v := logits.Data[(i*c+k)*s+p]; v > best {
					best, at = v, k
				}
			}
			pred[i*s+p] = at
		}
	}
}
