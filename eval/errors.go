package eval

import "errors"

var (
	// ErrClassCount is returned by Merge when two accumulators were built for a
	// different number of classes.
	ErrClassCount = errors.New("eval: accumulators disagree on the number of classes")
)
