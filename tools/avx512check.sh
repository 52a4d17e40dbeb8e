#!/usr/bin/env bash
# avx512check.sh: check and measure the AVX-512 paths on a machine that has
# AVX-512 when the development machine does not (the 2-core VMs this project
# runs on are sometimes AVX2-only). Two halves:
#
#   tools/avx512check.sh build     # here: cross-build static binaries into out/avx512/
#   tools/avx512check.sh run OUT   # there (no Go needed): tests + side-by-side numbers into OUT
#
# "build" also needs gcc and Debian's libopenblas-dev (static libopenblas.a)
# to build ../shared/anchors/peak.c and sgemm_bench.c beside convkit.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=out/avx512

case "${1:-}" in
build)
	mkdir -p "$dir"
	go test -c -o "$dir/kernels.test" ./kernels &&
		go test -c -o "$dir/gemm.test" ./gemm &&
		go build -o "$dir/convkit" ./cmd/convkit || exit 1
	anchors=../shared/anchors
	gcc -O3 -mavx2 -mfma -mavx512f -static -pthread "$anchors/peak.c" -o "$dir/peak" -lm || exit 1
	gcc -O3 -mavx2 -mfma -static -pthread -DUSE_OPENBLAS "$anchors/sgemm_bench.c" -o "$dir/sgemm_openblas" \
		/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.a -lm 2>/dev/null || exit 1
	cp bench/shapes/gemm_shapes.tsv "$dir/"
	du -sh "$dir"
	;;
run)
	out=${2:?usage: $0 run OUTDIR}
	mkdir -p "$out"
	cd "$dir" || exit 1
	{ grep -m1 'model name' /proc/cpuinfo; nproc; grep -m1 -o 'avx512[a-z]*' /proc/cpuinfo | sort -u | tr '\n' ' '; echo; } >"$out/cpu.txt"
	for isa in avx512 avx2; do
		CONVKIT_ISA=$isa ./kernels.test -test.count=1 >"$out/kernels_$isa.txt" 2>&1
		echo "kernels $isa: $?" >>"$out/summary.txt"
		CONVKIT_ISA=$isa timeout 120 ./gemm.test -test.count=1 -test.short >"$out/gemm_$isa.txt" 2>&1
		echo "gemm $isa: $?" >>"$out/summary.txt"
	done
	./peak >"$out/peak.txt" 2>&1
	./convkit info >"$out/info.txt" 2>&1
	# Side by side, alternating, on the same machine in one run.
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ./sgemm_openblas gemm_shapes.tsv 1,2 0.3 >"$out/openblas.tsv" 2>&1
	./convkit bench gemm -shapes gemm_shapes.tsv -isa avx512,avx2 -threads 1,2 -format tsv -quiet -peers=false >"$out/convkit.tsv" 2>&1
	OPENBLAS_CORETYPE=Haswell ./sgemm_openblas gemm_shapes.tsv 1 0.3 >"$out/openblas_haswell.tsv" 2>&1
	./peak >"$out/peak2.txt" 2>&1
	cat "$out/summary.txt"
	;;
*)
	sed -n '2,10p' "$0"
	exit 2
	;;
esac
