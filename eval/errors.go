package eval

import "errors"

var (
	// ErrClassCount is returned by Merge when two accumulators were built for a
	// different number of classes.
	ErrClassCount = errors.New("eval: accumulators disagree on the number of classes")
	// ErrMismatch is returned by Evaluation.Merge for evaluations of different
	// jobs.
	ErrMismatch = errors.New("evaluations do not match")
)
