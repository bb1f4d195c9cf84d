package lake

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/lakefuse/lakefuse/internal/bucket"
)

// BucketPartition is the Hive folder name of a table bucketed by key: the
// partition Iceberg's bucket transform gets in Spark, Trino, Athena and
// Iceberg's own writers (<key>_bucket=<b>).
func BucketPartition(key string) string { return key + "_bucket" }

// BucketingFile is written at the top of a bucketed dataset (by lakefuse bucket
// and lakefuse synth): the key and the bucket count of its <key>_bucket=<b>
// folders.
const BucketingFile = "_bucketing.json"

// Bucketing is the body of BucketingFile.
type Bucketing struct {
	Key       string `json:"key"`
	Buckets   int    `json:"buckets"`
	Transform string `json:"transform"` // "iceberg bucket": murmur3_x86_32 of the key, & MaxInt32, mod Buckets
	From      string `json:"from,omitempty"`
}

// FileBucket returns the Iceberg bucket a data file's folders put it in, if any.
func FileBucket(f DataFile, key string) (b int, ok bool, err error) {
	v, ok := f.Partitions[BucketPartition(key)]
	if !ok {
		return 0, false, nil
	}
	b, err = strconv.Atoi(v)
	if err != nil || b < 0 {
		return 0, false, fmt.Errorf("lake: file %s: folder %s=%s: not a bucket number", f.Key, BucketPartition(key), v)
	}
	return b, true, nil
}

// Rebucketed is what Rebucket wrote for one input file.
type Rebucketed struct {
	Files int   // output files (buckets that got rows)
	Rows  int64 // rows written
	Bytes int64
}

// Rebucket rewrites one Parquet file into n files by Iceberg's bucket transform
// of its key column (long or string), every column kept, with lakefuse's writer
// settings (zstd, statistics, row groups of at most RowGroupRows rows):
// bucket b's rows, in file order, go to the object dest(b). Buckets without rows
// get no file. Each output is written whole or not at all, and the same input
// gives the same bytes, so a rerun overwrites with identical files.
//
// The outputs are encoded into scratch files (scratch(b), removed here) and
// uploaded once the input is read, so memory stays at the writers' page buffers
// whatever the file's size; without scratch they are held in memory.
func (l *Lake) Rebucket(ctx context.Context, src DataFile, key string, n int, dest func(b int) string, scratch func(b int) (*os.File, error)) (_ *Rebucketed, err error) {
	defer corrupt(src.Key, &err)
	f, ra, err := l.openParquet(ctx, src.Key, src.Size, nil)
	if err != nil {
		return nil, err
	}
	schema := f.Schema()
	leaf, ok := schema.Lookup(key)
	if !ok || !leaf.Node.Leaf() {
		return nil, fmt.Errorf("lake: file %s: %w: no key column %q", src.Key, ErrMissingColumn, key)
	}
	kind := leaf.Node.Type().Kind()
	if kind != parquet.Int64 && kind != parquet.Int32 && kind != parquet.ByteArray {
		return nil, fmt.Errorf("lake: file %s: %w: key column %q is %s; bucketing takes integer or string keys", src.Key, ErrColumnType, key, leaf.Node.Type())
	}
	col := leaf.ColumnIndex
	type output struct {
		w    *parquet.Writer
		buf  *bytes.Buffer // or
		file *os.File
		bw   *bufio.Writer
	}
	outs := map[int]*output{}
	defer func() {
		for _, o := range outs {
			if o.file != nil {
				o.file.Close()
				os.Remove(o.file.Name())
			}
		}
	}()
	writer := func(b int) (*parquet.Writer, error) {
		if o := outs[b]; o != nil {
			return o.w, nil
		}
		o := &output{}
		var w io.Writer
		if scratch != nil {
			f, err := scratch(b)
			if err != nil {
				return nil, err
			}
			o.file, o.bw = f, bufio.NewWriterSize(f, 1<<20)
			w = o.bw
		} else {
			o.buf = &bytes.Buffer{}
			w = o.buf
		}
		o.w = newWriter(w, schema)
		outs[b] = o
		return o.w, nil
	}
	out := &Rebucketed{}
	rowsBuf := make([]parquet.Row, 1024)
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		for {
			if err := ctx.Err(); err != nil {
				rows.Close()
				return nil, err
			}
			m, rerr := rows.ReadRows(rowsBuf)
			for _, row := range rowsBuf[:m] {
				var h int32
				found := false
				for _, v := range row {
					if v.Column() != col {
						continue
					}
					if v.IsNull() {
						rows.Close()
						return nil, fmt.Errorf("lake: file %s: %w: a null key in column %q", src.Key, ErrBadValue, key)
					}
					switch kind {
					case parquet.ByteArray:
						h = bucket.String(string(v.ByteArray()))
					case parquet.Int32:
						h = bucket.Long(int64(v.Int32()))
					default:
						h = bucket.Long(v.Int64())
					}
					found = true
					break
				}
				if !found {
					rows.Close()
					return nil, fmt.Errorf("lake: file %s: %w: a row without key column %q", src.Key, ErrBadValue, key)
				}
				w, err := writer(bucket.Of(h, n))
				if err != nil {
					rows.Close()
					return nil, err
				}
				if _, err := w.WriteRows([]parquet.Row{row}); err != nil {
					rows.Close()
					return nil, fmt.Errorf("lake: file %s: rewriting: %w", src.Key, err)
				}
				out.Rows++
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				rows.Close()
				if serr := ra.failure(); serr != nil {
					return nil, serr
				}
				return nil, fmt.Errorf("lake: file %s: %w: %v", src.Key, ErrNotParquet, rerr)
			}
		}
		rows.Close()
	}
	for b := 0; b < n; b++ {
		o := outs[b]
		if o == nil {
			continue
		}
		if err := o.w.Close(); err != nil {
			return nil, fmt.Errorf("lake: file %s: rewriting: %w", src.Key, err)
		}
		var size int64
		if o.file != nil {
			if err := o.bw.Flush(); err != nil {
				return nil, fmt.Errorf("lake: file %s: rewriting: %w", src.Key, err)
			}
			if size, err = o.file.Seek(0, io.SeekCurrent); err != nil {
				return nil, fmt.Errorf("lake: file %s: rewriting: %w", src.Key, err)
			}
		} else {
			size = int64(o.buf.Len())
		}
		// From the start on every call: a retried upload sends the bytes again.
		if err := l.WriteObject(ctx, dest(b), &WriteOptions{ContentType: "application/vnd.apache.parquet"}, func(w io.Writer) error {
			if o.file == nil {
				_, err := w.Write(o.buf.Bytes())
				return err
			}
			_, err := io.Copy(w, io.NewSectionReader(o.file, 0, size))
			return err
		}); err != nil {
			return nil, err
		}
		out.Files++
		out.Bytes += size
		if o.file != nil {
			o.file.Close()
			os.Remove(o.file.Name())
		}
		delete(outs, b)
	}
	return out, nil
}

// BucketedPath is where Rebucket's output for bucket b of an input file goes:
// the input's path under the dataset with the bucket folder inserted before the
// file name, and the file name made unique per input (part-<index>.parquet).
func BucketedPath(fromDataset, toDataset string, f DataFile, key string, index, b int) string {
	rel := strings.TrimPrefix(f.Key, Join(fromDataset)+"/")
	dir := ""
	if i := strings.LastIndex(rel, "/"); i >= 0 {
		dir = rel[:i]
	}
	return Join(toDataset, dir, fmt.Sprintf("%s=%d", BucketPartition(key), b), fmt.Sprintf("part-%05d.parquet", index))
}
