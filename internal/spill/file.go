package spill

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"

	"github.com/lakefuse/lakefuse/internal/errkind"
)

// A bucket file holds the rows one job routed to one bucket: batches of typed
// columns, written once and read back once, on local disk. The format is raw
// (little-endian, as the machine holds the values), not Arrow IPC: measured
// 14 to 25 % faster to write and read back (BenchmarkSpill; docs/decisions.md).
// A file never leaves the machine that wrote it.
//
//	file   = magic "LFSP" version(u32) batch*
//	batch  = rows(u32) columns(u32) column*
//	column = kind(u8) width(u32) byteLen(u64) bytes
const (
	magic   = "LFSP"
	version = 1
)

// Kind is a column's type.
type Kind uint8

const (
	Int64s   Kind = 1 + iota // one int64 per row
	Float32s                 // Width float32 per row
	Strings                  // one string per row: rows+1 uint32 offsets, then the bytes
	Bytes                    // Width bytes per row (masks, small codes)
)

// Column is one column of a batch; the slice its Kind names is set.
type Column struct {
	Kind  Kind
	Width int // Float32s and Bytes: values per row
	I64   []int64
	F32   []float32
	Str   []string
	U8    []uint8
}

// Batch is rows of columns.
type Batch struct {
	Rows int
	Cols []Column
}

// ErrCorrupt is returned for a bucket file that does not parse: truncated, or
// not written by this version.
var ErrCorrupt = errors.New("spill: corrupt bucket file")

// Writer writes one bucket file.
type Writer struct {
	f     *os.File
	w     *bufio.Writer
	bytes int64
}

// Create starts a bucket file at path.
func Create(path string) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	w := &Writer{f: f, w: bufio.NewWriterSize(f, 1<<20)}
	var hdr [8]byte
	copy(hdr[:4], magic)
	binary.LittleEndian.PutUint32(hdr[4:], version)
	w.write(hdr[:])
	return w, nil
}

func (w *Writer) write(b []byte) {
	n, _ := w.w.Write(b) // a write error sticks in the bufio.Writer; Close reports it
	w.bytes += int64(n)
}

// Bytes is how much has been written so far.
func (w *Writer) Bytes() int64 { return w.bytes }

// Write appends a batch.
func (w *Writer) Write(b *Batch) error {
	var hdr [13]byte
	binary.LittleEndian.PutUint32(hdr[:4], uint32(b.Rows))
	binary.LittleEndian.PutUint32(hdr[4:8], uint32(len(b.Cols)))
	w.write(hdr[:8])
	for _, c := range b.Cols {
		var data []byte
		var strs []byte
		switch c.Kind {
		case Int64s:
			data = asBytes(c.I64)
		case Float32s:
			data = asBytes(c.F32)
		case Bytes:
			data = c.U8
		case Strings:
			offs := make([]uint32, len(c.Str)+1)
			for i, s := range c.Str {
				offs[i+1] = offs[i] + uint32(len(s))
			}
			data = asBytes(offs)
			strs = make([]byte, 0, offs[len(c.Str)])
			for _, s := range c.Str {
				strs = append(strs, s...)
			}
		default:
			return fmt.Errorf("spill: unknown column kind %d", c.Kind)
		}
		hdr[0] = byte(c.Kind)
		binary.LittleEndian.PutUint32(hdr[1:5], uint32(c.Width))
		binary.LittleEndian.PutUint64(hdr[5:13], uint64(len(data)+len(strs)))
		w.write(hdr[:13])
		w.write(data)
		w.write(strs)
	}
	return nil
}

// Close flushes and closes the file, reporting any write error.
func (w *Writer) Close() error {
	err := w.w.Flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	return nil
}

// Reader reads a bucket file batch by batch.
type Reader struct {
	f *os.File
	r *bufio.Reader
}

// Open opens a bucket file written by Create.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	r := &Reader{f: f, r: bufio.NewReaderSize(f, 1<<20)}
	var hdr [8]byte
	if _, err := io.ReadFull(r.r, hdr[:]); err != nil || string(hdr[:4]) != magic || binary.LittleEndian.Uint32(hdr[4:]) != version {
		f.Close()
		return nil, fmt.Errorf("%w: %s: no bucket file header", ErrCorrupt, path)
	}
	return r, nil
}

// Next reads the next batch; io.EOF after the last.
func (r *Reader) Next() (*Batch, error) {
	var hdr [13]byte
	if _, err := io.ReadFull(r.r, hdr[:8]); err == io.EOF {
		return nil, io.EOF
	} else if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	b := &Batch{Rows: int(binary.LittleEndian.Uint32(hdr[:4]))}
	cols := int(binary.LittleEndian.Uint32(hdr[4:8]))
	for j := 0; j < cols; j++ {
		if _, err := io.ReadFull(r.r, hdr[:13]); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		c := Column{Kind: Kind(hdr[0]), Width: int(binary.LittleEndian.Uint32(hdr[1:5]))}
		n := binary.LittleEndian.Uint64(hdr[5:13])
		var want uint64
		switch c.Kind {
		case Int64s:
			want = uint64(b.Rows) * 8
			c.I64 = make([]int64, b.Rows)
			if n != want {
				return nil, fmt.Errorf("%w: an int64 column of %d bytes for %d rows", ErrCorrupt, n, b.Rows)
			}
			if _, err := io.ReadFull(r.r, asBytes(c.I64)); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
		case Float32s:
			want = uint64(b.Rows) * uint64(c.Width) * 4
			if n != want {
				return nil, fmt.Errorf("%w: a float32 column of %d bytes for %d rows of width %d", ErrCorrupt, n, b.Rows, c.Width)
			}
			c.F32 = make([]float32, b.Rows*c.Width)
			if _, err := io.ReadFull(r.r, asBytes(c.F32)); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
		case Bytes:
			if n != uint64(b.Rows)*uint64(c.Width) {
				return nil, fmt.Errorf("%w: a byte column of %d bytes for %d rows of width %d", ErrCorrupt, n, b.Rows, c.Width)
			}
			c.U8 = make([]uint8, n)
			if _, err := io.ReadFull(r.r, c.U8); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
		case Strings:
			offs := make([]uint32, b.Rows+1)
			if n < uint64(len(offs))*4 {
				return nil, fmt.Errorf("%w: a string column of %d bytes for %d rows", ErrCorrupt, n, b.Rows)
			}
			if _, err := io.ReadFull(r.r, asBytes(offs)); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
			data := make([]byte, n-uint64(len(offs))*4)
			if _, err := io.ReadFull(r.r, data); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
			all := string(data)
			c.Str = make([]string, b.Rows)
			for i := range c.Str {
				lo, hi := offs[i], offs[i+1]
				if lo > hi || uint64(hi) > uint64(len(all)) {
					return nil, fmt.Errorf("%w: string offsets out of order", ErrCorrupt)
				}
				c.Str[i] = all[lo:hi]
			}
		default:
			return nil, fmt.Errorf("%w: unknown column kind %d", ErrCorrupt, c.Kind)
		}
		b.Cols = append(b.Cols, c)
	}
	return b, nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

func asBytes[T int64 | float32 | uint32](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

// Dir is a run's spill directory: a fresh folder under the spill root, removed by
// Remove.
type Dir struct {
	Path string
}

// NewDir makes a spill directory under root (the temp dir when empty) after
// checking that the filesystem has need bytes free: a shortfall is an error that
// says how much is missing and how to fix it, before any work.
func NewDir(root string, need int64) (*Dir, error) {
	if root == "" {
		root = os.TempDir()
	}
	if free, ok := freeBytes(root); ok && free < need {
		return nil, errkind.New(errkind.Spec, fmt.Sprintf("spill: %s has %s free, the spilled run needs about %s: free space there, point --spill-dir at a bigger disk, or raise --memory",
			root, FormatSize(free), FormatSize(need)))
	}
	p, err := os.MkdirTemp(root, "lakefuse-spill-")
	if err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	return &Dir{Path: p}, nil
}

// File returns the path of a file in the directory.
func (d *Dir) File(name string) string { return filepath.Join(d.Path, name) }

// Remove deletes the directory and everything in it.
func (d *Dir) Remove() error { return os.RemoveAll(d.Path) }

// freeBytes is the space an unprivileged process may use on path's filesystem.
func freeBytes(path string) (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, false
	}
	free := uint64(st.Bavail) * uint64(st.Bsize)
	return int64(min(free, math.MaxInt64)), true
}
