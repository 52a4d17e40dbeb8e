//go:build peercmp

package main

/*
#cgo LDFLAGS: -lopenblas -lm
enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
void cblas_sgemm(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
void openblas_set_num_threads(int);
char *openblas_get_corename(void);
char *openblas_get_config(void);

static void openblasSgemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc) {
	cblas_sgemm(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}
*/
import "C"

import (
	"fmt"

	"github.com/convkit/convkit/bench"
)

func init() {
	fmt.Printf("# openblas %s, core %s\n", C.GoString(C.openblas_get_config()), C.GoString(C.openblas_get_corename()))
	peers = append(peers, library{
		name: "openblas",
		call: func(s bench.GemmShape, a []float32, lda int, b []float32, ldb int, c []float32) {
			C.openblasSgemm(cbool(s.TransA), cbool(s.TransB), C.int(s.M), C.int(s.N), C.int(s.K),
				(*C.float)(&a[0]), C.int(lda), (*C.float)(&b[0]), C.int(ldb), (*C.float)(&c[0]), C.int(s.N))
		},
		threads: func(n int) { C.openblas_set_num_threads(C.int(n)) },
	})
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
