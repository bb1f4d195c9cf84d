package lake

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
)

// A dictionary-coded column writes the dictionary's values, nulls for negative
// codes when Optional, and the same file as the column written out in full.
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
