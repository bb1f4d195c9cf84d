package lake

import (
	"fmt"
	"io"
	"slices"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// RowGroupRows is the largest row group lakefuse writes: small enough for engines to
// split work and skip by statistics, large enough to compress well.
const RowGroupRows = 128 << 10

// writeBatch is how many rows are turned into parquet values at a time.
const writeBatch = 4096

// OutColumn is one column to write. Set exactly one data field. Valid, when not nil,
// makes the column nullable (false = null). List64 (or List32) with Width > 0
// writes list<float32>, Width values per row (probabilities are float32 for
// analysts: half the bytes, and more precision than any calibration can claim).
// Fill, instead of List64, computes rows lo…hi−1's Width values into dst when
// the writer reaches them, a batch of rows at a time: values cheaper to
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

	filled []float64       // Fill's current batch
	buf    []parquet.Value // the batch's values: only this column's kind
}

func (c *OutColumn) node() (parquet.Node, error) {
	var n parquet.Node
	switch {
	case c.Int64 != nil:
		n = parquet.Int(64)
	case c.Int32 != nil:
		n = parquet.Int(32)
	case c.Float64 != nil:
		n = parquet.Leaf(parquet.DoubleType)
	case c.String != nil:
		n = parquet.String()
	case c.Bool != nil:
		n = parquet.Leaf(parquet.BooleanType)
	case c.List64 != nil, c.List32 != nil, c.Fill != nil:
		n = parquet.List(parquet.Leaf(parquet.FloatType))
	default:
		return nil, fmt.Errorf("lake: column %q: no data", c.Name)
	}
	if c.Valid != nil || c.Optional {
		n = parquet.Optional(n)
	}
	return n, nil
}

// newWriter is a Parquet writer with lakefuse's settings for analysts: zstd, row
// groups of at most RowGroupRows rows, page and chunk statistics.
func newWriter(w io.Writer, schema *parquet.Schema) *parquet.Writer {
	return parquet.NewWriter(w, schema,
		parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault}),
		parquet.PageBufferSize(512<<10),
		parquet.DataPageStatistics(true),
		parquet.MaxRowsPerRowGroup(RowGroupRows),
		parquet.CreatedBy("lakefuse", Version, ""),
	)
}

// WriteParquet writes rows of cols to w as one Parquet file: zstd, row groups of at
// most RowGroupRows rows, page and chunk statistics. Columns are written straight
// from their slices, one batch of values at a time, never through reflection.
func WriteParquet(w io.Writer, rows int, cols []OutColumn) error {
	cols = slices.Clone(cols) // each keeps its batch buffers here, not in the caller's
	group := parquet.Group{}
	for i := range cols {
		n, err := cols[i].node()
		if err != nil {
			return err
		}
		group[cols[i].Name] = n
	}
	schema := parquet.NewSchema("lakefuse", group)
	pw := newWriter(w, schema)
	writers := pw.ColumnWriters()
	index := make([]int, len(cols))
	for i, c := range cols {
		path := []string{c.Name}
		if c.List64 != nil || c.List32 != nil || c.Fill != nil {
			path = append(path, "list", "element")
		}
		leaf, ok := schema.Lookup(path...)
		if !ok {
			return fmt.Errorf("lake: column %q missing from the written schema", c.Name)
		}
		index[i] = leaf.ColumnIndex
	}
	for rg := 0; rg < rows; rg += RowGroupRows {
		rgEnd := min(rg+RowGroupRows, rows)
		for lo := rg; lo < rgEnd; lo += writeBatch {
			hi := min(lo+writeBatch, rgEnd)
			for i := range cols {
				c := &cols[i]
				c.buf = c.values(c.buf[:0], lo, hi, index[i])
				if _, err := writers[index[i]].WriteRowValues(c.buf); err != nil {
					return fmt.Errorf("lake: column %q: %w", cols[i].Name, err)
				}
			}
		}
		if err := pw.Flush(); err != nil {
			return err
		}
	}
	return pw.Close()
}

// values appends rows [lo, hi) of the column as leveled parquet values. buf is
// the column's own buffer (OutColumn.buf): values of one kind, holding no
// pointer unless the column holds strings, which is what lets fixed-size values
// be stamped (lake/values.go).
func (c *OutColumn) values(buf []parquet.Value, lo, hi, col int) []parquet.Value {
	if c.Codes != nil {
		return c.codedValues(buf, lo, hi, col)
	}
	list64, first := c.List64, 0 // list64 holds rows from first
	if c.Fill != nil {
		c.filled = slices.Grow(c.filled[:0], (hi-lo)*c.Width)[:(hi-lo)*c.Width]
		c.Fill(lo, hi, c.filled)
		list64, first = c.filled, lo
	}
	if mirrorOK {
		switch {
		case c.Int64 != nil:
			return stampScalars(buf, c.Int64, c.Valid, lo, hi, col, parquet.Int64Value(0))
		case c.Int32 != nil:
			return stampScalars(buf, c.Int32, c.Valid, lo, hi, col, parquet.Int32Value(0))
		case c.Float64 != nil:
			return stampScalars(buf, c.Float64, c.Valid, lo, hi, col, parquet.DoubleValue(0))
		case c.Bool != nil:
			return stampScalars(buf, c.Bool, c.Valid, lo, hi, col, parquet.BooleanValue(false))
		case list64 != nil:
			return stampLists(buf, list64, first, c.Width, c.Valid, lo, hi, col)
		case c.List32 != nil:
			return stampLists(buf, c.List32, 0, c.Width, c.Valid, lo, hi, col)
		}
	}
	def := 0
	if c.Valid != nil {
		def = 1
	}
	for r := lo; r < hi; r++ {
		if c.Valid != nil && !c.Valid[r] {
			buf = append(buf, parquet.NullValue().Level(0, 0, col))
			continue
		}
		var v parquet.Value
		switch {
		case c.Int64 != nil:
			v = parquet.Int64Value(c.Int64[r])
		case c.Int32 != nil:
			v = parquet.Int32Value(c.Int32[r])
		case c.Float64 != nil:
			v = parquet.DoubleValue(c.Float64[r])
		case c.String != nil:
			s := c.String[r]
			v = parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(s), len(s)))
		case c.Bool != nil:
			v = parquet.BooleanValue(c.Bool[r])
		case list64 != nil, c.List32 != nil:
			for k := range c.Width {
				x := float32(0)
				if list64 != nil {
					x = float32(list64[(r-first)*c.Width+k])
				} else {
					x = c.List32[r*c.Width+k]
				}
				buf = append(buf, parquet.FloatValue(x).Level(min(k, 1), def+1, col))
			}
			continue
		}
		buf = append(buf, v.Level(0, def, col))
	}
	return buf
}

// codedValues is values for a dictionary-coded column (Codes).
func (c *OutColumn) codedValues(buf []parquet.Value, lo, hi, col int) []parquet.Value {
	def := 0
	if c.Optional {
		def = 1
	}
	if mirrorOK && c.Int64 != nil {
		present, null := newStamper(parquet.Int64Value(0).Level(0, def, col)), newStamper(parquet.NullValue().Level(0, 0, col))
		buf, out := grow(buf, hi-lo)
		for i, code := range c.Codes[lo:hi] {
			if code < 0 && c.Optional {
				null.put(&out[i], 0)
				continue
			}
			present.put(&out[i], uint64(c.Int64[code]))
		}
		return buf
	}
	for _, code := range c.Codes[lo:hi] {
		var v parquet.Value
		switch {
		case code < 0 && c.Optional:
			buf = append(buf, parquet.NullValue().Level(0, 0, col))
			continue
		case c.Int64 != nil:
			v = parquet.Int64Value(c.Int64[code])
		default:
			s := c.String[code]
			v = parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(s), len(s)))
		}
		buf = append(buf, v.Level(0, def, col))
	}
	return buf
}
