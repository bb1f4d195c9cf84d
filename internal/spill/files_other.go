//go:build !unix

package spill

// OpenFiles is how many files the process may have open, or 0 when it cannot
// tell (here: never).
func OpenFiles() int { return 0 }
