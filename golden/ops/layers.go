package ops

import (
	"fmt"
	"strings"

	"github.com/convkit/convkit/golden"
	"github.com/convkit/convkit/layers"
)

func init() {
	for _, d := range []string{"1d", "2d", "3d"} {
		golden.Register("max_pool"+d, evalPool)
		golden.Register("avg_pool"+d, evalPool)
	}
	golden.Register("linear", evalLinear)
	golden.Register("cross_entropy", evalCrossEntropy)
	golden.Register("batch_norm2d", evalBatchNorm)
}

// tensor loads a case's tensor with its stored shape.
func tensor(c *golden.Case, name string) (*layers.Tensor, error) {
	v, err := c.Float32(name)
	if err != nil {
		return nil, err
	}
	return layers.FromData(v, c.Shape(name)...)
}

// params decodes the named parameters of a case into the pointers.
func params(c *golden.Case, kv ...any) error {
	for i := 0; i < len(kv); i += 2 {
		if err := c.Param(kv[i].(string), kv[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// runLayer runs Forward on the case's x and, when the case has dy,
// Backward; it returns the outputs y and (with dy) dx.
func runLayer(c *golden.Case, l layers.Layer) (out map[string][]float64, err error) {
	x, err := tensor(c, "x")
	if err != nil {
		return nil, err
	}
	y, dx, err := forwardBackward(c, l, x)
	if err != nil {
		return nil, err
	}
	out = map[string][]float64{"y": golden.F64(y.Data)}
	if dx != nil {
		out["dx"] = golden.F64(dx.Data)
	}
	return out, nil
}

// forwardBackward runs Forward on x and, when the case has dy, Backward;
// it returns y and dx (nil without dy).
func forwardBackward(c *golden.Case, l layers.Layer, x *layers.Tensor) (y, dx *layers.Tensor, err error) {
	if y, err = l.Forward(x); err != nil {
		return nil, nil, err
	}
	y = &layers.Tensor{Shape: y.Shape, Data: append([]float32(nil), y.Data...)}
	if !c.Has("dy") {
		return y, nil, nil
	}
	dy, err := tensor(c, "dy")
	if err != nil {
		return nil, nil, err
	}
	dx, err = l.Backward(dy, true)
	return y, dx, err
}

// evalPool runs a max_pool or avg_pool case: y, dx, and max's indices.
func evalPool(c *golden.Case) (map[string][]float64, error) {
	var cfg layers.PoolConfig
	if err := params(c, "kernel_size", &cfg.Kernel, "stride", &cfg.Stride, "padding", &cfg.Padding, "ceil_mode", &cfg.CeilMode); err != nil {
		return nil, err
	}
	var l layers.Layer
	var mp *layers.MaxPool
	var err error
	if strings.HasPrefix(c.Op, "max") {
		if err := params(c, "dilation", &cfg.Dilation); err != nil {
			return nil, err
		}
		mp, err = layers.NewMaxPool(cfg)
		l = mp
	} else {
		var div *int
		if err := params(c, "count_include_pad", &cfg.CountIncludePad, "divisor_override", &div); err != nil {
			return nil, err
		}
		if div != nil {
			cfg.DivisorOverride = *div
		}
		l, err = layers.NewAvgPool(cfg)
	}
	if err != nil {
		return nil, err
	}
	out, err := runLayer(c, l)
	if err != nil {
		return nil, err
	}
	if mp != nil {
		idx := make([]float64, len(mp.Indices()))
		for i, v := range mp.Indices() {
			idx[i] = float64(v)
		}
		out["indices"] = idx
	}
	return out, nil
}

// evalLinear runs a linear case with the stored weights.
func evalLinear(c *golden.Case) (map[string][]float64, error) {
	var in, outF int
	var bias bool
	if err := params(c, "in_features", &in, "out_features", &outF, "bias", &bias); err != nil {
		return nil, err
	}
	l, err := layers.NewLinear(in, outF, bias)
	if err != nil {
		return nil, err
	}
	if err := load(c, map[string]*layers.Param{"w": l.Weight, "b": l.Bias}); err != nil {
		return nil, err
	}
	out, err := runLayer(c, l)
	if err != nil {
		return nil, err
	}
	if out["dx"] != nil {
		out["dw"] = golden.F64(l.Weight.Grad.Data)
		if l.Bias != nil {
			out["db"] = golden.F64(l.Bias.Grad.Data)
		}
	}
	return out, nil
}

// load copies the case's tensors into the parameters (a nil parameter is
// skipped); their sizes must agree.
func load(c *golden.Case, ps map[string]*layers.Param) error {
	for name, p := range ps {
		if p == nil || !c.Has(name) {
			continue
		}
		v, err := c.Float32(name)
		if err != nil {
			return err
		}
		if len(v) != p.Value.Len() {
			return fmt.Errorf("ops: case %s: %s has %d elements, the layer's %s %d", c.Name, name, len(v), p.Name, p.Value.Len())
		}
		copy(p.Value.Data, v)
	}
	return nil
}

// evalCrossEntropy runs a cross_entropy case: the loss and dx.
func evalCrossEntropy(c *golden.Case) (map[string][]float64, error) {
	var red string
	if err := params(c, "reduction", &red); err != nil {
		return nil, err
	}
	reductions := map[string]layers.Reduction{"mean": layers.Mean, "sum": layers.Sum}
	r, ok := reductions[red]
	if !ok {
		return nil, fmt.Errorf("ops: case %s: reduction %q", c.Name, red)
	}
	x, err := tensor(c, "x")
	if err != nil {
		return nil, err
	}
	t64, err := c.Int64("target")
	if err != nil {
		return nil, err
	}
	target := make([]int, len(t64))
	for i, v := range t64 {
		target[i] = int(v)
	}
	l := layers.NewCrossEntropy(r)
	loss, err := l.Forward(x, target)
	if err != nil {
		return nil, err
	}
	out := map[string][]float64{"y": {float64(float32(loss))}}
	if c.Has("dy") {
		dy, err := c.Float64("dy")
		if err != nil {
			return nil, err
		}
		dx, err := l.Backward(dy[0])
		if err != nil {
			return nil, err
		}
		out["dx"] = golden.F64(dx.Data)
	}
	return out, nil
}

// evalBatchNorm runs a batch_norm2d case: y, the running statistics after
// the call, the batch statistics in training, and the gradients.
func evalBatchNorm(c *golden.Case) (map[string][]float64, error) {
	var cfg layers.BatchNormConfig
	var training, affine, track bool
	if err := params(c, "num_features", &cfg.Features, "eps", &cfg.Eps, "momentum", &cfg.Momentum,
		"training", &training, "affine", &affine, "track_running_stats", &track); err != nil {
		return nil, err
	}
	cfg.NoAffine, cfg.NoRunningStats = !affine, !track
	b, err := layers.NewBatchNorm(cfg)
	if err != nil {
		return nil, err
	}
	b.SetTraining(training)
	if err := load(c, map[string]*layers.Param{"w": b.Weight, "b": b.Bias}); err != nil {
		return nil, err
	}
	for name, t := range map[string]*layers.Tensor{"running_mean": b.RunningMean, "running_var": b.RunningVar} {
		if t == nil || !c.Has(name) {
			continue
		}
		v, err := c.Float32(name)
		if err != nil {
			return nil, err
		}
		copy(t.Data, v)
	}
	out, err := runLayer(c, b)
	if err != nil {
		return nil, err
	}
	if b.RunningMean != nil {
		out["running_mean_out"], out["running_var_out"] = golden.F64(b.RunningMean.Data), golden.F64(b.RunningVar.Data)
	}
	if training {
		mean, variance := b.BatchStats()
		out["batch_mean"], out["batch_var"] = mean, variance
	}
	if out["dx"] != nil && b.Weight != nil {
		out["dw"], out["db"] = golden.F64(b.Weight.Grad.Data), golden.F64(b.Bias.Grad.Data)
	}
	return out, nil
}
