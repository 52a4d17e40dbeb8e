// Command unet trains a small U-Net (two levels: convolutions, max
// pooling, transposed-convolution upsampling and concatenated skips) on a
// synthetic segmentation task it generates: discs and squares on noise,
// each pixel labelled background, disc or square. It reports the mean
// intersection-over-union on held-out images and writes a PNG of inputs,
// targets and predictions.
//
//	go run ./examples/unet [-epochs 12] [-train 2000] [-png unet.png] [-blocked]
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"time"

	"github.com/convkit/convkit/conv"
	"github.com/convkit/convkit/layers"
)

const side = 32 // image height and width

func main() {
	epochs := flag.Int("epochs", 12, "training epochs")
	nTrain := flag.Int("train", 2000, "training images")
	nTest := flag.Int("test", 200, "held-out images")
	batch := flag.Int("batch", 16, "batch size")
	out := flag.String("png", "unet.png", "where to write inputs, targets and predictions")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the training to this file")
	blocked := flag.Bool("blocked", false, "keep the activations in the direct kernels' channel blocks between layers (Sequential.SetBlocked)")
	flag.Parse()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	train, test := newShapes(rng, *nTrain), newShapes(rng, *nTest)
	net := unet()
	net.Reset(3)
	net.SetBlocked(*blocked)
	opt, err := layers.NewAdam(net.Params(), layers.AdamConfig{LR: 3e-3})
	check(err)
	sched := layers.CosineLR(3e-3, 1e-4, *epochs)
	loss := layers.NewCrossEntropy(layers.Mean)
	for ep := 0; ep < *epochs; ep++ {
		opt.SetLR(sched(ep))
		start, sum, steps := time.Now(), 0.0, 0
		for _, idx := range batches(rng, train.n, *batch) {
			x, target := train.batch(idx)
			y, err := net.Forward(x)
			check(err)
			l, err := loss.Forward(y, target)
			check(err)
			g, _ := loss.Backward(1)
			_, err = net.Backward(g, false)
			check(err)
			opt.Step()
			sum, steps = sum+l, steps+1
		}
		iou := meanIoU(net, test)
		fmt.Printf("epoch %d: train %.1f s, loss %.4f, held-out mean IoU %.3f\n", ep+1, time.Since(start).Seconds(), sum/float64(steps), iou)
	}
	check(writePNG(*out, net, test, 6))
	fmt.Println("wrote", *out)
}

// convReLU is a 3x3 convolution keeping the size, then ReLU.
func convReLU(in, out int) []layers.Layer {
	c, err := layers.NewConv(layers.ConvConfig{In: in, Out: out, Kernel: []int{3, 3}, Padding: conv.Pad(1, 1)})
	check(err)
	return []layers.Layer{c, layers.NewReLU()}
}

// up is a 2x2 stride-2 transposed convolution: twice the size.
func up(in, out int) layers.Layer {
	c, err := layers.NewConv(layers.ConvConfig{In: in, Out: out, Kernel: []int{2, 2}, Stride: []int{2, 2}, Transposed: true})
	check(err)
	return c
}

func pool() layers.Layer {
	p, err := layers.NewMaxPool(layers.PoolConfig{Kernel: []int{2, 2}})
	check(err)
	return p
}

// seq joins layers and lists of them into a Sequential.
func seq(parts ...any) *layers.Sequential {
	var ls []layers.Layer
	for _, p := range parts {
		switch v := p.(type) {
		case layers.Layer:
			ls = append(ls, v)
		case []layers.Layer:
			ls = append(ls, v...)
		}
	}
	return layers.NewSequential(ls...)
}

// unet is two levels of encoder and decoder around a bottleneck: each
// level's encoder output goes both down (pooled) and, concatenated, to
// its decoder beside what comes back up.
func unet() *layers.Sequential {
	bottom := seq(pool(), convReLU(16, 32), convReLU(32, 32), up(32, 16))
	level2 := seq(pool(), convReLU(8, 16), convReLU(16, 16), layers.NewConcat(bottom), convReLU(32, 16), convReLU(16, 16), up(16, 8))
	head, err := layers.NewConv(layers.ConvConfig{In: 8, Out: 3, Kernel: []int{1, 1}})
	check(err)
	return seq(convReLU(1, 8), convReLU(8, 8), layers.NewConcat(level2), convReLU(16, 8), convReLU(8, 8), head)
}

// shapes is a synthetic segmentation set: images of discs and squares on
// noise and their per-pixel labels (0 background, 1 disc, 2 square).
type shapes struct {
	n      int
	images []float32
	labels []int
}

func newShapes(rng *rand.Rand, n int) *shapes {
	s := &shapes{n: n, images: make([]float32, n*side*side), labels: make([]int, n*side*side)}
	for i := 0; i < n; i++ {
		img, lab := s.images[i*side*side:][:side*side], s.labels[i*side*side:][:side*side]
		for p := range img {
			img[p] = float32(rng.NormFloat64() * 0.4)
		}
		for k := 0; k < 1+rng.IntN(3); k++ {
			class := 1 + rng.IntN(2)
			cy, cx, r := 4+rng.IntN(side-8), 4+rng.IntN(side-8), 3+rng.IntN(4)
			for y := max(cy-r, 0); y < min(cy+r+1, side); y++ {
				for x := max(cx-r, 0); x < min(cx+r+1, side); x++ {
					if class == 1 && (y-cy)*(y-cy)+(x-cx)*(x-cx) > r*r {
						continue
					}
					img[y*side+x] += 1
					lab[y*side+x] = class
				}
			}
		}
	}
	return s
}

// batch gathers images idx into a tensor and their labels.
func (s *shapes) batch(idx []int) (*layers.Tensor, []int) {
	x := layers.NewTensor(len(idx), 1, side, side)
	target := make([]int, 0, len(idx)*side*side)
	for i, j := range idx {
		copy(x.Data[i*side*side:], s.images[j*side*side:(j+1)*side*side])
		target = append(target, s.labels[j*side*side:(j+1)*side*side]...)
	}
	return x, target
}

// batches is a shuffled split of [0, n) into batches.
func batches(rng *rand.Rand, n, size int) [][]int {
	perm := rng.Perm(n)
	var out [][]int
	for at := 0; at < n; at += size {
		out = append(out, perm[at:min(at+size, n)])
	}
	return out
}

// predict labels every pixel of images idx.
func predict(net *layers.Sequential, s *shapes, idx []int) []int {
	net.SetTraining(false)
	defer net.SetTraining(true)
	x, _ := s.batch(idx)
	y, err := net.Forward(x)
	check(err)
	pred := make([]int, len(idx)*side*side)
	layers.Argmax(pred, y)
	return pred
}

// meanIoU is the intersection over union of each class, averaged over
// the classes, on the whole set.
func meanIoU(net *layers.Sequential, s *shapes) float64 {
	var inter, union [3]int
	for at := 0; at < s.n; at += 50 {
		var idx []int
		for i := at; i < min(at+50, s.n); i++ {
			idx = append(idx, i)
		}
		pred := predict(net, s, idx)
		for p, c := range pred {
			t := s.labels[at*side*side+p]
			if c == t {
				inter[c]++
				union[c]++
			} else {
				union[c]++
				union[t]++
			}
		}
	}
	var sum float64
	for c := range inter {
		sum += float64(inter[c]) / float64(max(union[c], 1))
	}
	return sum / 3
}

// writePNG draws n held-out images in rows: input, target, prediction.
func writePNG(path string, net *layers.Sequential, s *shapes, n int) error {
	const scale = 4
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	pred := predict(net, s, idx)
	img := image.NewRGBA(image.Rect(0, 0, 3*side*scale+4*scale, n*(side*scale+scale)+scale))
	palette := []color.RGBA{{20, 20, 20, 255}, {230, 80, 60, 255}, {60, 140, 230, 255}}
	for i := 0; i < n; i++ {
		for y := 0; y < side; y++ {
			for x := 0; x < side; x++ {
				p := i*side*side + y*side + x
				v := min(max((s.images[p]+1)/3, 0), 1)
				cells := []color.RGBA{{uint8(255 * v), uint8(255 * v), uint8(255 * v), 255}, palette[s.labels[p]], palette[pred[p]]}
				for k, c := range cells {
					x0, y0 := scale+k*(side*scale+scale)+x*scale, scale+i*(side*scale+scale)+y*scale
					for dy := 0; dy < scale; dy++ {
						for dx := 0; dx < scale; dx++ {
							img.SetRGBA(x0+dx, y0+dy, c)
						}
					}
				}
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
