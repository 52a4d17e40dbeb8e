// Package golden reads golden-vector directories (test cases whose outputs
// PyTorch computed in float64; format in the directory's README.md) and
// checks convkit against them.
//
// A directory holds manifest.json and one raw little-endian .bin file per
// tensor. Open reads the manifest; Case.Float32, Float64 and Int64 load a
// tensor, checking its size and, when the manifest gives one, its SHA-256.
// Ops are evaluated through a registry: an op's implementation registers
// an EvalFunc with Register (package golden/ops holds convkit's), and Check
// compares what it returns with the stored outputs by relative error.
//
// The package imports nothing of convkit, so that any package's tests can
// read golden vectors without an import cycle.
package golden

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/convkit/convkit/internal/shape"
)

// Manifest is a golden directory's manifest.json.
type Manifest struct {
	FormatVersion int     `json:"format_version"`
	Set           string  `json:"set"`
	Seed          int64   `json:"seed"`
	TorchVersion  string  `json:"torch_version"`
	TorchPackage  string  `json:"torch_package"`
	NumpyVersion  string  `json:"numpy_version"`
	Generator     string  `json:"generator"`
	NumCases      int     `json:"num_cases"`
	TotalBytes    int64   `json:"total_bytes"`
	Cases         []*Case `json:"cases"`
	// Dir is the directory the manifest was read from.
	Dir string `json:"-"`
}

// Case is one test case: an op, its parameters, and named tensors.
type Case struct {
	Name    string                     `json:"name"`
	Op      string                     `json:"op"`
	Params  map[string]json.RawMessage `json:"params"`
	Tensors map[string]*Tensor         `json:"tensors"`
	dir     string
}

// Tensor describes one stored tensor. Shape [] is a scalar.
type Tensor struct {
	Role   string `json:"role"`  // "input" or "output"
	DType  string `json:"dtype"` // "f32", "f64" or "i64"
	Shape  []int  `json:"shape"`
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

// Roles of a tensor.
const (
	RoleInput  = "input"
	RoleOutput = "output"
)

// checkShape rejects a shape with a negative dimension, or whose element
// or byte count overflows int: a wrapped count could match a short file
// (1<<32 x 1<<32 wraps to 0 elements) and Len would size the data by it.
func (t *Tensor) checkShape() error {
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", t.Shape)
		}
	}
	n, ok := shape.Product(t.Shape...)
	if ok {
		_, ok = shape.Mul(n, dtypeSize[t.DType])
	}
	if !ok {
		return fmt.Errorf("shape %v has more than math.MaxInt bytes of %s", t.Shape, t.DType)
	}
	return nil
}

// Len is the number of elements (1 for a scalar). Open has checked that
// it fits in an int.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// dtypeSize gives the element size of each stored dtype.
var dtypeSize = map[string]int{"f32": 4, "f64": 8, "i64": 8}

// supportedFormat is the manifest format_version this package reads.
const supportedFormat = 1

// Open reads and validates dir/manifest.json (tensor data is read on
// demand).
func Open(dir string) (*Manifest, error) {
	path := filepath.Join(dir, "manifest.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("golden: %v", err)
	}
	var m Manifest
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("golden: %s: %v", path, err)
	}
	m.Dir = dir
	if m.FormatVersion != supportedFormat {
		return nil, fmt.Errorf("golden: %s: format_version %d, this reader knows %d", path, m.FormatVersion, supportedFormat)
	}
	if m.NumCases != len(m.Cases) {
		return nil, fmt.Errorf("golden: %s: num_cases %d but %d cases listed", path, m.NumCases, len(m.Cases))
	}
	seen := map[string]bool{}
	for i, c := range m.Cases {
		if c == nil || c.Name == "" || c.Op == "" {
			return nil, fmt.Errorf("golden: %s: case %d has no name or op", path, i)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("golden: %s: case %q listed twice", path, c.Name)
		}
		seen[c.Name] = true
		c.dir = dir
		for name, t := range c.Tensors {
			if t == nil {
				return nil, fmt.Errorf("golden: %s: case %s: tensor %s is null", path, c.Name, name)
			}
			if _, ok := dtypeSize[t.DType]; !ok {
				return nil, fmt.Errorf("golden: %s: case %s: tensor %s: unknown dtype %q", path, c.Name, name, t.DType)
			}
			if t.Role != RoleInput && t.Role != RoleOutput {
				return nil, fmt.Errorf("golden: %s: case %s: tensor %s: unknown role %q", path, c.Name, name, t.Role)
			}
			if t.File == "" || filepath.Base(t.File) != t.File {
				return nil, fmt.Errorf("golden: %s: case %s: tensor %s: bad file name %q", path, c.Name, name, t.File)
			}
			if err := t.checkShape(); err != nil {
				return nil, fmt.Errorf("golden: %s: case %s: tensor %s: %v", path, c.Name, name, err)
			}
		}
	}
	return &m, nil
}

// Case returns the case with that name, or nil.
func (m *Manifest) Case(name string) *Case {
	for _, c := range m.Cases {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Verify reads every tensor file of every case, checking sizes and
// checksums.
func (m *Manifest) Verify() error {
	for _, c := range m.Cases {
		for _, name := range c.TensorNames() {
			if _, err := c.raw(name); err != nil {
				return err
			}
		}
	}
	return nil
}

// TensorNames lists the case's tensor names, sorted.
func (c *Case) TensorNames() []string {
	var out []string
	for n := range c.Tensors {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Outputs lists the names of the output tensors, sorted.
func (c *Case) Outputs() []string {
	var out []string
	for _, n := range c.TensorNames() {
		if c.Tensors[n].Role == RoleOutput {
			out = append(out, n)
		}
	}
	return out
}

// Has reports whether the case has a tensor of that name.
func (c *Case) Has(name string) bool { return c.Tensors[name] != nil }

// Shape returns the shape of tensor name (nil if absent).
func (c *Case) Shape(name string) []int {
	if t := c.Tensors[name]; t != nil {
		return t.Shape
	}
	return nil
}

// Param decodes parameter name into v (as encoding/json does).
func (c *Case) Param(name string, v any) error {
	raw, ok := c.Params[name]
	if !ok {
		return fmt.Errorf("golden: case %s: no parameter %q", c.Name, name)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("golden: case %s: parameter %s: %v", c.Name, name, err)
	}
	return nil
}

// raw reads a tensor's bytes, checking the size against the shape and the
// SHA-256 against the manifest (when it has one).
func (c *Case) raw(name string) ([]byte, error) {
	t := c.Tensors[name]
	if t == nil {
		return nil, fmt.Errorf("golden: case %s: no tensor %q (has %v)", c.Name, name, c.TensorNames())
	}
	path := filepath.Join(c.dir, t.File)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("golden: case %s: tensor %s: %v", c.Name, name, err)
	}
	if want := t.Len() * dtypeSize[t.DType]; len(b) != want {
		return nil, fmt.Errorf("golden: %s: %d bytes, want %d for %s %v", path, len(b), want, t.DType, t.Shape)
	}
	if t.SHA256 != "" {
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != t.SHA256 {
			return nil, fmt.Errorf("golden: %s: sha256 %s, manifest says %s", path, got, t.SHA256)
		}
	}
	return b, nil
}

// Float32 loads tensor name as float32 (f64 is rounded, i64 converted).
func (c *Case) Float32(name string) ([]float32, error) {
	v, err := c.Float64(name)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out, nil
}

// Float64 loads tensor name as float64 (exact for every stored dtype
// except i64 beyond 2^53).
func (c *Case) Float64(name string) ([]float64, error) {
	b, err := c.raw(name)
	if err != nil {
		return nil, err
	}
	t := c.Tensors[name]
	out := make([]float64, t.Len())
	for i := range out {
		switch t.DType {
		case "f32":
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		case "f64":
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		case "i64":
			out[i] = float64(int64(binary.LittleEndian.Uint64(b[8*i:])))
		}
	}
	return out, nil
}

// Int64 loads an i64 tensor.
func (c *Case) Int64(name string) ([]int64, error) {
	b, err := c.raw(name)
	if err != nil {
		return nil, err
	}
	t := c.Tensors[name]
	if t.DType != "i64" {
		return nil, fmt.Errorf("golden: case %s: tensor %s is %s, not i64", c.Name, name, t.DType)
	}
	out := make([]int64, t.Len())
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out, nil
}

// F64 widens a float32 result for an EvalFunc's return value.
func F64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}
