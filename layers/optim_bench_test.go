package layers

import "testing"

func BenchmarkSGDStep(b *testing.B) {
	p := newParam("w", 61706)
	for i := range p.Value.Data {
		p.Value.Data[i] = float32(i%100) * 1e-3
		p.Grad.Data[i] = float32(i%7) * 1e-4
	}
	o, _ := NewSGD([]*Param{p}, SGDConfig{LR: 0.05, Momentum: 0.9})
	for b.Loop() {
		o.Step()
	}
}
