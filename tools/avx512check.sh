#!/usr/bin/env bash
# avx512check.sh: check and measure the AVX-512 paths on a machine that has
# AVX-512 when the development machine does not (the 2-core VMs this project
# runs on are sometimes AVX2-only). Two halves:
#
#   tools/avx512check.sh build     # here: cross-build static binaries into out/avx512/
#   tools/avx512check.sh run OUT   # there (no Go needed): OUT/report.txt, one file
#
# "build" also needs gcc and Debian's libopenblas-dev (static libopenblas.a)
# to build ../shared/anchors/peak.c and a static tools/peercmp (convkit and
# OpenBLAS interleaved call by call in one process; oneDNN has no static
# library in Debian, and BLIS is loaded at run time) beside convkit.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=out/avx512

case "${1:-}" in
build)
	mkdir -p "$dir"
	# Stripped: the device machine takes 64 MiB of carried files in all.
	go test -c -ldflags '-s -w' -o "$dir/kernels.test" ./kernels &&
		go test -c -ldflags '-s -w' -o "$dir/gemm.test" ./gemm &&
		go build -ldflags '-s -w' -o "$dir/convkit" ./cmd/convkit || exit 1
	anchors=../shared/anchors
	gcc -O3 -mavx2 -mfma -mavx512f -static -pthread "$anchors/peak.c" -o "$dir/peak" -lm || exit 1
	go build -tags 'peercmp nodnnl noblis' -ldflags '-s -w -extldflags "-static"' -o "$dir/peercmp" ./tools/peercmp 2>&1 |
		grep -v -e 'warning: Using' -e 'in function' -e '^#' || true
	[ -x "$dir/peercmp" ] || exit 1
	cp bench/shapes/gemm_shapes.tsv "$dir/"
	du -sh "$dir"
	;;
run)
	out=${2:?usage: $0 run OUTDIR}
	mkdir -p "$out"
	cd "$dir" || exit 1
	r=$out/report.txt
	section() { printf '\n== %s\n' "$*" >>"$r"; }
	{ grep -m1 'model name' /proc/cpuinfo; nproc; grep -o 'avx512[a-z]*' /proc/cpuinfo | sort -u | tr '\n' ' '; echo; } >"$r"
	for isa in avx512 avx2; do
		for t in kernels gemm; do
			CONVKIT_ISA=$isa timeout 300 ./$t.test -test.count=1 -test.short >"$out/log" 2>&1
			rc=$?
			section "$t tests, $isa: exit $rc"
			[ $rc = 0 ] || tail -40 "$out/log" >>"$r"
		done
	done
	rm -f "$out/log"
	section peak.c
	./peak >>"$r" 2>&1
	section convkit info
	./convkit info >>"$r" 2>&1
	# Side by side: interleaved call by call (1 thread), in 20 ms turns (2).
	section "peercmp avx512, 1 thread"
	./peercmp -isa avx512 -threads 1 -t 1 >>"$r" 2>&1
	section "peercmp avx512, 2 threads"
	OPENBLAS_THREAD_TIMEOUT=4 ./peercmp -isa avx512 -threads 2 -t 1 -turn 20ms >>"$r" 2>&1
	section "peercmp avx2 vs OpenBLAS Haswell, 1 thread"
	OPENBLAS_CORETYPE=Haswell ./peercmp -isa avx2 -threads 1 -t 0.5 >>"$r" 2>&1
	section "convkit bench gemm"
	./convkit bench gemm -shapes gemm_shapes.tsv -isa avx512 -threads 1,2 -format tsv -quiet -peers=false >>"$r" 2>&1
	section "peak.c again (clock drift check)"
	./peak >>"$r" 2>&1
	grep '^== .*tests' "$r"
	;;
*)
	sed -n '2,10p' "$0"
	exit 2
	;;
esac
