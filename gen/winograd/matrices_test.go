package main

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestTransformsExact checks every variant's matrices over the
// rationals: A^T [(G g) . (B^T d)] is the correlation y_i = sum_k g_k
// d_(i+k) exactly, for random integer d and g (1D; the 2D algorithm is
// its nesting), and B^T's rows are integers.
func TestTransformsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, v := range variants {
		bt, g, at := v.transforms()
		a := v.alpha()
		for trial := 0; trial < 20; trial++ {
			d, f := make([]*big.Rat, a), make([]*big.Rat, r)
			for i := range d {
				d[i] = big.NewRat(int64(rng.IntN(41)-20), 1)
			}
			for i := range f {
				f[i] = big.NewRat(int64(rng.IntN(41)-20), 1)
			}
			prod := make([]*big.Rat, a)
			for j := 0; j < a; j++ {
				u, w := new(big.Rat), new(big.Rat)
				for k := 0; k < r; k++ {
					u.Add(u, new(big.Rat).Mul(g.at(j, k), f[k]))
				}
				for k := 0; k < a; k++ {
					w.Add(w, new(big.Rat).Mul(bt.at(j, k), d[k]))
				}
				prod[j] = u.Mul(u, w)
			}
			for i := 0; i < v.m; i++ {
				got, want := new(big.Rat), new(big.Rat)
				for j := 0; j < a; j++ {
					got.Add(got, new(big.Rat).Mul(at.at(i, j), prod[j]))
				}
				for k := 0; k < r; k++ {
					want.Add(want, new(big.Rat).Mul(f[k], d[i+k]))
				}
				if got.Cmp(want) != 0 {
					t.Fatalf("%s: y[%d] = %s, want %s", v.name, i, got.RatString(), want.RatString())
				}
			}
		}
		for _, x := range bt.v {
			if !x.IsInt() {
				t.Errorf("%s: B^T entry %s is not an integer", v.name, x.RatString())
			}
		}
	}
}

// TestGradTransformsExact checks the weight-gradient form over the
// rationals: A'^T [(G' dy) . (B^T x)] is dW_r = sum_i dy_i x_(i+r)
// exactly, for random integer x and dy (1D).
func TestGradTransformsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, v := range variants {
		bt, _, _ := v.transforms()
		gt, gat := v.gradTransforms()
		a := v.alpha()
		for trial := 0; trial < 20; trial++ {
			x, dy := make([]*big.Rat, a), make([]*big.Rat, v.m)
			for i := range x {
				x[i] = big.NewRat(int64(rng.IntN(41)-20), 1)
			}
			for i := range dy {
				dy[i] = big.NewRat(int64(rng.IntN(41)-20), 1)
			}
			prod := make([]*big.Rat, a)
			for j := 0; j < a; j++ {
				u, w := new(big.Rat), new(big.Rat)
				for k := 0; k < v.m; k++ {
					u.Add(u, new(big.Rat).Mul(gt.at(j, k), dy[k]))
				}
				for k := 0; k < a; k++ {
					w.Add(w, new(big.Rat).Mul(bt.at(j, k), x[k]))
				}
				prod[j] = u.Mul(u, w)
			}
			for i := 0; i < r; i++ {
				got, want := new(big.Rat), new(big.Rat)
				for j := 0; j < a; j++ {
					got.Add(got, new(big.Rat).Mul(gat.at(i, j), prod[j]))
				}
				for k := 0; k < v.m; k++ {
					want.Add(want, new(big.Rat).Mul(dy[k], x[i+k]))
				}
				if got.Cmp(want) != 0 {
					t.Fatalf("%s: dW[%d] = %s, want %s", v.name, i, got.RatString(), want.RatString())
				}
			}
		}
	}
}
