// Package bench runs convkit's benchmarks (GEMM and convolution workloads
// read from shape files) and formats the comparison report. Peers such as
// gonum are imported here, never by the library itself.
//
// Shape files are tab-separated with '#' comment lines and a header row;
// the public ones are embedded (DefaultGemmShapes, DefaultConvShapes) and
// others are read with LoadGemmShapes / LoadConvShapes, whose errors name
// file:line. RunGemm and RunConv produce one Result per shape, ISA path (or
// peer) and thread count (and for convolutions per pass and algorithm),
// timed as the median of repeated calls (Timing), with GFLOPS and the
// percentage of the FMA peak probed just before and after each shape's
// rows, so that a drifting clock cannot push it past 100 (PeakMeter). A
// Report prints them as a table, TSV or JSON.
//
// The convolution engine plugs in through ConvEngine (set
// DefaultConvEngine); until it does, every convolution row says
// "not implemented: conv engine (algo X)". Rows are never skipped or
// faked: what cannot run says why in its status column.
package bench
