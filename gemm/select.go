package gemm

import (
	"sync/atomic"
	"unsafe"

	"github.com/convkit/convkit/kernels"
)

// selection is what Sgemm runs on the currently bound kernel path.
type selection struct {
	isa   kernels.ISA
	fast  *tileKernels        // nil: no generated family for this path
	micro kernels.GemmKernels // the portable path
	vec   *kernels.VecKernels // the vector kernels of the path (matrix-vector products)
	bl    blocking
	// narrow, when not nil, replaces fast for n <= narrow.nr, with its
	// own blocking.
	narrow *tileKernels
	nbl    blocking
}

var current atomic.Pointer[selection]

func init() {
	kernels.OnUse(func(i kernels.ISA) { current.Store(selectFor(i, kernels.Bound().Gemm, 0)) })
}

// selectFor builds the selection of path i; tile picks one of
// tileCandidates(i) (0 is the default).
func selectFor(i kernels.ISA, g kernels.GemmKernels, tile int) *selection {
	s := &selection{isa: i, micro: g, vec: &kernels.Bound().Vec}
	if t, err := kernels.TableFor(i); err == nil {
		s.vec = &t.Vec
	}
	if c := tileCandidates(i); tile < len(c) {
		s.fast = c[tile]
		s.bl = blockingFor(s.fast.mr, s.fast.nr)
		if nf := narrowFamily(i); nf != nil && tile == 0 {
			s.narrow, s.nbl = nf, blockingFor(nf.mr, nf.nr)
		}
	} else {
		s.bl = blockingFor(g.MR, g.NR)
	}
	return s
}

// blocking is the cache blocking of one tile shape: a kc x NR panel of B
// stays in L1 while the kernels sweep an mc x kc block of A held in L2, and
// a kc x nc block of B sits in L3.
type blocking struct {
	mc, kc, nc int
	l1, l2, l3 int // bytes, for the driver's own adjustments
}

func blockingFor(mr, nr int) blocking {
	l1, l2, l3 := kernels.Caches()
	return blockingFrom(mr, nr, l1, l2, l3)
}

// blockingFrom derives the blocking from cache sizes: the B micro-panel
// (kc x NR) takes three quarters of L1 (the rest holds the A micro-panel
// and C lines, streamed and prefetched from L2); the A block (mc x kc) half
// of L2; the B block (kc x nc) a quarter of L3 (shared with the other
// cores' blocks). Measured with BenchmarkSgemmBlocking, n = 1024 and 2048,
// one thread: on a 48 KiB-L1 AVX-512 Xeon (14x32) kc = 128-192 ran 5-10%
// slower at n = 1024 than kc = 256-512, which were within the noise of each
// other; on the 32 KiB-L1 Zen 3 (AVX2 6x16) kc = 384 beat 256 (best calls
// 94 vs 83-91 GFLOPS) while 512, the whole L1, was slower again at 1024.
func blockingFrom(mr, nr, l1, l2, l3 int) blocking {
	kc := (3 * l1 / 4) / (4 * nr)
	kc = max(64, min(512, kc&^7))
	mc := (l2 / 2) / (4 * kc)
	mc = max(mr, min(1024, mc/mr*mr))
	nc := (l3 / 4) / (4 * kc)
	nc = max(nr, min(4096, nc/nr*nr))
	return blocking{mc: mc, kc: kc, nc: nc, l1: l1, l2: l2, l3: l3}
}

// panelFits reports whether a panel read in place, rows rows of one or
// two cache lines each, ld floats apart, stays in L2 while a column of
// tiles re-reads it. When ld*4 is a multiple of a large power of two the
// rows fall into few cache sets: ld = 1024 on a 512 KiB 8-way L2 maps
// every row into 16 of its 1024 sets, 128 lines for a 512-row panel, and
// each tile then re-reads the panel from L3. Packing it costs one pass;
// measured on the AVX2 host (one thread, packed vs in place, interleaved):
// 128x1024x1024 +48%, 64x3072x576 +18%, 64x1024x576 +28%, 128x4096x64
// +64%, while 64x3136x576 (ld*4 = 196 lines: 256 sets) loses 10% packed.
func (bl blocking) panelFits(ld, rows int) bool { return setsHold(bl.l2, ld, 2*rows) }

// stripInL1 reports whether an NR-wide strip of B read in place, rows rows
// ld floats apart, stays in L1 between the tiles down its column; when it
// does not, the Q kernels prefetch its rows (ld = 3136: 16 of 64 sets, 128
// lines for a 288-row strip).
func (bl blocking) stripInL1(ld, rows int) bool { return setsHold(bl.l1, ld, rows) }

// setsHold reports whether lines cache lines, one per row ld floats
// apart, fit in the sets of a cache of size bytes that those rows map to.
// The associativity is not reported portably; 8 ways is the common
// minimum (more ways only make the rule conservative).
func setsHold(size, ld, lines int) bool {
	const line, ways = 64, 8
	stride := 4 * ld
	if stride%line != 0 {
		return true // rows start at shifting offsets: spread over the sets
	}
	sets := max(1, size/(line*ways))
	step := (stride / line) % sets
	touched := sets / gcd(step, sets)
	return touched*ways >= lines
}

// gcd is the greatest common divisor of a >= 0 and b > 0 (gcd(0, b) = b).
func gcd(a, b int) int {
	for a != 0 {
		a, b = b%a, a
	}
	return b
}

// readsBInPlace reports whether the tile path may read a B panel in place
// (not transposed, rows rows deep, from b[off:] with leading dimension
// ldb): it must stay in cache while the tiles below it re-read it
// (panelFits), and its rows must start on cache lines, or every vector
// load splits (rowsOnLines, startsOnLine).
func (bl blocking) readsBInPlace(b []float32, off, ldb, rows int) bool {
	return bl.panelFits(ldb, rows) && rowsOnLines(ldb) && startsOnLine(b, off)
}

// A right-hand panel read in place must have every row (and so every
// NR-wide strip of it) start on a 64-byte line. Otherwise most strip rows
// straddle two lines and every vector load of B splits: measured on the
// AVX2 host (one thread, interleaved, B in place vs packed), ld = 196,
// 200, 300 or 3137 made packing 1-12% faster (128 x 196 x 1152: +12%),
// while aligned rows (ld = 192, 208, 3136, 64) keep in place 3-5% ahead.
// The two halves of the rule are apart because only the first is the
// shape's: the planner lets the second (where the caller's slice starts)
// choose packing but nothing that orders a sum.

// rowsOnLines reports whether rows ld floats apart start on lines alike.
func rowsOnLines(ld int) bool { return ld%16 == 0 }

// startsOnLine reports whether x[off] starts a 64-byte line.
func startsOnLine(x []float32, off int) bool { return uintptr(unsafe.Pointer(&x[off]))%64 == 0 }
