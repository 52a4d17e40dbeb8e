package arm64asm

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// Main is the whole main function of a generator program: it parses the
// flags every convkit generator takes (-out, -stubs, -pkg), lets build add
// the functions, and writes both files atomically. prog is the program's
// folder under gen (e.g. "neonvec"); the header names the command as
// asm/doc.go's go:generate line runs it, whatever the working directory of
// this run, so that regenerating from anywhere gives the same bytes.
func Main(prog string, build func(f *File)) {
	out := flag.String("out", "", "assembly output file (.s)")
	stubs := flag.String("stubs", "", "Go declarations output file (.go)")
	pkg := flag.String("pkg", "asm", "package name of the stubs")
	flag.Parse()
	if *out == "" || *stubs == "" || flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "usage: go run ./%s -out X_arm64.s -stubs X_arm64.go [-pkg asm]\n", prog)
		os.Exit(2)
	}
	cmd := fmt.Sprintf("go run -C ../gen ./%s -out ../asm/%s -stubs ../asm/%s -pkg %s",
		prog, filepath.Base(*out), filepath.Base(*stubs), *pkg)
	f := NewFile(*pkg, cmd, "arm64 && !purego")
	build(f)
	if err := f.Write(*out, *stubs); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		os.Exit(1)
	}
}
