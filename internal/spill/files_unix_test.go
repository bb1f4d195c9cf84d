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

// Reading a mapped file past dropStep drops the pages behind from the resident
// set, and the batches read afterwards are whole.
func TestMappedPagesAreDroppedBehind(t *testing.T) {
	path := t.TempDir() + "/b"
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	const rows, width, batches = 1 << 12, 256, 12 // 4 MiB a batch
	vals := make([]float32, rows*width)
	for b := range batches {
		for i := range vals {
			vals[i] = float32(b*len(vals) + i)
		}
		if err := w.Write(&Batch{Rows: rows, Cols: []Column{{Kind: Float32s, Width: width, F32: vals}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for b := range batches {
		got, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if f := got.Cols[0].F32; f[0] != float32(b*len(vals)) || f[len(f)-1] != float32(b*len(vals)+len(vals)-1) {
			t.Fatalf("batch %d: values %v … %v", b, f[0], f[len(f)-1])
		}
	}
	if r.dropped < dropStep || r.dropped > r.readTo {
		t.Errorf("after %d MiB read, %d bytes dropped", r.readTo>>20, r.dropped)
	}
}
