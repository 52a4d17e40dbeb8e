//go:build !(amd64 || arm64) || purego

package direct

import "github.com/convkit/convkit/kernels"

// generated: none without generated assembly; every path runs the twins.
var generated = map[kernels.ISA][]*Family{}

// generatedDW: none either.
var generatedDW = map[kernels.ISA][]*DWFamily{}
