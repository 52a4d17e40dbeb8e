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
// torch's load_state_dict requires; nothing is copied unless all are.
// Tensors the network does not name are left to the caller in the
// returned file (an optimizer's state; PyTorch's num_batches_tracked).
func LoadState(r io.Reader, net Network) (*safetensors.File, error) {
	f, err := safetensors.Read(r)
	if err != nil {
		return nil, err
	}
	type target struct {
		name string
		t    *Tensor
	}
	var all []target
	for _, p := range net.Params() {
		all = append(all, target{p.Name, p.Value})
	}
	for _, b := range net.Buffers() {
		all = append(all, target{b.Name, b.Value})
	}
	for _, tg := range all {
		st, ok := f.Tensors[tg.name]
		switch {
		case !ok:
			return nil, fmt.Errorf("layers: the file has no tensor %q", tg.name)
		case !sameDims(st.Shape, tg.t.Shape):
			return nil, fmt.Errorf("layers: tensor %q has shape %v in the file, %v in the network", tg.name, st.Shape, tg.t.Shape)
		case st.DType != safetensors.F32 && st.DType != safetensors.F64:
			return nil, fmt.Errorf("layers: tensor %q is %s; want F32 or F64", tg.name, st.DType)
		}
	}
	for _, tg := range all {
		if err := f.Tensors[tg.name].Float32(tg.t.Data); err != nil {
			return nil, err
		}
	}
	return f, nil
}
