//go:build amd64 && !purego

package kernels

// TEMPORARY until the generated kernels land.
func tableFor(i ISA) *Table { return &generic }
