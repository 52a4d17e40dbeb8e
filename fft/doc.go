// Package fft computes discrete Fourier transforms of float32 data:
// complex-to-complex, and real-to-complex / complex-to-real, of every
// length, in 1D (Plan, RealPlan) and over the axes of an N-D array
// (PlanND, RealPlanND), on plans made once per size and reused. Batches
// of transforms at any distance are one call (ForwardBatch).
//
// Conventions (those of FFTW and gonum's dsp/fourier):
//
//   - Forward: X[k] = sum_j x[j] exp(-2 pi i j k / n); inverse: x[j] =
//     sum_k X[k] exp(+2 pi i j k / n). Neither is normalized: an inverse
//     of a forward multiplies by n.
//   - A real transform of n points keeps the half spectrum X[0..n/2]
//     (n/2 + 1 values); the rest is its conjugate mirror. The inverse
//     reads those n/2 + 1 values and ignores the imaginary parts of X[0]
//     and, for even n, of X[n/2], as a Hermitian spectrum defines them.
//   - An N-D array is row-major, its last dim contiguous. A real N-D
//     transform halves the last dim (dims[last]/2 + 1 complex values, row
//     pitch that many) and keeps the others whole; it runs the rows' real
//     transforms, then complex ones along the other axes.
//
// Lengths whose prime factors are 2, 3, 5 and 7 run a mixed-radix
// decimation in time (radix 4 and 2 specialised); any other length goes
// through Bluestein's chirp transform on a power-of-two length. A real
// transform of even length runs on a complex one of half the length.
//
// Those plans are the Go path. The lane transforms run on generated
// kernels (gen/fft: radix-2, 3 and 4 Stockham butterflies, the step
// between a real transform and the complex one of half its length, split
// complex products, for AVX2, AVX-512 and NEON, each with its Go twin):
//
//   - LanePlan: complex transforms of lengths 2^a 3^b over batches of
//     signals side by side in split form (Split: a plane of real parts, a
//     plane of imaginary parts, signal l of element j at j*Step + l), the
//     signals the vector lanes, in natural order, unnormalized both ways;
//   - RealLanePlan: real transforms of even such lengths over the columns
//     of a row-major array, into the half spectrum along that axis;
//   - SplitOps: the pointwise products dst (+)= a * b or a * conj(b).
//
// The convolution engine's FFT algorithm runs on them (conv's gridFFT);
// the natural-order single transforms on the generated kernels are still
// to come.
package fft
