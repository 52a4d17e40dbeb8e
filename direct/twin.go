package direct

import "github.com/convkit/convkit/kernels"

// TileGeneric is the Go twin of the generated tile kernels (the contract
// is Family.Tile's, for a tile of u pixels x b vectors of lanes channels
// and cin input channels per tap step) and their test oracle. Its sums
// run in the kernels' order, each product fused, so it matches them bit
// for bit.
func TileGeneric(lanes, cin, u, b int, dst, src, w []float32, a *Args, bias, res []float32) {
	var acc [maxTile]float32
	ch := b * lanes
	tile := acc[:u*ch]
	for i := 0; i < u; i++ {
		for j := 0; j < ch; j++ {
			d := (i*a.DstPix+(j/lanes)*a.DstOCB)/4 + j%lanes
			switch {
			case a.Flags&Accumulate != 0:
				tile[i*ch+j] = dst[d]
			case bias != nil:
				tile[i*ch+j] = bias[j]
			}
		}
	}
	for g := 0; g < a.ICB; g++ {
		for t := 0; t < a.Taps.Len(); t++ {
			ts, tw := a.Taps.At(t)
			p, q := (g*a.SrcICB+ts)/4, (g*a.WICB+tw)/4
			for c := 0; c < cin; c++ {
				wc := w[q+c*ch : q+c*ch+ch]
				for i := 0; i < u; i++ {
					x := src[p+i*a.SrcPix/4+c]
					row := tile[i*ch : i*ch+ch]
					for j, wv := range wc {
						row[j] = kernels.FMA32(x, wv, row[j])
					}
				}
			}
		}
	}
	for i := 0; i < u; i++ {
		for j := 0; j < ch; j++ {
			d := (i*a.DstPix+(j/lanes)*a.DstOCB)/4 + j%lanes
			v := tile[i*ch+j]
			if res != nil {
				v += res[d]
			}
			if a.Flags&ReLU != 0 && v <= 0 { // false for NaN, which passes through
				v = 0
			}
			dst[d] = v
		}
	}
}

// maxTile bounds a tile's accumulators: 14 pixels x 4 vectors of 16.
const maxTile = 14 * 4 * 16
