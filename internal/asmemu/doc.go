// Package asmemu interprets the Go amd64 assembly that the generators in
// gen/ emit (asm/*_amd64.s), so that every kernel, AVX-512 included, is
// tested on every host: on one with the ISA the interpreted results are
// compared bit for bit with the hardware, on one without against the pure-Go
// twins.
//
// It is for tests only: no non-test code of the library may import it.
//
// A Program is a set of parsed .s files with the Go stubs beside them. Each
// instruction is decoded once, at load, into a compact form; an opcode or
// operand form the interpreter does not know fails the load, so a new
// generator instruction cannot run untested. Floating point follows the
// hardware exactly: one rounding for FMA, the x86 NaN and signed-zero rules
// of MAXPS and the compares, the default NaN of invalid operations.
//
// Memory is the caller's own: a call may touch only its slice and array
// arguments (exactly their length), the regions it is given, its argument
// frame and the files' DATA. Any other access, or a write to read-only data,
// fails the call, as a guard page would; a masked-off lane is not an access,
// as on the hardware.
package asmemu
