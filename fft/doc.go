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
// Paths. A plan runs on the generated kernels of the host's bound path
// (kernels.Current; the For constructors take a path) where its length
// allows, else on Go:
//
//   - complex 1D of n = n1*n2, both products of 2s and 3s and multiples
//     of the vector's lanes (AVX-512: 256, 1024, 2304, ...; AVX2: 64 and
//     up; on AVX-512 hosts, lengths AVX-512's vectors do not split, such
//     as 128 or 576, take AVX2's): a four-step of lane
//     transforms, the n1-point transforms of the n2 columns, twiddles, a
//     block transpose in registers, the n2-point transforms of the n1
//     columns, which leaves natural order, between a split of the
//     interleaved values into planes and back (Unzip, Zip);
//   - real 1D of 2m points with such an m: the four-step of m on the
//     samples' pairs as complex values, then RealHalf, the frequencies k
//     and m - k side by side (the partner reversed in registers);
//   - 2D of dims both multiples of the lanes and products of 2s and 3s:
//     rows of 16 vectors or more (real: 32) whose 1D transform above runs
//     on the same ISA run it in cache, row by row, then the columns by blocks that fit half of L2
//     (each block split into a dense buffer, its columns the lanes): two
//     passes over memory. Shorter rows: lane transforms along dim 0,
//     transposes around those along dim 1 (real: the input transposed
//     first, so that the last dim is the halved one).
//
// The Go path: lengths whose prime factors are 2, 3, 5 and 7 run a
// mixed-radix decimation in time (radix 4 and 2 specialised); any other
// length goes through Bluestein's chirp transform on a power-of-two
// length. A real transform of even length runs on a complex one of half
// the length. Plan.Path and its kin name the path a plan runs.
//
// The generated kernels (gen/fft, for AVX2, AVX-512 and NEON, each with
// its Go twin): radix-2, 3, 4 and (32-register ISAs) 8 Stockham
// butterflies, a whole stage per call; the step between a real transform
// and the complex one of half its length, for batches (RealPair) and for
// one signal (RealHalf); split complex products; the block transpose;
// Unzip and Zip. On them, besides the plans:
//
//   - LanePlan: complex transforms of lengths 2^a 3^b over batches of
//     signals side by side in split form (Split: a plane of real parts, a
//     plane of imaginary parts, signal l of element j at j*Step + l), the
//     signals the vector lanes, in natural order, unnormalized both ways;
//   - RealLanePlan: real transforms of even such lengths over the columns
//     of a row-major array, into the half spectrum along that axis;
//   - SplitOps: the pointwise products dst (+)= a * b or a * conj(b).
//
// The convolution engine's FFT algorithm runs on the lane transforms
// (conv's gridFFT).
package fft
