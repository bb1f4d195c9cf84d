package jobs

import "errors"

var (
	// ErrSpec is returned for a spec that cannot be decoded or fails validation:
	// an unknown field, a wrong type, a missing or contradictory setting.
	ErrSpec = errors.New("invalid job spec")

	// ErrInput is returned when the lake's data breaks the spec's contract: a
	// missing modality folder or column, a file that is not Parquet, a vector of the
	// wrong length, duplicate keys under the error policy, an unknown label.
	ErrInput = errors.New("bad input data")
)
