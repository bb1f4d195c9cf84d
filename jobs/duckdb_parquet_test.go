package jobs_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/lake"
)

// DuckDB reads every kind of column lakefuse's Parquet encoder writes, over
// several pages and row groups, to the values written, and finds the chunk
// statistics it can skip by: what an analyst's first query over a run sees.
func TestDuckDBReadsEveryColumnKind(t *testing.T) {
	const n, k = lake.RowGroupRows + 40_000, 3
	ints, i32, f64 := make([]int64, n), make([]int32, n), make([]float64, n)
	strs, bools, valid := make([]string, n), make([]bool, n), make([]bool, n)
	list32, codes := make([]float32, n*k), make([]int32, n)
	wideCodes, wide, one := make([]int32, n), make([]int64, 1000), make([]int32, n) // dictionaries of 1000 values and of one
	for v := range wide {
		wide[v] = int64(v) * 11
	}
	var sumWide float64
	var sumInt, sumValidInt, sumF, sumList float64
	var trues, valids int
	for i := range n {
		ints[i], i32[i], f64[i] = int64(i)*3-1000, int32(i%1000)-500, float64(i)/7
		strs[i], bools[i], valid[i] = fmt.Sprintf("s%03d", i%997), i%3 == 0, i%5 != 0
		codes[i] = int32(i%3) - 1
		wideCodes[i] = int32(i*7) % 1000
		sumWide += float64(wide[wideCodes[i]])
		sumInt += float64(ints[i])
		sumF += f64[i]
		if bools[i] {
			trues++
		}
		if valid[i] {
			valids++
			sumValidInt += float64(ints[i])
		}
		for c := range k {
			list32[i*k+c] = float32(c+1) / 8
			if valid[i] {
				sumList += float64(list32[i*k+c])
			}
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "every.parquet")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := lake.WriteParquet(f, n, []lake.OutColumn{
		{Name: "i", Int64: ints}, {Name: "iv", Int64: ints, Valid: valid}, {Name: "j", Int32: i32},
		{Name: "f", Float64: f64}, {Name: "s", String: strs}, {Name: "b", Bool: bools},
		{Name: "l", List32: list32, Width: k, Valid: valid},
		{Name: "c", String: []string{"x", "y"}, Codes: codes, Optional: true},
		{Name: "w", Int64: wide, Codes: wideCodes}, {Name: "r", String: []string{"run-1"}, Codes: one},
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out := duckdb(t,
		`SELECT count(*) AS n, sum(i)::DOUBLE AS si, sum(iv)::DOUBLE AS siv, count(iv) AS niv, sum(j)::BIGINT AS sj,
			sum(f) AS sf, count(DISTINCT s) AS ds, sum(b::INT)::BIGINT AS nb, sum(list_sum(l))::DOUBLE AS sl,
			count(l) AS nl, min(len(l)) AS minl, max(len(l)) AS maxl, count(c) AS nc, count(*) FILTER (c = 'y') AS ny,
			sum(w)::DOUBLE AS sw, count(DISTINCT w) AS dw, count(*) FILTER (r = 'run-1') AS nr
		 FROM read_parquet('`+file+`')`,
		`SELECT path_in_schema AS col, stats_min_value AS lo, stats_max_value AS hi FROM parquet_metadata('`+file+`')
		 WHERE row_group_id = 0 AND path_in_schema IN ('i', 's')`,
		`SELECT DISTINCT path_in_schema AS col, encodings AS enc FROM parquet_metadata('`+file+`')
		 WHERE path_in_schema IN ('i', 'iv', 'j')`)
	got := out[0][0]
	num := func(name string) float64 {
		switch v := got[name].(type) {
		case float64:
			return v
		case string:
			var x float64
			fmt.Sscan(v, &x)
			return x
		}
		t.Fatalf("%s: %v (%T)", name, got[name], got[name])
		return 0
	}
	sumJ := 0.0
	for _, v := range i32 {
		sumJ += float64(v)
	}
	want := map[string]float64{"n": n, "si": sumInt, "siv": sumValidInt, "niv": float64(valids), "sj": sumJ,
		"sf": sumF, "ds": 997, "nb": float64(trues), "sl": sumList, "nl": float64(valids), "minl": k, "maxl": k,
		"nc": float64(n - (n+2)/3), "ny": float64(n / 3), "sw": sumWide, "dw": 1000, "nr": n}
	for name, w := range want {
		if g := num(name); math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
			t.Errorf("duckdb %s = %v, want %v", name, g, w)
		}
	}
	stats := map[string][2]string{}
	for _, row := range out[1] {
		stats[fmt.Sprint(row["col"])] = [2]string{fmt.Sprint(row["lo"]), fmt.Sprint(row["hi"])}
	}
	if w := [2]string{"-1000", fmt.Sprint(int64(lake.RowGroupRows-1)*3 - 1000)}; stats["i"] != w {
		t.Errorf("row group 0 statistics of i: %v, want %v", stats["i"], w)
	}
	if w := [2]string{"s000", "s996"}; stats["s"] != w {
		t.Errorf("row group 0 statistics of s: %v, want %v", stats["s"], w)
	}
	// The integers it summed were DELTA_BINARY_PACKED.
	for _, row := range out[2] {
		if enc := fmt.Sprint(row["enc"]); !strings.Contains(enc, "DELTA_BINARY_PACKED") {
			t.Errorf("column %v: encodings %s, want DELTA_BINARY_PACKED", row["col"], enc)
		}
	}
	if len(out[2]) != 3 {
		t.Errorf("encodings of %d integer columns, want 3: %v", len(out[2]), out[2])
	}
}
