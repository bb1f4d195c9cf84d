package fusion

import "github.com/lakefuse/lakefuse/internal/errkind"

var (
	// ErrNoModality is returned when a row to be scored has no modality present.
	ErrNoModality = errkind.New(errkind.Input, "fusion: row has no modality present")

	// ErrNoTrainingRows is returned by Fit when the frame has no labelled training
	// rows (for a model: no training rows where its modality is present).
	ErrNoTrainingRows = errkind.New(errkind.Input, "fusion: no labelled training rows")

	// ErrUnknownStrategy is returned by New for a name that was never registered.
	ErrUnknownStrategy = errkind.New(errkind.Spec, "fusion: unknown strategy")

	// ErrNotFitted is returned by Predict on a strategy that needs Fit first.
	ErrNotFitted = errkind.New(errkind.Other, "fusion: strategy is not fitted")

	// ErrArtifact is returned by Load for a model artifact that cannot be read: an
	// unknown format version or parameters that do not decode.
	ErrArtifact = errkind.New(errkind.Input, "fusion: bad model artifact")

	// ErrConfig is returned by New or Fit for options a strategy cannot use, such as
	// noisy-OR on more than two classes or weights naming no modality.
	ErrConfig = errkind.New(errkind.Spec, "fusion: bad strategy options")

	// ErrShape is returned when inputs disagree on sizes (rows, widths, classes).
	ErrShape = errkind.New(errkind.Input, "fusion: shape mismatch")
)
