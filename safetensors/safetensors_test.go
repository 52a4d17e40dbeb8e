package safetensors

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := map[string]Tensor{
		"conv.weight": FromFloat32([]float32{1, -2, 3.5, 0, 1e-30, 7}, 2, 3),
		"bn.count":    FromInt64([]int64{42}),
		"empty":       FromFloat32(nil, 0, 4),
	}
	var buf bytes.Buffer
	if err := Write(&buf, in, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(buf.Bytes()); n%8 != 0 {
		t.Errorf("header of %d bytes: the data must start 8-byte aligned", n)
	}
	f, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["format"] != "pt" || len(f.Tensors) != 3 {
		t.Fatalf("metadata %v, %d tensors", f.Metadata, len(f.Tensors))
	}
	w := make([]float32, 6)
	if err := f.Tensors["conv.weight"].Float32(w); err != nil {
		t.Fatal(err)
	}
	for i, v := range []float32{1, -2, 3.5, 0, 1e-30, 7} {
		if w[i] != v {
			t.Errorf("conv.weight[%d] = %v, want %v", i, w[i], v)
		}
	}
	if c, err := f.Tensors["bn.count"].Int64(); err != nil || c[0] != 42 || len(f.Tensors["bn.count"].Shape) != 0 {
		t.Errorf("bn.count = %v (shape %v), %v", c, f.Tensors["bn.count"].Shape, err)
	}
	if got := f.Names(); strings.Join(got, ",") != "bn.count,conv.weight,empty" {
		t.Errorf("names %v", got)
	}
}

// file builds a safetensors stream from a header and data, for the
// invalid cases.
func file(header string, data []byte) []byte {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	return append(append(n[:], header...), data...)
}

func TestReadInvalid(t *testing.T) {
	for _, c := range []struct {
		name, want string
		b          []byte
	}{
		{"short", "header length", []byte{1, 2}},
		{"huge header", "header of", file("", nil)[:0:0]},
		{"bad json", "header", file("{", nil)},
		{"dtype", "dtype", file(`{"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}`, make([]byte, 2))},
		{"size", "bytes [0, 4)", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4))},
		{"past end", "bytes", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 4))},
		{"gap", "gaps", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8))},
		{"trailing", "after the last", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 8))},
		{"metadata", "__metadata__", file(`{"__metadata__":{"a":1}}`, nil)},
		{"trailing header bytes", "header", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x`, make([]byte, 4))},
		{"null header", "not a JSON object", file(`null`, nil)},
	} {
		b := c.b
		if c.name == "huge header" {
			b = make([]byte, 8)
			binary.LittleEndian.PutUint64(b, 1<<40)
		}
		_, err := Read(bytes.NewReader(b))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestWriteInvalid(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, map[string]Tensor{"a": {DType: F32, Shape: []int{3}, Data: make([]byte, 8)}}, nil); err == nil {
		t.Error("a tensor whose bytes do not match its shape was written")
	}
	if err := Write(&buf, map[string]Tensor{"a": {DType: F32, Shape: []int{-1, -1}, Data: make([]byte, 4)}}, nil); err == nil {
		t.Error("a tensor of negative dims was written")
	}
	if err := (Tensor{DType: F32, Shape: []int{3}, Data: make([]byte, 4)}).Float32(make([]float32, 3)); err == nil {
		t.Error("Float32 of a tensor shorter than its shape succeeded")
	}
	if err := Write(&buf, map[string]Tensor{"__metadata__": FromFloat32([]float32{1})}, nil); err == nil {
		t.Error("a tensor named __metadata__ was written")
	}
}
