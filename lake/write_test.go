package lake

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// A dictionary-coded column writes the dictionary's values, nulls for negative
// codes when Optional, and the same file as the column written out in full —
// as an RLE_DICTIONARY chunk with a dictionary page, where the column in full
// is PLAIN.
func TestWriteCodes(t *testing.T) {
	codes := []int32{2, 0, -1, 1, 2}
	ints, names := []int64{10, 20, 30}, []string{"cat", "dog", "owl"}
	type rec struct {
		I *int64  `parquet:"i,optional"`
		S *string `parquet:"s,optional"`
		R int64   `parquet:"r"`
	}
	read := func(cols []OutColumn) (*parquet.Schema, []rec) {
		t.Helper()
		var buf bytes.Buffer
		if err := WriteParquet(&buf, len(codes), cols); err != nil {
			t.Fatal(err)
		}
		f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		for i, cc := range f.Metadata().RowGroups[0].Columns { // columns in name order: i, r, s
			dict := slices.Contains(cc.MetaData.Encoding, format.RLEDictionary) && cc.MetaData.DictionaryPageOffset > 0
			if coded := cols[0].Codes != nil; dict != coded {
				t.Errorf("column %d: encodings %v, dictionary page at %d; codes given: %v", i, cc.MetaData.Encoding, cc.MetaData.DictionaryPageOffset, coded)
			}
		}
		r := parquet.NewGenericReader[rec](f)
		rows := make([]rec, len(codes))
		if n, _ := r.Read(rows); n != len(codes) {
			t.Fatalf("read %d rows, want %d", n, len(codes))
		}
		return f.Schema(), rows
	}
	schema, got := read([]OutColumn{
		{Name: "i", Int64: ints, Codes: codes, Optional: true},
		{Name: "s", String: names, Codes: codes, Optional: true},
		{Name: "r", Int64: ints, Codes: []int32{0, 1, 2, 1, 0}},
	})
	i64 := func(v int64) *int64 { return &v }
	str := func(v string) *string { return &v }
	want := []rec{
		{i64(30), str("owl"), 10},
		{i64(10), str("cat"), 20},
		{nil, nil, 30},
		{i64(20), str("dog"), 20},
		{i64(30), str("owl"), 10},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	full, _ := read([]OutColumn{
		{Name: "i", Int64: []int64{30, 10, 0, 20, 30}, Valid: []bool{true, true, false, true, true}},
		{Name: "s", String: []string{"owl", "cat", "", "dog", "owl"}, Valid: []bool{true, true, false, true, true}},
		{Name: "r", Int64: []int64{10, 20, 30, 20, 10}},
	})
	if !parquet.EqualNodes(schema, full) {
		t.Errorf("schema %v, written in full %v", schema, full)
	}
}

// everyKind is n rows of a column of every kind WriteParquet writes, nullable
// and not, with the values statistics get wrong most easily: NaN, ±0, ±Inf,
// the extremes of each integer type, empty and non-ASCII strings, and a float
// list column written from each of its three sources.
func everyKind(n int) []OutColumn {
	const k = 3
	ints, int32s, floats := make([]int64, n), make([]int32, n), make([]float64, n)
	bools, valid, names := make([]bool, n), make([]bool, n), make([]string, n)
	list64, list32, codes := make([]float64, n*k), make([]float32, n*k), make([]int32, n)
	specials := []float64{math.NaN(), math.Copysign(0, -1), 0, math.Inf(1), math.Inf(-1)}
	for i := range n {
		ints[i], int32s[i], floats[i] = int64(i)*-7919, int32(i%13)-6, float64(i)/3
		bools[i], valid[i], names[i] = i%3 == 0, i%7 != 0, fmt.Sprint("n", i%11)
		codes[i] = int32(i%4) - 1
		for c := range k {
			list64[i*k+c], list32[i*k+c] = float64(i+c)/float64(n+k), float32(c-i)
		}
		if i%1009 == 5 {
			floats[i], list64[i*k] = specials[i%len(specials)], specials[(i+1)%len(specials)]
		}
	}
	if n > 6 {
		ints[1], ints[2], int32s[3], int32s[4] = math.MaxInt64, math.MinInt64, math.MaxInt32, math.MinInt32
		names[5], names[6] = "", "ünïcode ✓"
	}
	fill := func(lo, hi int, dst []float64) { copy(dst, list64[lo*k:hi*k]) }
	allNull := make([]bool, n)
	nans := slices.Repeat([]float64{math.NaN()}, n*k) // no bounds: statistics without min and max
	return []OutColumn{
		{Name: "i", Int64: ints}, {Name: "iv", Int64: ints, Valid: valid},
		{Name: "j", Int32: int32s}, {Name: "jv", Int32: int32s, Valid: valid},
		{Name: "f", Float64: floats}, {Name: "fv", Float64: floats, Valid: valid},
		{Name: "b", Bool: bools}, {Name: "bv", Bool: bools, Valid: valid},
		{Name: "s", String: names}, {Name: "sv", String: names, Valid: valid},
		{Name: "l", List64: list64, Width: k}, {Name: "lv", List64: list64, Width: k, Valid: valid},
		{Name: "m", List32: list32, Width: k}, {Name: "mv", List32: list32, Width: k, Valid: valid},
		{Name: "p", Fill: fill, Width: k}, {Name: "pv", Fill: fill, Width: k, Valid: valid},
		{Name: "ci", Int64: []int64{10, 20, 30}, Codes: codes, Optional: true},
		{Name: "cs", String: []string{"a", "b", "c"}, Codes: codes, Optional: true},
		{Name: "cr", String: []string{"x", "y", "z"}, Codes: slices.Repeat([]int32{2, 0, 1}, n/3+1)[:n]},
		{Name: "z", Int64: ints, Valid: allNull},
		{Name: "nan", Float64: nans[:n]}, {Name: "nans", List64: nans, Width: k},
	}
}

// WriteParquet's own encoder writes what parquet-go's writer writes from the
// same columns: the same schema, the same rows, the same row groups and the same
// chunk statistics — for every kind of column, nullable or not, over several
// pages and row groups.
func TestEncoderMatchesParquetGo(t *testing.T) {
	for _, n := range []int{0, 1, 7, RowGroupRows + 70_001} {
		cols := everyKind(n)
		var mine, theirs bytes.Buffer
		if err := WriteParquet(&mine, n, cols); err != nil {
			t.Fatal(err)
		}
		if err := writeWithParquetGo(&theirs, n, cols); err != nil {
			t.Fatal(err)
		}
		a, b := openBytes(t, mine.Bytes()), openBytes(t, theirs.Bytes())
		if !parquet.EqualNodes(a.Schema(), b.Schema()) {
			t.Fatalf("n=%d: schema\n%v\nparquet-go's\n%v", n, a.Schema(), b.Schema())
		}
		if a.NumRows() != int64(n) || b.NumRows() != int64(n) {
			t.Fatalf("n=%d: %d and %d rows", n, a.NumRows(), b.NumRows())
		}
		ra, rb := readRows(t, a), readRows(t, b)
		for i := range ra {
			if !sameRow(ra[i], rb[i]) {
				t.Fatalf("n=%d: row %d\n%v\nparquet-go's\n%v", n, i, ra[i], rb[i])
			}
		}
		ma, mb := a.Metadata(), b.Metadata()
		if len(ma.RowGroups) != len(mb.RowGroups) {
			t.Fatalf("n=%d: %d row groups, parquet-go %d", n, len(ma.RowGroups), len(mb.RowGroups))
		}
		for g := range ma.RowGroups {
			for c := range ma.RowGroups[g].Columns {
				x, y := ma.RowGroups[g].Columns[c].MetaData, mb.RowGroups[g].Columns[c].MetaData
				if x.NumValues != y.NumValues || x.Statistics.NullCount != y.Statistics.NullCount ||
					!sameBound(x.Type, x.Statistics.MinValue, y.Statistics.MinValue, true) || !sameBound(x.Type, x.Statistics.MaxValue, y.Statistics.MaxValue, false) {
					t.Errorf("n=%d: row group %d column %v: %d values, statistics %+v; parquet-go %d, %+v",
						n, g, x.PathInSchema, x.NumValues, x.Statistics, y.NumValues, y.Statistics)
				}
			}
		}
	}
}

// sameRow compares rows value by value, floats by their bits (NaN is NaN).
func sameRow(a, b parquet.Row) bool {
	if len(a) != len(b) {
		return false
	}
	for i, x := range a {
		y := b[i]
		if x.Kind() != y.Kind() || x.RepetitionLevel() != y.RepetitionLevel() || x.DefinitionLevel() != y.DefinitionLevel() || x.Column() != y.Column() {
			return false
		}
		switch {
		case x.IsNull():
		case x.Kind() == parquet.Float:
			if math.Float32bits(x.Float()) != math.Float32bits(y.Float()) {
				return false
			}
		case x.Kind() == parquet.Double:
			if math.Float64bits(x.Double()) != math.Float64bits(y.Double()) {
				return false
			}
		default:
			if !parquet.Equal(x, y) {
				return false
			}
		}
	}
	return true
}

// sameBound compares a min (or max) statistic, mine against parquet-go's: equal,
// except where the format asks writers what parquet-go does not do — a zero
// minimum written as −0 (parquet-go writes +0), and no bounds for a chunk of
// NaNs only (parquet-go writes NaN).
func sameBound(typ format.Type, mine, theirs []byte, isMin bool) bool {
	if bytes.Equal(mine, theirs) {
		return true
	}
	var t, m float64
	switch {
	case typ == format.Float && len(theirs) == 4:
		t = float64(math.Float32frombits(binary.LittleEndian.Uint32(theirs)))
		if len(mine) == 4 {
			m = float64(math.Float32frombits(binary.LittleEndian.Uint32(mine)))
		}
	case typ == format.Double && len(theirs) == 8:
		t = math.Float64frombits(binary.LittleEndian.Uint64(theirs))
		if len(mine) == 8 {
			m = math.Float64frombits(binary.LittleEndian.Uint64(mine))
		}
	default:
		return false
	}
	if math.IsNaN(t) {
		return len(mine) == 0
	}
	return isMin && t == 0 && !math.Signbit(t) && m == 0 && math.Signbit(m) && len(mine) > 0
}

func openBytes(t *testing.T, b []byte) *parquet.File {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func readRows(t *testing.T, f *parquet.File) []parquet.Row {
	t.Helper()
	r := parquet.NewReader(f)
	defer r.Close()
	rows := make([]parquet.Row, f.NumRows())
	for i := 0; i < len(rows); {
		n, err := r.ReadRows(rows[i:])
		i += n
		if err != nil && !(err == io.EOF && i == len(rows)) {
			t.Fatalf("read %d of %d rows: %v", i, len(rows), err)
		}
	}
	return rows
}

// writeWithParquetGo writes cols as WriteParquet did through parquet-go's writer,
// one parquet.Value a value: the reference the encoder is held to.
func writeWithParquetGo(w io.Writer, rows int, cols []OutColumn) error {
	group := parquet.Group{}
	for _, c := range cols {
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
		default:
			n = parquet.List(parquet.Leaf(parquet.FloatType))
		}
		if c.nullable() {
			n = parquet.Optional(n)
		}
		group[c.Name] = n
	}
	schema := parquet.NewSchema("lakefuse", group)
	pw := newWriter(w, schema)
	writers := pw.ColumnWriters()
	for rg := 0; rg < rows; rg += RowGroupRows {
		for _, c := range cols {
			path := []string{c.Name}
			if c.Width > 0 {
				path = append(path, "list", "element")
			}
			leaf, _ := schema.Lookup(path...)
			col := leaf.ColumnIndex
			var buf []parquet.Value
			var filled []float64
			for r := rg; r < min(rg+RowGroupRows, rows); r++ {
				null := c.Valid != nil && !c.Valid[r] || c.Codes != nil && c.Codes[r] < 0
				def := 0
				if c.nullable() {
					def = 1
				}
				if null {
					buf = append(buf, parquet.NullValue().Level(0, 0, col))
					continue
				}
				var v parquet.Value
				switch {
				case c.Int64 != nil:
					v = parquet.Int64Value(c.int64At(r))
				case c.Int32 != nil:
					v = parquet.Int32Value(c.Int32[r])
				case c.Float64 != nil:
					v = parquet.DoubleValue(c.Float64[r])
				case c.String != nil:
					v = parquet.ByteArrayValue([]byte(c.stringAt(r)))
				case c.Bool != nil:
					v = parquet.BooleanValue(c.Bool[r])
				default:
					if c.Fill != nil {
						filled = make([]float64, c.Width)
						c.Fill(r, r+1, filled)
					}
					for k := range c.Width {
						var x float32
						switch {
						case c.Fill != nil:
							x = float32(filled[k])
						case c.List64 != nil:
							x = float32(c.List64[r*c.Width+k])
						default:
							x = c.List32[r*c.Width+k]
						}
						buf = append(buf, parquet.FloatValue(x).Level(min(k, 1), def+1, col))
					}
					continue
				}
				buf = append(buf, v.Level(0, def, col))
			}
			if _, err := writers[col].WriteRowValues(buf); err != nil {
				return err
			}
		}
		if err := pw.Flush(); err != nil {
			return err
		}
	}
	return pw.Close()
}

// A chunk with a string longer than maxStatBytes has no bounds and no column
// index, even where that string is neither its least nor its greatest; other
// chunks keep theirs.
func TestLongStringsHaveNoBounds(t *testing.T) {
	n := RowGroupRows + 10
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprint("b", i%7)
	}
	names[3] = "b3" + strings.Repeat("x", maxStatBytes) // between "b0" and "b6"
	var buf bytes.Buffer
	if err := WriteParquet(&buf, n, []OutColumn{{Name: "s", String: names}}); err != nil {
		t.Fatal(err)
	}
	groups := openBytes(t, buf.Bytes()).Metadata().RowGroups
	first, second := groups[0].Columns[0], groups[1].Columns[0]
	if first.MetaData.Statistics.MinValue != nil || first.MetaData.Statistics.MaxValue != nil || first.ColumnIndexLength != 0 {
		t.Errorf("row group 0: statistics %+v, column index %d bytes; want none", first.MetaData.Statistics, first.ColumnIndexLength)
	}
	if string(second.MetaData.Statistics.MinValue) != "b0" || string(second.MetaData.Statistics.MaxValue) != "b6" || second.ColumnIndexLength == 0 {
		t.Errorf("row group 1: statistics %+v, column index %d bytes", second.MetaData.Statistics, second.ColumnIndexLength)
	}
}

// A chunk whose first page zstd does not shrink by a 32nd — random float32
// probabilities — is stored UNCOMPRESSED, and a compressible one stays zstd;
// both read back. The column's later chunks in the file follow its first
// UNCOMPRESSED one without a trial.
func TestIncompressibleChunksAreStoredRaw(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	const n, w = 2*RowGroupRows + 3000, 10 // three row groups
	probs := make([]float32, n*w)
	for i := range probs {
		probs[i] = rng.Float32()
	}
	keys := make([]int64, n)
	for i := range keys {
		keys[i] = int64(i / 100)
	}
	var buf bytes.Buffer
	if err := WriteParquet(&buf, n, []OutColumn{{Name: "k", Int64: keys}, {Name: "p", List32: probs, Width: w}}); err != nil {
		t.Fatal(err)
	}
	f := openBytes(t, buf.Bytes())
	if len(f.Metadata().RowGroups) != 3 {
		t.Fatalf("%d row groups, want 3", len(f.Metadata().RowGroups))
	}
	for g, rg := range f.Metadata().RowGroups { // the later chunks as the first decided
		if k, p := rg.Columns[0].MetaData.Codec, rg.Columns[1].MetaData.Codec; k != format.Zstd || p != format.Uncompressed {
			t.Errorf("row group %d: codecs k %v, p %v; want ZSTD and UNCOMPRESSED", g, k, p)
		}
	}
	rows := readRows(t, f)
	for _, i := range []int{0, 1234, RowGroupRows + 5, n - 1} {
		var got []float32
		for _, v := range rows[i] {
			if v.Column() == 1 {
				got = append(got, v.Float())
			}
		}
		if rows[i][0].Int64() != keys[i] || !slices.Equal(got, probs[i*w:(i+1)*w]) {
			t.Errorf("row %d: %v", i, rows[i])
		}
	}
}

// Integer columns are DELTA_BINARY_PACKED (codes columns stay RLE_DICTIONARY):
// a key column in key order takes a bit or two a row — 100,000 consecutive ids
// in well under 100 KB, where PLAIN would take 800 KB — and reads back whole.
func TestIntegersAreDeltaPacked(t *testing.T) {
	const n = 100_000
	keys, small := make([]int64, n), make([]int32, n)
	for i := range n {
		keys[i], small[i] = int64(1_000_000+i+i/7), int32(i%5)
	}
	var buf bytes.Buffer
	cols := []OutColumn{{Name: "entity_id", Int64: keys}, {Name: "k", Int32: small},
		{Name: "label", Int64: []int64{3, 4}, Codes: make([]int32, n)}}
	if err := WriteParquet(&buf, n, cols); err != nil {
		t.Fatal(err)
	}
	f := openBytes(t, buf.Bytes())
	want := map[string]format.Encoding{"entity_id": format.DeltaBinaryPacked, "k": format.DeltaBinaryPacked, "label": format.RLEDictionary}
	var keyBytes int64
	for _, rg := range f.Metadata().RowGroups {
		for _, cc := range rg.Columns {
			name := cc.MetaData.PathInSchema[0]
			if !slices.Contains(cc.MetaData.Encoding, want[name]) {
				t.Errorf("column %s: encodings %v, want %v among them", name, cc.MetaData.Encoding, want[name])
			}
			for _, es := range cc.MetaData.EncodingStats {
				if es.PageType == format.DataPageV2 && es.Encoding != want[name] {
					t.Errorf("column %s: data pages %v, want %v", name, es.Encoding, want[name])
				}
			}
			if name == "entity_id" {
				keyBytes += cc.MetaData.TotalCompressedSize
			}
		}
	}
	if keyBytes >= 100_000 {
		t.Errorf("the key column takes %d bytes for %d consecutive ids", keyBytes, n)
	}
	rows := readRows(t, f)
	for i, row := range rows {
		if row[0].Int64() != keys[i] || row[1].Int32() != small[i] {
			t.Fatalf("row %d: %v, want key %d and %d", i, row, keys[i], small[i])
		}
	}
}
