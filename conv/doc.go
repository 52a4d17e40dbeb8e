// Package conv describes a convolution problem (shapes, stride, padding,
// dilation, groups) and implements its algorithms: direct, im2col+GEMM,
// FFT and Winograd, forward and backward, with a selector that picks the
// fastest valid algorithm for a shape.
package conv
