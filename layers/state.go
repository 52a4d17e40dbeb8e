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
		if b.Count != nil {
			out[b.Name] = safetensors.FromInt64([]int64{*b.Count}) // 0-dim, as torch saves it
			continue
		}
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
// Counters (num_batches_tracked) are read where the file has them, as a
// single integer, and left as they are where it does not (files written
// before convkit kept them). Tensors the network does not name are left
// to the caller in the returned file (an optimizer's state).
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
	counts := map[*int64]int64{}
	for _, p := range net.Params() {
		all = append(all, target{p.Name, p.Value})
	}
	for _, b := range net.Buffers() {
		if b.Count == nil {
			all = append(all, target{b.Name, b.Value})
			continue
		}
		if st, ok := f.Tensors[b.Name]; ok {
			v, err := st.Int64()
			if err != nil || len(v) != 1 {
				return nil, fmt.Errorf("layers: counter %q must be one integer; the file has %s of shape %v", b.Name, st.DType, st.Shape)
			}
			counts[b.Count] = v[0]
		}
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
	for c, v := range counts {
		*c = v
	}
	return f, nil
}
