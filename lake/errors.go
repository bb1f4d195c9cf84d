package lake

import "github.com/lakefuse/lakefuse/internal/errkind"

// Storage requests that fail return a *StorageError whose kind (transient, or
// access and configuration) comes from the storage's error code; the sentinels
// below are the contract failures lake itself recognises.
var (
	// ErrBadURL is returned by Open when the lake URL cannot be parsed or names a
	// scheme that is not compiled in.
	ErrBadURL = errkind.New(errkind.Spec, "bad lake URL")

	// ErrBadName is returned by CheckPath and CheckName for a run id, dataset,
	// output prefix or partition value that is not a safe object-store name.
	ErrBadName = errkind.New(errkind.Spec, "bad name")

	// ErrNoData is returned when a dataset, modality or labels folder holds no
	// Parquet files (after partition filters).
	ErrNoData = errkind.New(errkind.Input, "no parquet files")

	// ErrNoLake is a read-only open of a file:// folder that does not exist.
	ErrNoLake = errkind.New(errkind.Input, "no such lake folder")
	// ErrNotFound is returned by ReadAll and Copy when the object does not exist.
	ErrNotFound = errkind.New(errkind.Input, "no such object")

	// ErrExists is returned by WriteObject with IfNotExist when the object already
	// exists: another writer won.
	ErrExists = errkind.New(errkind.Other, "object already exists")

	// ErrNotParquet is returned when a file cannot be opened as Parquet.
	ErrNotParquet = errkind.New(errkind.Input, "not a parquet file")

	// ErrMissingColumn is returned when a requested column is not in a file's schema.
	ErrMissingColumn = errkind.New(errkind.Input, "missing column")

	// ErrColumnType is returned when a column has a physical type or nesting that
	// the requested role cannot use (for example a string probability vector).
	ErrColumnType = errkind.New(errkind.Input, "unsupported column type")

	// ErrBadValue is returned for a value that breaks the table's contract: a null
	// key, a null list element, or vectors of different lengths in one table.
	ErrBadValue = errkind.New(errkind.Input, "bad value")

	// ErrRunCommitted is returned when the run prefix already holds a _SUCCESS
	// marker (or another attempt won the commit): a committed run is never
	// overwritten.
	ErrRunCommitted = errkind.New(errkind.Committed, "run already committed")
)
