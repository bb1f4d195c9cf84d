package jobs

import "github.com/lakefuse/lakefuse/internal/errkind"

var (
	// ErrSpec is returned for a spec that cannot be decoded or fails validation:
	// an unknown field, a wrong type, a missing or contradictory setting.
	ErrSpec = errkind.New(errkind.Spec, "invalid job spec")

	// ErrInput is returned when the lake's data breaks the spec's contract: a
	// missing modality folder or column, a file that is not Parquet, a vector of the
	// wrong length, duplicate keys under the error policy, an unknown label.
	ErrInput = errkind.New(errkind.Input, "bad input data")
)
