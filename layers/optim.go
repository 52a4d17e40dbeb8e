package layers

import (
	"math"
	"runtime"

	"github.com/convkit/convkit/internal/shape"
	"github.com/convkit/convkit/internal/workers"
)

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update with the gradients now in the parameters.
	Step()
	// SetLR sets the learning rate (a schedule calls it each epoch).
	SetLR(lr float64)
	// LR is the learning rate.
	LR() float64
	// State lists the optimizer's per-parameter state tensors and their
	// names (for checkpoints), and Steps the updates made.
	State() []*Buffer
}

// SGDConfig is torch.optim.SGD's configuration (dampening 0).
type SGDConfig struct {
	LR, Momentum, WeightDecay float64
	Nesterov                  bool
}

// SGD is stochastic gradient descent with optional momentum, Nesterov
// momentum and L2 weight decay, updating as torch.optim.SGD does:
// g = grad + wd·p; v = momentum·v + g (v = g on the first step);
// p -= lr·(g + momentum·v) with Nesterov, else p -= lr·v.
type SGD struct {
	cfg    SGDConfig
	params []*Param
	vel    []*Tensor
	steps  int
	split  elementSplit
}

// elementSplit runs an elementwise update over the parameters' elements
// on a team: part i takes the i-th share of their concatenation.
type elementSplit struct {
	team  *workers.Team
	total int
	parts int
	each  func(p, lo, hi int) // elements [lo, hi) of parameter p
	sizes []int
}

// minPerPart is the fewest elements worth a thread of their own.
const minPerPart = 1 << 14

func (e *elementSplit) init(params []*Param, threads int, each func(p, lo, hi int)) {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	e.sizes = e.sizes[:0]
	e.total = 0
	for _, p := range params {
		e.sizes = append(e.sizes, p.Value.Len())
		e.total += p.Value.Len()
	}
	e.parts = max(1, min(threads, e.total/minPerPart))
	e.team, e.each = workers.NewTeam(e.parts), each
}

// run updates every element, split over the team.
func (e *elementSplit) run() { e.team.Run(e, e.parts) }

// Run updates part's share (workers.Task).
func (e *elementSplit) Run(part int) {
	lo, hi := part*e.total/e.parts, (part+1)*e.total/e.parts
	at := 0
	for i, n := range e.sizes {
		if a, b := max(lo, at), min(hi, at+n); a < b {
			e.each(i, a-at, b-at)
		}
		at += n
	}
}

// NewSGD validates cfg and returns the optimizer of params.
func NewSGD(params []*Param, cfg SGDConfig) (*SGD, error) {
	op := shape.Op("sgd")
	if cfg.LR <= 0 || cfg.Momentum < 0 || cfg.WeightDecay < 0 {
		return nil, op.Errorf("LR", "LR = %g must be > 0, Momentum = %g and WeightDecay = %g >= 0", cfg.LR, cfg.Momentum, cfg.WeightDecay)
	}
	if cfg.Nesterov && cfg.Momentum == 0 {
		return nil, op.Errorf("Nesterov", "Nesterov needs Momentum > 0")
	}
	o := &SGD{cfg: cfg, params: params}
	for _, p := range params {
		o.vel = append(o.vel, NewTensor(p.Value.Shape...))
	}
	o.split.init(params, 0, o.update)
	return o, nil
}

// SetThreads sets the update's thread count (<= 0: GOMAXPROCS; small
// networks use fewer). The result is the same for every count.
func (o *SGD) SetThreads(n int) { o.split.init(o.params, n, o.update) }

// negligibleBits is the magnitude (as float32 bits, 2^-100) below which
// SGD treats a gradient or momentum entry as 0 (see Step).
const negligibleBits = (127 - 100) << 23

// flushNegligible is x, or +0 when |x| < 2^-100, without a branch: which
// entries are negligible follows the data (the dead units), so a branch
// would mispredict (measured: 4x the update's time).
func flushNegligible(x float32) float32 {
	b := math.Float32bits(x)
	keep := ^uint32(int32(b&0x7fffffff-negligibleBits) >> 31) // all ones unless |x| < 2^-100
	return math.Float32frombits(b & keep)
}

// Step updates every parameter. Each product is rounded before its sum,
// as PyTorch's mul_ then add_ round (the explicit float32 conversions keep
// the compiler from fusing them on ISAs where it would).
//
// A gradient or momentum entry smaller than 2^-100 is taken as 0. A weight
// whose gradient stays 0 or nearly (a dead ReLU's, a confident class's)
// would otherwise drive the momentum and lr·g into the subnormal range,
// where every multiply costs a microcode assist on x86: measured, the
// update went from 4% of a LeNet epoch to 40% by the third. Such a term
// moves no weight above 2^-76 by a single bit, so the results are
// PyTorch's for every weight of any practical size.
func (o *SGD) Step() {
	o.split.run()
	o.steps++
}

// update applies Step to elements [lo, hi) of parameter i.
func (o *SGD) update(i, lo, hi int) {
	lr, mom, wd := float32(o.cfg.LR), float32(o.cfg.Momentum), float32(o.cfg.WeightDecay)
	w, g, v := o.params[i].Value.Data[lo:hi], o.params[i].Grad.Data[lo:hi], o.vel[i].Data[lo:hi]
	g, v = g[:len(w)], v[:len(w)]
	for j := range w {
		d := flushNegligible(g[j] + float32(wd*w[j]))
		if mom != 0 {
			m := d
			if o.steps > 0 {
				m = flushNegligible(float32(mom*v[j]) + d)
			}
			v[j] = m
			if o.cfg.Nesterov {
				d += float32(mom * m)
			} else {
				d = m
			}
		}
		w[j] -= float32(lr * d)
	}
}

// SetLR sets the learning rate.
func (o *SGD) SetLR(lr float64) { o.cfg.LR = lr }

// LR is the learning rate.
func (o *SGD) LR() float64 { return o.cfg.LR }

// State returns the momentum buffers, named "<param>.momentum_buffer".
func (o *SGD) State() []*Buffer {
	out := []*Buffer{}
	for i, p := range o.params {
		out = append(out, &Buffer{Name: p.Name + ".momentum_buffer", Value: o.vel[i]})
	}
	return out
}

// Steps is the number of updates made (it decides the first momentum
// step); SetSteps restores it from a checkpoint.
func (o *SGD) Steps() int { return o.steps }

// SetSteps restores the update count.
func (o *SGD) SetSteps(n int) { o.steps = n }

// AdamConfig is torch.optim.Adam's (or AdamW's, with Decoupled)
// configuration. Zero values take PyTorch's defaults: LR 1e-3, betas
// 0.9 and 0.999, eps 1e-8; a beta of Zero is an exact 0.
type AdamConfig struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	// Decoupled makes it AdamW: the weights decay by lr·wd apart from the
	// gradient, instead of wd·p joining the gradient.
	Decoupled bool
}

// Adam is the Adam (or AdamW) optimizer, updating as torch.optim does.
type Adam struct {
	cfg    AdamConfig
	params []*Param
	m, v   []*Tensor
	steps  int
}

// NewAdam validates cfg and returns the optimizer of params.
func NewAdam(params []*Param, cfg AdamConfig) (*Adam, error) {
	if cfg.LR == 0 {
		cfg.LR = 1e-3
	}
	cfg.Beta1, cfg.Beta2 = orDefault(cfg.Beta1, 0.9), orDefault(cfg.Beta2, 0.999)
	if cfg.Eps == 0 {
		cfg.Eps = 1e-8
	}
	if cfg.LR < 0 || cfg.Beta1 < 0 || cfg.Beta1 >= 1 || cfg.Beta2 < 0 || cfg.Beta2 >= 1 || cfg.Eps < 0 || cfg.WeightDecay < 0 {
		return nil, shape.Op("adam").Errorf("Beta1", "LR = %g, Eps = %g and WeightDecay = %g must be >= 0, Beta1 = %g and Beta2 = %g in [0, 1)",
			cfg.LR, cfg.Eps, cfg.WeightDecay, cfg.Beta1, cfg.Beta2)
	}
	o := &Adam{cfg: cfg, params: params}
	for _, p := range params {
		o.m = append(o.m, NewTensor(p.Value.Shape...))
		o.v = append(o.v, NewTensor(p.Value.Shape...))
	}
	return o, nil
}

// Step updates every parameter.
func (o *Adam) Step() {
	o.steps++
	c := &o.cfg
	b1, b2 := float32(c.Beta1), float32(c.Beta2)
	bc1 := 1 - math.Pow(c.Beta1, float64(o.steps))
	bc2 := 1 - math.Pow(c.Beta2, float64(o.steps))
	stepSize := float32(c.LR / bc1)
	rootBC2 := float32(math.Sqrt(bc2))
	eps, wd := float32(c.Eps), float32(c.WeightDecay)
	for i, p := range o.params {
		w, g, m, v := p.Value.Data, p.Grad.Data, o.m[i].Data, o.v[i].Data
		for j := range w {
			// Each product rounded before its sum (the conversions keep
			// the compiler from fusing them), as PyTorch's separate ops do.
			d := g[j]
			if c.Decoupled {
				w[j] *= 1 - float32(float32(c.LR)*wd)
			} else {
				d += float32(wd * w[j])
			}
			m[j] = float32(b1*m[j]) + float32((1-b1)*d)
			v[j] = float32(b2*v[j]) + float32(float32((1-b2)*d)*d)
			w[j] -= float32(stepSize*m[j]) / (float32(math.Sqrt(float64(v[j])))/rootBC2 + eps)
		}
	}
}

// SetLR sets the learning rate.
func (o *Adam) SetLR(lr float64) { o.cfg.LR = lr }

// LR is the learning rate.
func (o *Adam) LR() float64 { return o.cfg.LR }

// State returns the moment estimates, named "<param>.exp_avg" and
// "<param>.exp_avg_sq".
func (o *Adam) State() []*Buffer {
	out := []*Buffer{}
	for i, p := range o.params {
		out = append(out, &Buffer{Name: p.Name + ".exp_avg", Value: o.m[i]}, &Buffer{Name: p.Name + ".exp_avg_sq", Value: o.v[i]})
	}
	return out
}

// Steps is the number of updates made (Adam's bias correction uses it).
func (o *Adam) Steps() int { return o.steps }

// SetSteps restores the update count.
func (o *Adam) SetSteps(n int) { o.steps = n }

// Schedule gives the learning rate of each epoch (counted from 0).
type Schedule func(epoch int) float64

// StepLR multiplies the rate by gamma every step epochs
// (torch.optim.lr_scheduler.StepLR).
func StepLR(lr float64, step int, gamma float64) Schedule {
	return func(epoch int) float64 { return lr * math.Pow(gamma, float64(epoch/max(step, 1))) }
}

// CosineLR anneals the rate from lr to minLR over epochs epochs
// (CosineAnnealingLR with T_max = epochs).
func CosineLR(lr, minLR float64, epochs int) Schedule {
	return func(epoch int) float64 {
		t := math.Min(float64(epoch), float64(epochs))
		return minLR + (lr-minLR)*(1+math.Cos(math.Pi*t/float64(max(epochs, 1))))/2
	}
}

// EarlyStopping stops training when the validation error has not improved
// for Patience epochs (0: never), and remembers the best epoch.
type EarlyStopping struct {
	Patience  int
	best      float64
	bestEpoch int
	seen      bool
}

// Observe records an epoch's validation error and reports whether to stop.
func (e *EarlyStopping) Observe(epoch int, valErr float64) (stop bool) {
	if !e.seen || valErr < e.best {
		e.best, e.bestEpoch, e.seen = valErr, epoch, true
		return false
	}
	return e.Patience > 0 && epoch-e.bestEpoch >= e.Patience
}

// Best returns the best epoch and its validation error.
func (e *EarlyStopping) Best() (epoch int, valErr float64) { return e.bestEpoch, e.best }
