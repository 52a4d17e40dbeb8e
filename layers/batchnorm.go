package layers

import (
	"math"
	"math/rand/v2"

	"github.com/convkit/convkit/internal/shape"
)

// BatchNormConfig is torch.nn.BatchNorm{1,2,3}d's configuration.
type BatchNormConfig struct {
	Features int     // C
	Eps      float64 // 0: 1e-5
	// Momentum is the running update's weight of the batch, r = (1-m)·r
	// + m·stat: 0 means PyTorch's 0.1, Zero an exact 0.
	Momentum float64
	// Cumulative makes the running statistics plain averages over every
	// batch seen (PyTorch's momentum=None: m = 1/num_batches_tracked).
	Cumulative bool
	// NoAffine drops the learnable scale and shift (PyTorch's affine=False).
	NoAffine bool
	// NoRunningStats makes evaluation use the batch's statistics too
	// (track_running_stats=False).
	NoRunningStats bool
}

// BatchNorm normalizes each channel of (N, C, ...) by its mean and
// variance over the batch and positions (training) or by running
// estimates (evaluation), then scales and shifts it. The running variance
// is updated with the unbiased batch variance, the normalization uses the
// biased one, as in PyTorch. Statistics are summed in float64.
type BatchNorm struct {
	cfg                     BatchNormConfig
	Weight, Bias            *Param // nil with NoAffine
	RunningMean, RunningVar *Tensor
	// BatchesTracked counts the training batches that updated the running
	// statistics (PyTorch's num_batches_tracked).
	BatchesTracked int64
	training       bool
	usedBatch      bool // the last Forward normalized by the batch's statistics

	x            *Tensor
	mean, invStd []float64 // of the last Forward, per channel
	variance     []float64
	scale, shift []float32 // the last Forward's y = x*scale + shift, per channel
	// Backward's, per channel: the sums of dy and dy·x̂, and dx's
	// coefficients (dx = k·(dy - meanDy - x̂·meanDyXhat)).
	sumDy, sumDyXhat, k, meanDy, meanDyXhat []float64
	out, dx                                 buffers
}

// NewBatchNorm validates cfg and returns the layer in training mode with
// weight 1, bias 0, running mean 0 and running variance 1.
func NewBatchNorm(cfg BatchNormConfig) (*BatchNorm, error) {
	op := shape.Op("batch_norm")
	if cfg.Features < 1 {
		return nil, op.Errorf("Features", "Features = %d must be >= 1", cfg.Features)
	}
	if cfg.Eps == 0 {
		cfg.Eps = 1e-5
	}
	if cfg.Eps < 0 || cfg.Momentum < 0 && cfg.Momentum != Zero || cfg.Momentum > 1 {
		return nil, op.Errorf("Momentum", "Eps = %g must be > 0 and Momentum = %g in (0, 1] (or Zero)", cfg.Eps, cfg.Momentum)
	}
	cfg.Momentum = orDefault(cfg.Momentum, 0.1)
	c := cfg.Features
	b := &BatchNorm{cfg: cfg, training: true, mean: make([]float64, c), invStd: make([]float64, c), variance: make([]float64, c),
		scale: make([]float32, c), shift: make([]float32, c), sumDy: make([]float64, c), sumDyXhat: make([]float64, c),
		k: make([]float64, c), meanDy: make([]float64, c), meanDyXhat: make([]float64, c)}
	if !cfg.NoAffine {
		b.Weight, b.Bias = newParam("weight", c), newParam("bias", c)
		for i := range b.Weight.Value.Data {
			b.Weight.Value.Data[i] = 1
		}
	}
	if !cfg.NoRunningStats {
		b.RunningMean, b.RunningVar = NewTensor(c), NewTensor(c)
		for i := range b.RunningVar.Data {
			b.RunningVar.Data[i] = 1
		}
	}
	return b, nil
}

// Reset sets the scale to 1, the shift to 0 and the running statistics to
// mean 0, variance 1, as a new layer has them (rng is not used: PyTorch's
// batch norm has no random initialization).
func (b *BatchNorm) Reset(*rand.Rand) {
	if b.Weight != nil {
		for i := range b.Weight.Value.Data {
			b.Weight.Value.Data[i], b.Bias.Value.Data[i] = 1, 0
		}
	}
	if b.RunningMean != nil {
		for i := range b.RunningMean.Data {
			b.RunningMean.Data[i], b.RunningVar.Data[i] = 0, 1
		}
		b.BatchesTracked = 0
	}
}

// SetTraining switches between batch statistics (true) and the running
// ones (false).
func (b *BatchNorm) SetTraining(training bool) { b.training = training }

// Params returns the scale and shift (none with NoAffine).
func (b *BatchNorm) Params() []*Param {
	if b.Weight == nil {
		return nil
	}
	return []*Param{b.Weight, b.Bias}
}

// Buffers returns the running statistics and the batch count, under
// PyTorch's names.
func (b *BatchNorm) Buffers() []*Buffer {
	if b.RunningMean == nil {
		return nil
	}
	return []*Buffer{{Name: "running_mean", Value: b.RunningMean}, {Name: "running_var", Value: b.RunningVar},
		{Name: "num_batches_tracked", Count: &b.BatchesTracked}}
}

// batchStats says whether this pass normalizes by the batch's statistics.
func (b *BatchNorm) batchStats() bool { return b.training || b.RunningMean == nil }

// geometry checks x and returns N, C and the positions per plane.
func (b *BatchNorm) geometry(x *Tensor) (n, c, s int, err error) {
	if err := checkTensor("batch_norm", "x", x); err != nil {
		return 0, 0, 0, err
	}
	if len(x.Shape) < 2 || x.Shape[1] != b.cfg.Features {
		return 0, 0, 0, shape.Op("batch_norm").Errorf("x", "x has shape %v; want (N, %d, ...)", x.Shape, b.cfg.Features)
	}
	n, c = x.Shape[0], x.Shape[1]
	return n, c, spatialOf(x.Shape), nil
}

// Forward normalizes x, updating the running statistics in training.
func (b *BatchNorm) Forward(x *Tensor) (*Tensor, error) {
	n, c, s, err := b.geometry(x)
	if err != nil {
		return nil, err
	}
	m := n * s
	if b.batchStats() && m < 2 && b.training {
		return nil, shape.Op("batch_norm").Errorf("x", "x has shape %v: training needs more than one value per channel", x.Shape)
	}
	y := b.out.like(x)
	b.x, b.usedBatch = x, b.batchStats()
	mom := b.cfg.Momentum
	if b.training && b.RunningMean != nil {
		b.BatchesTracked++
		if b.cfg.Cumulative {
			mom = 1 / float64(b.BatchesTracked)
		}
	}
	if b.batchStats() {
		if x.Lanes > 0 {
			blockStats(x, n, c, s, b.mean, b.variance)
		} else {
			for ch := 0; ch < c; ch++ {
				b.mean[ch], b.variance[ch] = channelStats(x, n, c, s, ch)
			}
		}
	}
	for ch := 0; ch < c; ch++ {
		mean, v := b.mean[ch], b.variance[ch]
		switch {
		case b.batchStats() && b.training && b.RunningMean != nil:
			unbiased := v * float64(m) / float64(m-1)
			b.RunningMean.Data[ch] = float32((1-mom)*float64(b.RunningMean.Data[ch]) + mom*mean)
			b.RunningVar.Data[ch] = float32((1-mom)*float64(b.RunningVar.Data[ch]) + mom*unbiased)
		case !b.batchStats():
			mean, v = float64(b.RunningMean.Data[ch]), float64(b.RunningVar.Data[ch])
		}
		inv := 1 / math.Sqrt(v+b.cfg.Eps)
		b.mean[ch], b.invStd[ch], b.variance[ch] = mean, inv, v
		scale, shift := inv, -mean*inv
		if b.Weight != nil {
			g, beta := float64(b.Weight.Value.Data[ch]), float64(b.Bias.Value.Data[ch])
			scale, shift = g*inv, beta-g*mean*inv
		}
		b.scale[ch], b.shift[ch] = float32(scale), float32(shift)
	}
	if x.Lanes > 0 {
		affineBlocked(y, x, n, c, s, b.scale, b.shift)
		return y, nil
	}
	for ch := 0; ch < c; ch++ {
		sc, sh := b.scale[ch], b.shift[ch]
		for i := 0; i < n; i++ {
			at := (i*c + ch) * s
			yp, xp := y.Data[at:at+s], x.Data[at:at+s]
			for j, v := range xp {
				yp[j] = v*sc + sh
			}
		}
	}
	return y, nil
}

// blockStats is channelStats of every channel of a blocked x at once:
// per block, the lanes summed over the images and positions in the
// order channelStats sums one channel.
func blockStats(x *Tensor, n, c, s int, mean, variance []float64) {
	L := x.Lanes
	cb := (c + L - 1) / L
	var sum, sq [16]float64
	for blk := 0; blk < cb; blk++ {
		nl := min(L, c-blk*L)
		clear(sum[:])
		for i := 0; i < n; i++ {
			plane := x.Data[(i*cb+blk)*s*L:][:s*L]
			for p := 0; p < len(plane); p += L {
				for l, v := range plane[p : p+nl] {
					sum[l] += float64(v)
				}
			}
		}
		for l := 0; l < nl; l++ {
			mean[blk*L+l] = sum[l] / float64(n*s)
		}
		m := mean[blk*L:][:nl]
		clear(sq[:])
		for i := 0; i < n; i++ {
			plane := x.Data[(i*cb+blk)*s*L:][:s*L]
			for p := 0; p < len(plane); p += L {
				for l, v := range plane[p : p+nl] {
					d := float64(v) - m[l]
					sq[l] += d * d
				}
			}
		}
		for l := 0; l < nl; l++ {
			variance[blk*L+l] = sq[l] / float64(n*s)
		}
	}
}

// affineBlocked is y = x*scale + shift per channel of a blocked x (the
// padding lanes stay zero).
func affineBlocked(y, x *Tensor, n, c, s int, scale, shift []float32) {
	L := x.Lanes
	cb := (c + L - 1) / L
	var sc, sh [16]float32
	for blk := 0; blk < cb; blk++ {
		nl := min(L, c-blk*L)
		copy(sc[:nl], scale[blk*L:])
		copy(sh[:nl], shift[blk*L:])
		for i := 0; i < n; i++ {
			at := (i*cb + blk) * s * L
			xp, yp := x.Data[at:at+s*L], y.Data[at:at+s*L]
			for p := 0; p < len(xp); p += L {
				xv, yv := xp[p:p+L], yp[p:p+L]
				for l := 0; l < nl; l++ {
					yv[l] = xv[l]*sc[l] + sh[l]
				}
			}
		}
	}
}

// channelStats returns channel ch's mean and biased variance, in two
// passes (the second around the mean, which keeps the variance accurate).
func channelStats(x *Tensor, n, c, s, ch int) (mean, variance float64) {
	var sum float64
	for i := 0; i < n; i++ {
		for _, v := range x.Data[(i*c+ch)*s:][:s] {
			sum += float64(v)
		}
	}
	mean = sum / float64(n*s)
	var sq float64
	for i := 0; i < n; i++ {
		for _, v := range x.Data[(i*c+ch)*s:][:s] {
			d := float64(v) - mean
			sq += d * d
		}
	}
	return mean, sq / float64(n*s)
}

// Backward computes the gradients of the scale and shift and, when needDX,
// of x: through the batch statistics in training, through the fixed
// running ones in evaluation.
func (b *BatchNorm) Backward(dy *Tensor, needDX bool) (*Tensor, error) {
	if b.x == nil {
		return nil, shape.Op("batch_norm").Errorf("dy", "Backward before Forward")
	}
	if err := checkGrad("batch_norm", dy, b.x.Shape, b.x.Lanes); err != nil {
		return nil, err
	}
	n, c, s, _ := b.geometry(b.x)
	m := float64(n * s)
	var dx *Tensor
	if needDX {
		dx = b.dx.like(b.x)
	}
	if dy.Lanes > 0 {
		blockGradSums(b.x, dy, n, c, s, b.mean, b.invStd, b.sumDy, b.sumDyXhat)
	} else {
		for ch := 0; ch < c; ch++ {
			mean, inv := b.mean[ch], b.invStd[ch]
			var sumDy, sumDyXhat float64
			for i := 0; i < n; i++ {
				at := (i*c + ch) * s
				xp, gp := b.x.Data[at:at+s], dy.Data[at:at+s]
				for j, g := range gp {
					sumDy += float64(g)
					sumDyXhat += float64(g) * (float64(xp[j]) - mean) * inv
				}
			}
			b.sumDy[ch], b.sumDyXhat[ch] = sumDy, sumDyXhat
		}
	}
	for ch := 0; ch < c; ch++ {
		gamma := 1.0
		if b.Weight != nil {
			gamma = float64(b.Weight.Value.Data[ch])
			b.Weight.Grad.Data[ch] = float32(b.sumDyXhat[ch])
			b.Bias.Grad.Data[ch] = float32(b.sumDy[ch])
		}
		// Training: dx = γ·inv·(dy - mean(dy) - x̂·mean(dy·x̂));
		// evaluation: the statistics are constants, dx = γ·inv·dy.
		b.k[ch], b.meanDy[ch], b.meanDyXhat[ch] = gamma*b.invStd[ch], 0, 0
		if b.usedBatch {
			b.meanDy[ch], b.meanDyXhat[ch] = b.sumDy[ch]/m, b.sumDyXhat[ch]/m
		}
	}
	if dx == nil {
		return nil, nil
	}
	if dy.Lanes > 0 {
		b.blockInputGrad(dx, dy, n, c, s)
		return dx, nil
	}
	for ch := 0; ch < c; ch++ {
		mean, inv, k, a, bb := b.mean[ch], b.invStd[ch], b.k[ch], b.meanDy[ch], b.meanDyXhat[ch]
		for i := 0; i < n; i++ {
			at := (i*c + ch) * s
			xp, gp, dp := b.x.Data[at:at+s], dy.Data[at:at+s], dx.Data[at:at+s]
			for j, g := range gp {
				xhat := (float64(xp[j]) - mean) * inv
				dp[j] = float32(k * (float64(g) - a - xhat*bb))
			}
		}
	}
	return dx, nil
}

// blockGradSums is Backward's sums of dy and dy·x̂ per channel of blocked
// tensors, all lanes of a block at once, each in the order of the
// row-major sweep.
func blockGradSums(x, dy *Tensor, n, c, s int, mean, invStd, sumDy, sumDyXhat []float64) {
	L := dy.Lanes
	cb := (c + L - 1) / L
	var sg, sgx [16]float64
	for blk := 0; blk < cb; blk++ {
		nl := min(L, c-blk*L)
		m, inv := mean[blk*L:][:nl], invStd[blk*L:][:nl]
		clear(sg[:])
		clear(sgx[:])
		for i := 0; i < n; i++ {
			at := (i*cb + blk) * s * L
			xp, gp := x.Data[at:at+s*L], dy.Data[at:at+s*L]
			for p := 0; p < len(gp); p += L {
				xv := xp[p : p+nl]
				for l, g := range gp[p : p+nl] {
					sg[l] += float64(g)
					sgx[l] += float64(g) * (float64(xv[l]) - m[l]) * inv[l]
				}
			}
		}
		copy(sumDy[blk*L:][:nl], sg[:nl])
		copy(sumDyXhat[blk*L:][:nl], sgx[:nl])
	}
}

// blockInputGrad is Backward's dx of blocked tensors, from the
// per-channel coefficients (the padding lanes stay zero).
func (b *BatchNorm) blockInputGrad(dx, dy *Tensor, n, c, s int) {
	L := dy.Lanes
	cb := (c + L - 1) / L
	for blk := 0; blk < cb; blk++ {
		nl := min(L, c-blk*L)
		o := blk * L
		m, inv, k, a, bb := b.mean[o:][:nl], b.invStd[o:][:nl], b.k[o:][:nl], b.meanDy[o:][:nl], b.meanDyXhat[o:][:nl]
		for i := 0; i < n; i++ {
			at := (i*cb + blk) * s * L
			xp, gp, dp := b.x.Data[at:at+s*L], dy.Data[at:at+s*L], dx.Data[at:at+s*L]
			for p := 0; p < len(gp); p += L {
				xv, dv := xp[p:p+nl], dp[p:p+nl]
				for l, g := range gp[p : p+nl] {
					xhat := (float64(xv[l]) - m[l]) * inv[l]
					dv[l] = float32(k[l] * (float64(g) - a[l] - xhat*bb[l]))
				}
			}
		}
	}
}

// BatchStats returns the per-channel mean and biased variance the last
// Forward normalized by (the running ones in evaluation).
func (b *BatchNorm) BatchStats() (mean, variance []float64) {
	return append([]float64(nil), b.mean...), append([]float64(nil), b.variance...)
}
