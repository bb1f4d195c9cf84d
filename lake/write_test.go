package lake

import (
	"bytes"
	"fmt"
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

// Values stamped from templates (mirrorOK) write the same bytes as values built
// by parquet-go's constructors, for every kind of column, nullable or not.
func TestStampedValuesWriteTheSameFile(t *testing.T) {
	if !mirrorOK {
		t.Fatal("parquet-go's Value layout no longer matches valueMirror: the writer takes its slow path (update valueMirror)")
	}
	const n, k = 5000, 3
	ints, int32s, floats := make([]int64, n), make([]int32, n), make([]float64, n)
	bools, valid, names := make([]bool, n), make([]bool, n), make([]string, n)
	list64, list32, codes := make([]float64, n*k), make([]float32, n*k), make([]int32, n)
	for i := range n {
		ints[i], int32s[i], floats[i] = int64(i)*-7919, int32(i%13)-6, float64(i)/3
		bools[i], valid[i], names[i] = i%3 == 0, i%7 != 0, fmt.Sprint("n", i%11)
		codes[i] = int32(i%4) - 1
		for c := range k {
			list64[i*k+c], list32[i*k+c] = float64(i+c)/(n+k), float32(c-i)
		}
	}
	fill := func(lo, hi int, dst []float64) { copy(dst, list64[lo*k:hi*k]) }
	cols := []OutColumn{
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
	}
	write := func() []byte {
		var buf bytes.Buffer
		if err := WriteParquet(&buf, n, cols); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	stamped := write()
	mirrorOK = false
	defer func() { mirrorOK = true }()
	built := write()
	if !bytes.Equal(stamped, built) {
		t.Fatalf("stamped values write %d bytes, values built by parquet-go %d, and they differ", len(stamped), len(built))
	}
}
