//go:build peercmp && !noblis

package main

/*
#cgo LDFLAGS: -ldl -fopenmp
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <omp.h>

// BLIS exports cblas_sgemm, sgemm_ and the rest under the same names as
// OpenBLAS, so linking both would bind one library's calls to the other's
// code. BLIS is loaded privately instead (RTLD_LOCAL, and DEEPBIND so its
// own calls stay inside it) and called through its typed API.
typedef void (*blisGemmFn)(int, int, int64_t, int64_t, int64_t, float *, float *, int64_t, int64_t,
	float *, int64_t, int64_t, float *, float *, int64_t, int64_t);
static blisGemmFn blisGemm;
static void (*blisSetThreads)(int64_t);
static char *(*blisVersion)(void);
static int ompThreads = 1;

static const char *loadBLIS(void) {
	void *h = dlopen("libblis.so.4", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
	if (!h) return 0;
	blisGemm = (blisGemmFn)dlsym(h, "bli_sgemm");
	blisSetThreads = (void (*)(int64_t))dlsym(h, "bli_thread_set_num_threads");
	blisVersion = (char *(*)(void))dlsym(h, "bli_info_get_version_str");
	if (!blisGemm || !blisSetThreads || !blisVersion) return 0;
	return blisVersion();
}

enum { blisNoTranspose = 0, blisTranspose = 8 }; // trans_t in blis.h (0.9)

static void blisSgemm(int ta, int tb, int m, int n, int k, float *a, int lda, float *b, int ldb, float *c, int ldc) {
	float one = 1, zero = 0;
	omp_set_num_threads(ompThreads);
	blisGemm(ta ? blisTranspose : blisNoTranspose, tb ? blisTranspose : blisNoTranspose,
		m, n, k, &one, a, lda, 1, b, ldb, 1, &zero, c, ldc, 1);
}
static void blisThreads(int n) {
	ompThreads = n;
	blisSetThreads(n);
}
*/
import "C"

import (
	"fmt"

	"github.com/convkit/convkit/bench"
)

func init() {
	v := C.loadBLIS()
	if v == nil {
		fmt.Println("# blis: libblis.so.4 not loaded (apt install libblis4-openmp)")
		return
	}
	fmt.Printf("# blis %s (libblis.so.4, bli_sgemm)\n", C.GoString(v))
	peers = append(peers, library{
		name: "blis",
		call: func(s bench.GemmShape, a []float32, lda int, b []float32, ldb int, c []float32) {
			C.blisSgemm(cbool(s.TransA), cbool(s.TransB), C.int(s.M), C.int(s.N), C.int(s.K),
				(*C.float)(&a[0]), C.int(lda), (*C.float)(&b[0]), C.int(ldb), (*C.float)(&c[0]), C.int(s.N))
		},
		threads: func(n int) { C.blisThreads(C.int(n)) },
	})
}
