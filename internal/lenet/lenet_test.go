package lenet

import (
	"bytes"
	"math"
	"os"
	"testing"

	"github.com/convkit/convkit/internal/mnist"
	"github.com/convkit/convkit/layers"
	"github.com/convkit/convkit/safetensors"
)

// readFixture reads a safetensors file of testdata (written by
// testdata/torch_fixture.py with PyTorch).
func readFixture(t *testing.T, name string) *safetensors.File {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// fixtureLogits runs net on the fixture's input and returns its logits
// and PyTorch's.
func fixtureLogits(t *testing.T, net *layers.Sequential) (got, want []float32) {
	t.Helper()
	io := readFixture(t, "lenet_io.safetensors")
	in := io.Tensors["input"]
	x := layers.NewTensor(in.Shape...)
	if err := in.Float32(x.Data); err != nil {
		t.Fatal(err)
	}
	net.SetTraining(false)
	y, err := net.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	ref := io.Tensors["logits"]
	want = make([]float32, ref.Len())
	if err := ref.Float32(want); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), y.Data...), want
}

// maxRel is max|got-want| / max|want|.
func maxRel(got, want []float32) float64 {
	var d, m float64
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i])-float64(want[i])))
		m = math.Max(m, math.Abs(float64(want[i])))
	}
	return d / m
}

// TestTorchFixture loads the weights PyTorch wrote and gets PyTorch's
// logits within 1e-5 relative.
func TestTorchFixture(t *testing.T) {
	net, err := New(1, "")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/lenet.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := layers.LoadState(f, net); err != nil {
		t.Fatal(err)
	}
	got, want := fixtureLogits(t, net)
	if e := maxRel(got, want); e > 1e-5 || math.IsNaN(e) {
		t.Fatalf("logits %v\nPyTorch's %v\nmax rel err %.3g > 1e-5", got[:10], want[:10], e)
	}
}

// TestStateRoundTrip writes a network's state and reads it into another,
// which then computes the same logits bit for bit.
func TestStateRoundTrip(t *testing.T) {
	a, _ := New(1, "")
	a.Reset(7)
	var buf bytes.Buffer
	if err := layers.SaveState(&buf, a, nil, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	b, _ := New(1, "")
	f, err := layers.LoadState(bytes.NewReader(buf.Bytes()), b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", f.Metadata)
	}
	ga, _ := fixtureLogits(t, a)
	gb, _ := fixtureLogits(t, b)
	for i := range ga {
		if math.Float32bits(ga[i]) != math.Float32bits(gb[i]) {
			t.Fatalf("logit %d: %v after the round trip, %v before", i, gb[i], ga[i])
		}
	}
}

// TestTrainSubset trains LeNet-5 on a subset of MNIST to a fixed test
// accuracy: the whole path (data, layers, loss, optimizer) learns.
func TestTrainSubset(t *testing.T) {
	dir, err := mnist.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	train, test, err := mnist.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Default
	cfg.Epochs, cfg.Val, cfg.Batch = 2, 0, 32
	tr, err := NewTrainer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	for range cfg.Epochs {
		if _, err := tr.TrainEpoch(train, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	acc, err := tr.Accuracy(test, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("trained on %d images x %d epochs: test accuracy %.1f%% on 1000", n, cfg.Epochs, 100*acc)
	if acc < 0.85 {
		t.Fatalf("test accuracy %.1f%% after training on %d images; want >= 85%%", 100*acc, n)
	}
}

// TestStepAllocs: a steady LeNet training step on two threads (the SGD
// update split over them too) allocates nothing.
func TestStepAllocs(t *testing.T) {
	dir, err := mnist.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	train, _, err := mnist.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Default
	cfg.Threads = 2
	tr, err := NewTrainer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, cfg.Batch)
	for i := range idx {
		idx[i] = i
	}
	step := func() {
		if _, err := tr.Step(train, idx); err != nil {
			t.Fatal(err)
		}
	}
	step()
	least := math.Inf(1)
	for range 3 { // the least of three: other tests' team cleanups allocate beside
		least = math.Min(least, testing.AllocsPerRun(3, step))
	}
	if least != 0 {
		t.Errorf("a training step allocates %v times", least)
	}
}
