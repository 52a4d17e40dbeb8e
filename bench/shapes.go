package bench

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/convkit/convkit/internal/shape"
)

// The built-in workloads: the public shape files, embedded so that the
// command runs the same report from any directory.
//
//go:embed shapes/gemm_shapes.tsv shapes/conv_shapes.tsv
var shapeFiles embed.FS

// Names of the embedded files as they appear in error messages and in
// DefaultGemmShapes / DefaultConvShapes.
const (
	DefaultGemmFile = "shapes/gemm_shapes.tsv"
	DefaultConvFile = "shapes/conv_shapes.tsv"
)

// GemmShape is one row of a GEMM shape file:
// C[MxN] = alpha*op(A)[MxK]*op(B)[KxN] + beta*C, row-major float32.
type GemmShape struct {
	Name           string
	M, N, K        int
	TransA, TransB bool
	// Source is "file:line" of the row, for messages.
	Source string
}

// FLOPs is the work of one call, 2*M*N*K.
func (s GemmShape) FLOPs() float64 { return 2 * float64(s.M) * float64(s.N) * float64(s.K) }

// ConvShape is one row of a convolution shape file (PyTorch semantics:
// NC+spatial layout, cross-correlation). Spatial and Filter have one entry
// per spatial dimension (1, 2 or 3); Stride, Pad and Dilation apply to every
// dimension, Pad on both sides. For a transposed convolution C is the input
// and K the output channel count of the ConvTranspose.
type ConvShape struct {
	Name       string
	N, C, K    int
	Spatial    []int
	Filter     []int
	Stride     int
	Pad        int
	Dilation   int
	Groups     int
	Transposed bool
	// Layout is the activations' layout the benchmark runs: "nchw" (or
	// empty), "nhwc" or a blocked layout such as "nchw16c" (RunConv sets
	// it from ConvOptions.Layout).
	Layout string
	// Source is "file:line" of the row, for messages.
	Source string
}

// Dims is the number of spatial dimensions (1, 2 or 3).
func (s ConvShape) Dims() int { return len(s.Spatial) }

// OutSpatial returns the output size per spatial dimension, by PyTorch's
// rules: (L + 2p - d*(k-1) - 1)/s + 1 for a convolution and
// (L-1)*s - 2p + d*(k-1) + 1 for a transposed one (output_padding 0).
func (s ConvShape) OutSpatial() []int {
	out := make([]int, len(s.Spatial))
	for i, l := range s.Spatial {
		k := s.Filter[i]
		if s.Transposed {
			out[i] = (l-1)*s.Stride - 2*s.Pad + s.Dilation*(k-1) + 1
		} else {
			out[i] = (l+2*s.Pad-s.Dilation*(k-1)-1)/s.Stride + 1
		}
	}
	return out
}

// FLOPs is the work of one pass (forward, backward-data and backward-filter
// all count the same): 2*N*K*(C/groups)*prod(out)*prod(filter), one
// multiply-add (two flops) per filter tap, input channel of the group and
// output element, whatever the algorithm (the count the report's header
// states). A transposed convolution is counted as the convolution it is
// the adjoint of, whose output is the transposed one's input:
// 2*N*C*(K/groups)*prod(in)*prod(filter).
func (s ConvShape) FLOPs() float64 {
	f := 2 * float64(s.N) * float64(prod(s.Filter))
	if s.Transposed {
		return f * float64(s.C) * float64(s.K/s.Groups) * float64(prod(s.Spatial))
	}
	return f * float64(s.K) * float64(s.C/s.Groups) * float64(prod(s.OutSpatial()))
}

// Bytes is the least memory traffic of one pass, in bytes: each float32
// operand read once and the result written once, whatever the algorithm.
// Every pass moves the same three tensors (forward: reads x and w, writes
// y; backward-data: dy and w, dx; backward-filter: x and dy, dw). Against
// it a memory-bound pass (a depthwise one) is measured in GB/s, beside a
// memmove of the same bytes.
func (s ConvShape) Bytes() float64 {
	x := float64(s.N * s.C * prod(s.Spatial))
	y := float64(s.N * s.K * prod(s.OutSpatial()))
	w := float64(s.K * (s.C / s.Groups) * prod(s.Filter)) // transposed: C x K/groups, the same count
	return 4 * (x + y + w)
}

// Depthwise reports whether s is a depthwise convolution (a group per
// input channel, more than one).
func (s ConvShape) Depthwise() bool { return s.Groups > 1 && s.Groups == s.C }

// String describes the problem in one line, e.g.
// "N=1 C=3 224x224 K=64 f=7x7 s=2 p=3 d=1 g=1 -> 112x112".
func (s ConvShape) String() string {
	t := ""
	if s.Transposed {
		t = " transposed"
	}
	return fmt.Sprintf("N=%d C=%d %s K=%d f=%s s=%d p=%d d=%d g=%d%s -> %s",
		s.N, s.C, joinX(s.Spatial), s.K, joinX(s.Filter), s.Stride, s.Pad, s.Dilation, s.Groups, t, joinX(s.OutSpatial()))
}

func prod(v []int) int {
	p := 1
	for _, x := range v {
		p *= x
	}
	return p
}

func joinX(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, "x")
}

// DefaultGemmShapes returns the embedded public GEMM workloads.
func DefaultGemmShapes() []GemmShape {
	b, err := shapeFiles.ReadFile(DefaultGemmFile)
	if err != nil {
		panic(err)
	}
	s, err := ParseGemmShapes(DefaultGemmFile, bytes.NewReader(b))
	if err != nil {
		panic(err) // the embedded file is tested
	}
	return s
}

// DefaultConvShapes returns the embedded public convolution workloads.
func DefaultConvShapes() []ConvShape {
	b, err := shapeFiles.ReadFile(DefaultConvFile)
	if err != nil {
		panic(err)
	}
	s, err := ParseConvShapes(DefaultConvFile, bytes.NewReader(b))
	if err != nil {
		panic(err)
	}
	return s
}

// LoadGemmShapes reads a GEMM shape file.
func LoadGemmShapes(path string) ([]GemmShape, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseGemmShapes(path, f)
}

// LoadConvShapes reads a convolution shape file.
func LoadConvShapes(path string) ([]ConvShape, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseConvShapes(path, f)
}

// Column names of the two formats, in the order of the public files.
var (
	gemmColumns = []string{"name", "M", "N", "K", "transA", "transB"}
	convColumns = []string{"name", "N", "C", "spatial", "K", "filter", "stride", "pad", "dilation", "groups", "transposed"}
)

// ParseGemmShapes parses a GEMM shape file: lines starting with '#' and
// blank lines are ignored, the first other line is the header (the columns
// name, M, N, K, transA, transB in any order), then one tab-separated row
// per shape. Errors name file:line.
func ParseGemmShapes(file string, r io.Reader) ([]GemmShape, error) {
	var out []GemmShape
	err := parseTSV(file, r, gemmColumns, func(row tsvRow) error {
		s := GemmShape{Name: row.str("name"), Source: row.pos()}
		var err error
		if s.M, err = row.posInt("M"); err != nil {
			return err
		}
		if s.N, err = row.posInt("N"); err != nil {
			return err
		}
		if s.K, err = row.posInt("K"); err != nil {
			return err
		}
		if s.TransA, err = row.flag("transA"); err != nil {
			return err
		}
		if s.TransB, err = row.flag("transB"); err != nil {
			return err
		}
		for _, m := range []struct {
			name string
			dims []int
		}{{"A", []int{s.M, s.K}}, {"B", []int{s.K, s.N}}, {"C", []int{s.M, s.N}}} {
			if err := row.floatsFit(m.name, m.dims...); err != nil {
				return err
			}
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// ParseConvShapes parses a convolution shape file (same layout rules as
// ParseGemmShapes; columns name, N, C, spatial, K, filter, stride, pad,
// dilation, groups, transposed). spatial and filter are 'x'-separated with
// one entry per spatial dimension (1 to 3, the same count in both). Rows
// whose output would be empty, or whose groups do not divide C and K, are
// rejected.
func ParseConvShapes(file string, r io.Reader) ([]ConvShape, error) {
	var out []ConvShape
	err := parseTSV(file, r, convColumns, func(row tsvRow) error {
		s := ConvShape{Name: row.str("name"), Source: row.pos()}
		var err error
		if s.N, err = row.posInt("N"); err != nil {
			return err
		}
		if s.C, err = row.posInt("C"); err != nil {
			return err
		}
		if s.K, err = row.posInt("K"); err != nil {
			return err
		}
		if s.Spatial, err = row.dims("spatial"); err != nil {
			return err
		}
		if s.Filter, err = row.dims("filter"); err != nil {
			return err
		}
		if len(s.Filter) != len(s.Spatial) {
			return row.errf("filter %q has %d dimensions, spatial %q has %d", row.str("filter"), len(s.Filter), row.str("spatial"), len(s.Spatial))
		}
		if s.Stride, err = row.posInt("stride"); err != nil {
			return err
		}
		if s.Pad, err = row.int("pad", 0); err != nil {
			return err
		}
		if s.Dilation, err = row.posInt("dilation"); err != nil {
			return err
		}
		if s.Groups, err = row.posInt("groups"); err != nil {
			return err
		}
		if s.Transposed, err = row.flag("transposed"); err != nil {
			return err
		}
		if s.C%s.Groups != 0 || s.K%s.Groups != 0 {
			return row.errf("groups %d does not divide C %d and K %d", s.Groups, s.C, s.K)
		}
		if err := row.convFits(s); err != nil {
			return err
		}
		for i, o := range s.OutSpatial() {
			if o < 1 {
				return row.errf("output size %d < 1 in spatial dimension %d (input %d, filter %d, stride %d, pad %d, dilation %d)",
					o, i, s.Spatial[i], s.Filter[i], s.Stride, s.Pad, s.Dilation)
			}
		}
		outSpatial := s.OutSpatial()
		for _, t := range []struct {
			name string
			dims []int
		}{
			{"x", append([]int{s.N, s.C}, s.Spatial...)},
			{"w", append([]int{s.K, s.C / s.Groups}, s.Filter...)},
			{"y", append([]int{s.N, s.K}, outSpatial...)},
		} {
			if err := row.floatsFit(t.name, t.dims...); err != nil {
				return err
			}
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// floatsFit checks that the float32 tensor name of sizes dims has at most
// math.MaxInt bytes, so that sizing it cannot overflow.
func (r tsvRow) floatsFit(name string, dims ...int) error {
	n, ok := shape.Product(dims...)
	if ok {
		_, ok = shape.Mul(n, 4)
	}
	if !ok {
		return r.errf("%s is %s float32s: more than math.MaxInt bytes", name, joinX(dims))
	}
	return nil
}

// convFits checks that OutSpatial's arithmetic cannot overflow in any
// spatial dimension.
func (r tsvRow) convFits(s ConvShape) error {
	for i, l := range s.Spatial {
		if !outSizeFits(l, s.Filter[i], s.Stride, s.Pad, s.Dilation, s.Transposed) {
			return r.errf("spatial dimension %d: input %d, filter %d, stride %d, pad %d, dilation %d: the output size overflows int",
				i, l, s.Filter[i], s.Stride, s.Pad, s.Dilation)
		}
	}
	return nil
}

// outSizeFits reports whether the terms of OutSpatial fit in an int: the
// dilated filter d*(k-1) + 1 and 2p, then the padded input l + 2p, or for
// a transposed convolution (l-1)*s + d*(k-1) + 1 (from which 2p is then
// subtracted, which cannot overflow).
func outSizeFits(l, k, stride, pad, dilation int, transposed bool) bool {
	pad2, okP := shape.Mul(2, pad)
	dk, okD := shape.Mul(dilation, k-1)
	span, okS := shape.Add(dk, 1)
	if !okP || !okD || !okS {
		return false
	}
	if transposed {
		step, ok := shape.Mul(l-1, stride)
		_, okSum := shape.Add(step, span)
		return ok && okSum
	}
	_, ok := shape.Add(l, pad2)
	return ok
}

// tsvRow is one data row with its column map, for field accessors that
// produce file:line errors.
type tsvRow struct {
	file   string
	line   int
	col    map[string]int
	fields []string
}

func (r tsvRow) pos() string { return fmt.Sprintf("%s:%d", r.file, r.line) }

func (r tsvRow) errf(format string, a ...any) error {
	return fmt.Errorf("%s: %s", r.pos(), fmt.Sprintf(format, a...))
}

func (r tsvRow) str(name string) string { return r.fields[r.col[name]] }

// int parses a column as an integer >= min.
func (r tsvRow) int(name string, min int) (int, error) {
	v, err := strconv.Atoi(r.str(name))
	if err != nil {
		return 0, r.errf("column %s: %q is not an integer", name, r.str(name))
	}
	if v < min {
		return 0, r.errf("column %s: %d < %d", name, v, min)
	}
	return v, nil
}

func (r tsvRow) posInt(name string) (int, error) { return r.int(name, 1) }

func (r tsvRow) flag(name string) (bool, error) {
	switch r.str(name) {
	case "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, r.errf("column %s: %q is not 0 or 1", name, r.str(name))
}

// dims parses an 'x'-separated list of 1 to 3 positive sizes ("224x224").
func (r tsvRow) dims(name string) ([]int, error) {
	parts := strings.Split(r.str(name), "x")
	if len(parts) > 3 {
		return nil, r.errf("column %s: %q has %d dimensions, at most 3", name, r.str(name), len(parts))
	}
	out := make([]int, len(parts))
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 1 {
			return nil, r.errf("column %s: %q is not an 'x'-separated list of positive sizes", name, r.str(name))
		}
		out[i] = v
	}
	return out, nil
}

// parseTSV reads the shared layout of the shape files and calls row for
// each data row. It checks the header (every wanted column exactly once,
// no others), the field count of every row, empty fields and duplicate
// names.
func parseTSV(file string, rd io.Reader, want []string, row func(tsvRow) error) error {
	sc := bufio.NewScanner(rd)
	var col map[string]int
	ncol := 0
	names := map[string]int{}
	rows := 0
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, "\t")
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		if col == nil {
			col = map[string]int{}
			for i, f := range fields {
				if _, dup := col[f]; dup {
					return fmt.Errorf("%s:%d: header: column %q appears twice", file, line, f)
				}
				col[f] = i
			}
			for _, w := range want {
				if _, ok := col[w]; !ok {
					return fmt.Errorf("%s:%d: header: missing column %q (want the tab-separated columns %s)", file, line, w, strings.Join(want, ", "))
				}
			}
			if len(fields) != len(want) {
				for _, f := range fields {
					if !slices.Contains(want, f) {
						return fmt.Errorf("%s:%d: header: unknown column %q (want the tab-separated columns %s)", file, line, f, strings.Join(want, ", "))
					}
				}
			}
			ncol = len(fields)
			continue
		}
		if len(fields) != ncol {
			return fmt.Errorf("%s:%d: %d tab-separated fields, the header has %d", file, line, len(fields), ncol)
		}
		for i, f := range fields {
			if f == "" {
				return fmt.Errorf("%s:%d: field %d is empty", file, line, i+1)
			}
		}
		r := tsvRow{file: file, line: line, col: col, fields: fields}
		name := r.str("name")
		if prev, dup := names[name]; dup {
			return fmt.Errorf("%s:%d: name %q already used on line %d", file, line, name, prev)
		}
		names[name] = line
		if err := row(r); err != nil {
			return err
		}
		rows++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	if col == nil {
		return fmt.Errorf("%s: no header row (want the tab-separated columns %s)", file, strings.Join(want, ", "))
	}
	if rows == 0 {
		return fmt.Errorf("%s: no shapes after the header", file)
	}
	return nil
}
