//go:build unix

package spill

import "testing"

// Bucket files are read mapped on unix (batches are views of the page cache, not
// copies into fresh memory), and Close unmaps them.
func TestBucketFilesAreReadMapped(t *testing.T) {
	path := t.TempDir() + "/b"
	writeFile(t, path, &Batch{Rows: 2, Cols: []Column{{Kind: Int64s, I64: []int64{4, 5}}, {Kind: Float32s, Width: 1, F32: []float32{0.25, 1}}}})
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
	const rows, width, batches = 1 << 12, 64, 12 // 1 MiB a batch
	const n = rows * width
	vals := make([]float32, batches*n)
	written := make([]*Batch, batches)
	for b := range written {
		for i := range n {
			vals[b*n+i] = float32(b*n + i)
		}
		written[b] = &Batch{Rows: rows, Cols: []Column{{Kind: Float32s, Width: width, F32: vals[b*n : (b+1)*n]}}}
	}
	writeFile(t, path, written...)
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
		if f := got.Cols[0].F32; f[0] != float32(b*n) || f[len(f)-1] != float32(b*n+n-1) {
			t.Fatalf("batch %d: values %v … %v", b, f[0], f[len(f)-1])
		}
	}
	if r.dropped < dropStep || r.dropped > r.readTo {
		t.Errorf("after %d MiB read, %d bytes dropped", r.readTo>>20, r.dropped)
	}
}
