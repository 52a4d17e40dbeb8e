// Package gemm is convkit's single-precision matrix product (SGEMM):
// BLIS-style cache blocking, packing of A and B into panels, generated
// MR x NR micro-kernels for every ISA, and goroutine parallelism. Every
// algorithm of package conv that lowers to a matrix product stands on it.
//
// How a call runs:
//
//   - A planner decides everything first (plan.go): the path, the tile
//     family and its blocking, which operands are packed, the
//     matrix-vector form and the thread split; the loops only carry the
//     plan out.
//   - The loops are BLIS's: nc columns of B, then kc-deep slices, then mc
//     rows of A, then the NR-wide and MR-tall register tiles. kc, mc and nc
//     come from the cache sizes (cpuid; fallbacks where a VM reports none):
//     a kc x NR panel of B fills about half of L1, an mc x kc block of A
//     half of L2, a kc x nc block of B a quarter of L3. Block counts are
//     balanced (k = 257 runs as 2 x 129, not 256 + 1).
//   - On amd64 the register tiles are generated kernel families (gen/sgemm;
//     AVX2 6x16, AVX-512 14x32) that take strided operands, so an operand
//     is read in place instead of packed where packing costs more than it
//     saves: B when m is small (each B element is used only m times), a
//     row-major A up to mid-sized n. A product with B transposed and m small
//     is computed as C^T, so that the stored B streams through the kernels
//     in place and only A is packed. Packing, where it pays, is AVX2
//     assembly too (an 8x8 transpose, a masked row copy). One kernel call
//     runs a whole row or column of tiles. Edge tiles run kernels for
//     exactly the live rows and masked loads and stores for the live
//     columns: no kernel reads or writes outside A, B or C.
//     An operand read in place must start its rows on cache lines and map
//     them to enough cache sets (power-of-two strides do not); otherwise it
//     is packed.
//   - Products with m or n of at most 4 are matrix-vector products or
//     nearly: each element of the large operand is used at most four
//     times, so they are bound by its trip from memory, and a register
//     tile would run mostly empty. They stream that operand's rows, four
//     at a time, through dot and axpy kernels (gemv.go), and split over
//     threads by rows, by output columns, or by k with private sums.
//   - The tests interpret the generated assembly (asmemu_test.go), so the
//     AVX-512 kernels are checked on hosts without AVX-512 too.
//   - Elsewhere (generic, NEON, -tags purego) the driver packs both
//     operands into zero-padded panels and runs the bound Gemm.Micro, with a
//     scratch tile on the edges.
//   - A Context splits C between its threads in whole tiles (along the
//     longer side unless the other balances clearly better); every thread
//     packs its own panels, so there is no barrier, and persistent helper
//     goroutines take the work through channels. Workspaces are sized on
//     first use and reused: steady-state calls allocate nothing. The
//     package-level Sgemm shares GOMAXPROCS threads among concurrent calls.
//   - C is bitwise the same whatever the thread count: the k blocking and
//     the k chunks of the matrix-vector forms (added in a fixed order,
//     also on one thread) come from the problem, and the threads only
//     share out whole tiles, rows or chunks.
//
// The kernel path follows kernels.Current (kernels.Use, CONVKIT_ISA).
// Package gemm/gonumblas plugs Sgemm into gonum's blas32.
package gemm
