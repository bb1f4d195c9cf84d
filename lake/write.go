package lake

import (
	"io"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// rowsCodec compresses the pages of newWriter's files.
var rowsCodec = &zstd.Codec{Level: zstd.SpeedDefault}

// RowGroupRows is the largest row group lakefuse writes: small enough for engines to
// split work and skip by statistics, large enough to compress well.
const RowGroupRows = 128 << 10

// OutColumn is one column to write. Set exactly one data field. Valid, when not nil,
// makes the column nullable (false = null). List64 (or List32) with Width > 0
// writes list<float32>, Width values per row (probabilities are float32 for
// analysts: half the bytes, and more precision than any calibration can claim).
// Fill, instead of List64, computes rows lo…hi−1's Width values into dst when
// the writer reaches them, a page of rows at a time: values cheaper to
// recompute than to hold. Codes, with Int64 or String, dictionary-codes the
// column: row r is Int64[Codes[r]] (or String[Codes[r]]); with Optional, the
// column is nullable and a negative code is null, without it every code must
// index the values (Valid is not set with Codes).
type OutColumn struct {
	Name     string
	Int64    []int64
	Int32    []int32
	Float64  []float64
	String   []string
	Bool     []bool
	List64   []float64
	List32   []float32
	Fill     func(lo, hi int, dst []float64)
	Width    int
	Valid    []bool
	Codes    []int32
	Optional bool
}

// newWriter is parquet-go's writer with the settings of WriteParquet's files, for
// rows copied from files of any schema (rebucket.go): zstd, row groups of at most
// RowGroupRows rows, page and chunk statistics.
func newWriter(w io.Writer, schema *parquet.Schema) *parquet.Writer {
	return parquet.NewWriter(w, schema,
		parquet.Compression(rowsCodec),
		parquet.PageBufferSize(512<<10),
		parquet.DataPageStatistics(true),
		parquet.MaxRowsPerRowGroup(RowGroupRows),
		parquet.CreatedBy("lakefuse", Version, ""),
	)
}

// WriteParquet writes rows of cols to w as one Parquet file: zstd, row groups of at
// most RowGroupRows rows, data pages v2 with page and chunk statistics, a page
// index, columns in name order. The columns are encoded straight from their
// slices, a page at a time (encode.go).
func WriteParquet(w io.Writer, rows int, cols []OutColumn) error {
	return writeParquet(w, rows, cols)
}
