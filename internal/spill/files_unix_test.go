//go:build unix

package spill

import "testing"

// Bucket files are read mapped on unix (batches are views of the page cache, not
// copies into fresh memory), and Close unmaps them.
func TestBucketFilesAreReadMapped(t *testing.T) {
	path := t.TempDir() + "/b"
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&Batch{Rows: 2, Cols: []Column{{Kind: Int64s, I64: []int64{4, 5}}, {Kind: Float32s, Width: 1, F32: []float32{0.25, 1}}}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.unmap == nil {
		t.Fatal("the bucket file was not mapped")
	}
	b, err := r.Next()
	if err != nil || b.Cols[0].I64[1] != 5 || b.Cols[1].F32[0] != 0.25 {
		t.Fatalf("batch %+v, %v", b, err)
	}
	if err := r.Close(); err != nil || r.unmap != nil {
		t.Fatalf("Close: %v (unmapped: %v)", err, r.unmap == nil)
	}
}
