package direct

import "fmt"

// callReach is the floats each slice of a kernel call must hold, worked out
// once from its arguments (Family.extents, DWFamily.extents): dst's (and
// res's, the same), src's and w's (0 where the table is empty: they are
// not read), and bias's.
type callReach struct{ dst, src, w, bias int }

// named is a family, for the messages.
type named interface{ Name() string }

// fits panics unless the slices hold r's floats (bias and res may be
// nil), naming the family (kind: "" or "depthwise ") and the short
// slice.
func (r *callReach) fits(kind string, f named, dst, src, w, bias, res []float32) {
	short := func(what string, s []float32, need int) {
		panic(fmt.Sprintf("direct: %s%s: %s needs %d floats, has %d", kind, f.Name(), what, need, len(s)))
	}
	switch {
	case len(dst) < r.dst:
		short("dst", dst, r.dst)
	case res != nil && len(res) < r.dst:
		short("res", res, r.dst)
	case bias != nil && len(bias) < r.bias:
		short("bias", bias, r.bias)
	case len(src) < r.src:
		short("src", src, r.src)
	case len(w) < r.w:
		short("w", w, r.w)
	}
}
