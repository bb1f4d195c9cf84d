//go:build linux

package bigmem

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// adviseHuge advises huge pages on the 2 MiB-aligned interior of [p, p+size).
// Failure is harmless: the memory just keeps ordinary pages.
func adviseHuge(p unsafe.Pointer, size uintptr) {
	b := unsafe.Slice((*byte)(p), size)
	off := (hugePage - uintptr(p)%hugePage) % hugePage
	if off >= size {
		return
	}
	n := (size - off) &^ (hugePage - 1)
	if n == 0 {
		return
	}
	_ = unix.Madvise(b[off:off+n], unix.MADV_HUGEPAGE)
}
