// Package layers is the thin layer API on top of package conv: a minimal
// tensor type, Conv1D/2D/3D, transposed conv, pooling, linear, batch norm,
// activations, loss and optimizers, forward and backward, with PyTorch's
// semantics.
package layers
