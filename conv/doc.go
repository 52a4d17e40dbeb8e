// Package conv computes convolutions as PyTorch defines them
// (torch.nn.functional.conv{1,2,3}d and conv_transpose{1,2,3}d): forward,
// backward-data and backward-filter, channels-first or channels-last.
//
// A Problem states the convolution; Problem.Resolve validates it into a
// Shape (PyTorch's size rules; an *Error naming the parameter for every
// bad one). NewPlan picks an Algorithm per pass (by name, or auto: a cost
// model on the measured FMA peak and cache sizes, or opt-in autotune) and
// builds its Engine; the Plan's calls then check their arguments, run the
// engine and allocate nothing. Results are bitwise the same for every
// thread count. The Epilogue (bias, residual add, ReLU) is fused into the
// forward pass by every algorithm.
//
// The algorithms today: im2col + SGEMM (every parameter), and direct
// (direct.go and its files): the tile engine on package direct's
// generated tile kernels; the width engine (direct_depthwise.go) for
// depthwise and few-channel problems on channel planes; the channel
// engine (direct_dwchannels.go) for channels-last depthwise; backward-data
// by stride phases (direct_phases.go); and winograd (winograd.go,
// winograd_engine.go, winograd_filter.go): F(2x2), F(4x4) and F(6x6)
// for 2D 3x3 stride-1 forward and backward-data passes, and the
// weight-gradient form F(3x3, 2x2) and F(3x3, 4x4) for backward-filter,
// on package winograd's generated transforms and package direct's tile
// kernels as its batched products,
// within a documented error bound (Precision Bounded, the default;
// Exact admits im2col and direct only). Where an algorithm declines a
// pass it says why, and auto runs the pass on another; Plan.Reason
// records why each pass runs its algorithm. fft (fft.go, fft_grid.go)
// runs stride-1 convolutions of any filter on package fft's transforms,
// also within a documented bound. Reference is the float64 oracle of every pass; every
// algorithm is tested against it.
package conv
