package layers

// Layer is one step of a network. Forward keeps what Backward needs (a
// reference to x, its own output, indices); Backward takes the gradient of
// the loss with respect to Forward's output and returns the gradient with
// respect to its input, having set the gradient of each parameter.
//
// The tensors a layer returns are its own buffers, reused by its next call
// on an input of the same shape: a network run on a few batch sizes
// allocates only on the first call of each. Copy a result to keep it.
type Layer interface {
	// Forward computes the layer's output for x.
	Forward(x *Tensor) (*Tensor, error)
	// Backward computes the parameters' gradients (overwriting Param.Grad)
	// and, when needDX, the gradient with respect to the last Forward's x
	// (nil otherwise: a network's first layer need not compute it).
	Backward(dy *Tensor, needDX bool) (*Tensor, error)
	// Params lists the trainable parameters (nil for none).
	Params() []*Param
}

// Trainable is a layer that behaves differently in training and in
// evaluation (batch norm, dropout). Layers start in training mode.
type Trainable interface {
	SetTraining(training bool)
}

// Param is a trainable tensor and its gradient, under the name PyTorch's
// state_dict gives it within its layer ("weight", "bias"); containers
// prefix the layer's name ("conv1.weight").
type Param struct {
	Name  string
	Value *Tensor
	Grad  *Tensor
}

func newParam(name string, dims ...int) *Param {
	return &Param{Name: name, Value: NewTensor(dims...), Grad: NewTensor(dims...)}
}

// Buffer is a layer's non-trainable state that a checkpoint keeps
// (batch norm's running statistics), under its PyTorch name: a float32
// tensor, or a counter (PyTorch's 0-dim int64 tensors: batch norm's
// num_batches_tracked), exactly one of Value and Count set.
type Buffer struct {
	Name  string
	Value *Tensor
	Count *int64
}

// Zero asks for an exact 0 in a configuration field whose zero value
// means PyTorch's default: BatchNormConfig.Momentum (running statistics
// that never move) and AdamConfig's betas (Adam(betas=(0, 0.99)), as GAN
// recipes use).
const Zero = -1.0

// orDefault resolves a field that the zero value defaults: 0 is def,
// Zero is 0, anything else itself.
func orDefault(v, def float64) float64 {
	switch v {
	case 0:
		return def
	case Zero:
		return 0
	}
	return v
}

// Stateful is a layer with buffers.
type Stateful interface {
	Buffers() []*Buffer
}
