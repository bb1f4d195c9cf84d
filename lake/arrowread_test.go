package lake

import (
	"bytes"
	"context"
	"hash/crc32"
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// A second Parquet implementation, Apache Arrow's (a port of the C++ reader
// most engines share), reads WriteParquet's files back to the columns written:
// every kind, nulls where Valid or a code says, list values as float32.
func TestArrowReadsWrittenFiles(t *testing.T) {
	const n = RowGroupRows + 5_000
	cols := everyKind(n)
	var buf bytes.Buffer
	if err := WriteParquet(&buf, n, cols); err != nil {
		t.Fatal(err)
	}
	tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(buf.Bytes()), parquet.NewReaderProperties(nil),
		pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	if tbl.NumRows() != n {
		t.Fatalf("%d rows, want %d", tbl.NumRows(), n)
	}
	for _, c := range cols {
		idx := tbl.Schema().FieldIndices(c.Name)
		if len(idx) != 1 {
			t.Fatalf("column %q: %d fields", c.Name, len(idx))
		}
		row := 0
		for _, chunk := range tbl.Column(idx[0]).Data().Chunks() {
			for i := 0; i < chunk.Len(); i, row = i+1, row+1 {
				null := c.Valid != nil && !c.Valid[row] || c.Codes != nil && c.Codes[row] < 0
				if chunk.IsNull(i) != null {
					t.Fatalf("column %q row %d: null %v, want %v", c.Name, row, chunk.IsNull(i), null)
				}
				if null {
					continue
				}
				if got, want := arrowValue(chunk, i), expected(&c, row); got != want {
					t.Fatalf("column %q row %d: %v, want %v", c.Name, row, got, want)
				}
			}
		}
		if row != n {
			t.Fatalf("column %q: %d rows", c.Name, row)
		}
	}
}

// arrowValue is a value of an arrow array as comparable text; floats by their bits.
func arrowValue(a arrow.Array, i int) any {
	switch a := a.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Float64:
		return math.Float64bits(a.Value(i))
	case *array.String:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.List:
		lo, hi := a.ValueOffsets(i)
		vals := a.ListValues().(*array.Float32)
		var out []uint32
		for j := lo; j < hi; j++ {
			out = append(out, math.Float32bits(vals.Value(int(j))))
		}
		return fmtBits(out)
	}
	return nil
}

func fmtBits(b []uint32) string {
	var s []byte
	for _, x := range b {
		s = append(s, byte(x>>24), byte(x>>16), byte(x>>8), byte(x))
	}
	return string(s)
}

// expected is row r of column c as arrowValue shows it.
func expected(c *OutColumn, r int) any {
	switch {
	case c.Int64 != nil:
		return c.int64At(r)
	case c.Int32 != nil:
		return c.Int32[r]
	case c.Float64 != nil:
		return math.Float64bits(c.Float64[r])
	case c.String != nil:
		return c.stringAt(r)
	case c.Bool != nil:
		return c.Bool[r]
	}
	out := make([]uint32, c.Width)
	row := make([]float64, c.Width)
	if c.Fill != nil {
		c.Fill(r, r+1, row)
	}
	for k := range out {
		switch {
		case c.Fill != nil:
			out[k] = math.Float32bits(float32(row[k]))
		case c.List64 != nil:
			out[k] = math.Float32bits(float32(c.List64[r*c.Width+k]))
		default:
			out[k] = math.Float32bits(c.List32[r*c.Width+k])
		}
	}
	return fmtBits(out)
}

// Every page's CRC, which readers may verify (parquet-mr, Arrow C++), is the
// CRC-32 of the page's bytes after its header; the offset index finds them.
func TestWrittenPageChecksums(t *testing.T) {
	const n = RowGroupRows + 5_000
	var buf bytes.Buffer
	if err := WriteParquet(&buf, n, everyKind(n)); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	f := openBytes(t, data)
	pages := 0
	for _, rg := range f.Metadata().RowGroups {
		for _, cc := range rg.Columns {
			var oi format.OffsetIndex
			at := data[cc.OffsetIndexOffset : cc.OffsetIndexOffset+int64(cc.OffsetIndexLength)]
			if err := thrift.Unmarshal(new(thrift.CompactProtocol), at, &oi); err != nil {
				t.Fatal(err)
			}
			for _, loc := range oi.PageLocations {
				page := data[loc.Offset : loc.Offset+int64(loc.CompressedPageSize)]
				r := bytes.NewReader(page)
				var h format.PageHeader
				if err := thrift.NewDecoder(new(thrift.CompactProtocol).NewReader(r)).Decode(&h); err != nil {
					t.Fatal(err)
				}
				body := page[len(page)-r.Len():]
				if len(body) != int(h.CompressedPageSize) || uint32(h.CRC) != crc32.ChecksumIEEE(body) {
					t.Fatalf("column %v page at %d: %d bytes after the header, CRC %08x; header says %d, %08x",
						cc.MetaData.PathInSchema, loc.Offset, len(body), crc32.ChecksumIEEE(body), h.CompressedPageSize, uint32(h.CRC))
				}
				pages++
			}
		}
	}
	if pages < 2*len(everyKind(1)) {
		t.Fatalf("checked %d pages", pages)
	}
}
