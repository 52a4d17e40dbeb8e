//go:build peercmp && !noblis

package main

/*
#cgo CFLAGS: -I/usr/include/x86_64-linux-gnu/blis-openmp
#cgo LDFLAGS: -lblis -fopenmp
#include <blis.h>
#include <omp.h>

// BLIS's typed API: BLIS and OpenBLAS both export cblas_sgemm, so going
// through bli_sgemm keeps the two apart in one binary (static or not).
static int ompThreads = 1;
static void blisSgemm(int ta, int tb, int m, int n, int k, float *a, int lda, float *b, int ldb, float *c, int ldc) {
	float one = 1, zero = 0;
	omp_set_num_threads(ompThreads);
	bli_sgemm(ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
		m, n, k, &one, a, lda, 1, b, ldb, 1, &zero, c, ldc, 1);
}
static void blisThreads(int n) {
	ompThreads = n;
	bli_thread_set_num_threads(n);
}
*/
import "C"

import "github.com/convkit/convkit/bench"

func init() {
	peers = append(peers, library{
		name: "blis",
		call: func(s bench.GemmShape, a []float32, lda int, b []float32, ldb int, c []float32) {
			C.blisSgemm(cbool(s.TransA), cbool(s.TransB), C.int(s.M), C.int(s.N), C.int(s.K),
				(*C.float)(&a[0]), C.int(lda), (*C.float)(&b[0]), C.int(ldb), (*C.float)(&c[0]), C.int(s.N))
		},
		threads: func(n int) { C.blisThreads(C.int(n)) },
	})
}
