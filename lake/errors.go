package lake

import "errors"

var (
	// ErrBadURL is returned by Open when the lake URL cannot be parsed or names a
	// scheme that is not compiled in.
	ErrBadURL = errors.New("bad lake URL")

	// ErrNoData is returned when a dataset, modality or labels folder holds no
	// Parquet files (after partition filters).
	ErrNoData = errors.New("no parquet files")

	// ErrNotParquet is returned when a file cannot be opened as Parquet.
	ErrNotParquet = errors.New("not a parquet file")

	// ErrMissingColumn is returned when a requested column is not in a file's schema.
	ErrMissingColumn = errors.New("missing column")

	// ErrColumnType is returned when a column has a physical type or nesting that
	// the requested role cannot use (for example a string probability vector).
	ErrColumnType = errors.New("unsupported column type")

	// ErrBadValue is returned for a value that breaks the table's contract: a null
	// key, a null list element, or vectors of different lengths in one table.
	ErrBadValue = errors.New("bad value")

	// ErrRunCommitted is returned by CommitRun and NewRunWriter when the run prefix
	// already holds a _SUCCESS marker: a committed run is never overwritten.
	ErrRunCommitted = errors.New("run already committed")
)
