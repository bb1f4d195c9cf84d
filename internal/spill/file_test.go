package spill

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/internal/errkind"
)

// Batches of every column kind read back as written, also empty ones.
func TestBucketFileRoundTrip(t *testing.T) {
	dir, err := NewDir(t.TempDir(), 1)
	if err != nil {
		t.Fatal(err)
	}
	batches := []*Batch{
		{Rows: 3, Cols: []Column{
			{Kind: Int64s, I64: []int64{-1, 0, 1 << 62}},
			{Kind: Float32s, Width: 2, F32: []float32{0.5, 1, 2, 3, -4, 5.25}},
			{Kind: Strings, Str: []string{"a", "", "ünïcode key"}},
			{Kind: Bytes, Width: 1, U8: []uint8{1, 0, 1}},
			{Kind: Float64s, Width: 1, F64: []float64{0.1, -1e300, 1.0 / 3}},
			{Kind: Int32s, I32: []int32{-1 << 31, 0, 1<<31 - 1}},
		}},
		{Rows: 0, Cols: []Column{
			{Kind: Int64s, I64: []int64{}}, {Kind: Float32s, Width: 2, F32: []float32{}},
			{Kind: Strings, Str: []string{}}, {Kind: Bytes, Width: 1, U8: []uint8{}},
			{Kind: Float64s, Width: 1, F64: []float64{}}, {Kind: Int32s, I32: []int32{}},
		}},
		{Rows: 1, Cols: []Column{
			{Kind: Int64s, I64: []int64{7}}, {Kind: Float32s, Width: 2, F32: []float32{1, 2}},
			{Kind: Strings, Str: []string{"k"}}, {Kind: Bytes, Width: 1, U8: []uint8{0}},
			{Kind: Float64s, Width: 1, F64: []float64{2}}, {Kind: Int32s, I32: []int32{9}},
		}},
	}
	path := dir.File("b0")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Size() != w.Bytes() {
		t.Errorf("file has %d bytes, the writer counted %d", st.Size(), w.Bytes())
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i, want := range batches {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if got.Rows != want.Rows || fmt.Sprintf("%+v", got.Cols) != fmt.Sprintf("%+v", want.Cols) { // nil and empty alike
			t.Errorf("batch %d: %+v, want %+v", i, got, want)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("after the last batch: %v", err)
	}
	if err := dir.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir.Path); !os.IsNotExist(err) {
		t.Errorf("the spill directory survived Remove: %v", err)
	}
}

// A truncated or foreign file is ErrCorrupt, never a panic, a short batch or a
// silent end; a batch with other columns than the file's is refused.
func TestBucketFileCorrupt(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/b"
	w, _ := Create(path)
	w.Write(&Batch{Rows: 2, Cols: []Column{{Kind: Int64s, I64: []int64{1, 2}}, {Kind: Strings, Str: []string{"x", "yz"}}}})
	w.Close()
	full, _ := os.ReadFile(path)
	for cut := 1; cut < len(full); cut++ {
		os.WriteFile(path, full[:cut], 0o644)
		r, err := Open(path)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("cut at %d: %v", cut, err)
			}
			continue
		}
		if _, err := r.Next(); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		r.Close()
	}
	os.WriteFile(path, []byte("PAR1 not a bucket file"), 0o644)
	if _, err := Open(path); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a foreign file: %v", err)
	}
	w, _ = Create(path)
	defer w.Close()
	w.Write(&Batch{Rows: 1, Cols: []Column{{Kind: Int64s, I64: []int64{1}}}})
	if err := w.Write(&Batch{Rows: 1, Cols: []Column{{Kind: Strings, Str: []string{"x"}}}}); err == nil {
		t.Error("a batch with other columns was written")
	}
	wide := filepath.Join(t.TempDir(), "wide.arrow")
	w2, _ := Create(wide)
	defer w2.Close()
	vec := func(width int) Column { return Column{Kind: Float32s, Width: width, F32: make([]float32, width)} }
	if err := w2.Write(&Batch{Rows: 1, Cols: []Column{vec(2)}}); err != nil {
		t.Fatal(err)
	}
	for _, cols := range [][]Column{{vec(3)}, {vec(2), vec(2)}, {}} {
		if err := w2.Write(&Batch{Rows: 1, Cols: cols}); err == nil || !strings.Contains(err.Error(), "a batch of columns") {
			t.Errorf("a batch of %d columns (the first of width %d) in a file of one of width 2: %v", len(cols), widthOf(cols), err)
		}
	}
	if err := w2.Write(&Batch{Rows: 1, Cols: []Column{vec(2)}}); err != nil {
		t.Errorf("a batch with the file's columns: %v", err)
	}
}

func widthOf(cols []Column) int {
	if len(cols) == 0 {
		return 0
	}
	return cols[0].Width
}

// Too little free space is a spec error that says what to do, before any work.
func TestNewDirChecksFreeSpace(t *testing.T) {
	_, err := NewDir(t.TempDir(), 1<<62)
	if err == nil || errkind.Of(err) != errkind.Spec || !strings.Contains(err.Error(), "--spill-dir") {
		t.Errorf("4 EiB needed: %v", err)
	}
}

// writeFile writes batches to a bucket file at path.
func writeFile(t *testing.T, path string, batches ...*Batch) {
	t.Helper()
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// A bucket that received no rows is a file that reads as empty.
func TestEmptyBucketFile(t *testing.T) {
	path := t.TempDir() + "/b"
	writeFile(t, path)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("an empty bucket: %v", err)
	}
}

// ReadFile hands every batch over in order, stops at the callback's error, and
// reports a corrupt file as ErrCorrupt.
func TestReadFile(t *testing.T) {
	dir, err := NewDir(t.TempDir(), 1)
	if err != nil {
		t.Fatal(err)
	}
	path := dir.File("b")
	var batches []*Batch
	for i := int64(0); i < 4; i++ {
		batches = append(batches, &Batch{Rows: 1, Cols: []Column{{Kind: Int64s, I64: []int64{i}}}})
	}
	writeFile(t, path, batches...)
	var seen []int64
	if err := ReadFile(path, func(b *Batch) error { seen = append(seen, b.Cols[0].I64[0]); return nil }); err != nil || fmt.Sprint(seen) != "[0 1 2 3]" {
		t.Errorf("read %v, %v", seen, err)
	}
	stop := errors.New("enough")
	seen = nil
	if err := ReadFile(path, func(b *Batch) error { seen = append(seen, b.Cols[0].I64[0]); return stop }); err != stop || len(seen) != 1 {
		t.Errorf("a callback's error: %v after %v", err, seen)
	}
	os.WriteFile(path, []byte("not a bucket file"), 0o644)
	if err := ReadFile(path, func(*Batch) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a corrupt file: %v", err)
	}
}

// A gathering writer writes small batches together, in order, and a large one
// as it comes: the rows read back are those written, in fewer batches.
func TestGather(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.arrow")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	const gather = 1000 // bytes: 30 rows of 33 (8 + 2*4 + 1 + 4 + a string of about 12)
	w.Gather(gather)
	var keys []int64
	var strs []string
	next := int64(0)
	batch := func(rows int) *Batch {
		b := &Batch{Rows: rows, Cols: []Column{{Kind: Int64s}, {Kind: Float32s, Width: 2}, {Kind: Bytes, Width: 1}, {Kind: Strings}}}
		for i := 0; i < rows; i++ {
			k := next
			next++
			s := fmt.Sprintf("key-%08d", k)
			b.Cols[0].I64 = append(b.Cols[0].I64, k)
			b.Cols[1].F32 = append(b.Cols[1].F32, float32(k), -float32(k))
			b.Cols[2].U8 = append(b.Cols[2].U8, uint8(k))
			b.Cols[3].Str = append(b.Cols[3].Str, s)
			keys, strs = append(keys, k), append(strs, s)
		}
		return b
	}
	sizes := []int{3, 0, 7, 1, 29, 100, 2, 2, 40, 5, 5, 5, 5, 5, 5, 5, 5}
	for _, n := range sizes {
		b := batch(n)
		if err := w.Write(b); err != nil {
			t.Fatal(err)
		}
		for i := range b.Cols[3].Str { // the writer must have copied what it keeps
			b.Cols[3].Str[i], b.Cols[0].I64[i] = "overwritten", -1
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Size() != w.Bytes() {
		t.Errorf("file has %d bytes, the writer counted %d", st.Size(), w.Bytes())
	}
	var gotKeys []int64
	var gotStrs []string
	var rows []int
	err = ReadFile(path, func(b *Batch) error {
		rows = append(rows, b.Rows)
		for i := 0; i < b.Rows; i++ {
			k := b.Cols[0].I64[i]
			if b.Cols[1].F32[2*i] != float32(k) || b.Cols[1].F32[2*i+1] != -float32(k) || b.Cols[2].U8[i] != uint8(k) {
				t.Fatalf("row of key %d: %v %v", k, b.Cols[1].F32[2*i:2*i+2], b.Cols[2].U8[i])
			}
			gotKeys = append(gotKeys, k)
			gotStrs = append(gotStrs, strings.Clone(b.Cols[3].Str[i])) // a view of the mapped file
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(gotKeys) != fmt.Sprint(keys) || fmt.Sprint(gotStrs) != fmt.Sprint(strs) {
		t.Errorf("read back\n%v\n%v\nwant\n%v\n%v", gotKeys, gotStrs, keys, strs)
	}
	// 3+7+1 gather; 29 would pass 1000 bytes: written, 29 gathered; 100 rows
	// alone; 2+2; 40 alone after them; the 5s in batches of up to 30 rows.
	if want := "[11 29 100 4 40 30 10]"; fmt.Sprint(rows) != want {
		t.Errorf("batches of %v rows, want %s", rows, want)
	}
}
