//go:build !amd64 || purego

package asmemu

// natives is empty where the generated amd64 functions cannot run: every
// kernel is checked against its Go twin instead.
var natives = map[string]any{}

func hostRuns(isa string) bool { return false }
