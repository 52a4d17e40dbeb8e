package kw

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/convkit/convkit/gen/arm64asm"
	"github.com/convkit/convkit/gen/internal/avomain"
	"github.com/mmcloughlin/avo/build"
)

// Main is the whole main function of a kernel family's generator: the
// family is one function, run once per ISA of the target architecture.
//
//	go run -C ../gen ./<prog> [-arch amd64] -out X_amd64.s -stubs X_amd64.go -pkg asm
//	go run -C ../gen ./<prog> -arch arm64 -out X_arm64.s -stubs X_arm64.go -pkg asm
//
// amd64 (the default) emits every kernel for AVX2 and then AVX-512 into one
// file through Avo; arm64 emits them for NEON. maskTable names the AVX2
// lane-mask table of the output (one per file). Errors exit the process.
func Main(prog, maskTable string, family func(f *Func)) { MainWith(prog, maskTable, family, Options{}) }

// Options are a generator's extra outputs.
type Options struct {
	// Table, if not nil, returns the body of the Go table of an
	// architecture's kernels, written to the -table file (then required).
	Table func(arch string) string
}

// MainWith is Main with Options.
func MainWith(prog, maskTable string, family func(f *Func), opt Options) {
	arch, args := "amd64", os.Args[1:]
	if len(args) >= 2 && args[0] == "-arch" {
		arch, args = args[1], args[2:]
	}
	switch arch {
	case "amd64":
		// avomain parses the remaining flags; leaving -arch out keeps the
		// header's command line the one asm/doc.go runs.
		os.Args = append(os.Args[:1], args...)
		ctx := build.NewContext()
		emit := func() {
			for _, b := range []Backend{NewAVX2(ctx, maskTable), NewAVX512(ctx, maskTable+"Perm")} {
				family(New(b))
			}
		}
		if opt.Table != nil {
			avomain.MainTable(prog, ctx, emit, func() string { return opt.Table("amd64") })
		} else {
			avomain.Main(prog, ctx, emit)
		}
	case "arm64":
		mainARM64(prog, args, family, opt.Table)
	default:
		fmt.Fprintf(os.Stderr, "%s: -arch %s: want amd64 or arm64\n", prog, arch)
		os.Exit(2)
	}
}

func mainARM64(prog string, args []string, family func(f *Func), table func(arch string) string) {
	fs := flag.NewFlagSet(prog, flag.ExitOnError)
	out := fs.String("out", "", "assembly output `file`")
	stubs := fs.String("stubs", "", "Go stub output `file`")
	tab := fs.String("table", "", "Go table output `file`")
	pkg := fs.String("pkg", "asm", "Go package `name` of the outputs")
	fs.Parse(args)
	if *out == "" || *stubs == "" || fs.NArg() != 0 || (table != nil) != (*tab != "") {
		fmt.Fprintf(os.Stderr, "usage: go run -C ../gen ./%s -arch arm64 -out X_arm64.s -stubs X_arm64.go [-table X_arm64.go] [-pkg asm]\n", prog)
		os.Exit(2)
	}
	// The header names the command as asm/doc.go runs it, whatever the
	// working directory, so regenerating from anywhere gives the same bytes.
	cmd := fmt.Sprintf("go run -C ../gen ./%s -arch arm64 -out ../asm/%s -stubs ../asm/%s", prog, filepath.Base(*out), filepath.Base(*stubs))
	if table != nil {
		cmd += " -table ../asm/" + filepath.Base(*tab)
	}
	cmd += " -pkg " + *pkg
	file := arm64asm.NewFile(*pkg, cmd, "arm64 && !purego")
	b := NewNEON(file)
	family(New(b))
	Finish(b)
	err := file.Write(*out, *stubs)
	if err == nil && table != nil {
		err = avomain.WriteGo(*tab, cmd, "arm64 && !purego", *pkg, table("arm64"))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		os.Exit(1)
	}
}
