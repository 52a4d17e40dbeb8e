package lenet

import (
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strconv"

	"github.com/convkit/convkit/layers"
	"github.com/convkit/convkit/safetensors"
)

// optPrefix names the optimizer's tensors in a checkpoint, apart from the
// state dict that PyTorch's load_state_dict reads.
const optPrefix = "opt."

// Save writes a checkpoint: the network's state dict under PyTorch's
// names, the optimizer's momentum buffers, and in the metadata the
// epochs done, the optimizer's step count and the shuffling RNG's state,
// so that Load resumes training where it stopped.
func (t *Trainer) Save(w io.Writer) error {
	extra := map[string]safetensors.Tensor{}
	for _, b := range t.Opt.State() {
		extra[optPrefix+b.Name] = safetensors.FromFloat32(b.Value.Data, b.Value.Shape...)
	}
	rng, err := t.src.MarshalBinary()
	if err != nil {
		return err
	}
	meta := map[string]string{
		"format":    "pt",
		"epoch":     strconv.Itoa(t.Epoch),
		"opt_steps": strconv.Itoa(t.Opt.Steps()),
		"rng":       hex.EncodeToString(rng),
	}
	return layers.SaveState(w, t.Net, extra, meta)
}

// Load reads a checkpoint that Save wrote (or a PyTorch state dict, which
// starts training afresh from its weights).
func (t *Trainer) Load(r io.Reader) error {
	f, err := layers.LoadState(r, t.Net)
	if err != nil {
		return err
	}
	for _, b := range t.Opt.State() {
		st, ok := f.Tensors[optPrefix+b.Name]
		if !ok {
			continue
		}
		if err := st.Float32(b.Value.Data); err != nil {
			return fmt.Errorf("lenet: %s%s: %v", optPrefix, b.Name, err)
		}
	}
	if e, ok := f.Metadata["epoch"]; ok {
		if t.Epoch, err = strconv.Atoi(e); err != nil {
			return fmt.Errorf("lenet: checkpoint epoch %q: %v", e, err)
		}
	}
	if s, ok := f.Metadata["opt_steps"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("lenet: checkpoint opt_steps %q: %v", s, err)
		}
		t.Opt.SetSteps(n)
	}
	if h, ok := f.Metadata["rng"]; ok {
		b, err := hex.DecodeString(h)
		if err == nil {
			err = t.src.UnmarshalBinary(b)
		}
		if err != nil {
			return fmt.Errorf("lenet: checkpoint rng: %v", err)
		}
	}
	return nil
}

// WriteFilters draws the first layer's filters as a PNG: one gray tile
// per filter, scale pixels a weight, black at the most negative weight
// and white at the most positive, on a mid-gray ground.
func (t *Trainer) WriteFilters(w io.Writer, scale int) error {
	c, ok := t.Net.Layers[0].(*layers.Conv)
	if !ok {
		return fmt.Errorf("lenet: the first layer is %T, not a convolution", t.Net.Layers[0])
	}
	ws := c.Weight.Value
	k, kh, kw := ws.Shape[0], ws.Shape[len(ws.Shape)-2], ws.Shape[len(ws.Shape)-1]
	per := len(ws.Data) / k // the first input channel of each filter is drawn
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range ws.Data {
		lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
	}
	gap := max(scale/2, 1)
	img := image.NewGray(image.Rect(0, 0, k*(kw*scale+gap)+gap, kh*scale+2*gap))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	for f := 0; f < k; f++ {
		x0 := gap + f*(kw*scale+gap)
		for y := 0; y < kh; y++ {
			for x := 0; x < kw; x++ {
				v := (float64(ws.Data[f*per+y*kw+x]) - lo) / math.Max(hi-lo, 1e-12)
				g := color.Gray{Y: uint8(math.Round(255 * v))}
				for dy := 0; dy < scale; dy++ {
					for dx := 0; dx < scale; dx++ {
						img.SetGray(x0+x*scale+dx, gap+y*scale+dy, g)
					}
				}
			}
		}
	}
	return png.Encode(w, img)
}
