//go:build unix

package spill

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// OpenFiles is how many files the process may have open (RLIMIT_NOFILE; Go raises
// the soft limit to the hard one at start-up), or 0 when it cannot tell.
func OpenFiles() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil || l.Cur > 1<<30 {
		return 0
	}
	return int(l.Cur)
}

// mapFile maps a bucket file's n bytes read-only; unmap releases them. The
// pages are the page cache's own: nothing is copied or allocated to read them.
func mapFile(f *os.File, n int64) (data []byte, unmap func() error, err error) {
	data, err = unix.Mmap(int(f.Fd()), 0, int(n), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return unix.Munmap(data) }, nil
}

// dropPages takes the whole pages of data[:n] out of the process's resident set
// (their contents stay in the page cache, and read as before if touched again).
func dropPages(data []byte, n int) {
	if n &^= os.Getpagesize() - 1; n > 0 {
		_ = unix.Madvise(data[:n], unix.MADV_DONTNEED)
	}
}
