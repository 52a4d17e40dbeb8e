// Package ops registers convkit's implementations of the golden-vector ops
// with package golden. Import it for its side effects:
//
//	import _ "github.com/convkit/convkit/golden/ops"
//
// One file per op family (relu.go, and later conv, pooling, linear, batch
// norm, loss). Each EvalFunc converts the stored float32 inputs, runs
// convkit on the currently bound kernels, and returns every output tensor
// of the case in PyTorch's layout, widened to float64. An op that is not
// registered here makes its cases fail as "not implemented: op <op>".
package ops
