package kernels

import (
	"fmt"
	"os"
	"strings"
	"sync"
)

// ISA names an instruction-set path through the kernels.
type ISA int

// The paths convkit knows. Generic is pure Go and runs everywhere.
const (
	Generic ISA = iota // pure Go, the reference
	AVX2               // x86-64 AVX2 + FMA3, 256-bit
	AVX512             // x86-64 AVX-512F, 512-bit with opmask tails
	NEON               // arm64 Advanced SIMD, 128-bit
	numISA
)

var isaNames = [numISA]string{"generic", "avx2", "avx512", "neon"}

// String returns the name used by CONVKIT_ISA and the -isa flags.
func (i ISA) String() string {
	if i >= 0 && i < numISA {
		return isaNames[i]
	}
	return fmt.Sprintf("ISA(%d)", int(i))
}

// ParseISA maps a name (case-insensitive) to its ISA.
func ParseISA(name string) (ISA, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for i, s := range isaNames {
		if s == n {
			return ISA(i), nil
		}
	}
	return Generic, fmt.Errorf("kernels: unknown ISA %q (known: %s)", name, strings.Join(isaNames[:], ", "))
}

// VectorBytes is the width of one SIMD register of the path, in bytes
// (4 for Generic: one float32 at a time).
func (i ISA) VectorBytes() int {
	switch i {
	case AVX2:
		return 32
	case AVX512:
		return 64
	case NEON:
		return 16
	}
	return 4
}

// Available lists the paths this host can run, slowest first; the last one
// is what init binds unless CONVKIT_ISA says otherwise.
func Available() []ISA {
	out := []ISA{Generic}
	for i := ISA(1); i < numISA; i++ {
		if hostSupports(i) {
			out = append(out, i)
		}
	}
	return out
}

// Supported reports whether this host can run the path.
func Supported(i ISA) bool { return i == Generic || (i > Generic && i < numISA && hostSupports(i)) }

// Best returns the fastest path this host can run.
func Best() ISA {
	a := Available()
	return a[len(a)-1]
}

// Current returns the path the bound table (Bound) belongs to.
func Current() ISA { return Bound().ISA }

// Use binds the package to the given path: Bound, the checked functions
// (Axpy, Dot, ...) and every package that registered with OnUse switch to
// its table. It fails, changing nothing, if the host cannot run the path.
//
// Use is for start-up and for tests. It is safe to call while kernels run
// on other goroutines (a call already under way finishes on the table it
// started with), but it changes the path for the whole process; to pin a
// path for one caller, run the kernels of TableFor.
func Use(i ISA) error {
	t, err := TableFor(i)
	if err != nil {
		return err
	}
	bind(t)
	return nil
}

// TableFor returns the kernels of one path, for tests and for callers that
// want to pin a path without touching the binding. The table is shared: do
// not modify it.
func TableFor(i ISA) (*Table, error) {
	if i < 0 || i >= numISA {
		return nil, fmt.Errorf("kernels: unknown ISA %d", int(i))
	}
	if !Supported(i) {
		return nil, fmt.Errorf("kernels: this CPU cannot run the %s path (available: %s)", i, availableList())
	}
	return tableFor(i), nil
}

func availableList() string {
	var s []string
	for _, a := range Available() {
		s = append(s, a.String())
	}
	return strings.Join(s, ", ")
}

// EnvISA is the environment variable that forces a path at start-up.
const EnvISA = "CONVKIT_ISA"

func init() {
	want := Best()
	if v, ok := os.LookupEnv(EnvISA); ok && v != "" {
		i, err := ParseISA(v)
		if err != nil {
			panic(fmt.Sprintf("convkit: %s=%q: %v", EnvISA, v, err))
		}
		if !Supported(i) {
			panic(fmt.Sprintf("convkit: %s=%s: this CPU cannot run the %s path (available: %s)", EnvISA, v, i, availableList()))
		}
		want = i
	}
	bind(tableFor(want))
}

// bindMu orders the binds and the OnUse registrations, so that every
// package hooked by OnUse sees the binds in the order Bound does and none
// is missed by a registration racing with a bind.
var (
	bindMu sync.Mutex
	onBind []func(ISA)
)

func bind(t *Table) {
	bindMu.Lock()
	defer bindMu.Unlock()
	bound.Store(t)
	for _, f := range onBind {
		f(t.ISA)
	}
}

// OnUse registers f to run (now and) every time Use rebinds the tables, so
// that packages above kernels (gemm, fft) can rebind their own dispatch in
// step; by the time f runs, Bound returns the new table. It is meant for
// init functions. f must not call Use or OnUse.
func OnUse(f func(ISA)) {
	bindMu.Lock()
	defer bindMu.Unlock()
	onBind = append(onBind, f)
	f(Current())
}
