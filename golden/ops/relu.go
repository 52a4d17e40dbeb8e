package ops

import (
	"fmt"

	"github.com/convkit/convkit/golden"
	"github.com/convkit/convkit/kernels"
)

func init() { golden.Register("relu", evalRelu) }

// evalRelu computes y = relu(x) with kernels.Relu and, when the case has
// an upstream gradient dy, dx = dy where x > 0 with kernels.ReluBackward.
func evalRelu(c *golden.Case) (map[string][]float64, error) {
	x, err := c.Float32("x")
	if err != nil {
		return nil, err
	}
	y := make([]float32, len(x))
	kernels.Relu(y, x)
	out := map[string][]float64{"y": golden.F64(y)}
	if c.Has("dx") {
		dy, err := c.Float32("dy")
		if err != nil {
			return nil, err
		}
		if len(dy) != len(x) {
			return nil, fmt.Errorf("relu: dy has %d elements, x has %d", len(dy), len(x))
		}
		dx := make([]float32, len(x))
		kernels.ReluBackward(dx, x, dy)
		out["dx"] = golden.F64(dx)
	}
	return out, nil
}
