package fusion

import "errors"

var (
	// ErrNoModality is returned when a row to be scored has no modality present.
	ErrNoModality = errors.New("fusion: row has no modality present")

	// ErrNoTrainingRows is returned by Fit when the frame has no labelled training
	// rows (for a model: no training rows where its modality is present).
	ErrNoTrainingRows = errors.New("fusion: no labelled training rows")

	// ErrUnknownStrategy is returned by New for a name that was never registered.
	ErrUnknownStrategy = errors.New("fusion: unknown strategy")

	// ErrNotFitted is returned by Predict on a strategy that needs Fit first.
	ErrNotFitted = errors.New("fusion: strategy is not fitted")

	// ErrArtifact is returned by Load for a model artifact that cannot be read: an
	// unknown format version or parameters that do not decode.
	ErrArtifact = errors.New("fusion: bad model artifact")

	// ErrConfig is returned by New or Fit for options a strategy cannot use, such as
	// noisy-OR on more than two classes or weights naming no modality.
	ErrConfig = errors.New("fusion: bad strategy options")

	// ErrShape is returned when inputs disagree on sizes (rows, widths, classes).
	ErrShape = errors.New("fusion: shape mismatch")
)
