//go:build unix

package spill

import "syscall"

// OpenFiles is how many files the process may have open (RLIMIT_NOFILE; Go raises
// the soft limit to the hard one at start-up), or 0 when it cannot tell.
func OpenFiles() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil || l.Cur > 1<<30 {
		return 0
	}
	return int(l.Cur)
}
