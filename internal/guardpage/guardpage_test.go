//go:build unix

package guardpage

import "testing"

func TestLayout(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 1023, 1024, 1025, 5000} {
		s, b := End(n)
		if len(s) != n || cap(s) != n {
			t.Fatalf("End(%d): len %d cap %d", n, len(s), cap(s))
		}
		Fill(s, 1)
		b.Free()
		s, b = Start(n)
		if len(s) != n {
			t.Fatalf("Start(%d): len %d", n, len(s))
		}
		Fill(s, 2)
		b.Free()
	}
}
