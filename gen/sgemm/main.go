// Command sgemm generates convkit's SGEMM kernels: AVX2+FMA and AVX-512 on
// amd64, NEON on arm64, each from one description written against the
// kernel-writing layer gen/kw (tile.go: the tile families; rows.go: the
// packing and row kernels). asm/doc.go runs it once per architecture:
//
//	go run -C ../gen ./sgemm -out ../asm/sgemm_amd64.s -stubs ../asm/sgemm_amd64.go -table ../asm/sgemm_tiles_amd64.go -pkg asm
//	go run -C ../gen ./sgemm -arch arm64 -out ../asm/sgemm_arm64.s -stubs ../asm/sgemm_arm64.go -table ../asm/sgemm_tiles_arm64.go -pkg asm
//
// Every tile kernel computes one register tile of C = alpha*A*B + beta*C
// from strided operands, so that one kernel family serves packed panels
// and unpacked matrices alike:
//
//	for i < rows, j < nr:
//	  ab := sum over p < k of A(i, p) * b[p*sb+j]
//	  c[i*ldc+j] = alpha*ab + beta*c[i*ldc+j]     (beta == 0: c is not read)
//
// where A(i, p) = a[i+p*sa] for the "P" kernels (a packed MR-row panel has
// sa = MR; a transposed matrix has sa = lda) and A(i, p) = a[i*sa+p] for the
// "R" kernels (a row-major matrix, sa = lda). A kernel exists for every row
// count 1..MR so that the m edge never reads a row past the matrix; the n
// edge (nr < NR) runs over only the live vectors, the last one partial
// (masked on x86, a copy of the code per column count on NEON), so it
// never reads or writes a column past nr either. A call repeats for tiles
// tiles, stepping a, b and c by an, bn and cn elements, so the driver
// makes one call per row or column of tiles. It also emits the Micro entry
// point of each ISA's default family (the kernels.GemmKernels contract)
// and, for every ISA, the row kernels: the packing routines (a lanes x
// lanes transpose, a partial row copy and a row-order panel copy) and the
// four-row dot and axpy kernels of the matrix-vector products.
//
// With -table it also writes the Go table of everything it generated for
// the architecture (families with their ISA, MR, NR, operand forms and
// roles, and the row kernels), which package gemm, package kernels and
// the tests iterate instead of naming symbols.
//
// The tests interpret the amd64 output (internal/asmemu), so kernels for
// an ISA the host lacks are still checked, and run the arm64 output under
// qemu.
//
// The outputs are written to temporary files and renamed, so a failed run
// never leaves a truncated .s behind; the output is deterministic.
package main

import "github.com/convkit/convkit/gen/kw"

// role is what a tile family is generated for: nothing is generated that
// no code uses.
type role int

const (
	// roleDefault: the ISA's default family in package gemm; its Micro
	// entry point is package kernels' GemmKernels.Micro.
	roleDefault role = iota
	// roleNarrow: package gemm's family for products with n <= NR. It is
	// never a GemmKernels tile, so it has no Micro entry point.
	roleNarrow
	// roleCandidate: kept for BenchmarkSgemmTiles, which compares the
	// candidates with the default on a new CPU, for the default's role.
	roleCandidate
)

// micro reports whether a family of the role gets a Micro entry point:
// only the default, which package kernels binds as GemmKernels.Micro
// (nothing else calls a Micro, and a kernel nothing uses is not
// generated; the candidates' tiles are tested through their P kernels,
// which the Micro entry point shares its body with).
func (r role) micro() bool { return r == roleDefault }

// tile is one register-tile shape of an ISA (named as in kw: "AVX2",
// "AVX512", "NEON").
type tile struct {
	isa    string
	mr, nr int
	// q: also emit the Q kernels, P kernels that prefetch B's rows ahead,
	// for a B read in place (see kloop). Only where measured to pay.
	q    bool
	role role
}

// forms lists the operand forms generated for the family, in emission
// order.
func (t tile) forms() []byte {
	if t.q {
		return []byte{'P', 'R', 'Q'}
	}
	return []byte{'P', 'R'}
}

// tiles lists every shape that is generated, the default of each ISA
// first: the parameter sets of the one tile description (tile.go). See
// gemm/tiles_asm.go for the measurements that chose the amd64 defaults
// and the narrow family. NEON 8x12 keeps 24 accumulators, 3 B vectors and
// 2 A vectors (multiplied by lane) in its 32 registers, and every C row is
// three whole vectors.
var tiles = []tile{
	{"AVX2", 6, 16, true, roleDefault},
	{"AVX2", 4, 24, false, roleCandidate},
	{"AVX2", 12, 8, false, roleNarrow},
	{"AVX512", 14, 32, true, roleDefault},
	{"AVX512", 12, 32, false, roleCandidate},
	{"NEON", 8, 12, false, roleDefault},
}

// archISAs are the ISAs of each architecture's output, in emission order.
var archISAs = map[string][]kw.ISA{"amd64": {kw.AVX2, kw.AVX512}, "arm64": {kw.NEON}}

func main() {
	kw.MainWith("sgemm", "sgemmMaskTab", func(f *kw.Func) {
		tileFamily(f)
		rowFamily(f)
	}, kw.Options{Table: goTable})
}
