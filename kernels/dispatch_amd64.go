//go:build amd64 && !purego

package kernels

import "github.com/convkit/convkit/asm"

// tableFor returns the table of path i; init and Use call it only for paths
// the host supports (TableFor checks).
func tableFor(i ISA) *Table {
	switch i {
	case AVX2:
		return &avx2Table
	case AVX512:
		return &avx512Table
	}
	return &generic
}

var (
	avx2Table   = amd64Table(AVX2)
	avx512Table = amd64Table(AVX512)
)

// amd64Table assembles the kernels of one amd64 path: the generated vector
// primitives and peak probe of package asm, and gemmKernels(i).
func amd64Table(i ISA) Table {
	t := Table{ISA: i, Gemm: gemmKernels(i)}
	switch i {
	case AVX2:
		t.Vec = VecKernels{
			Axpy:             asm.AxpyAVX2,
			Dot:              asm.DotAVX2,
			Scale:            asm.ScaleAVX2,
			Add:              asm.AddAVX2,
			Relu:             asm.ReluAVX2,
			ReluBackward:     asm.ReluBackwardAVX2,
			Max:              asm.MaxAVX2,
			Sum:              asm.SumAVX2,
			Gather2:          asm.Gather2AVX2,
			MaxPool2:         asm.MaxPool2AVX2,
			MaxPool2Backward: asm.MaxPool2BackwardAVX2,
			ScatterAdd2:      asm.ScatterAdd2AVX2,
			Interleave2:      asm.Interleave2AVX2,
			DotShifts3:       asm.DotShifts3AVX2,
			DotShifts5:       asm.DotShifts5AVX2,
			DotGrid3:         asm.DotGrid3AVX2,
			CopyRows:         asm.CopyRowsAVX2,
		}
		t.Peak = asm.FmaPeakAVX2
	case AVX512:
		t.Vec = VecKernels{
			Axpy:             asm.AxpyAVX512,
			Dot:              asm.DotAVX512,
			Scale:            asm.ScaleAVX512,
			Add:              asm.AddAVX512,
			Relu:             asm.ReluAVX512,
			ReluBackward:     asm.ReluBackwardAVX512,
			Max:              asm.MaxAVX512,
			Sum:              asm.SumAVX512,
			Gather2:          asm.Gather2AVX512,
			MaxPool2:         asm.MaxPool2AVX512,
			MaxPool2Backward: asm.MaxPool2BackwardAVX512,
			ScatterAdd2:      asm.ScatterAdd2AVX512,
			Interleave2:      asm.Interleave2AVX512,
			DotShifts3:       asm.DotShifts3AVX512,
			DotShifts5:       asm.DotShifts5AVX512,
			DotGrid3:         asm.DotGrid3AVX512,
			CopyRows:         asm.CopyRowsAVX512,
		}
		t.Peak = asm.FmaPeakAVX512
	default:
		panic("kernels: amd64Table(" + i.String() + ")")
	}
	return t
}

// gemmKernels binds the SGEMM micro-kernel of each amd64 path: the
// default family's Micro in the generated table (gemm_asm.go).
func gemmKernels(i ISA) GemmKernels {
	switch i {
	case AVX2, AVX512:
		return defaultMicro(i)
	}
	return generic.Gemm
}
