//go:build peercmp && !nodnnl

package main

/*
#cgo LDFLAGS: -ldnnl -fopenmp
#include <dnnl.h>
#include <omp.h>

static int dnnlMajor(void) { return dnnl_version()->major; }
static int dnnlMinor(void) { return dnnl_version()->minor; }
static int dnnlPatch(void) { return dnnl_version()->patch; }

static int ompThreads = 1;
static int onednnSgemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc) {
	omp_set_num_threads(ompThreads); // per OS thread in libgomp, and cgo calls may move
	return dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}
static void onednnThreads(int n) { ompThreads = n; }
*/
import "C"

import (
	"fmt"
	"log"

	"github.com/convkit/convkit/bench"
)

func init() {
	fmt.Printf("# onednn %d.%d.%d (dnnl_sgemm)\n", C.dnnlMajor(), C.dnnlMinor(), C.dnnlPatch())
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
