//go:build (!amd64 && !arm64) || purego

package kernels

func hostSupports(i ISA) bool { return false }

func tableFor(i ISA) *Table { return &generic }
