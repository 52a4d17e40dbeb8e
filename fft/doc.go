// Package fft holds real and complex power-of-two FFTs with SIMD butterflies
// and the overlap-add FFT convolution used for large filters.
package fft
