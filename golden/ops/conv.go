package ops

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/convkit/convkit/conv"
	"github.com/convkit/convkit/golden"
)

// convAlgorithm is the conv algorithm the cases run on (SetConvAlgorithm).
var convAlgorithm = "auto"

// convRuns counts the passes the cases ran: on the named algorithm, and
// on auto where it declined (ConvRuns).
var convRuns struct{ named, declined int }

// SetConvAlgorithm makes the conv and conv_transpose cases run on the
// named algorithm ("auto", the default, or one of conv.Algorithms): each
// pass on it where it supports the problem and pass, else on auto. It
// resets the counts of ConvRuns.
func SetConvAlgorithm(name string) error {
	if name != "auto" {
		if _, err := conv.Lookup(name); err != nil {
			return err
		}
	}
	convAlgorithm = name
	convRuns.named, convRuns.declined = 0, 0
	return nil
}

// ConvRuns returns how many passes of the cases so far ran on the
// algorithm of SetConvAlgorithm, and how many on auto because it declined
// them (a conv.UnsupportedError: direct's strided backward-data, say).
func ConvRuns() (named, declined int) { return convRuns.named, convRuns.declined }

// passPlan is the plan of one pass: on the chosen algorithm, or on auto
// where it declines the pass.
func passPlan(p conv.Problem, pass conv.Pass) (*conv.Plan, error) {
	pl, err := conv.NewPlan(p, conv.Options{Algorithm: convAlgorithm, Passes: conv.PassSet(pass)})
	var ue *conv.UnsupportedError
	if errors.As(err, &ue) && convAlgorithm != "auto" {
		convRuns.declined++
		return conv.NewPlan(p, conv.Options{Passes: conv.PassSet(pass)})
	}
	if err == nil {
		convRuns.named++
	}
	return pl, err
}

func init() {
	for _, op := range []string{"conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"} {
		golden.Register(op, evalConv)
	}
}

// ConvProblem builds the conv.Problem of a golden conv or conv_transpose
// case from its parameters and the shape of its x (README's params).
func ConvProblem(c *golden.Case) (conv.Problem, error) {
	var d, cin, cout, groups int
	var kernel, stride, dilation []int
	var bias bool
	var p conv.Problem
	for _, f := range []struct {
		name string
		v    any
	}{{"spatial_dims", &d}, {"in_channels", &cin}, {"out_channels", &cout}, {"kernel_size", &kernel},
		{"stride", &stride}, {"dilation", &dilation}, {"groups", &groups}, {"bias", &bias}} {
		if err := c.Param(f.name, f.v); err != nil {
			return p, err
		}
	}
	xs := c.Shape("x")
	if len(xs) != d+2 {
		return p, fmt.Errorf("ops: case %s: x has shape %v for %d spatial dims", c.Name, xs, d)
	}
	if xs[1] != cin {
		return p, fmt.Errorf("ops: case %s: x has %d channels, in_channels = %d", c.Name, xs[1], cin)
	}
	p = conv.Problem{N: xs[0], C: cin, K: cout, In: xs[2:], Kernel: kernel, Stride: stride, Dilation: dilation, Groups: groups, Bias: bias}
	if strings.HasPrefix(c.Op, "conv_transpose") {
		p.Transposed = true
		if err := c.Param("output_padding", &p.OutputPadding); err != nil {
			return p, err
		}
	}
	mode := "zeros" // conv_transpose cases may leave it out: zeros is theirs
	if _, ok := c.Params["padding_mode"]; ok || !p.Transposed {
		if err := c.Param("padding_mode", &mode); err != nil {
			return p, err
		}
	}
	m, err := conv.ParsePaddingMode(mode)
	if err != nil {
		return p, err
	}
	p.PaddingMode = m // Resolve refuses a transposed one other than zeros
	var named string
	if json.Unmarshal(c.Params["padding"], &named) == nil {
		kinds := map[string]conv.PadKind{"same": conv.Same, "valid": conv.Valid}
		k, ok := kinds[named]
		if !ok {
			return p, fmt.Errorf("ops: case %s: padding %q", c.Name, named)
		}
		p.Padding = conv.Padding{Kind: k}
		return p, nil
	}
	var pad []int
	if err := c.Param("padding", &pad); err != nil {
		return p, err
	}
	p.Padding = conv.Pad(pad...)
	return p, nil
}

// evalConv runs a conv or conv_transpose case through the engine: y, and
// dx, dw, db when the case has an upstream gradient.
func evalConv(c *golden.Case) (map[string][]float64, error) {
	p, err := ConvProblem(c)
	if err != nil {
		return nil, err
	}
	passes := []conv.Pass{conv.PassForward, conv.PassBackwardData, conv.PassBackwardFilter}
	if !c.Has("dy") {
		passes = passes[:1] // no upstream gradient: the forward pass alone
	}
	var plans [3]*conv.Plan
	for i, pass := range passes {
		if plans[i], err = passPlan(p, pass); err != nil {
			return nil, err
		}
	}
	s := plans[0].Shape()
	in := map[string][]float32{}
	for _, name := range []string{"x", "w", "b", "dy"} {
		if c.Has(name) {
			if in[name], err = c.Float32(name); err != nil {
				return nil, err
			}
		}
	}
	y := make([]float32, s.YLen)
	plans[0].Forward(y, in["x"], in["w"], in["b"], nil)
	out := map[string][]float64{"y": golden.F64(y)}
	if dy := in["dy"]; dy != nil {
		dx, dw := make([]float32, s.XLen), make([]float32, s.WLen)
		var db []float32
		if s.Bias {
			db = make([]float32, s.K)
		}
		plans[1].BackwardData(dx, dy, in["w"])
		plans[2].BackwardFilter(dw, db, in["x"], dy, false)
		out["dx"], out["dw"] = golden.F64(dx), golden.F64(dw)
		if db != nil {
			out["db"] = golden.F64(db)
		}
	}
	return out, nil
}
