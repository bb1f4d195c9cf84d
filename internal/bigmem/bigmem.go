// Package bigmem allocates the large arrays of a job (modality blocks of Rows×Width
// values, strategy outputs, key columns) so that they are cheap to touch for the
// first time.
//
// Faulting in fresh memory page by page is the largest single cost of a late-fusion
// job over millions of rows on virtual machines, where a minor fault can cost
// microseconds. On Linux, Floats asks the kernel for transparent huge pages on the
// array (madvise MADV_HUGEPAGE), which cuts the faults by up to 512x where the
// system allows it (transparent_hugepage "madvise" or "always"); elsewhere, or when
// the kernel declines, it is an ordinary allocation.
package bigmem

import "unsafe"

// hugePage is the size of an x86-64 and arm64 transparent huge page.
const hugePage = 2 << 20

// Floats returns a zeroed slice of n float64s.
func Floats(n int) []float64 { return Make[float64](n, n) }

// Make returns a zeroed slice of length n and capacity c (c >= n) of a type
// without pointers, such as numbers or fixed-size records.
func Make[T any](n, c int) []T {
	s := make([]T, n, c)
	var zero T
	if size := uintptr(c) * unsafe.Sizeof(zero); size >= 2*hugePage {
		adviseHuge(unsafe.Pointer(unsafe.SliceData(s)), size)
	}
	return s
}
