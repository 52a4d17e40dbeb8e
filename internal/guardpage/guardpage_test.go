package guardpage

import (
	"testing"

	"github.com/convkit/convkit/internal/prng"
)

// guardNs are the lengths the tests place: none, one, and around one
// 4 KiB page of float32 (1024), where the data spans one or two pages.
var guardNs = []int{0, 1, 2, 7, 1023, 1024, 1025, 5000}

func TestLayout(t *testing.T) {
	for _, n := range guardNs {
		s, b := End(n)
		if len(s) != n || cap(s) != n {
			t.Fatalf("End(%d): len %d cap %d", n, len(s), cap(s))
		}
		prng.Fill(s, 1)
		b.Free()
		b.Free() // a second Free does nothing
		s, b = Start(n)
		if len(s) != n || cap(s) != n {
			t.Fatalf("Start(%d): len %d cap %d", n, len(s), cap(s))
		}
		prng.Fill(s, 2)
		b.Free()
	}
	var none *Buffer
	none.Free()
}
