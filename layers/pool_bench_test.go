package layers

import "testing"

func BenchmarkMaxPool2x2LeNet(b *testing.B) {
	p, _ := NewMaxPool(PoolConfig{Kernel: []int{2, 2}})
	x := NewTensor(64, 6, 28, 28)
	for i := range x.Data {
		x.Data[i] = float32((i*7919)%1000) / 100
	}
	p.Forward(x)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Forward(x)
	}
}
