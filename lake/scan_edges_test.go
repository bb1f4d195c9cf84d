package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// The reads at their edges: the first row, a null first row, lists of uneven
// length, several scalar columns, and the reader's request accounting. Mutation
// testing found each of these unchecked.

// putRows writes rows of any struct type with parquet-go's own writer, for the
// shapes WriteParquet cannot make (lists of uneven length).
func putRows[T any](t *testing.T, l *Lake, key string, rows []T) DataFile {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteAll(context.Background(), key, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	return DataFile{Key: key, Size: int64(buf.Len())}
}

// Several scalar columns land row-major, a null marks its row missing.
func TestScanScalarColumns(t *testing.T) {
	l := memLake(t)
	f := put(t, l, "ds/modality=a/part-0.parquet", 3, []OutColumn{
		{Name: "id", Int64: []int64{1, 2, 3}},
		{Name: "f0", Float64: []float64{0.5, 9, 2.5}, Valid: []bool{true, false, true}},
		{Name: "f1", Int32: []int32{10, 20, 30}},
	})
	tab, err := l.ScanFile(context.Background(), f, ColumnRequest{Key: "id", Scalar: []string{"f0", "f1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Width != 2 || fmt.Sprint(tab.Values[:2], tab.Values[4:]) != "[0.5 10] [2.5 30]" || tab.Values[3] != 20 {
		t.Errorf("width %d, values %v", tab.Width, tab.Values)
	}
	if fmt.Sprint(tab.Missing) != "[false true false]" {
		t.Errorf("missing %v", tab.Missing)
	}
}

// Labels with a null (also at row 0) get LabelValid; labels without none; a split
// must be a string column; a null key is an error also at row 0.
func TestScanLabelSplitAndKeyEdges(t *testing.T) {
	ctx := context.Background()
	l := memLake(t)
	f := put(t, l, "ds/labels/part-0.parquet", 3, []OutColumn{
		{Name: "id", Int64: []int64{1, 2, 3}},
		{Name: "label", Int64: []int64{0, 1, 1}, Valid: []bool{false, true, true}},
		{Name: "full", Int64: []int64{0, 1, 1}},
		{Name: "split", String: []string{"train", "test", "train"}},
		{Name: "fold", Int64: []int64{1, 2, 3}},
		{Name: "nullkey", Int64: []int64{0, 5, 6}, Valid: []bool{false, true, true}},
	})
	tab, err := l.ScanFile(ctx, f, ColumnRequest{Key: "id", Label: "label", Split: "split"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(tab.LabelValid) != "[false true true]" || fmt.Sprint(tab.Split) != "[train test train]" {
		t.Errorf("label valid %v, split %v", tab.LabelValid, tab.Split)
	}
	tab, err = l.ScanFile(ctx, f, ColumnRequest{Key: "id", Label: "full"}, nil)
	if err != nil || tab.LabelValid != nil || fmt.Sprint(tab.IntLabels) != "[0 1 1]" {
		t.Errorf("labels without nulls: valid %v, labels %v, %v", tab.LabelValid, tab.IntLabels, err)
	}
	if _, err := l.ScanFile(ctx, f, ColumnRequest{Key: "id", Split: "fold"}, nil); !errors.Is(err, ErrColumnType) {
		t.Errorf("an integer split column: %v", err)
	}
	if _, err := l.ScanFile(ctx, f, ColumnRequest{Key: "nullkey"}, nil); !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), "row 0") {
		t.Errorf("a null key at row 0: %v", err)
	}
}

type unevenRow struct {
	ID int64     `parquet:"id"`
	V  []float64 `parquet:"v,list,optional"`
}

type requiredListRow struct {
	ID int64     `parquet:"id"`
	V  []float64 `parquet:"v,list"`
}

// A vector's width comes from its first non-null row; an uneven row is an error;
// a column of nulls only has width 0.
func TestScanVectorWidths(t *testing.T) {
	ctx := context.Background()
	l := memLake(t)
	f := putRows(t, l, "a/part-0.parquet", []unevenRow{{1, nil}, {2, []float64{1, 2, 3}}, {3, []float64{4, 5, 6}}})
	tab, err := l.ScanFile(ctx, f, ColumnRequest{Key: "id", Vector: "v"}, nil)
	if err != nil || tab.Width != 3 || fmt.Sprint(tab.Values[3:]) != "[1 2 3 4 5 6]" || fmt.Sprint(tab.Missing) != "[true false false]" {
		t.Errorf("null first row: %+v, %v", tab, err)
	}
	if w, err := l.ListWidth(ctx, f, "v"); w != 3 || err != nil {
		t.Errorf("ListWidth after a null first row: %d, %v", w, err)
	}
	f = putRows(t, l, "b/part-0.parquet", []unevenRow{{1, []float64{}}, {2, []float64{1}}})
	if _, err := l.ScanFile(ctx, f, ColumnRequest{Key: "id", Vector: "v"}, nil); !errors.Is(err, ErrBadValue) {
		t.Errorf("an empty list then one of length 1: %v", err)
	}
	f = putRows(t, l, "c/part-0.parquet", []unevenRow{{1, nil}, {2, nil}})
	if tab, err := l.ScanFile(ctx, f, ColumnRequest{Key: "id", Vector: "v"}, nil); err != nil || tab.Width != 0 {
		t.Errorf("nulls only: %+v, %v", tab, err)
	}
	f = putRows(t, l, "d/part-0.parquet", []requiredListRow{{7, []float64{0.25, 0.75}}})
	if w, err := l.ListWidth(ctx, f, "v"); w != 2 || err != nil {
		t.Errorf("ListWidth of a one-row file: %d, %v", w, err)
	}
	info, err := l.Inspect(ctx, f)
	if err != nil || info.Columns[1].Type != "list<DOUBLE>" || info.Columns[0].Type != "INT64" {
		t.Errorf("inspect: %+v, %v", info, err)
	}
	if err := l.WriteAll(ctx, "e/part-0.parquet", []byte("PAR1 not really")); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Inspect(ctx, DataFile{Key: "e/part-0.parquet", Size: 15}); err == nil {
		t.Error("inspecting a file that is not Parquet succeeded")
	}
}

// Scatter counts the first row of every row group, and a row longer than the
// width writes nothing past its own slot.
func TestScatterFirstRowAndLongRows(t *testing.T) {
	ctx := context.Background()
	l := memLake(t)
	f := putRows(t, l, "a/part-0.parquet", []requiredListRow{{1, []float64{1, 2}}, {2, []float64{3, 4, 5}}, {3, []float64{6, 7}}})
	src, err := l.OpenScatter(ctx, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc := &Scatter{Vector: "v", Width: 2, Stride: 2, Dest: []int32{0, 1, 2}, Out: make([]float32, 6), Hits: make([]uint16, 3), Bad: make([]uint8, 3)}
	if err := src.ScatterRowGroup(ctx, 0, sc); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sc.Hits) != "[1 1 1]" || fmt.Sprint(sc.Bad) != fmt.Sprint([]uint8{0, BadWidth, 0}) || fmt.Sprint(sc.Out) != "[1 2 3 4 6 7]" {
		t.Errorf("hits %v, bad %v, out %v", sc.Hits, sc.Bad, sc.Out)
	}
	sc = &Scatter{Vector: "v", Width: 2, Stride: 2, Dest: []int32{0, 1, 2}, Out: make([]float32, 6), Hits: make([]uint16, 3)}
	if err := src.ScatterRowGroup(ctx, 0, sc); !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), "row 1 has 3 values") {
		t.Errorf("a long row without Bad: %v", err)
	}
}

// A missing column's error lists at most twelve of the file's columns (parquet-go
// orders them by name).
func TestMissingColumnListsTwelve(t *testing.T) {
	l := memLake(t)
	cols := []OutColumn{{Name: "id", Int64: []int64{1}}}
	for i := 0; i < 13; i++ {
		cols = append(cols, OutColumn{Name: fmt.Sprintf("c%02d", i), Float64: []float64{1}})
	}
	f := put(t, l, "a/part-0.parquet", 1, cols)
	_, err := l.ScanFile(context.Background(), f, ColumnRequest{Key: "id", Scalar: []string{"nope"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "c11, … 2 more") || strings.Contains(err.Error(), "c12") {
		t.Errorf("error %v", err)
	}
}

// A size field is trusted up to eight bytes per file byte plus a page's slack.
func TestPrealloc(t *testing.T) {
	for _, c := range []struct{ claimed, size, want int64 }{
		{10, 100, 10}, {1 << 40, 100, 8*100 + 4096}, {-5, 100, 0}, {4896, 100, 4896}, {4897, 100, 4896},
	} {
		if got := prealloc(c.claimed, c.size); int64(got) != c.want {
			t.Errorf("prealloc(%d, %d) = %d, want %d", c.claimed, c.size, got, c.want)
		}
	}
}

// The ranged reader fetches exactly the bytes asked for outside the footer
// region, the footer region once, and keeps the first storage error it hit.
func TestReaderAtAccounting(t *testing.T) {
	ctx := context.Background()
	l := memLake(t)
	size := footerFetch + 5000
	if err := l.WriteAll(ctx, "obj", make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	var bytesRead, requests atomic.Int64
	r := newBlobReaderAt(ctx, l, "obj", int64(size), &bytesRead, &requests)
	step := func(off, n int, wantBytes, wantRequests int64) {
		t.Helper()
		b0, r0 := bytesRead.Load(), requests.Load()
		if _, err := r.ReadAt(make([]byte, n), int64(off)); err != nil {
			t.Fatal(err)
		}
		if got, req := bytesRead.Load()-b0, requests.Load()-r0; got != wantBytes || req != wantRequests {
			t.Errorf("ReadAt(%d bytes at %d): %d bytes in %d requests, want %d in %d", n, off, got, req, wantBytes, wantRequests)
		}
	}
	step(0, 10, 10, 1)                         // the head: exactly its bytes
	step(size-footerFetch-10, 10, 10, 1)       // ends where the footer region starts
	step(size-footerFetch, 10, footerFetch, 1) // starts in it: the region, once
	step(size-5, 5, 0, 0)                      // then from the cache

	failing := l.withOptions(&Options{Retries: -1, Intercept: func(op, key string, do func() error) error {
		return fmt.Errorf("injected: %w", ErrStalled)
	}})
	fr := newBlobReaderAt(ctx, failing, "obj", int64(size), nil, nil)
	if _, err := fr.ReadAt(make([]byte, 10), 0); err == nil {
		t.Fatal("a failing store read")
	}
	if err := fr.failure(); !errors.Is(err, ErrStalled) {
		t.Errorf("the reader's recorded failure: %v", err)
	}
	ok := newBlobReaderAt(ctx, l, "obj", int64(size), nil, nil)
	if _, err := ok.ReadAt(make([]byte, 10), 0); err != nil || ok.failure() != nil {
		t.Errorf("a good read without counters: %v, failure %v", err, ok.failure())
	}
}

type nullElementRow struct {
	ID int64      `parquet:"id"`
	V  []*float64 `parquet:"v,list,optional"`
}

// A null inside a list is a bad value, at its row.
func TestScanNullListElement(t *testing.T) {
	l := memLake(t)
	one := 1.0
	f := putRows(t, l, "a/part-0.parquet", []nullElementRow{{1, []*float64{&one, &one}}, {2, []*float64{&one, nil}}})
	_, err := l.ScanFile(context.Background(), f, ColumnRequest{Key: "id", Vector: "v"}, nil)
	if !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), "null list element in row 1") {
		t.Errorf("a null element: %v", err)
	}
}

// Pages of whole, non-null lists of the width take the row-at-a-time path; a page
// whose total is a multiple of the width but whose rows are uneven does not.
func TestScatterRegularAndIrregularPages(t *testing.T) {
	ctx := context.Background()
	l := memLake(t)
	n := RowGroupRows + 3 // two row groups
	rows := make([]requiredListRow, n)
	for i := range rows {
		rows[i] = requiredListRow{int64(i), []float64{float64(i), -float64(i), 0.5}}
	}
	f := putRows(t, l, "a/part-0.parquet", rows)
	src, err := l.OpenScatter(ctx, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	dest := make([]int32, n)
	for i := range dest {
		dest[i] = int32(n - 1 - i)
		if i%5 == 0 {
			dest[i] = -1
		}
	}
	sc := &Scatter{Vector: "v", Width: 3, Stride: 4, Offset: 1, Dest: dest, Out: make([]float32, 4*n), Hits: make([]uint16, n)}
	for rg := 0; rg < src.RowGroups(); rg++ {
		if err := src.ScatterRowGroup(ctx, rg, sc); err != nil {
			t.Fatal(err)
		}
	}
	for i, d := range dest {
		if d < 0 {
			continue
		}
		got := sc.Out[4*d : 4*d+4]
		if sc.Hits[d] != 1 || got[0] != 0 || got[1] != float32(i) || got[2] != -float32(i) || got[3] != 0.5 {
			t.Fatalf("row %d → %d: hits %d, out %v", i, d, sc.Hits[d], got)
		}
	}
	// Six values in rows of 3, 1 and 2: a multiple of the width, yet irregular.
	g := putRows(t, l, "b/part-0.parquet", []requiredListRow{{1, []float64{1, 2, 3}}, {2, []float64{4}}, {3, []float64{5, 6}}})
	src, err = l.OpenScatter(ctx, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc = &Scatter{Vector: "v", Width: 2, Stride: 2, Dest: []int32{0, 1, 2}, Out: make([]float32, 6), Hits: make([]uint16, 3), Bad: make([]uint8, 3)}
	if err := src.ScatterRowGroup(ctx, 0, sc); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sc.Bad) != fmt.Sprint([]uint8{BadWidth, BadWidth, 0}) || sc.Out[4] != 5 || sc.Out[5] != 6 {
		t.Errorf("uneven rows: bad %v, out %v", sc.Bad, sc.Out)
	}
}

// The fast path's test: whole lists of exactly w values, no null anywhere.
func TestRegularLists(t *testing.T) {
	for _, c := range []struct {
		name     string
		rep, def []byte
		maxDef   byte
		w        int
		want     bool
	}{
		{"two rows of 3", []byte{0, 1, 1, 0, 1, 1}, []byte{3, 3, 3, 3, 3, 3}, 3, 3, true},
		{"rows of 2 and 4", []byte{0, 1, 0, 1, 1, 1}, []byte{3, 3, 3, 3, 3, 3}, 3, 3, false},
		{"a row continued from the last page", []byte{1, 1, 0, 1, 1, 0}, []byte{3, 3, 3, 3, 3, 3}, 3, 3, false},
		{"rows of 3 and 1 and 2", []byte{0, 1, 1, 0, 0, 1}, []byte{2, 2, 2, 2, 2, 2}, 2, 3, false},
		{"a null element", []byte{0, 1, 1}, []byte{3, 2, 3}, 3, 3, false},
		{"a null row", []byte{0, 0, 1}, []byte{0, 3, 3}, 3, 2, false},
		{"null rows only", []byte{0, 0}, []byte{0, 0}, 3, 1, false},
		{"levels missing", []byte{0, 1}, []byte{3}, 3, 2, false},
		{"width 1", []byte{0, 0, 0}, []byte{1, 1, 1}, 1, 1, true},
		{"no definition levels to check", []byte{0, 1}, nil, 0, 2, true},
	} {
		if got := regularLists(c.rep, c.def, c.maxDef, c.w); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// A partition key is at most 128 characters.
func TestPartitionKeyLength(t *testing.T) {
	if err := CheckPartition(strings.Repeat("k", 128), "v"); err != nil {
		t.Errorf("a 128-character key: %v", err)
	}
	if err := CheckPartition(strings.Repeat("k", 129), "v"); !errors.Is(err, ErrBadName) {
		t.Errorf("a 129-character key: %v", err)
	}
}

type streamedRow struct {
	ID    int64     `parquet:"id"`
	Label string    `parquet:"label,optional"`
	V     []float64 `parquet:"v,list,optional"`
}

// A file read a row group at a time (ScanRowGroup, and ScatterRowGroup with
// Local destinations) gives what reading it whole gives, row group by row group,
// with file row numbers in errors.
func TestRowGroupAtATime(t *testing.T) {
	ctx := context.Background()
	l := memLake(t)
	var rows []streamedRow
	for i := 0; i < 23; i++ {
		r := streamedRow{ID: int64(100 + i), Label: fmt.Sprint("c", i%3), V: []float64{float64(i), -float64(i)}}
		if i == 9 {
			r.V = nil // null vector: no hit
		}
		if i == 17 {
			r.V = []float64{1} // wrong length
		}
		rows = append(rows, r)
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows, parquet.MaxRowsPerRowGroup(5)); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteAll(ctx, "s/part-0.parquet", buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	f := DataFile{Key: "s/part-0.parquet", Size: int64(buf.Len())}
	req := ColumnRequest{Key: "id", Label: "label"}
	whole, err := l.ScanFile(ctx, f, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err := l.OpenScatter(ctx, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if src.RowGroups() != 5 {
		t.Fatalf("%d row groups, want 5", src.RowGroups())
	}
	for rg := 0; rg < src.RowGroups(); rg++ {
		first, n := int(src.FirstRow(rg)), src.RowGroupRows(rg)
		if first != rg*5 || n != min(5, 23-first) {
			t.Fatalf("row group %d: first row %d, %d rows", rg, first, n)
		}
		tab, err := src.ScanRowGroup(ctx, rg, req)
		if err != nil {
			t.Fatal(err)
		}
		if tab.Rows != n || fmt.Sprint(tab.IntKeys) != fmt.Sprint(whole.IntKeys[first:first+n]) || fmt.Sprint(tab.StrLabels) != fmt.Sprint(whole.StrLabels[first:first+n]) {
			t.Errorf("row group %d: %+v", rg, tab)
		}
		dest := make([]int32, n)
		for i := range dest {
			dest[i] = int32(n - 1 - i) // reversed, to see that Dest is row-group local
		}
		sc := &Scatter{Vector: "v", Width: 2, Stride: 2, Dest: dest, Out: make([]float32, 2*n), Hits: make([]uint16, n), Bad: make([]uint8, n), Local: true}
		if err := src.ScatterRowGroup(ctx, rg, sc); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			d, r := n-1-i, first+i
			switch {
			case r == 9:
				if sc.Hits[d] != 0 {
					t.Errorf("file row 9 (null) hit")
				}
			case r == 17:
				if sc.Bad[d] != BadWidth || sc.Hits[d] != 1 {
					t.Errorf("file row 17: bad %d, hits %d", sc.Bad[d], sc.Hits[d])
				}
			default:
				if sc.Out[2*d] != float32(r) || sc.Out[2*d+1] != -float32(r) || sc.Hits[d] != 1 || sc.Bad[d] != 0 {
					t.Errorf("file row %d: %v, hits %d, bad %d", r, sc.Out[2*d:2*d+2], sc.Hits[d], sc.Bad[d])
				}
			}
		}
		// Without Local, Dest must cover the file.
		if err := src.ScatterRowGroup(ctx, rg, &Scatter{Vector: "v", Width: 2, Stride: 2, Dest: dest, Out: sc.Out, Hits: sc.Hits}); !errors.Is(err, ErrBadValue) {
			t.Errorf("a row group's destinations for a file's rows: %v", err)
		}
	}
	// A null key is reported at its file row, not its row group's.
	var keyed []struct {
		ID *int64 `parquet:"id,optional"`
	}
	for i := 0; i < 12; i++ {
		v := int64(i)
		keyed = append(keyed, struct {
			ID *int64 `parquet:"id,optional"`
		}{&v})
	}
	keyed[8].ID = nil
	buf.Reset()
	if err := parquet.Write(&buf, keyed, parquet.MaxRowsPerRowGroup(5)); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteAll(ctx, "k/part-0.parquet", buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	src, err = l.OpenScatter(ctx, DataFile{Key: "k/part-0.parquet", Size: int64(buf.Len())}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.ScanRowGroup(ctx, 1, ColumnRequest{Key: "id"}); err == nil || !strings.Contains(err.Error(), "null key at row 8") {
		t.Errorf("null key in the second row group: %v", err)
	}
}

// A nullable column's pages without a null are read as a required column's
// (no null mask entry a row) and pages with one as before: over four pages of
// 65,536 rows, nulls only in the second and at the very end, the mask and the
// values come out row for row, and a key column nullable in the schema but
// with no null reads as keys.
func TestScanNullsInSomePagesOnly(t *testing.T) {
	ctx := context.Background()
	l := memLake(t)
	const n = 4*(pageBytes/8) + 10
	ids, labels, valid := make([]int64, n), make([]int64, n), make([]bool, n)
	nulls := map[int]bool{pageBytes/8 + 3: true, pageBytes/8 + 4: true, n - 1: true}
	for i := range n {
		ids[i], labels[i], valid[i] = int64(i)*3, int64(i%7), !nulls[i]
	}
	keyValid := make([]bool, n)
	for i := range keyValid {
		keyValid[i] = true
	}
	f := put(t, l, "ds/labels/part-0.parquet", n, []OutColumn{{Name: "id", Int64: ids, Valid: keyValid}, {Name: "label", Int64: labels, Valid: valid}})
	tab, err := l.ScanFile(ctx, f, ColumnRequest{Key: "id", Label: "label"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.IntKeys) != n || len(tab.IntLabels) != n || len(tab.LabelValid) != n {
		t.Fatalf("%d keys, %d labels, %d mask entries; want %d", len(tab.IntKeys), len(tab.IntLabels), len(tab.LabelValid), n)
	}
	for i := range n {
		wantLabel := labels[i]
		if nulls[i] {
			wantLabel = 0
		}
		if tab.IntKeys[i] != ids[i] || tab.LabelValid[i] != !nulls[i] || tab.IntLabels[i] != wantLabel {
			t.Fatalf("row %d: key %d, label %d valid %v", i, tab.IntKeys[i], tab.IntLabels[i], tab.LabelValid[i])
		}
	}
}

// ValuesPerRow reads a list column's width off the footer: exact for lists of
// one length, near it with a few null lists.
func TestValuesPerRow(t *testing.T) {
	ctx := context.Background()
	l := memLake(t)
	const n, k = 1000, 7
	vals, valid := make([]float64, n*k), make([]bool, n)
	for i := range valid {
		valid[i] = i%100 != 0
	}
	f := put(t, l, "ds/m/part-0.parquet", n, []OutColumn{{Name: "id", Int64: make([]int64, n)},
		{Name: "full", List64: vals, Width: k}, {Name: "some", List64: vals, Width: k, Valid: valid}})
	if w, err := l.ValuesPerRow(ctx, f, "full"); err != nil || w != k {
		t.Errorf("full: %v, %v; want %d", w, err, k)
	}
	if w, err := l.ValuesPerRow(ctx, f, "some"); err != nil || w <= k-0.1 || w > k {
		t.Errorf("some null: %v, %v; want just under %d", w, err, k)
	}
	if _, err := l.ValuesPerRow(ctx, f, "nope"); !errors.Is(err, ErrMissingColumn) {
		t.Errorf("a missing column: %v", err)
	}
}
