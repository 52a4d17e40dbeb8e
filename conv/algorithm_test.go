package conv

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAlgo is a test algorithm: im2col's engine under another name, with
// the numerics class, cost, speed and hooks the test gives it.
type fakeAlgo struct {
	name  string
	exact bool
	cost  float64
	delay time.Duration   // added to every call
	calls *int            // counts the calls of its engines, if set
	gate  chan struct{}   // Forward waits on it, if set
	in    chan<- struct{} // Forward signals it on entry, if set
}

func (f fakeAlgo) Name() string                         { return f.name }
func (f fakeAlgo) Exact() bool                          { return f.exact }
func (f fakeAlgo) Supports(*Shape, Pass) error          { return nil }
func (f fakeAlgo) Workspace(s *Shape, cfg Config) int64 { return im2colAlgo{}.Workspace(s, cfg) }
func (f fakeAlgo) Cost(*Shape, Pass, Host, int) float64 { return f.cost }
func (f fakeAlgo) New(s *Shape, cfg Config) (Engine, error) {
	e, err := im2colAlgo{}.New(s, cfg)
	return &fakeEngine{Engine: e, f: f}, err
}

type fakeEngine struct {
	Engine
	f fakeAlgo
}

func (e *fakeEngine) hook() {
	if e.f.calls != nil {
		*e.f.calls++
	}
	time.Sleep(e.f.delay)
}

func (e *fakeEngine) Forward(y, x, w, b []float32, ep *Epilogue) {
	e.hook()
	if e.f.in != nil {
		e.f.in <- struct{}{}
	}
	if e.f.gate != nil {
		<-e.f.gate
	}
	e.Engine.Forward(y, x, w, b, ep)
}

func (e *fakeEngine) BackwardData(dx, dy, w []float32) {
	e.hook()
	e.Engine.BackwardData(dx, dy, w)
}

func (e *fakeEngine) BackwardFilter(dw, db, x, dy []float32, acc bool) {
	e.hook()
	e.Engine.BackwardFilter(dw, db, x, dy, acc)
}

// withRegistry runs f with the algorithms algos (then restores them).
func withRegistry(t *testing.T, algos ...Algorithm) {
	t.Helper()
	saved := registry
	registry = algos
	t.Cleanup(func() { registry = saved })
}

func TestLookup(t *testing.T) {
	for _, name := range []string{"im2col", "direct"} {
		if a, err := Lookup(name); err != nil || a.Name() != name || !a.Exact() {
			t.Errorf("%s: %v, %v", name, a, err)
		}
	}
	for _, name := range []string{"winograd", "winograd2", "winograd4", "winograd6"} {
		if a, err := Lookup(name); err != nil || a.Name() != name || a.Exact() {
			t.Errorf("%s: %v, %v (want a bounded algorithm)", name, a, err)
		}
	}
	if a, err := Lookup("fft"); err != nil || a.Exact() {
		t.Errorf("fft: %v, %v (want a bounded algorithm)", a, err)
	}
	// A name planned but not delivered.
	defer func(saved []string) { plannedNames = saved }(plannedNames)
	plannedNames = []string{"planned"}
	for _, name := range plannedNames {
		if _, err := Lookup(name); !errors.Is(err, ErrNotImplemented) {
			t.Errorf("%s: %v, want ErrNotImplemented", name, err)
		}
		if _, err := NewPlan(enginePlans[0], Options{Algorithm: name}); !errors.Is(err, ErrNotImplemented) {
			t.Errorf("plan on %s: %v, want ErrNotImplemented", name, err)
		}
	}
	var e *Error
	if _, err := Lookup("magic"); !errors.As(err, &e) || e.Param != "algorithm" || !strings.Contains(err.Error(), "im2col") {
		t.Errorf("magic: %v", err)
	}
}

// TestNamedAlgorithm runs the im2col algorithm alone, on every pass, and
// checks that a plan made for some passes refuses the others.
func TestNamedAlgorithm(t *testing.T) {
	for i, p := range enginePlans {
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkPlan(t, p, Options{Algorithm: "im2col", Threads: 2}) })
	}
	pl, err := NewPlan(enginePlans[0], Options{Algorithm: "im2col", Passes: PassSet(PassForward)})
	if err != nil {
		t.Fatal(err)
	}
	for pass := range numPasses {
		want := ""
		if pass == PassForward {
			want = "im2col"
		}
		if got := pl.Algorithm(pass); got != want {
			t.Errorf("%s: algorithm %q, want %q", pass, got, want)
		}
	}
	s := pl.Shape()
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "without the bwd-data pass") {
			t.Errorf("bwd-data on a forward plan: %v", r)
		}
	}()
	pl.BackwardData(make([]float32, s.XLen), make([]float32, s.YLen), make([]float32, s.WLen))
}

// TestWorkspaceLimit checks the query, a limit that narrows im2col's tiles (the
// results stay right), one no tile fits (an error naming the parameter,
// from a named algorithm and from auto), and the identity's need of none.
func TestWorkspaceLimit(t *testing.T) {
	p := enginePlans[len(enginePlans)-2] // 64 channels, 23x29
	pl, err := NewPlan(p, Options{Threads: 1, Algorithm: "im2col"})
	if err != nil {
		t.Fatal(err)
	}
	full := pl.Workspace()
	if full <= 0 {
		t.Fatalf("workspace %d", full)
	}
	lim := full / 3
	small, err := NewPlan(p, Options{Threads: 1, WorkspaceLimit: lim, Algorithm: "im2col"})
	if err != nil {
		t.Fatal(err)
	}
	if got := small.Workspace(); got > lim || got <= 0 {
		t.Errorf("limit %d: workspace %d", lim, got)
	}
	checkPlan(t, p, Options{Threads: 1, WorkspaceLimit: lim, Algorithm: "im2col"})
	// More threads under the same limit: the same tiles (the sums may not
	// depend on the thread count), as many of them as fit.
	more, err := NewPlan(p, Options{Threads: 3, WorkspaceLimit: lim, Algorithm: "im2col"})
	if err != nil || more.Workspace() > lim {
		t.Errorf("3 threads, limit %d: %v", lim, err)
	} else if a, b := small.engines[PassForward].(*im2colEngine), more.engines[PassForward].(*im2colEngine); a.tile != b.tile || a.chans != b.chans || a.biasRow != b.biasRow {
		t.Errorf("3 threads, limit %d: tile %d by %d channels (bias row %v), 1 thread: %d by %d (%v)", lim, b.tile, b.chans, b.biasRow, a.tile, a.chans, a.biasRow)
	}
	for _, algo := range []string{"im2col", "auto"} {
		var e *Error
		_, err := NewPlan(p, Options{Threads: 1, WorkspaceLimit: 64, Algorithm: algo})
		if !errors.As(err, &e) || e.Param != "workspace_limit" {
			t.Errorf("%s, 64-byte limit: %v, want a workspace_limit error", algo, err)
		}
	}
	// A 1x1 problem's GEMMs read the activations in place: no tile, no
	// copies (its lowering's tables aside), so a 1 KiB limit holds it.
	one := Problem{N: 1, C: 8, K: 4, In: []int{5, 5}, Kernel: []int{1, 1}}
	for _, layout := range []Layout{ChannelsLast, ChannelsFirst} {
		one.Layout = layout
		pl, err := NewPlan(one, Options{WorkspaceLimit: 1024})
		if err != nil {
			t.Errorf("1x1 %s: %v", layout, err)
		} else if w := pl.Workspace(); w >= 1024 {
			t.Errorf("1x1 %s: workspace %d", layout, w)
		}
	}
}

// hungry is fakeAlgo with a workspace no limit admits.
type hungry struct{ fakeAlgo }

func (hungry) Workspace(*Shape, Config) int64 { return 1 << 50 }

// TestAutoSkipsOverLimit checks that auto passes over an algorithm whose
// workspace exceeds the limit, however cheap, for one that fits.
func TestAutoSkipsOverLimit(t *testing.T) {
	withRegistry(t, hungry{fakeAlgo{name: "hungry", exact: true, cost: 1e-12}}, im2colAlgo{})
	if pl, err := NewPlan(enginePlans[0], Options{}); err != nil || pl.Algorithm(PassForward) != "hungry" {
		t.Fatalf("no limit: %v, want hungry (the cheapest)", err)
	}
	pl, err := NewPlan(enginePlans[0], Options{WorkspaceLimit: 1 << 30})
	if err != nil || pl.Algorithm(PassForward) != "im2col" {
		t.Errorf("under a limit: %v, %v, want im2col", err, pl)
	}
}

// TestAutoPicks checks auto's choice by cost model and by precision.
func TestAutoPicks(t *testing.T) {
	cheap := fakeAlgo{name: "cheap", cost: 1e-12}
	withRegistry(t, im2colAlgo{}, cheap)
	pl, err := NewPlan(enginePlans[0], Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pl.Algorithm(PassForward); got != "cheap" {
		t.Errorf("auto chose %s, want the cheapest, cheap", got)
	}
	pl, err = NewPlan(enginePlans[0], Options{Precision: Exact})
	if err != nil {
		t.Fatal(err)
	}
	if got := pl.Algorithm(PassForward); got != "im2col" {
		t.Errorf("auto under Exact chose %s, want im2col", got)
	}
	var u *UnsupportedError
	if _, err := NewPlan(enginePlans[0], Options{Precision: Exact, Algorithm: "cheap"}); !errors.As(err, &u) || u.Algorithm != "cheap" {
		t.Errorf("an inexact algorithm by name under Exact: %v", err)
	}
}

// TestAutotune checks that autotune times the candidates once, keeps the
// fastest in memory and in the file, and takes a later process's choice
// from the file without timing.
func TestAutotune(t *testing.T) {
	slowCalls := 0
	slow := fakeAlgo{name: "slow", exact: true, cost: 1e-12, delay: 3 * time.Millisecond, calls: &slowCalls}
	withRegistry(t, slow, im2colAlgo{})
	file := filepath.Join(t.TempDir(), "tune.tsv")
	resetTune := func() {
		tune.Lock()
		tune.choice, tune.read = nil, nil
		tune.Unlock()
	}
	resetTune()
	t.Cleanup(resetTune)
	opt := Options{Autotune: true, TuneFile: file, Threads: 1, Passes: PassSet(PassForward)}
	pl, err := NewPlan(enginePlans[0], opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := pl.Algorithm(PassForward); got != "im2col" || slowCalls == 0 {
		t.Fatalf("autotune chose %s after %d timed calls of slow, want im2col", got, slowCalls)
	}
	data, err := os.ReadFile(file)
	if err != nil || !strings.HasSuffix(string(data), "\tim2col\n") || strings.Count(string(data), "\n") != 1 {
		t.Fatalf("tune file %q, %v", data, err)
	}
	timed := slowCalls
	if _, err := NewPlan(enginePlans[0], opt); err != nil || slowCalls != timed {
		t.Errorf("second plan: %v, %d more timed calls, want none (kept in memory)", err, slowCalls-timed)
	}
	// A later process: the file says slow, so slow it is, untimed.
	key, _, _ := strings.Cut(string(data), "\t")
	if err := os.WriteFile(file, []byte(key+"\tslow\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	resetTune()
	pl, err = NewPlan(enginePlans[0], opt)
	if err != nil || pl.Algorithm(PassForward) != "slow" || slowCalls != timed {
		t.Errorf("from the file: %v, chose %s, %d timed calls", err, pl.Algorithm(PassForward), slowCalls-timed)
	}
	if err := os.WriteFile(file, []byte("no tab here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	resetTune()
	if _, err := NewPlan(enginePlans[0], opt); err == nil || !strings.Contains(err.Error(), "tune.tsv:1") {
		t.Errorf("a malformed tune file: %v", err)
	}
}

// TestPlanConcurrentUse checks the promise of Plan's doc: a call that
// overlaps another on the same Plan panics (and the first one completes).
func TestPlanConcurrentUse(t *testing.T) {
	gate, in := make(chan struct{}), make(chan struct{})
	withRegistry(t, fakeAlgo{name: "gated", exact: true, gate: gate, in: in})
	pl, err := NewPlan(enginePlans[0], Options{Algorithm: "gated"})
	if err != nil {
		t.Fatal(err)
	}
	s := pl.Shape()
	x, w, b := make([]float32, s.XLen), make([]float32, s.WLen), make([]float32, s.K)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		pl.Forward(make([]float32, s.YLen), x, w, b, nil)
	}()
	<-in // the first call is inside its engine
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "two goroutines at once") {
				t.Errorf("overlapping call: %v, want a panic", r)
			}
		}()
		pl.BackwardFilter(make([]float32, s.WLen), make([]float32, s.K), x, make([]float32, s.YLen), false)
	}()
	close(gate)
	wg.Wait()
	// The plan is free again.
	pl.BackwardData(make([]float32, s.XLen), make([]float32, s.YLen), w)
}

// TestPackWeights checks that Forward and BackwardData with w == nil use
// the packed weights, and that packing again refreshes them.
func TestPackWeights(t *testing.T) {
	pl, err := NewPlan(enginePlans[1], Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := pl.Shape()
	r := rand.New(rand.NewPCG(3, 4))
	x, w, b, dy := randF32(r, s.XLen), randF32(r, s.WLen), randF32(r, s.K), randF32(r, s.YLen)
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "PackWeights was not called") {
				t.Errorf("nil w before PackWeights: %v", r)
			}
		}()
		pl.Forward(make([]float32, s.YLen), x, nil, b, nil)
	}()
	for step := range 2 {
		pl.PackWeights(w)
		want, got := make([]float32, s.YLen), make([]float32, s.YLen)
		pl.Forward(want, x, w, b, nil)
		pl.Forward(got, x, nil, b, nil)
		wantDx, gotDx := make([]float32, s.XLen), make([]float32, s.XLen)
		pl.BackwardData(wantDx, dy, w)
		pl.BackwardData(gotDx, dy, nil)
		if !slices.Equal(got, want) || !slices.Equal(gotDx, wantDx) {
			t.Errorf("step %d: the packed weights give other results", step)
		}
		for i := range w { // an optimizer step
			w[i] *= 0.5
		}
	}
}
