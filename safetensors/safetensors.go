// Package safetensors reads and writes the safetensors format
// (github.com/huggingface/safetensors): an 8-byte little-endian header
// length, a JSON header naming each tensor's dtype, shape and byte range,
// then the raw little-endian tensor bytes. PyTorch, JAX and the Hugging
// Face tools read and write it; convkit keeps its weights in it so that
// they move both ways with PyTorch.
//
// Read validates what the format's reference implementation does: a
// header that fits the file, known dtypes, ranges that match their shapes
// and tile the data without gaps or overlaps.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
)

// The dtypes this package reads and writes, as the header spells them.
const (
	F32 = "F32"
	F64 = "F64"
	I64 = "I64"
	I32 = "I32"
)

var dtypeSize = map[string]int{F32: 4, F64: 8, I64: 8, I32: 4}

// maxHeader bounds the header length a reader accepts (the reference
// implementation's limit, 100 MB), so a corrupt length cannot make it
// allocate without bound.
const maxHeader = 100_000_000

// Tensor is one named tensor: its dtype, shape and raw little-endian bytes.
type Tensor struct {
	DType string
	Shape []int
	Data  []byte
}

// FromFloat32 returns a F32 tensor of that shape holding v.
func FromFloat32(v []float32, shape ...int) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Tensor{DType: F32, Shape: append([]int(nil), shape...), Data: b}
}

// FromInt64 returns an I64 tensor of that shape holding v.
func FromInt64(v []int64, shape ...int) Tensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return Tensor{DType: I64, Shape: append([]int(nil), shape...), Data: b}
}

// Len is the tensor's element count (1 for a scalar), -1 for a negative
// dim or a count that overflows int.
func (t Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt/d) {
			return -1
		}
		n *= d
	}
	return n
}

// check reports whether the data holds exactly the shape's elements of
// the dtype.
func (t Tensor) check() error {
	size, ok := dtypeSize[t.DType]
	if !ok {
		return fmt.Errorf("safetensors: dtype %q", t.DType)
	}
	n := t.Len()
	if n < 0 || n > math.MaxInt/size || n*size != len(t.Data) {
		return fmt.Errorf("safetensors: shape %v of %s does not fit %d bytes", t.Shape, t.DType, len(t.Data))
	}
	return nil
}

// Float32 decodes a F32 or F64 tensor into dst, which must hold Len
// elements (F64 is rounded).
func (t Tensor) Float32(dst []float32) error {
	if err := t.check(); err != nil {
		return err
	}
	if len(dst) != t.Len() {
		return fmt.Errorf("safetensors: tensor of shape %v into %d floats", t.Shape, len(dst))
	}
	switch t.DType {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:])))
		}
	default:
		return fmt.Errorf("safetensors: dtype %s is not a float", t.DType)
	}
	return nil
}

// Int64 decodes an I64 or I32 tensor.
func (t Tensor) Int64() ([]int64, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	out := make([]int64, t.Len())
	switch t.DType {
	case I64:
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(t.Data[8*i:]))
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(t.Data[4*i:])))
		}
	default:
		return nil, fmt.Errorf("safetensors: dtype %s is not an integer", t.DType)
	}
	return out, nil
}

// File is a decoded safetensors file.
type File struct {
	Metadata map[string]string
	Tensors  map[string]Tensor
}

// Names lists the tensors' names, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Tensors))
	for n := range f.Tensors {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

type entry struct {
	DType   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
}

// Write encodes the tensors (in name order) and the metadata to w.
func Write(w io.Writer, tensors map[string]Tensor, metadata map[string]string) error {
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		if n == "__metadata__" {
			return fmt.Errorf("safetensors: a tensor cannot be named __metadata__")
		}
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	off := 0
	for _, n := range names {
		t := tensors[n]
		if err := t.check(); err != nil {
			return fmt.Errorf("safetensors: tensor %s: %v", n, err)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[n] = entry{DType: t.DType, Shape: shape, Offsets: [2]int{off, off + len(t.Data)}}
		off += len(t.Data)
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(hj)%8 != 0 { // the data starts 8-byte aligned, as the reference writes it
		hj = append(hj, ' ')
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(hj)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(hj); err != nil {
		return err
	}
	for _, name := range names {
		if _, err := w.Write(tensors[name].Data); err != nil {
			return err
		}
	}
	return nil
}

// Read decodes a whole safetensors stream.
func Read(r io.Reader) (*File, error) {
	var n [8]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, fmt.Errorf("safetensors: reading the header length: %v", err)
	}
	hlen := binary.LittleEndian.Uint64(n[:])
	if hlen > maxHeader {
		return nil, fmt.Errorf("safetensors: header of %d bytes (at most %d)", hlen, maxHeader)
	}
	hj := make([]byte, hlen)
	if _, err := io.ReadFull(r, hj); err != nil {
		return nil, fmt.Errorf("safetensors: reading the %d-byte header: %v", hlen, err)
	}
	var raw map[string]json.RawMessage
	if t := bytes.TrimLeft(hj, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, fmt.Errorf("safetensors: the header is not a JSON object")
	}
	if err := json.Unmarshal(hj, &raw); err != nil { // trailing bytes are an error, as the reference's
		return nil, fmt.Errorf("safetensors: header: %v", err)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("safetensors: reading the data: %v", err)
	}
	f := &File{Tensors: map[string]Tensor{}}
	type span struct {
		name       string
		begin, end int
	}
	var spans []span
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, fmt.Errorf("safetensors: __metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		var e entry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("safetensors: tensor %s: %v", name, err)
		}
		size, ok := dtypeSize[e.DType]
		if !ok {
			return nil, fmt.Errorf("safetensors: tensor %s: dtype %q is not read (F32, F64, I64, I32 are)", name, e.DType)
		}
		count := 1
		for _, dim := range e.Shape {
			if dim < 0 || (dim > 0 && count > math.MaxInt/size/dim) {
				return nil, fmt.Errorf("safetensors: tensor %s: shape %v", name, e.Shape)
			}
			count *= dim
		}
		b, end := e.Offsets[0], e.Offsets[1]
		if b < 0 || end < b || end > len(data) || end-b != count*size {
			return nil, fmt.Errorf("safetensors: tensor %s: bytes [%d, %d) for %s %v in %d bytes of data", name, b, end, e.DType, e.Shape, len(data))
		}
		f.Tensors[name] = Tensor{DType: e.DType, Shape: e.Shape, Data: data[b:end:end]}
		spans = append(spans, span{name, b, end})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].begin < spans[j].begin })
	at := 0
	for _, s := range spans {
		if s.begin != at {
			return nil, fmt.Errorf("safetensors: tensor %s starts at byte %d, the previous tensor ends at %d: gaps and overlaps are invalid", s.name, s.begin, at)
		}
		at = s.end
	}
	if at != len(data) {
		return nil, fmt.Errorf("safetensors: %d bytes of data after the last tensor", len(data)-at)
	}
	return f, nil
}
