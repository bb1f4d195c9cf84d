package spill

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The spill format, chosen by measurement (docs/decisions.md): a bucket file
// holds batches of (int64 key, fixed-width float32 vector) rows, written once and
// read once. The candidates: Arrow IPC (the interchange format other engines
// spill in), zero-copy from the same slices, and this package's raw format (a
// batch header, then the keys' and values' bytes). Both copy what they read into
// the reader's slices. Run:
//
//	go test ./internal/spill -run '^$' -bench Spill -benchtime 5x -count 5
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

// writeRaw and readRaw are this package's bucket files (Create, Open).
func writeRaw(path string, keys []int64, vals []float32, width int) error {
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

func readRaw(path string, keys []int64, vals []float32) (int, error) {
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

func arrowSchema(width int) *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "key", Type: arrow.PrimitiveTypes.Int64},
		{Name: "v", Type: arrow.FixedSizeListOf(int32(width), arrow.PrimitiveTypes.Float32)},
	}, nil)
}

func writeArrow(path string, keys []int64, vals []float32, width int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	schema := arrowSchema(width)
	w := ipc.NewWriter(bw, ipc.WithSchema(schema))
	for lo := 0; lo < len(keys); lo += benchBatch {
		hi := min(lo+benchBatch, len(keys))
		n := hi - lo
		kd := array.NewData(arrow.PrimitiveTypes.Int64, n, []*memory.Buffer{nil, memory.NewBufferBytes(asBytes(keys[lo:hi]))}, nil, 0, 0)
		vd := array.NewData(arrow.PrimitiveTypes.Float32, n*width, []*memory.Buffer{nil, memory.NewBufferBytes(asBytes(vals[lo*width : hi*width]))}, nil, 0, 0)
		ld := array.NewData(schema.Field(1).Type, n, []*memory.Buffer{nil}, []arrow.ArrayData{vd}, 0, 0)
		ka, la := array.NewInt64Data(kd), array.NewFixedSizeListData(ld)
		rec := array.NewRecordBatch(schema, []arrow.Array{ka, la}, int64(n))
		if err := w.Write(rec); err != nil {
			return err
		}
		rec.Release()
		ka.Release()
		la.Release()
		kd.Release()
		vd.Release()
		ld.Release()
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func readArrow(path string, keys []int64, vals []float32) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, err := ipc.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return 0, err
	}
	defer r.Release()
	n := 0
	for r.Next() {
		rec := r.RecordBatch()
		k := rec.Column(0).(*array.Int64).Int64Values()
		v := rec.Column(1).(*array.FixedSizeList).ListValues().(*array.Float32).Float32Values()
		copy(keys[n:], k)
		copy(vals[n*len(v)/len(k):], v)
		n += len(k)
	}
	return n, r.Err()
}

func BenchmarkSpill(b *testing.B) {
	for _, width := range []int{10, 256} {
		keys, vals := benchData(width)
		gotK, gotV := make([]int64, len(keys)), make([]float32, len(vals))
		for _, f := range []struct {
			name  string
			write func(string, []int64, []float32, int) error
			read  func(string, []int64, []float32) (int, error)
		}{{"raw", writeRaw, readRaw}, {"arrow-ipc", writeArrow, readArrow}} {
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
