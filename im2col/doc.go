// Package im2col lowers convolution inputs to matrices (im2col) and back
// (col2im) for 1D, 2D and 3D problems with stride, padding and dilation,
// tiled so that the lowered matrix never needs the whole image at once.
package im2col
