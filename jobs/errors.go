package jobs

import (
	"fmt"

	"github.com/lakefuse/lakefuse/internal/errkind"
)

var (
	// ErrSpec is returned for a spec that cannot be decoded or fails validation:
	// an unknown field, a wrong type, a missing or contradictory setting.
	ErrSpec = errkind.New(errkind.Spec, "invalid job spec")

	// ErrInput is returned when the lake's data breaks the spec's contract: a
	// missing modality folder or column, a file that is not Parquet, a vector of the
	// wrong length, duplicate keys under the error policy, an unknown label.
	ErrInput = errkind.New(errkind.Input, "bad input data")

	// ErrShardMismatch is returned when the states of a sharded run's shards do
	// not belong together (another spec, shard count or bucket layout, different
	// fits) and cannot be merged; rerunning will not help: the run's tasks were
	// started differently.
	ErrShardMismatch = errkind.New(errkind.Spec, "shards do not match")
)

// sourceErr wraps an error from reading one source (a modality or the labels
// table): as bad input, unless the storage said otherwise. A transient or access
// failure keeps its kind and is not labelled bad data.
func sourceErr(kind, name string, err error) error {
	if k := errkind.Of(err); k == errkind.Transient || k == errkind.Access {
		return fmt.Errorf("jobs: %s %q: %w", kind, name, err)
	}
	return fmt.Errorf("jobs: %w: %s %q: %w", ErrInput, kind, name, err)
}
