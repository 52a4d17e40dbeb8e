package conv

import (
	"errors"
	"fmt"
	"strings"
)

// Pass is one of the three computations of a problem. A transposed
// problem has the same three, with the roles of x and y exchanged.
type Pass uint8

// The passes.
const (
	PassForward        Pass = iota // y from x and w (Plan.Forward)
	PassBackwardData               // dx from dy and w (Plan.BackwardData)
	PassBackwardFilter             // dw and db from x and dy (Plan.BackwardFilter)
	numPasses
)

var passNames = [...]string{"fwd", "bwd-data", "bwd-filter"}

// String returns the pass's short name: fwd, bwd-data or bwd-filter.
func (p Pass) String() string {
	if p < numPasses {
		return passNames[p]
	}
	return fmt.Sprintf("Pass(%d)", int(p))
}

// Passes is a set of passes; 0 means all three.
type Passes uint8

// PassSet returns the set of the given passes.
func PassSet(ps ...Pass) Passes {
	var s Passes
	for _, p := range ps {
		s |= 1 << p
	}
	return s
}

// Has reports whether p is in the set (every pass is in the zero set).
func (s Passes) Has(p Pass) bool { return s == 0 || s&(1<<p) != 0 }

// Precision is which algorithms a plan admits by their numerics.
type Precision uint8

// The precisions.
const (
	// Bounded admits every algorithm within its documented error bound
	// (the default).
	Bounded Precision = iota
	// Exact admits only the algorithms that sum the products of the
	// convolution directly, as the definition does (im2col, direct), not
	// those that transform them (Winograd, FFT).
	Exact
)

// Host is what the cost models read about the machine: the measured FMA
// peak and stream rate, and the cache sizes.
type Host struct {
	PeakGFLOPS  float64 // one thread, measured (see HostNow)
	StreamGBs   float64 // one thread's reads of a buffer past L2, GB/s, measured
	FFTGFLOPS   float64 // package fft's real transform of 4096 points (64 x 64), 2.5 N log2 N a call, measured
	FFTGFLOPSL  float64 // the same of 65536 points (1D), past L2 on most hosts, measured
	CMACsPerSec float64 // complex64 multiply-adds a second of the FFT engine's loop, measured
	// CMACsFarPerSec is the same loop with its filter operand read from
	// past L2 a block at a time (0: unmeasured, taken as CMACsPerSec).
	CMACsFarPerSec float64
	L1, L2, L3     int // bytes, per core (L3: shared)
}

// streamBytesPerCycle is the stream rate in bytes per cycle of the
// models' clock: the FMA peak's vector FMAs at two a cycle.
func (h Host) streamBytesPerCycle() float64 {
	return h.StreamGBs / (h.PeakGFLOPS / float64(4*directLanes()))
}

// Config is what an algorithm's engine is built for.
type Config struct {
	Threads        int   // >= 1
	WorkspaceLimit int64 // bytes; 0: no limit
	pass           Pass  // the pass the engine is first made for (New); the plan adds others (passAdder)
	tile           int   // tests: im2col's column tile (0: from the cache size)
	chans          int   // tests: im2col's long channels per block (0: from the cache size)
	noPhase        bool  // tests: im2col never lowers from a phased copy
}

// Algorithm is one way of computing a problem's passes. An algorithm is a
// stateless value; its Engine holds the buffers of one problem.
type Algorithm interface {
	// Name is the algorithm's name in Options.Algorithm and in reports.
	Name() string
	// Exact reports whether it sums the convolution's products directly
	// (see Exact), rather than within an error bound.
	Exact() bool
	// Supports returns nil if it computes pass of s, else an
	// *UnsupportedError giving the reason.
	Supports(s *Shape, pass Pass) error
	// Workspace returns the bytes of buffers that New(s, cfg) would
	// allocate, within cfg.WorkspaceLimit where the algorithm can shrink
	// them to fit; more than the limit when it cannot.
	Workspace(s *Shape, cfg Config) int64
	// Cost estimates the seconds pass of s takes on h with threads
	// threads: auto's model.
	Cost(s *Shape, pass Pass, h Host, threads int) float64
	// New builds the engine of s: its buffers and any pre-packed state.
	New(s *Shape, cfg Config) (Engine, error)
}

// Engine computes the passes of one problem with one algorithm. Its
// arguments have been checked (lengths, bias) by the Plan; it must not
// allocate in steady state, and its results must be bitwise the same for
// every thread count. An engine serves one call at a time.
type Engine interface {
	// Workspace returns the bytes of buffers the engine holds.
	Workspace() int64
	// Forward computes y = conv(x, w), then the epilogue with b (nil when
	// the problem has no bias; ep may be nil).
	Forward(y, x, w, b []float32, ep *Epilogue)
	// BackwardData computes dx from dy and w.
	BackwardData(dx, dy, w []float32)
	// BackwardFilter computes dw and db (nil without bias) from x and dy,
	// adding to them with accumulate.
	BackwardFilter(dw, db, x, dy []float32, accumulate bool)
}

// UnsupportedError says why an algorithm does not compute a problem's
// pass.
type UnsupportedError struct {
	Algorithm string
	Pass      Pass
	Reason    string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("conv: algorithm %s does not support %s: %s", e.Algorithm, e.Pass, e.Reason)
}

// ErrNotImplemented is wrapped by the error of NewPlan for an algorithm
// that convkit names but does not deliver yet.
var ErrNotImplemented = errors.New("not implemented")

// registry is every algorithm, in the order auto breaks cost ties.
var registry = []Algorithm{im2colAlgo{}, directAlgo{}, winogradAlgo{}, fftAlgo{}}

// plannedNames are algorithms that later work delivers.
var plannedNames []string

// Algorithms returns every algorithm convkit has.
func Algorithms() []Algorithm { return append([]Algorithm(nil), registry...) }

// Lookup returns the algorithm of a name, an error wrapping
// ErrNotImplemented for a planned one, or an error listing the names.
func Lookup(name string) (Algorithm, error) {
	for _, a := range append(registry[:len(registry):len(registry)], winogradVariants...) {
		if a.Name() == name {
			return a, nil
		}
	}
	for _, n := range plannedNames {
		if n == name {
			return nil, fmt.Errorf("conv: algorithm %s: %w", name, ErrNotImplemented)
		}
	}
	names := []string{"auto"}
	for _, a := range append(registry[:len(registry):len(registry)], winogradVariants...) {
		names = append(names, a.Name())
	}
	return nil, &Error{Op: "conv", Param: "algorithm", Msg: fmt.Sprintf("algorithm %q: want one of %s", name, strings.Join(names, ", "))}
}
