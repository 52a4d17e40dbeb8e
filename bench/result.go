package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Result is one row of a report: one shape (and for convolutions one pass
// and algorithm) on one ISA path (or peer) and thread count. Numbers that
// were not measured are NaN and print as empty fields (null in JSON).
type Result struct {
	Kind    string // "gemm" or "conv"
	Name    string // shape name from the shape file
	Pass    string // conv: fwd, bwd-data or bwd-filter
	Layout  string // conv: nchw, nhwc or a blocked layout (nchw16c)
	Algo    string // conv: the algorithm asked for ("auto:x" when auto chose x)
	ISA     string // kernels ISA name, or a peer's name ("gonum")
	Threads int
	Runs    int     // timed calls behind MedianMs
	FLOPs   float64 // work of one call
	// MedianMs is the median time of one call in milliseconds.
	MedianMs float64
	// GFLOPS is FLOPs / median time.
	GFLOPS float64
	// PctPeak is 100*GFLOPS / the FMA peak of this ISA and thread count
	// (peers: the best ISA's), the higher of the probes taken just before
	// and just after the rows of its shape (see PeakMeter).
	PctPeak float64
	// GBps (conv) is the pass's least memory traffic over the median
	// time: its operands read once and its result written once (see
	// ConvShape.Bytes), in GB/s; for a memmove row, the bytes it moves.
	GBps float64
	// MaxRelErr is max|y-ref| / max|ref| against a float64 reference.
	MaxRelErr float64
	// VsGonum (gemm) is GFLOPS / gonum's GFLOPS on the same shape and
	// thread count.
	VsGonum float64
	// Status is "ok", "not implemented: <what>", "skipped: <why>" or
	// "error: <message>".
	Status string
}

// StatusOK is the Status of a row whose numbers are valid.
const StatusOK = "ok"

// newResult returns a row with every number unmeasured.
func newResult(kind, name string) Result {
	nan := math.NaN()
	return Result{Kind: kind, Name: name, MedianMs: nan, GFLOPS: nan, PctPeak: nan, GBps: nan, MaxRelErr: nan, VsGonum: nan}
}

// Report is the output of one bench command: the peaks it measured and
// its rows.
type Report struct {
	Peaks []PeakResult `json:"peaks"`
	Gemm  []Result     `json:"gemm,omitempty"`
	Conv  []Result     `json:"conv,omitempty"`
	// RanGemm and RanConv say which sections to print (a section may be
	// empty).
	RanGemm, RanConv bool `json:"-"`
	// ConvVerify adds the max_rel_err column to the conv section.
	ConvVerify bool `json:"-"`
}

// GemmColumns and ConvColumns are the header rows of the TSV and table
// formats. max_rel_err is always present for GEMM (GEMM rows are always
// verified) and present for convolutions only when verified.
func GemmColumns() []string {
	return []string{"name", "isa", "threads", "runs", "median_ms", "gflops", "pct_peak", "max_rel_err", "vs_gonum", "status"}
}

// ConvColumns: see GemmColumns.
func ConvColumns(verify bool) []string {
	c := []string{"name", "pass", "layout", "algo", "isa", "threads", "runs", "median_ms", "gflops", "pct_peak", "gbps"}
	if verify {
		c = append(c, "max_rel_err")
	}
	return append(c, "status")
}

// field formats one column of a row; empty for an unmeasured number.
func (r Result) field(col string) string {
	switch col {
	case "name":
		return r.Name
	case "pass":
		return r.Pass
	case "layout":
		return r.Layout
	case "algo":
		return r.Algo
	case "isa":
		return r.ISA
	case "threads":
		return strconv.Itoa(r.Threads)
	case "runs":
		if r.Runs == 0 {
			return ""
		}
		return strconv.Itoa(r.Runs)
	case "median_ms":
		return num(r.MedianMs, 'f', 4)
	case "gflops":
		return num(r.GFLOPS, 'f', 2)
	case "pct_peak":
		return num(r.PctPeak, 'f', 1)
	case "gbps":
		return num(r.GBps, 'f', 1)
	case "max_rel_err":
		return num(r.MaxRelErr, 'e', 2)
	case "vs_gonum":
		return num(r.VsGonum, 'f', 2)
	case "status":
		return r.Status
	}
	panic("bench: unknown column " + col)
}

func num(v float64, f byte, prec int) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, f, prec, 64)
}

// MarshalJSON writes every field, with null for unmeasured numbers (JSON
// has no NaN).
func (r Result) MarshalJSON() ([]byte, error) {
	type row struct {
		Kind      string   `json:"kind"`
		Name      string   `json:"name"`
		Pass      string   `json:"pass,omitempty"`
		Algo      string   `json:"algo,omitempty"`
		ISA       string   `json:"isa"`
		Threads   int      `json:"threads"`
		Runs      int      `json:"runs"`
		FLOPs     float64  `json:"flops"`
		MedianMs  *float64 `json:"median_ms"`
		GFLOPS    *float64 `json:"gflops"`
		PctPeak   *float64 `json:"pct_peak"`
		GBps      *float64 `json:"gbps,omitempty"`
		MaxRelErr *float64 `json:"max_rel_err"`
		VsGonum   *float64 `json:"vs_gonum,omitempty"`
		Status    string   `json:"status"`
	}
	p := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	return json.Marshal(row{r.Kind, r.Name, r.Pass, r.Algo, r.ISA, r.Threads, r.Runs, r.FLOPs,
		p(r.MedianMs), p(r.GFLOPS), p(r.PctPeak), p(r.GBps), p(r.MaxRelErr), p(r.VsGonum), r.Status})
}

// Formats accepted by Report.Write.
var Formats = []string{"table", "tsv", "json"}

// Write prints the report as "table" (aligned columns for people, with the
// peaks), "tsv" (a header row then one row per result; with both sections,
// GEMM first and a blank line between them) or "json" (one object with
// peaks, gemm and conv arrays).
func (rep *Report) Write(w io.Writer, format string) error {
	switch format {
	case "json":
		if rep.Peaks == nil {
			rep.Peaks = []PeakResult{}
		}
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(rep)
	case "tsv":
		sep := false
		if rep.RanGemm {
			if err := writeTSV(w, GemmColumns(), rep.Gemm); err != nil {
				return err
			}
			sep = true
		}
		if rep.RanConv {
			if sep {
				if _, err := io.WriteString(w, "\n"); err != nil {
					return err
				}
			}
			return writeTSV(w, ConvColumns(rep.ConvVerify), rep.Conv)
		}
		return nil
	case "table":
		return rep.writeTable(w)
	}
	return fmt.Errorf("bench: unknown format %q (known: %s)", format, strings.Join(Formats, ", "))
}

func writeTSV(w io.Writer, cols []string, rows []Result) error {
	var b strings.Builder
	b.WriteString(strings.Join(cols, "\t"))
	b.WriteByte('\n')
	for _, r := range rows {
		for i, c := range cols {
			if i > 0 {
				b.WriteByte('\t')
			}
			// A tab or newline in a message would break the row.
			b.WriteString(strings.NewReplacer("\t", " ", "\n", " ").Replace(r.field(c)))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (rep *Report) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	section := func(title string, cols []string, rows []Result) {
		fmt.Fprintf(tw, "%s\n", title)
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
		for _, r := range rows {
			f := make([]string, len(cols))
			for i, c := range cols {
				f[i] = r.field(c)
			}
			fmt.Fprintln(tw, strings.Join(f, "\t"))
		}
		fmt.Fprintln(tw)
	}
	if rep.RanGemm {
		section("SGEMM (C = op(A)*op(B), float32, row-major; GFLOPS = 2MNK/t; pct_peak of the FMA peak probed around each shape)", GemmColumns(), rep.Gemm)
	}
	if rep.RanConv {
		section("Convolution (float32, PyTorch semantics; GFLOPS = 2*N*K*(C/groups)*prod(out)*prod(filter)/t)", ConvColumns(rep.ConvVerify), rep.Conv)
	}
	if len(rep.Peaks) > 0 {
		fmt.Fprintln(tw, "Measured FMA peak (this run: highest and lowest of the probes beside the rows)")
		fmt.Fprintln(tw, "isa\tthreads\tgflops\tmin_gflops\tprobes")
		for _, p := range rep.Peaks {
			g := strconv.FormatFloat(p.GFLOPS, 'f', 1, 64) + "\t" + strconv.FormatFloat(p.MinGFLOPS, 'f', 1, 64) + "\t" + strconv.Itoa(p.Probes)
			if p.Error != "" {
				g = "error: " + p.Error
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\n", p.ISA, p.Threads, g)
		}
	}
	return tw.Flush()
}
