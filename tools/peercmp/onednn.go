//go:build peercmp && !nodnnl

package main

/*
#cgo LDFLAGS: -ldnnl -fopenmp
#include <stdint.h>
#include <omp.h>

int dnnl_sgemm(char, char, int64_t, int64_t, int64_t, float, const float *, int64_t, const float *, int64_t, float, float *, int64_t);

static int ompThreads = 1;
static int onednnSgemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc) {
	omp_set_num_threads(ompThreads); // per OS thread in libgomp, and cgo calls may move
	return dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}
static void onednnThreads(int n) { ompThreads = n; }
*/
import "C"

import (
	"log"

	"github.com/convkit/convkit/bench"
)

func init() {
	peers = append(peers, library{
		name: "onednn",
		call: func(s bench.GemmShape, a []float32, lda int, b []float32, ldb int, c []float32) {
			ta, tb := C.int(0), C.int(0)
			if s.TransA {
				ta = 1
			}
			if s.TransB {
				tb = 1
			}
			if C.onednnSgemm(ta, tb, C.int(s.M), C.int(s.N), C.int(s.K),
				(*C.float)(&a[0]), C.int(lda), (*C.float)(&b[0]), C.int(ldb), (*C.float)(&c[0]), C.int(s.N)) != 0 {
				log.Fatal("dnnl_sgemm failed")
			}
		},
		threads: func(n int) { C.onednnThreads(C.int(n)) },
	})
}
