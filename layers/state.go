package layers

import (
	"fmt"
	"io"

	"github.com/convkit/convkit/safetensors"
)

// Stateful networks expose their parameters and buffers under PyTorch's
// state_dict names (Sequential does).
type Network interface {
	Layer
	Stateful
}

// StateTensors returns the network's state dict as safetensors tensors:
// every parameter and buffer under its name (copies, so the network may
// go on training while they are written).
func StateTensors(net Network) map[string]safetensors.Tensor {
	out := map[string]safetensors.Tensor{}
	for _, p := range net.Params() {
		out[p.Name] = safetensors.FromFloat32(p.Value.Data, p.Value.Shape...)
	}
	for _, b := range net.Buffers() {
		out[b.Name] = safetensors.FromFloat32(b.Value.Data, b.Value.Shape...)
	}
	return out
}

// SaveState writes the network's state dict, the extra tensors (an
// optimizer's state, say) and the metadata as one safetensors file.
func SaveState(w io.Writer, net Network, extra map[string]safetensors.Tensor, meta map[string]string) error {
	ts := StateTensors(net)
	for name, t := range extra {
		if _, dup := ts[name]; dup {
			return fmt.Errorf("layers: extra tensor %q has a parameter's name", name)
		}
		ts[name] = t
	}
	return safetensors.Write(w, ts, meta)
}

// LoadState reads a safetensors file into the network: every parameter
// and buffer must be there with its shape (float32 or float64 data), as
// torch's load_state_dict(strict=True) requires; tensors the network does
// not name are left to the caller in the returned file (an optimizer's
// state; PyTorch's num_batches_tracked).
func LoadState(r io.Reader, net Network) (*safetensors.File, error) {
	f, err := safetensors.Read(r)
	if err != nil {
		return nil, err
	}
	load := func(name string, t *Tensor) error {
		st, ok := f.Tensors[name]
		if !ok {
			return fmt.Errorf("layers: the file has no tensor %q", name)
		}
		if !sameDims(st.Shape, t.Shape) {
			return fmt.Errorf("layers: tensor %q has shape %v in the file, %v in the network", name, st.Shape, t.Shape)
		}
		return st.Float32(t.Data)
	}
	for _, p := range net.Params() {
		if err := load(p.Name, p.Value); err != nil {
			return nil, err
		}
	}
	for _, b := range net.Buffers() {
		if err := load(b.Name, b.Value); err != nil {
			return nil, err
		}
	}
	return f, nil
}
