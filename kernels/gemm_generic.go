package kernels

// MicroGeneric computes the GemmKernels.Micro contract for any tile shape
// mr x nr; it is the oracle of every generated micro-kernel.
func MicroGeneric(mr, nr, k int, a, b, c []float32, ldc int, alpha, beta float32) {
	var acc [32 * 32]float32 // mr, nr <= 32
	ab := acc[:mr*nr]
	a = a[:k*mr]
	b = b[:k*nr]
	for p := 0; p < k; p++ {
		ap := a[p*mr : p*mr+mr]
		bp := b[p*nr : p*nr+nr]
		for i, av := range ap {
			row := ab[i*nr : i*nr+nr]
			for j, bv := range bp {
				row[j] += av * bv
			}
		}
	}
	for i := 0; i < mr; i++ {
		row := c[i*ldc : i*ldc+nr]
		for j := range row {
			if beta == 0 {
				row[j] = alpha * ab[i*nr+j]
			} else {
				row[j] = alpha*ab[i*nr+j] + beta*row[j]
			}
		}
	}
}

// MicroGeneric4x4 is the pure-Go path's micro-kernel.
func MicroGeneric4x4(k int, a, b, c []float32, ldc int, alpha, beta float32) {
	MicroGeneric(4, 4, k, a, b, c, ldc, alpha, beta)
}
