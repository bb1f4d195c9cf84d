//go:build !unix

package spill

import (
	"errors"
	"os"
)

// OpenFiles is how many files the process may have open, or 0 when it cannot
// tell (here: never).
func OpenFiles() int { return 0 }

// mapFile is not available here: bucket files are read through ReadAt.
func mapFile(*os.File, int64) ([]byte, func() error, error) {
	return nil, nil, errors.ErrUnsupported
}

func dropPages([]byte, int) {}
