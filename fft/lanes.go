package fft

import (
	"fmt"
	"math"

	"github.com/convkit/convkit/kernels"
)

// Split is a batch of complex signals in split form, lanes signals side
// by side: element j of signal l has its real part at Data[Re+j*Step+l]
// and its imaginary part at Data[Im+j*Step+l] (offsets in floats). The
// signals are the lanes of the vectors, so a transform runs the same
// arithmetic in every lane and needs no shuffles: the form of the
// columns of a row-major array (Step = its row length), and of the
// spectra of FFT convolution.
type Split struct {
	Data         []float32
	Re, Im, Step int
}

// Dense returns the split batch of n elements of lanes signals whose real
// planes fill data[:n*lanes] and imaginary planes data[n*lanes:2*n*lanes].
func Dense(data []float32, n, lanes int) Split {
	return Split{Data: data, Re: 0, Im: n * lanes, Step: lanes}
}

// swapped is s with the roles of its planes exchanged: the inverse
// transform is the forward one on swapped planes, both sides.
func (s Split) swapped() Split { s.Re, s.Im = s.Im, s.Re; return s }

// at is the run of element j.
func (s Split) at(j int) run { return run{data: s.Data, re: s.Re + j*s.Step, im: s.Im + j*s.Step} }

// check panics naming the batch if its n elements of lanes signals do not
// lie inside Data.
func (s Split) check(what string, n, lanes int) {
	r := s.at(0)
	r.step = s.Step
	if lanes < 0 || s.Step < lanes || !r.reach(n, lanes) {
		panic(fmt.Sprintf("fft: %s of %d elements x %d lanes (re %d, im %d, step %d) outside its %d floats", what, n, lanes, s.Re, s.Im, s.Step, len(s.Data)))
	}
}

// LanePlan is the complex DFT of one length of factors 2 and 3 over
// batches of signals in split form (Split), on the generated radix-2, 3,
// 4 and (32-register ISAs) 8 butterflies of the path it was made for (their twins in Go
// where it has none): a Stockham decimation in frequency, each stage from
// one buffer to the other, so that the result comes in natural order. A
// LanePlan is immutable and safe for concurrent use; every call takes
// the caller's scratch (WorkLen) and allocates nothing.
type LanePlan struct {
	n      int
	stages []laneStage
	k      laneKernels
}

// laneStage is one Stockham stage: radix r on sub-transforms of n points
// at stride s (m = n/r butterflies each), twiddles tw[p] = w_n^(p*u) for
// u = 1..r-1, interleaved re, im.
type laneStage struct {
	r, n, s, m int
	tw         []float32
}

// NewLanePlan returns the plan of n-point transforms on path isa, or an
// error if n is not a product of 2s and 3s.
func NewLanePlan(n int, isa kernels.ISA) (*LanePlan, error) {
	if n < 1 {
		return nil, fmt.Errorf("fft: lane transform of length %d: want >= 1", n)
	}
	k := kernelsFor(isa)
	var radices []int
	m := n
	for k.hasRadix(8) && m%8 == 0 {
		radices, m = append(radices, 8), m/8
	}
	for m%4 == 0 {
		radices, m = append(radices, 4), m/4
	}
	if m%2 == 0 {
		radices, m = append(radices, 2), m/2
	}
	for m%3 == 0 {
		radices, m = append(radices, 3), m/3
	}
	if m != 1 {
		return nil, fmt.Errorf("fft: lane transform of length %d: want a product of 2s and 3s", n)
	}
	p := &LanePlan{n: n, k: k}
	cur, s := n, 1
	for _, r := range radices {
		st := laneStage{r: r, n: cur, s: s, m: cur / r}
		for q := 0; q < st.m; q++ {
			for u := 1; u < r; u++ {
				a := -2 * math.Pi * float64(q*u%cur) / float64(cur)
				st.tw = append(st.tw, float32(math.Cos(a)), float32(math.Sin(a)))
			}
		}
		p.stages = append(p.stages, st)
		cur, s = cur/r, s*r
	}
	return p, nil
}

// Len is the plan's transform length.
func (p *LanePlan) Len() int { return p.n }

// Path is the name of the kernels the plan runs: the ISA, or "go".
func (p *LanePlan) Path() string { return p.k.name() }

// WorkLen is the scratch floats a call on lanes signals takes.
func (p *LanePlan) WorkLen(lanes int) int { return 4*p.n*lanes + 2*lanePad }

// lanePad is the floats between the planes of the scratch buffers: at
// n*lanes floats apart, a power of two times the lanes, the real and
// imaginary parts of a butterfly's streams fall in one L1 set, and a
// radix-8 stage's 16 streams miss on a 12-way cache.
const lanePad = 16

// Forward computes dst = DFT(src) of lanes signals, X[k] = sum_j x[j]
// exp(-2 pi i j k / n), unnormalized. dst must not overlap src or work;
// src is read only. It panics naming the batch if a slice is short.
func (p *LanePlan) Forward(dst, src Split, lanes int, work []float32) {
	p.transform(dst, src, lanes, work)
}

// Inverse computes dst = the inverse DFT of src, exp(+2 pi i j k / n),
// unnormalized (Inverse of Forward multiplies by n): Forward on the
// swapped planes.
func (p *LanePlan) Inverse(dst, src Split, lanes int, work []float32) {
	p.transform(dst.swapped(), src.swapped(), lanes, work)
}

func (p *LanePlan) transform(dst, src Split, lanes int, work []float32) {
	if lanes == 0 {
		return
	}
	dst.check("destination", p.n, lanes)
	src.check("source", p.n, lanes)
	if len(work) < p.WorkLen(lanes) {
		panic(fmt.Sprintf("fft: lane transform of %d x %d: len(work) = %d, need %d", p.n, lanes, len(work), p.WorkLen(lanes)))
	}
	if p.n == 1 {
		copy(dst.Data[dst.Re:][:lanes], src.Data[src.Re:][:lanes])
		copy(dst.Data[dst.Im:][:lanes], src.Data[src.Im:][:lanes])
		return
	}
	p.walk(dst, src, lanes, work, 0, func(st *laneStage, dst, src run, n, count, srcNext, dstNext int) {
		p.k.butterfly(st.r, dst, src, n, st.tw, count, srcNext, dstNext, st.m == 1)
	})
}

// walk passes emit the butterfly calls of a transform of lanes signals
// from src to dst on work[wo:] (WorkLen floats there). The stage before
// the last writes the second half of work, never dst; the one before
// that the first half, which dst serves where it is dense.
func (p *LanePlan) walk(dst, src Split, lanes int, work []float32, wo int, emit func(st *laneStage, dst, src run, n, count, srcNext, dstNext int)) {
	half := 2*p.n*lanes + lanePad
	bufs := [2]Split{{Data: work, Re: wo + half, Im: wo + half + p.n*lanes + lanePad, Step: lanes}, {Data: work, Re: wo, Im: wo + p.n*lanes + lanePad, Step: lanes}}
	if dst.Step == lanes {
		bufs[0] = dst
	}
	in := src
	for i := range p.stages {
		out := dst
		if left := len(p.stages) - 1 - i; left > 0 {
			out = bufs[left%2]
		}
		p.stage(&p.stages[i], out, in, lanes, emit)
		in = out
	}
}

// stage emits one Stockham stage: for p < m, q < s, the inputs t at
// element q + s*(p + t*m), the outputs u at q + s*(r*p + u), times
// w^(p*u): one kernel call per q runs the m butterflies p. Where both
// sides are dense the s elements of q are one run, the stage one call.
func (p *LanePlan) stage(st *laneStage, out, in Split, lanes int, emit func(st *laneStage, dst, src run, n, count, srcNext, dstNext int)) {
	runs, n := st.s, lanes
	if in.Step == lanes && out.Step == lanes {
		runs, n = 1, st.s*lanes
	}
	for q := 0; q < runs; q++ {
		src, dst := in.at(q), out.at(q)
		src.step, dst.step = st.s*st.m*in.Step, st.s*out.Step
		emit(st, dst, src, n, st.m, st.s*in.Step, st.s*st.r*out.Step)
	}
}

// stageCall is one recorded butterfly call of a transform whose buffers
// all lie in one slice: offsets and steps in floats.
type stageCall struct {
	r                       int
	plain                   bool // the last stage: no twiddles
	dst, src, dstIm, srcIm  int
	n, srcStep, dstStep     int
	count, srcNext, dstNext int
	tw                      []float32
}

// record returns the butterfly calls of a transform of lanes signals
// from src to dst on work[wo:], all three in the slice data, each call
// checked against data's bounds now (as butterfly checks a call), so
// that run executes them unchecked. A plan of n = 1 records none.
func (p *LanePlan) record(dst, src Split, lanes int, data []float32, wo int) []stageCall {
	var calls []stageCall
	p.walk(dst, src, lanes, data, wo, func(st *laneStage, d, s run, n, count, srcNext, dstNext int) {
		laneKernels{}.checkButterfly(st.r, d, s, n, st.tw, count, srcNext, dstNext)
		calls = append(calls, stageCall{r: st.r, plain: st.m == 1, dst: d.re, src: s.re, dstIm: d.im, srcIm: s.im, n: n,
			srcStep: s.step, dstStep: d.step, count: count, srcNext: srcNext, dstNext: dstNext, tw: st.tw})
	})
	return calls
}
