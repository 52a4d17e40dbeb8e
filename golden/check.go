package golden

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
)

// EvalFunc computes a case's outputs with convkit: for every output tensor
// of the case (Case.Outputs), its values in the stored layout. It reads
// the inputs and parameters through the Case.
type EvalFunc func(c *Case) (outputs map[string][]float64, err error)

// DefaultTolerance is the bound on each output's relative error
// ||y-ref||/||ref|| for an op registered without WithTolerance. It suits
// float32 computations of modest reduction length: PyTorch's own float32
// CPU results are within ~2.5e-6 of max|ref| on the public set. Ops with
// long reductions or approximate algorithms (FFT, Winograd) register
// their own bound.
const DefaultTolerance = 1e-5

// Option modifies a registration.
type Option func(*op)

// WithTolerance sets the op's bound on relative error.
func WithTolerance(tol float64) Option { return func(o *op) { o.tol = tol } }

type op struct {
	eval EvalFunc
	tol  float64
}

var (
	regMu    sync.RWMutex
	registry = map[string]op{}
)

// Register makes eval the implementation of op (the manifest's "op"
// field, e.g. "relu", "conv2d"). It panics if op is already registered:
// two implementations of one op is a programming error. Call it from init.
func Register(opName string, eval EvalFunc, opts ...Option) {
	o := op{eval: eval, tol: DefaultTolerance}
	for _, f := range opts {
		f(&o)
	}
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[opName]; dup {
		panic("golden: op " + opName + " registered twice")
	}
	registry[opName] = o
}

// Registered lists the registered ops, sorted.
func Registered() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	var out []string
	for k := range registry {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Tolerance returns the bound registered for op and whether op is
// registered.
func Tolerance(opName string) (float64, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	o, ok := registry[opName]
	return o.tol, ok
}

// Result is the outcome of one case.
type Result struct {
	Case, Op string
	Pass     bool
	// MaxRelErr is the largest RelErr over the outputs; NaN if the case
	// could not be evaluated or an output has NaN where the reference
	// has none.
	MaxRelErr float64
	// RelErr per output tensor (those that were compared).
	RelErr map[string]float64
	// Tolerance the outputs were held to.
	Tolerance float64
	// Reason a failing case failed.
	Reason string
}

// String is the report line: "PASS <name> <op> max_rel_err=<v>" or
// "FAIL <name> <op> max_rel_err=<v|NaN> reason=<reason>".
func (r Result) String() string {
	e := strconv.FormatFloat(r.MaxRelErr, 'g', 3, 64)
	if r.Pass {
		return fmt.Sprintf("PASS %s %s max_rel_err=%s", r.Case, r.Op, e)
	}
	return fmt.Sprintf("FAIL %s %s max_rel_err=%s reason=%s", r.Case, r.Op, e, r.Reason)
}

// Check evaluates c with its op's registered EvalFunc and compares every
// output with the stored reference. A case whose op is not registered
// fails with reason "not implemented: op <op>". Each output must be
// returned with the stored length; an output returned that the case does
// not have is an error too (it would be checked against nothing).
func Check(c *Case) Result {
	r := Result{Case: c.Name, Op: c.Op, MaxRelErr: math.NaN()}
	regMu.RLock()
	o, ok := registry[c.Op]
	regMu.RUnlock()
	if !ok {
		r.Reason = "not implemented: op " + c.Op
		return r
	}
	r.Tolerance = o.tol
	var got map[string][]float64
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		got, err = o.eval(c)
	}()
	if err != nil {
		r.Reason = err.Error()
		return r
	}
	for name := range got {
		if t := c.Tensors[name]; t == nil || t.Role != RoleOutput {
			r.Reason = fmt.Sprintf("eval returned %q, which is not an output of the case", name)
			return r
		}
	}
	r.RelErr = map[string]float64{}
	maxErr, worst := 0.0, ""
	for _, name := range c.Outputs() {
		y, ok := got[name]
		if !ok {
			r.Reason = fmt.Sprintf("output %s not computed", name)
			return r
		}
		ref, err := c.Float64(name)
		if err != nil {
			r.Reason = err.Error()
			return r
		}
		if len(y) != len(ref) {
			r.Reason = fmt.Sprintf("output %s has %d elements, want %d (shape %v)", name, len(y), len(ref), c.Shape(name))
			return r
		}
		e := RelErr(y, ref)
		r.RelErr[name] = e
		if worst == "" || (math.IsNaN(e) && !math.IsNaN(maxErr)) || e > maxErr {
			maxErr, worst = e, name
		}
	}
	r.MaxRelErr = maxErr
	switch {
	case worst == "":
		r.MaxRelErr = math.NaN()
		r.Reason = "the case has no output tensors"
	case math.IsNaN(maxErr):
		r.Reason = fmt.Sprintf("output %s: NaN or Inf where the reference has none (or the reverse)", worst)
	case maxErr > o.tol:
		r.Reason = fmt.Sprintf("output %s: relative error %.3g > tolerance %.3g", worst, maxErr, o.tol)
	default:
		r.Pass = true
	}
	return r
}

// RelErr returns ||y-ref||_2 / ||ref||_2 (||y-ref||_2 when ref is all
// zero). Positions where y and ref are both NaN, or the same infinity,
// match exactly and are left out; a NaN or infinity in only one of them
// makes the result NaN.
func RelErr(y, ref []float64) float64 {
	var d2, r2 float64
	for i, r := range ref {
		v := y[i]
		if (math.IsNaN(v) && math.IsNaN(r)) || (math.IsInf(r, 0) && v == r) {
			continue
		}
		if math.IsNaN(v) || math.IsNaN(r) || math.IsInf(v, 0) || math.IsInf(r, 0) {
			return math.NaN()
		}
		d := v - r
		d2 += d * d
		r2 += r * r
	}
	if r2 == 0 {
		return math.Sqrt(d2)
	}
	return math.Sqrt(d2 / r2)
}

// Summary counts results.
func Summary(rs []Result) (passed, failed int) {
	for _, r := range rs {
		if r.Pass {
			passed++
		} else {
			failed++
		}
	}
	return
}
