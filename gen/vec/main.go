// Command vec generates the amd64 vector primitives of convkit (Axpy, Dot,
// Scale, Add, Relu, ReluBackward, Max, Sum) and the FMA-peak probes, for
// AVX2+FMA and AVX-512, as Plan 9 assembly plus Go stubs for package asm.
//
// Every kernel is written once, against the ISA description in isa.go, and
// emitted for each ISA; the pure-Go twin named in each stub's doc comment
// (kernels.AxpyGeneric, ...) is its specification. It is run by
// asm/doc.go's go:generate line:
//
//	go run -C ../gen ./vec -out ../asm/vec_amd64.s -stubs ../asm/vec_amd64.go -pkg asm
//
// Both outputs are written to a temporary file and renamed into place, so a
// failed run leaves the previous files intact.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/pass"
	"github.com/mmcloughlin/avo/printer"
)

func main() {
	// A flag set of our own: Avo's build package registers its own -out and
	// -stubs on flag.CommandLine, which write in place (no temp + rename).
	fs := flag.NewFlagSet("vec", flag.ExitOnError)
	out := fs.String("out", "", "assembly output `file`")
	stubs := fs.String("stubs", "", "Go stub output `file`")
	pkg := fs.String("pkg", "asm", "Go package `name` of the outputs")
	fs.Parse(os.Args[1:])
	if *out == "" || *stubs == "" || fs.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: go run -C ../gen ./vec -out X.s -stubs X.go [-pkg asm]")
		os.Exit(2)
	}
	if err := run(*out, *stubs, *pkg); err != nil {
		fmt.Fprintln(os.Stderr, "vec:", err)
		os.Exit(1)
	}
}

func run(out, stubs, pkg string) error {
	ctx := build.NewContext()
	ctx.ConstraintExpr("amd64,!purego")
	emit(ctx)

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
		Argv: append([]string{"go", "run", "-C", "../gen", "./vec"}, os.Args[1:]...),
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
		if err := writeAtomic(o.path, b); err != nil {
			return err
		}
	}
	return nil
}

// writeAtomic replaces path with b through a temporary file in the same
// directory (its name starts with a dot, so the go tool ignores it even if
// a crash leaves it behind).
func writeAtomic(path string, b []byte) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+strings.TrimSuffix(base, filepath.Ext(base))+".*.tmp")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
