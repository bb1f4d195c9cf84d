package lake

import (
	"bytes"
	"context"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// InspectKey reads each row group's key range from the footer's statistics:
// signed integers of either width and strings, in the order of int64s and of
// Go strings; a column with nulls, an unsigned column and a missing column give
// no usable range.
func TestInspectKeyRanges(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type row struct {
		I64 int64   `parquet:"i64"`
		I32 int32   `parquet:"i32"`
		Str string  `parquet:"str"`
		U64 uint64  `parquet:"u64"`
		Opt *int64  `parquet:"opt,optional"`
		V   float64 `parquet:"v"`
	}
	keys := []int64{-7, 3, 1, 10, 12, 11, 40, 41}
	rows := make([]row, len(keys))
	for i, k := range keys {
		rows[i] = row{I64: k, I32: int32(k), Str: string(rune('a'+i%3)) + "x", U64: uint64(k), V: 1}
		if i != 4 {
			rows[i].Opt = &keys[i]
		}
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf, parquet.MaxRowsPerRowGroup(3))
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteAll(ctx, "k/part-0.parquet", buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	f := DataFile{Key: "k/part-0.parquet", Size: int64(buf.Len())}
	ints := [][2]int64{{-7, 3}, {10, 12}, {40, 41}}
	for _, col := range []string{"i64", "i32"} {
		info, err := l.InspectKey(ctx, f, col)
		if err != nil || len(info.KeyRanges) != 3 {
			t.Fatalf("%s: %+v, %v", col, info, err)
		}
		for g, want := range ints {
			kr := info.KeyRanges[g]
			if !kr.OK || kr.MinInt != want[0] || kr.MaxInt != want[1] || kr.Rows != int64(min(3, len(keys)-3*g)) {
				t.Errorf("%s row group %d: %+v, want [%d, %d]", col, g, kr, want[0], want[1])
			}
		}
	}
	info, err := l.InspectKey(ctx, f, "str")
	if err != nil {
		t.Fatal(err)
	}
	for g, want := range [][2]string{{"ax", "cx"}, {"ax", "cx"}, {"ax", "bx"}} {
		if kr := info.KeyRanges[g]; !kr.OK || kr.MinStr != want[0] || kr.MaxStr != want[1] {
			t.Errorf("str row group %d: %+v, want %v", g, kr, want)
		}
	}
	for _, col := range []string{"u64", "nope"} {
		info, err := l.InspectKey(ctx, f, col)
		if err != nil || len(info.KeyRanges) != 3 || info.KeyRanges[0].OK || info.KeyRanges[0].Rows != 3 {
			t.Errorf("%s: %+v, %v", col, info, err)
		}
	}
	info, err = l.InspectKey(ctx, f, "opt")
	if err != nil || !info.KeyRanges[0].OK || info.KeyRanges[1].OK || !info.KeyRanges[2].OK {
		t.Errorf("opt (a null in row group 1): %+v, %v", info, err)
	}
	if info, err := l.Inspect(ctx, f); err != nil || info.KeyRanges != nil {
		t.Errorf("Inspect: %+v, %v", info, err)
	}
}
