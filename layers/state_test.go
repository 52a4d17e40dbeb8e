package layers

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/convkit/convkit/safetensors"
)

// channelMean is the float64 mean of one channel of (N, C, ...) x.
func channelMean(x *Tensor, ch int) float64 {
	n, c, s := x.Shape[0], x.Shape[1], spatialOf(x.Shape)
	sum := 0.0
	for i := 0; i < n; i++ {
		for _, v := range x.Data[(i*c+ch)*s:][:s] {
			sum += float64(v)
		}
	}
	return sum / float64(n*s)
}

// TestBatchNormMomentumModes checks PyTorch's momentum=None (running
// statistics the plain average of every batch's), momentum=0 (running
// statistics that never move), and that only training batches count in
// num_batches_tracked.
func TestBatchNormMomentumModes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	cum, err := NewBatchNorm(BatchNormConfig{Features: 3, Cumulative: true})
	if err != nil {
		t.Fatal(err)
	}
	frozen, err := NewBatchNorm(BatchNormConfig{Features: 3, Momentum: Zero})
	if err != nil {
		t.Fatal(err)
	}
	var want [3]float64
	const batches = 4
	for range batches {
		x := randTensor(r, 1, 2, 3, 5, 5)
		for i := range x.Data {
			x.Data[i] += float32(r.IntN(5)) // batch means that differ
		}
		for ch := range want {
			want[ch] += channelMean(x, ch) / batches
		}
		for _, b := range []*BatchNorm{cum, frozen} {
			if _, err := b.Forward(x); err != nil {
				t.Fatal(err)
			}
		}
	}
	for ch, w := range want {
		if got := float64(cum.RunningMean.Data[ch]); math.Abs(got-w) > 1e-5*math.Max(1, math.Abs(w)) {
			t.Errorf("Cumulative: running mean[%d] = %v, want the batches' average %v", ch, got, w)
		}
		if frozen.RunningMean.Data[ch] != 0 || frozen.RunningVar.Data[ch] != 1 {
			t.Errorf("Momentum Zero: running stats[%d] moved to %v, %v", ch, frozen.RunningMean.Data[ch], frozen.RunningVar.Data[ch])
		}
	}
	cum.SetTraining(false)
	if _, err := cum.Forward(randTensor(r, 1, 2, 3, 5, 5)); err != nil {
		t.Fatal(err)
	}
	if cum.BatchesTracked != batches || frozen.BatchesTracked != batches {
		t.Errorf("num_batches_tracked = %d and %d, want %d (evaluation does not count)", cum.BatchesTracked, frozen.BatchesTracked, batches)
	}
}

// TestAdamBetaZero checks that a beta of Zero is an exact 0: with Beta1
// Zero the first moment is the last gradient.
func TestAdamBetaZero(t *testing.T) {
	p := newParam("w", 3)
	o, err := NewAdam([]*Param{p}, AdamConfig{LR: 0.01, Beta1: Zero, Beta2: 0.99})
	if err != nil {
		t.Fatal(err)
	}
	for step, g := range [][]float32{{1, -2, 3}, {-0.5, 4, 0.25}} {
		copy(p.Grad.Data, g)
		o.Step()
		for i, m := range o.State()[0].Value.Data {
			if m != g[i] {
				t.Fatalf("step %d: exp_avg[%d] = %v, want the gradient %v", step, i, m, g[i])
			}
		}
	}
	if _, err := NewAdam(nil, AdamConfig{Beta1: -0.5}); err == nil {
		t.Error("Beta1 = -0.5 (not Zero) was accepted")
	}
}

// TestStateCounters checks num_batches_tracked in a state dict: written
// as torch writes it (a 0-dim int64), read back, tolerated where a file
// lacks it, and refused where it is not one integer.
func TestStateCounters(t *testing.T) {
	net := func() *Sequential {
		bn, err := NewBatchNorm(BatchNormConfig{Features: 2})
		if err != nil {
			t.Fatal(err)
		}
		return NewSequential(NewResidual(NewSequential(bn)))
	}
	a, b := net(), net()
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 1, 2, 2, 3, 3)
	for range 3 {
		if _, err := a.Forward(x); err != nil {
			t.Fatal(err)
		}
	}
	const name = "0.body.0.num_batches_tracked"
	ts := StateTensors(a)
	st, ok := ts[name]
	if !ok || st.DType != safetensors.I64 || len(st.Shape) != 0 {
		t.Fatalf("state dict has %q = %+v, want a 0-dim I64", name, st)
	}
	var buf bytes.Buffer
	if err := SaveState(&buf, a, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadState(bytes.NewReader(buf.Bytes()), b); err != nil {
		t.Fatal(err)
	}
	bn := b.Layers[0].(*Residual).Body.(*Sequential).Layers[0].(*BatchNorm)
	if bn.BatchesTracked != 3 {
		t.Errorf("loaded num_batches_tracked = %d, want 3", bn.BatchesTracked)
	}
	if bn.RunningMean.Data[0] == 0 {
		t.Error("the running mean was not loaded")
	}
	write := func(ts map[string]safetensors.Tensor) *bytes.Reader {
		var buf bytes.Buffer
		if err := safetensors.Write(&buf, ts, nil); err != nil {
			t.Fatal(err)
		}
		return bytes.NewReader(buf.Bytes())
	}
	delete(ts, name)
	if _, err := LoadState(write(ts), net()); err != nil {
		t.Errorf("a file without the counter: %v", err)
	}
	ts[name] = safetensors.FromFloat32([]float32{3})
	if _, err := LoadState(write(ts), net()); err == nil || !strings.Contains(err.Error(), name) {
		t.Errorf("a float counter: error %v, want one naming %s", err, name)
	}
}
