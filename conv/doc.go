// Package conv describes a convolution problem (shapes, stride, padding,
// dilation, groups, padding modes, transposition, layout) and implements
// its algorithms: direct, im2col+GEMM, FFT and Winograd, forward and
// backward, with a selector that picks the fastest valid algorithm for a
// shape.
//
// Today it holds the problem and its validation (Problem.Resolve: PyTorch's
// size rules, and an *Error naming the parameter for every bad one) and the
// float64 reference of every pass (Reference), which matches PyTorch on
// every conv and conv_transpose case of the public golden set. The
// algorithms plug in next.
package conv
