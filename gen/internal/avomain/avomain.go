// Package avomain is the shared command line of convkit's Avo generators
// (gen/vec, gen/sgemm): the -out, -stubs and -pkg flags, Avo's compile
// passes, a header that names the exact go:generate command, and atomic
// writes of both outputs.
package avomain

import (
	"flag"
	"fmt"
	"os"

	"github.com/convkit/convkit/gen/internal/atomicfile"
	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
)

// Main runs generator prog (the folder name under gen/, e.g. "vec"): it
// parses the flags, calls emit to fill ctx, and writes the assembly and the
// Go stubs for amd64 (build constraint amd64 && !purego). It exits the
// process on any error.
func Main(prog string, ctx *build.Context, emit func()) {
	// A flag set of our own: Avo's build package registers its own -out and
	// -stubs on flag.CommandLine, which write in place (no temp + rename).
	fs := flag.NewFlagSet(prog, flag.ExitOnError)
	out := fs.String("out", "", "assembly output `file`")
	stubs := fs.String("stubs", "", "Go stub output `file`")
	pkg := fs.String("pkg", "asm", "Go package `name` of the outputs")
	fs.Parse(os.Args[1:])
	if *out == "" || *stubs == "" || fs.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "usage: go run -C ../gen ./%s -out X.s -stubs X.go [-pkg asm]\n", prog)
		os.Exit(2)
	}
	ctx.ConstraintExpr("amd64,!purego")
	emit()
	if err := write(prog, ctx, *out, *stubs, *pkg); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		os.Exit(1)
	}
}

func write(prog string, ctx *build.Context, out, stubs, pkg string) error {
	f, err := ctx.Result()
	if err != nil {
		return err
	}
	if err := pass.Compile.Execute(f); err != nil {
		return err
	}
	// The header names the exact command of asm/doc.go rather than Avo's
	// guess ("go run main.go ..."), so a reader can rebuild the files.
	cfg := printer.Config{
		Argv: append([]string{"go", "run", "-C", "../gen", "./" + prog}, os.Args[1:]...),
		Pkg:  pkg,
	}
	for _, o := range []struct {
		path string
		p    printer.Printer
	}{
		{out, printer.NewGoAsm(cfg)},
		{stubs, printer.NewStubs(cfg)},
	} {
		b, err := o.p.Print(f)
		if err != nil {
			return err
		}
		if err := atomicfile.Write(o.path, b); err != nil {
			return err
		}
	}
	return nil
}

// LaneMaskTable emits a read-only table of 8 all-ones int32 followed by 8
// zeros under the given name: the AVX2 VMASKMOVPS mask for r live lanes
// (0..8) is the 8 int32 starting at byte 32-4r.
func LaneMaskTable(ctx *build.Context, name string) operand.Mem {
	m := ctx.StaticGlobal(name)
	ctx.DataAttributes(attr.RODATA | attr.NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		ctx.AddDatum(4*i, operand.U32(v))
	}
	return m
}
