package conv

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// benchProblems are public workload shapes (../shared/bench) whose
// lowering differs: narrow rows (c256 at 14x14), wide rows (c64 at 56x56),
// 1D, 3D and transposed; and the direct algorithm's targets.
var benchProblems = map[string]Problem{
	"resnet_3x3_c64":       {N: 1, C: 64, K: 64, In: []int{56, 56}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true},
	"resnet_3x3_c256":      {N: 1, C: 256, K: 256, In: []int{14, 14}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true},
	"audio_1d_k9_c64":      {N: 1, C: 64, K: 64, In: []int{16000}, Kernel: []int{9}, Padding: Pad(4), Bias: true},
	"volume_3d_3x3x3_c16":  {N: 1, C: 16, K: 32, In: []int{32, 32, 32}, Kernel: []int{3, 3, 3}, Padding: Pad(1, 1, 1), Bias: true},
	"unet_upconv_2x2s2":    {N: 1, C: 128, K: 64, In: []int{28, 28}, Kernel: []int{2, 2}, Stride: []int{2, 2}, Transposed: true, Bias: true},
	"vgg_3x3_c3":           {N: 1, C: 3, K: 64, In: []int{224, 224}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true},
	"resnet_stem_7x7s2":    {N: 1, C: 3, K: 64, In: []int{224, 224}, Kernel: []int{7, 7}, Stride: []int{2, 2}, Padding: Pad(3, 3), Bias: true},
	"alexnet_11x11s4":      {N: 1, C: 3, K: 96, In: []int{227, 227}, Kernel: []int{11, 11}, Stride: []int{4, 4}, Bias: true},
	"lenet_5x5_c6":         {N: 64, C: 6, K: 16, In: []int{14, 14}, Kernel: []int{5, 5}, Bias: true},
	"resnet_3x3_c512":      {N: 1, C: 512, K: 512, In: []int{7, 7}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true},
	"resnet_3x3_c128":      {N: 1, C: 128, K: 128, In: []int{28, 28}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true},
	"resnet_3x3s2_c128":    {N: 1, C: 128, K: 128, In: []int{56, 56}, Kernel: []int{3, 3}, Stride: []int{2, 2}, Padding: Pad(1, 1), Bias: true},
	"lenet_5x5_c1":         {N: 64, C: 1, K: 6, In: []int{28, 28}, Kernel: []int{5, 5}, Padding: Pad(2, 2), Bias: true},
	"mobilenet_dw3x3_c256": {N: 1, C: 256, K: 256, Groups: 256, In: []int{56, 56}, Kernel: []int{3, 3}, Padding: Pad(1, 1), Bias: true},
	"large_15x15_c16":      {N: 1, C: 16, K: 16, In: []int{128, 128}, Kernel: []int{15, 15}, Padding: Pad(7, 7), Bias: true},
	"large_31x31_c8":       {N: 1, C: 8, K: 8, In: []int{256, 256}, Kernel: []int{31, 31}, Padding: Pad(15, 15), Bias: true},
	"audio_1d_k255_c4":     {N: 1, C: 4, K: 4, In: []int{65536}, Kernel: []int{255}, Padding: Pad(127), Bias: true},
	"resnet_1x1_c256_k64":  {N: 1, C: 256, K: 64, In: []int{56, 56}, Kernel: []int{1, 1}, Bias: true},
	"wavenet_1d_k2_d8_c64": {N: 1, C: 64, K: 64, In: []int{16000}, Kernel: []int{2}, Dilation: []int{8}, Bias: true},
	"dilated_3x3_d4_c64":   {N: 1, C: 64, K: 64, In: []int{64, 64}, Kernel: []int{3, 3}, Dilation: []int{4, 4}, Padding: Pad(4, 4), Bias: true},
}

func BenchmarkForward(b *testing.B)        { benchPass(b, "im2col", PassForward) }
func BenchmarkBackwardData(b *testing.B)   { benchPass(b, "im2col", PassBackwardData) }
func BenchmarkBackwardFilter(b *testing.B) { benchPass(b, "im2col", PassBackwardFilter) }
func BenchmarkDirectForward(b *testing.B)  { benchPass(b, "direct", PassForward) }

// BenchmarkDirectBackwardData times direct's backward-data pass.
func BenchmarkDirectBackwardData(b *testing.B) { benchPass(b, "direct", PassBackwardData) }

// BenchmarkDirectBackwardFilter times direct's backward-filter pass.
func BenchmarkDirectBackwardFilter(b *testing.B) { benchPass(b, "direct", PassBackwardFilter) }

// BenchmarkWinogradForward and the variants' benchmarks time the
// Winograd forward pass.
func BenchmarkWinogradForward(b *testing.B)   { benchPass(b, "winograd", PassForward) }
func BenchmarkFFTForward(b *testing.B)        { benchPass(b, "fft", PassForward) }
func BenchmarkFFTBackwardData(b *testing.B)   { benchPass(b, "fft", PassBackwardData) }
func BenchmarkFFTBackwardFilter(b *testing.B) { benchPass(b, "fft", PassBackwardFilter) }
func BenchmarkWinograd2Forward(b *testing.B)  { benchPass(b, "winograd2", PassForward) }
func BenchmarkWinograd4Forward(b *testing.B)  { benchPass(b, "winograd4", PassForward) }
func BenchmarkWinograd6Forward(b *testing.B)  { benchPass(b, "winograd6", PassForward) }

// BenchmarkWinogradBackwardData times its backward-data pass.
func BenchmarkWinogradBackwardData(b *testing.B) { benchPass(b, "winograd", PassBackwardData) }

// BenchmarkWinogradBackwardFilter and the variants' benchmarks time its
// backward-filter pass, the weight-gradient form.
func BenchmarkWinogradBackwardFilter(b *testing.B)  { benchPass(b, "winograd", PassBackwardFilter) }
func BenchmarkWinograd2BackwardFilter(b *testing.B) { benchPass(b, "winograd2", PassBackwardFilter) }
func BenchmarkWinograd4BackwardFilter(b *testing.B) { benchPass(b, "winograd4", PassBackwardFilter) }

// BenchmarkWinogradPackWeights times winograd's filter transform and
// packing (PackWeights), which a training step pays once.
func BenchmarkWinogradPackWeights(b *testing.B) {
	for name, p := range benchProblems {
		if s, _ := p.Resolve(); (winogradAlgo{}).Supports(s, PassForward) != nil {
			continue
		}
		b.Run(name, func(b *testing.B) {
			pl, err := NewPlan(p, Options{Threads: 1, Algorithm: "winograd", Passes: PassSet(PassForward)})
			if err != nil {
				b.Fatal(err)
			}
			w := randF32(rand.New(rand.NewPCG(1, 2)), pl.Shape().WLen)
			for b.Loop() {
				pl.PackWeights(w)
			}
			b.ReportMetric(float64(pl.Workspace()), "workspace-bytes")
		})
	}
}

// BenchmarkPackWeights times direct's weight packing (PackWeights: once
// per plan for inference, once per optimizer step in training).
func BenchmarkPackWeights(b *testing.B) {
	for name, p := range benchProblems {
		if s, _ := p.Resolve(); (directAlgo{}).Supports(s, PassForward) != nil {
			continue
		}
		b.Run(name, func(b *testing.B) {
			pl, err := NewPlan(p, Options{Threads: 1, Algorithm: "direct", Passes: PassSet(PassForward)})
			if err != nil {
				b.Fatal(err)
			}
			w := randF32(rand.New(rand.NewPCG(1, 2)), pl.Shape().WLen)
			for b.Loop() {
				pl.PackWeights(w)
			}
			b.ReportMetric(float64(len(w))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gfloat/s")
		})
	}
}

// benchPass times one pass of algo's plan on GOMAXPROCS threads (go test
// -cpu 1,2 sets them) on the problems it supports; GFLOPS count the
// forward FLOPs, as the reports do.
func benchPass(b *testing.B, algo string, pass Pass) {
	for name, p := range benchProblems {
		a, err := Lookup(algo)
		if err != nil {
			b.Fatal(err)
		}
		if s, _ := p.Resolve(); a.Supports(s, pass) != nil {
			continue
		}
		b.Run(name, func(b *testing.B) {
			pl, err := NewPlan(p, Options{Threads: runtime.GOMAXPROCS(0), Algorithm: algo, Passes: PassSet(pass)})
			if err != nil {
				b.Fatal(err)
			}
			s := pl.Shape()
			r := rand.New(rand.NewPCG(1, 2))
			x, w, bias, dy := randF32(r, s.XLen), randF32(r, s.WLen), randF32(r, s.K), randF32(r, s.YLen)
			y := make([]float32, s.YLen)
			pl.PackWeights(w)
			b.ReportAllocs()
			for b.Loop() {
				switch pass {
				case PassForward:
					pl.Forward(y, x, nil, bias, nil)
				case PassBackwardData:
					pl.BackwardData(x, dy, w)
				default:
					pl.BackwardFilter(w, bias, x, dy, false)
				}
			}
			b.ReportMetric(s.FLOPs()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}
