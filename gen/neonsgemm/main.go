// Command neonsgemm generates convkit's arm64 SGEMM micro-kernel:
//
//	go run -C ../gen ./neonsgemm -out ../asm/sgemm_arm64.s -stubs ../asm/sgemm_arm64.go -pkg asm
//
// The kernel implements kernels.GemmKernels.Micro (see kernels/table.go):
// C[MR x NR] = alpha * A_panel * B_panel + beta * C from packed panels
// a[p*MR+i] and b[p*NR+j]. Its oracle is kernels.MicroGeneric.
//
// Shape. The accumulators hold the whole tile: MR rows of NR/lanes vectors.
// Each k step loads MR floats of A into MR/lanes registers and NR floats of
// B into NR/lanes registers and issues one FMLA by element per accumulator
// (acc[i][j] += B[j] * A.s[i]). NEON has 32 registers, so MR*NR/4 + MR/4 +
// NR/4 <= 32: 8x12 and 12x8 both use 24 accumulators + 5 operand
// registers. We take 8x12 because
//   - per k step the kernel reads MR floats of A per MR*NR FMAs; in the
//     BLIS loop order the B micro-panel stays in L1 and the A panel streams
//     from L2, so a larger NR means less L2 traffic per flop (1/12 vs 1/8);
//   - a C row is NR contiguous floats, so each row is three full q-register
//     loads/stores, no partial vectors (12x8 would be two per row but 12
//     rows of pointer bumps);
//   - MR = 8 is a power of two, which keeps the packing of A simple.
//
// Like neonvec, the kernel is written against an isa description and a
// tile, so another NEON-like width or tile is a new parameter set.
package main

import (
	"fmt"

	a "github.com/convkit/convkit/gen/arm64asm"
)

// isa is what the micro-kernel needs to know about its target beyond the
// instruction spellings.
type isa struct {
	Name  string   // suffix of the kernel name ("NEON")
	Arr   a.Arr    // float32 arrangement of one vector register
	Regs  int      // vector registers available
	Tiles [][2]int // the MR x NR shapes to generate
}

// neon is AArch64 Advanced SIMD: 32 registers of four float32.
var neon = isa{Name: "NEON", Arr: a.S4, Regs: 32, Tiles: [][2]int{{8, 12}}}

func main() {
	a.Main("neonsgemm", func(f *a.File) {
		for _, t := range neon.Tiles {
			genMicro(f, neon, t[0], t[1])
		}
	})
}

// genMicro emits SgemmMicro<MR>x<NR><ISA>.
func genMicro(f *a.File, c isa, mr, nr int) {
	lanes := c.Arr.Lanes()
	if mr%lanes != 0 || nr%lanes != 0 {
		panic(fmt.Sprintf("neonsgemm: tile %dx%d is not a multiple of %d lanes", mr, nr, lanes))
	}
	aRegs, bRegs := mr/lanes, nr/lanes
	nAcc := mr * bRegs
	// Register plan: A at V0.., B right after, accumulators at the top.
	// After the k loop the A and B registers are free: alpha and beta go
	// to V0 and V1 and a row of C to the bRegs registers after them.
	vA, vB := a.VReg(0), a.VReg(aRegs)
	vAcc := a.VReg(c.Regs - nAcc)
	vAlpha, vBeta, vC := a.VReg(0), a.VReg(1), a.VReg(2)
	if aRegs+bRegs > int(vAcc) || 2+bRegs > int(vAcc) || bRegs > 4 {
		panic(fmt.Sprintf("neonsgemm: tile %dx%d does not fit %d registers", mr, nr, c.Regs))
	}
	acc := func(i, j int) a.VReg { return vAcc + a.VReg(i*bRegs+j) }

	name := fmt.Sprintf("SgemmMicro%dx%d%s", mr, nr, c.Name)
	fn := f.Func(name, []string{
		fmt.Sprintf("%s is a kernels.GemmKernels.Micro with MR = %d, NR = %d; its", name, mr, nr),
		fmt.Sprintf("reference and test oracle is kernels.MicroGeneric(%d, %d, ...)", mr, nr),
		"(kernels/gemm_generic.go):",
		"",
		fmt.Sprintf("\tfor i < %d, j < %d:", mr, nr),
		fmt.Sprintf("\t  ab := sum over p < k of a[p*%d+i] * b[p*%d+j]", mr, nr),
		"\t  c[i*ldc+j] = alpha*ab + beta*c[i*ldc+j]   (beta == 0: c is not read)",
		"",
		fmt.Sprintf("It trusts k >= 0, len(a) >= k*%d, len(b) >= k*%d, ldc >= %d and", mr, nr, nr),
		fmt.Sprintf("len(c) >= %d*ldc+%d; it reads and writes nothing else. The products", mr-1, nr),
		"are fused into the sums (FMLA), so rounding differs slightly from the",
		"reference. Call it through kernels.Gemm.Micro.",
	}, a.Signature{Params: []a.Param{
		a.P("k", a.Int), a.P("a", a.Float32Slice), a.P("b", a.Float32Slice), a.P("c", a.Float32Slice),
		a.P("ldc", a.Int), a.P("alpha", a.Float32), a.P("beta", a.Float32),
	}})

	pa, pb, pc, k, ldc := a.GPR(0), a.GPR(1), a.GPR(2), a.GPR(3), a.GPR(4)
	fn.Op("MOVD", fn.Arg("k"), k.String())
	fn.Op("MOVD", fn.Base("a"), pa.String())
	fn.Op("MOVD", fn.Base("b"), pb.String())
	fn.Op("MOVD", fn.Base("c"), pc.String())
	fn.Op("MOVD", fn.Arg("ldc"), ldc.String())
	fn.Op("LSL", "$2", ldc.String(), ldc.String())
	fn.Comment("%d accumulators: the whole %dx%d tile stays in registers for all of k", nAcc, mr, nr)
	for i := 0; i < nAcc; i++ {
		r := vAcc + a.VReg(i)
		fn.VEOR(r, r, r)
	}
	fn.Op("CBZ", k.String(), "store")
	fn.Label("loop")
	fn.VLD1(c.Arr, vA, aRegs, pa, true)
	fn.VLD1(c.Arr, vB, bRegs, pb, true)
	fn.Comment("acc[i][j] += B[j] * A[i]: row i of A is one lane of A's registers")
	for i := 0; i < mr; i++ {
		for j := 0; j < bRegs; j++ {
			fn.Word(a.FMLAElem(c.Arr, acc(i, j), vB+a.VReg(j), vA+a.VReg(i/lanes), i%lanes))
		}
	}
	fn.Op("SUBS", "$1", k.String(), k.String())
	fn.Op("BNE", "loop")
	fn.Blank()

	fn.Label("store")
	fn.Op("FMOVS", fn.Arg("alpha"), vAlpha.F())
	fn.Op("FMOVS", fn.Arg("beta"), vBeta.F())
	fn.Comment("beta == 0 (either sign) must not read C: it may hold NaN or garbage")
	fn.Op("FCMPS", "$(0.0)", vBeta.F())
	fn.Op("BEQ", "nobeta")
	for i := 0; i < mr; i++ {
		fn.VLD1(c.Arr, vC, bRegs, pc, false)
		for j := 0; j < bRegs; j++ {
			fn.Word(a.FMULElem(c.Arr, vC+a.VReg(j), vC+a.VReg(j), vBeta, 0))
		}
		for j := 0; j < bRegs; j++ {
			fn.Word(a.FMLAElem(c.Arr, vC+a.VReg(j), acc(i, j), vAlpha, 0))
		}
		fn.VST1(c.Arr, vC, bRegs, pc, false)
		if i < mr-1 {
			fn.Op("ADD", ldc.String(), pc.String(), pc.String())
		}
	}
	fn.Op("RET")
	fn.Blank()

	fn.Label("nobeta")
	for i := 0; i < mr; i++ {
		for j := 0; j < bRegs; j++ {
			fn.Word(a.FMULElem(c.Arr, acc(i, j), acc(i, j), vAlpha, 0))
		}
		fn.VST1(c.Arr, acc(i, 0), bRegs, pc, false)
		if i < mr-1 {
			fn.Op("ADD", ldc.String(), pc.String(), pc.String())
		}
	}
	fn.Op("RET")
}
