package spill

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The spill format, chosen by measurement (docs/decisions.md): a bucket file
// holds batches of (int64 key, fixed-width float32 vector) rows, written once and
// read once. The candidates: this package's bucket files (Arrow IPC, the
// interchange format other engines spill in, written zero-copy from the caller's
// slices) and a raw format (a batch header, then the keys' and values' bytes).
// Both read into fresh buffers and copy into the caller's slices. Alternate them:
//
//	go test -c -o /tmp/spill.test ./internal/spill
//	for i in 1 2 3 4 5; do /tmp/spill.test -test.run '^$' -test.bench Spill -test.benchtime 5x; done
const benchRows, benchBatch = 1 << 20, 1 << 16

func benchData(width int) ([]int64, []float32) {
	keys := make([]int64, benchRows)
	vals := make([]float32, benchRows*width)
	for i := range keys {
		keys[i] = int64(i) * 7919
	}
	for i := range vals {
		vals[i] = float32(i%1000) / 1000
	}
	return keys, vals
}

// writeRaw and readRaw are the raw candidate: per batch a header (rows, width),
// then the keys' and the values' bytes as the machine holds them.
func writeRaw(path string, keys []int64, vals []float32, width int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for lo := 0; lo < len(keys); lo += benchBatch {
		hi := min(lo+benchBatch, len(keys))
		var hdr [8]byte
		binary.LittleEndian.PutUint32(hdr[:4], uint32(hi-lo))
		binary.LittleEndian.PutUint32(hdr[4:], uint32(width))
		w.Write(hdr[:])
		w.Write(asBytes(keys[lo:hi]))
		w.Write(asBytes(vals[lo*width : hi*width]))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func readRaw(path string, keys []int64, vals []float32) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	n := 0
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err == io.EOF {
			return n, nil
		} else if err != nil {
			return n, err
		}
		rows, width := int(binary.LittleEndian.Uint32(hdr[:4])), int(binary.LittleEndian.Uint32(hdr[4:]))
		k, v := make([]int64, rows), make([]float32, rows*width) // a reader's own buffers, as Next's
		if _, err := io.ReadFull(r, asBytes(k)); err != nil {
			return n, err
		}
		if _, err := io.ReadFull(r, asBytes(v)); err != nil {
			return n, err
		}
		copy(keys[n:], k)
		copy(vals[n*width:], v)
		n += rows
	}
}

// writeBucket and readBucket are this package's bucket files (Arrow IPC).
func writeBucket(path string, keys []int64, vals []float32, width int) error {
	w, err := Create(path)
	if err != nil {
		return err
	}
	for lo := 0; lo < len(keys); lo += benchBatch {
		hi := min(lo+benchBatch, len(keys))
		b := &Batch{Rows: hi - lo, Cols: []Column{{Kind: Int64s, I64: keys[lo:hi]}, {Kind: Float32s, Width: width, F32: vals[lo*width : hi*width]}}}
		if err := w.Write(b); err != nil {
			return err
		}
	}
	return w.Close()
}

func readBucket(path string, keys []int64, vals []float32) (int, error) {
	r, err := Open(path)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	n := 0
	for {
		b, err := r.Next()
		if err == io.EOF {
			return n, nil
		} else if err != nil {
			return n, err
		}
		copy(keys[n:], b.Cols[0].I64)
		copy(vals[n*b.Cols[1].Width:], b.Cols[1].F32)
		n += b.Rows
	}
}

func BenchmarkSpill(b *testing.B) {
	for _, width := range []int{10, 256} {
		keys, vals := benchData(width)
		gotK, gotV := make([]int64, len(keys)), make([]float32, len(vals))
		for _, f := range []struct {
			name  string
			write func(string, []int64, []float32, int) error
			read  func(string, []int64, []float32) (int, error)
		}{{"raw", writeRaw, readRaw}, {"arrow-ipc", writeBucket, readBucket}} {
			b.Run(fmt.Sprintf("%s/width=%d", f.name, width), func(b *testing.B) {
				path := filepath.Join(b.TempDir(), "bucket")
				b.SetBytes(int64(len(keys)*8 + len(vals)*4))
				for i := 0; i < b.N; i++ {
					if err := f.write(path, keys, vals, width); err != nil {
						b.Fatal(err)
					}
					n, err := f.read(path, gotK, gotV)
					if err != nil || n != len(keys) || gotK[n-1] != keys[n-1] || gotV[len(gotV)-1] != vals[len(vals)-1] {
						b.Fatalf("read back %d rows, %v", n, err)
					}
				}
			})
		}
	}
}
