package conv

import (
	"fmt"
	"slices"

	"github.com/convkit/convkit/internal/workers"
)

// A strided convolution's backward-data pass on the direct kernels, by
// stride phases: the positions of dx congruent to rho modulo the stride
// (rho per dim) see only the taps t with t*dilation ≡ rho + padding
// (mod stride), each at a fixed offset in dy. So each phase is a stride-1
// convolution of dy with the sub-filter of its taps (flipped, channels
// exchanged, dilation/gcd(dilation, stride) apart), run by the tile
// engine into a buffer of the phase's positions and scattered into dx.
// The phases together do the pass's FLOPs, none on the zeros that a
// stride-1 form of the flipped filter would meet.

// phase is one stride phase: rho per dim, the original filter's tap
// indices of its sub-filter per dim (in the sub-filter's order: the
// flipped one), its positions of dx per dim (count), and the stride-1
// forward problem on dy (nil: no tap reaches the phase, its positions
// are zero). That problem's output may be longer than count in a dim:
// the positions past it are not scattered.
type phase struct {
	rho, count []int
	taps       [][]int
	s          *Shape
}

// stridePhases returns the phases of s's backward-data pass, or the
// reason they cannot be formed.
func stridePhases(s *Shape) ([]phase, error) {
	d := s.Dims
	if s.Stride[d-1] > maxPhaseStride {
		return nil, &UnsupportedError{Algorithm: "direct", Pass: PassBackwardData,
			Reason: fmt.Sprintf("stride %v: more than %d phases along a row", s.Stride, maxPhaseStride)}
	}
	per := make([][]phase1, d) // per dim, per rho
	for i := 0; i < d; i++ {
		for rho := 0; rho < s.Stride[i]; rho++ {
			p, err := dimPhase(s, i, rho)
			if err != nil {
				return nil, err
			}
			per[i] = append(per[i], p)
		}
	}
	var out []phase
	idx := make([]int, d)
	for {
		ph := phase{rho: slices.Clone(idx), count: make([]int, d), taps: make([][]int, d)}
		live := true
		for i, r := range idx {
			p := per[i][r]
			ph.count[i], ph.taps[i] = p.count, p.taps
			live = live && len(p.taps) > 0 && p.count > 0
		}
		if live {
			ds, err := phaseProblem(s, per, idx)
			if err != nil {
				return nil, err
			}
			ph.s = ds
		}
		out = append(out, ph)
		i := d - 1
		for ; i >= 0; i-- { // the next phase, the last dim fastest
			if idx[i]++; idx[i] < s.Stride[i] {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return out, nil
		}
	}
}

// phase1 is one dim's part of a phase: its positions, its taps (the
// sub-filter's order), and the stride-1 problem's padding and dilation
// along the dim.
type phase1 struct {
	count         int
	taps          []int
	before, after int
	dil           int
}

// dimPhase is phase rho of dim i: dx[s*q + rho] = sum over taps t with
// t*dil ≡ rho + pad (mod s) of w[t] * dy[q - m_t], m_t = (t*dil - rho -
// pad)/s. With the taps in descending order (the flipped sub-filter,
// m_t falling by dil/g from one to the next, g = gcd(dil, s)), that is a
// correlation with dilation dil/g, padded before by the largest tap's
// m, and after so that its output reaches the phase's last position.
func dimPhase(s *Shape, i, rho int) (phase1, error) {
	st, dil, k, pad := s.Stride[i], s.Dilation[i], s.Kernel[i], s.PadBefore[i]
	p := phase1{count: max(0, ceilDiv(s.In[i]-rho, st)), dil: dil / gcd(dil, st)}
	for t := k - 1; t >= 0; t-- {
		if ((t*dil-rho-pad)%st+st)%st == 0 {
			p.taps = append(p.taps, t)
		}
	}
	if len(p.taps) == 0 || p.count == 0 {
		return p, nil
	}
	m := (p.taps[0]*dil - rho - pad) / st // exact: the largest tap's offset
	p.before = m
	if p.before < 0 {
		return p, &UnsupportedError{Algorithm: "direct", Pass: PassBackwardData,
			Reason: fmt.Sprintf("stride phase %d of dim %d would start %d rows into dy (padding %v at stride %v: a cropped phase is not built)", rho, i, -m, s.PadBefore, s.Stride)}
	}
	span := (len(p.taps) - 1) * p.dil
	p.after = max(0, p.count-s.Out[i]-p.before+span)
	return p, nil
}

// phaseProblem is the stride-1 forward problem of the phase idx.
func phaseProblem(s *Shape, per [][]phase1, idx []int) (*Shape, error) {
	d := s.Dims
	p := Problem{N: s.N, C: s.K, K: s.C, In: s.Out, Groups: s.Groups, Layout: s.Layout,
		Kernel: make([]int, d), Dilation: make([]int, d)}
	before, after := make([]int, d), make([]int, d)
	for i, r := range idx {
		q := per[i][r]
		p.Kernel[i], p.Dilation[i], before[i], after[i] = len(q.taps), q.dil, q.before, q.after
	}
	p.Padding = Padding{Kind: Explicit, Before: before, After: after}
	ds, err := p.Resolve()
	if err != nil {
		return nil, &UnsupportedError{Algorithm: "direct", Pass: PassBackwardData, Reason: "stride phase: " + err.Error()}
	}
	return ds, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// phasedEngine runs the phases of a strided backward-data pass: dx =
// conv_transpose(dy, w), w as the convolution stores it.
type phasedEngine struct {
	s      *Shape // the convolution
	phases []phase
	es     []forwardEngine // per phase (nil: a zero phase)
	ws     [][]float32     // per phase: its sub-filter's weights
	bufs   [][]float32     // per phase: its positions of dx
	tapMap [][]int         // per phase: per sub-filter tap, the filter tap
	packed bool
	team   *workers.Team // the scatter's
	dx     []float32     // the scatter in progress
	per    int           // its images (channels-last) or planes per part
}

func newPhasedEngine(s *Shape, phases []phase, threads int) *phasedEngine {
	e := &phasedEngine{s: s, phases: phases, team: workers.NewTeam(threads)}
	for _, ph := range phases {
		if ph.s == nil {
			e.es, e.ws, e.bufs, e.tapMap = append(e.es, nil), append(e.ws, nil), append(e.bufs, nil), append(e.tapMap, nil)
			continue
		}
		e.es = append(e.es, newForwardEngine(ph.s, threads))
		e.ws = append(e.ws, make([]float32, ph.s.WLen))
		e.bufs = append(e.bufs, make([]float32, ph.s.YLen))
		e.tapMap = append(e.tapMap, e.subTaps(ph))
	}
	return e
}

// phasedBytes is the workspace of the phases' engines, weights and
// buffers on threads.
func phasedBytes(phases []phase, threads int) int64 {
	var n int64
	for _, ph := range phases {
		if ph.s != nil {
			n += forwardBytes(ph.s, threads) + 4*int64(ph.s.WLen+ph.s.YLen)
		}
	}
	return n
}

// subTaps lists, for every tap of phase ph's sub-filter (the last dim
// fastest), the index of the filter tap it is.
func (e *phasedEngine) subTaps(ph phase) []int {
	s := e.s
	n := ph.s.KernelSize
	out := make([]int, n)
	for j := range out {
		t, rem := 0, j
		coords := make([]int, s.Dims) // j's in the sub-filter, the last dim fastest
		for i := s.Dims - 1; i >= 0; i-- {
			coords[i] = rem % len(ph.taps[i])
			rem /= len(ph.taps[i])
		}
		for i := 0; i < s.Dims; i++ {
			t = t*s.Kernel[i] + ph.taps[i][coords[i]]
		}
		out[j] = t
	}
	return out
}

// phaseWeights writes phase p's weights: the sub-filter of w with its
// channels exchanged per group ([K][C/g] filters become [C][K/g]).
func (e *phasedEngine) phaseWeights(p int, w []float32) {
	s := e.s
	exchangeWeights(e.ws[p], w, s.Groups, s.KPerG, s.CPerG, s.KernelSize, e.tapMap[p])
}

func (e *phasedEngine) PackWeights(w []float32) {
	for p, pe := range e.es {
		if pe != nil {
			e.phaseWeights(p, w)
			pe.PackWeights(e.ws[p])
		}
	}
	e.packed = true
}

func (e *phasedEngine) packedWeights() bool { return e.packed }

// Forward computes dx from dy (the derived pass's input and output: y is
// dx, x is dy); b and ep are nil.
func (e *phasedEngine) Forward(dx, dy, w, _ []float32, _ *Epilogue) {
	if w != nil {
		e.packed = false
	}
	for p, pe := range e.es {
		if pe == nil {
			continue
		}
		var pw []float32
		if w != nil {
			e.phaseWeights(p, w)
			pw = e.ws[p]
		}
		pe.Forward(e.bufs[p], dy, pw, nil, nil)
	}
	e.scatter(dx)
}

// scatter writes the phases' outputs into dx, split over the team by
// channel planes (channels-last: images). The phases come in runs of
// Stride[last] that share the outer dims' rho (the last dim's phase
// fastest): such a run fills whole rows of dx, so a row is written once,
// in order, its positions taken from the run's buffers in turn.
func (e *phasedEngine) scatter(dx []float32) {
	var parts int
	e.dx = dx
	e.per, parts = splitItems(e.team, e.scatterItems())
	runParts(e.team, e, parts)
	e.dx = nil
}

// scatterItems is the scatter's items: channel planes (channels-last:
// images).
func (e *phasedEngine) scatterItems() int {
	if e.s.Layout == ChannelsLast {
		return e.s.N
	}
	return e.s.N * e.s.C
}

// Run scatters one part's planes or images (workers.Task).
func (e *phasedEngine) Run(part int) {
	s := e.s
	d := s.Dims
	sw := s.Stride[d-1]
	for it := part * e.per; it < min(e.scatterItems(), (part+1)*e.per); it++ {
		for g := 0; g < len(e.phases); g += sw {
			rows := 1
			for _, c := range e.phases[g].count[:d-1] {
				rows *= c
			}
			for r := 0; r < rows; r++ {
				e.scatterRow(e.dx, it, g, r)
			}
		}
	}
}

// scatterRow fills row r (the outer dims' phase coordinates) of the run
// of phases from g on, in item it: a channel plane (image it/C, channel
// it%C), or channels-last an image.
func (e *phasedEngine) scatterRow(dx []float32, it, g, r int) {
	s := e.s
	d := s.Dims
	sw, w := s.Stride[d-1], s.In[d-1]
	first := e.phases[g]
	// The row's first position in dx, and in each phase's buffer.
	dxRow, rem, pitch := 0, r, w
	for i := d - 2; i >= 0; i-- {
		q := rem % first.count[i]
		rem /= first.count[i]
		dxRow += (q*s.Stride[i] + first.rho[i]) * pitch
		pitch *= s.In[i]
	}
	var src [maxPhaseStride][]float32 // per last-dim phase: its buffer's row for the image and channel (nil: zeros)
	var at [maxPhaseStride]int        // per last-dim phase: that row's first position in its buffer
	for k := 0; k < sw; k++ {
		ph := e.phases[g+k]
		if ph.s == nil {
			continue
		}
		pos, rem, pitch := 0, r, ph.s.Out[d-1]
		for i := d - 2; i >= 0; i-- {
			pos += rem % first.count[i] * pitch
			rem /= first.count[i]
			pitch *= ph.s.Out[i]
		}
		at[k] = pos
	}
	if s.Layout == ChannelsLast {
		img := it
		for x := 0; x < w; x++ {
			k, q := x%sw, x/sw
			out := dx[(img*s.InSize+dxRow+x)*s.C:][:s.C]
			if b := e.bufs[g+k]; b == nil {
				clear(out)
			} else {
				copy(out, b[(img*e.phases[g+k].s.OutLen+at[k]+q)*s.C:][:s.C])
			}
		}
		return
	}
	for k := 0; k < sw; k++ { // it is image it/C's channel it%C: planes it of dx and of the buffers
		src[k] = nil
		if b := e.bufs[g+k]; b != nil {
			ph := e.phases[g+k]
			src[k] = b[it*ph.s.OutLen+at[k]:][:ph.count[d-1]]
		}
	}
	interleave(dx[it*s.InSize+dxRow:][:w], src[:sw])
}

// maxPhaseStride bounds the stride along the last dim that the scatter
// keeps its per-phase rows on the stack for.
const maxPhaseStride = 16

// interleave sets out[x] = src[x%k][x/k] for k = len(src) (a nil source:
// zeros).
func interleave(out []float32, src [][]float32) {
	k := len(src)
	if k == 2 && src[0] != nil && src[1] != nil { // the common stride 2
		a, b := src[0], src[1]
		n := len(out) / 2
		a, b = a[:n+len(out)%2], b[:n]
		for q := 0; q < n; q++ {
			out[2*q], out[2*q+1] = a[q], b[q]
		}
		if len(out)%2 == 1 {
			out[len(out)-1] = a[n]
		}
		return
	}
	for x := range out {
		var v float32
		if s := src[x%k]; s != nil {
			v = s[x/k]
		}
		out[x] = v
	}
}

// phasesCost is the phases' modelled cycles: each phase problem's
// forward pass and the scatter of its positions, scatterCycles a float.
func phasesCost(s *Shape, phases []phase, threads int) float64 {
	c := scatterCycles * float64(s.XLen)
	for _, ph := range phases {
		if ph.s != nil {
			c += forwardCycles(ph.s, threads)
		}
	}
	return c
}

// scatterCycles is the scatter's cycles per float of dx: a Go loop of
// strided stores, measured at 2.2 ns a float (about 5 cycles) on
// resnet_3x3s2_c128 (the AVX-512 Xeon); at a float a cycle, as the
// kernels' reorders are modelled, auto took the phases there at 0.88x
// im2col's speed.
const scatterCycles = 5
