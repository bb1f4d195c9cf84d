package lake

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// footerFetch is how many trailing bytes one request fetches when a file is opened:
// enough for the footer of files with hundreds of row groups, so a scan learns a
// file's schema and layout in one round trip.
const footerFetch = 256 << 10

// blobReaderAt is an io.ReaderAt over ranged reads of one object. The tail of the
// object (which holds the Parquet footer) is fetched once, in one request, and served
// from memory afterwards.
type blobReaderAt struct {
	ctx  context.Context
	lake *Lake
	key  string
	size int64

	tailOnce sync.Once
	tail     []byte
	tailOff  int64
	tailErr  error

	bytesRead *atomic.Int64 // bytes fetched from storage; may be nil
	requests  *atomic.Int64 // ranged requests issued; may be nil

	failed atomic.Pointer[error] // the first storage error, which the Parquet reader may wrap beyond recognition
}

func newBlobReaderAt(ctx context.Context, l *Lake, key string, size int64, bytesRead, requests *atomic.Int64) *blobReaderAt {
	return &blobReaderAt{ctx: ctx, lake: l, key: key, size: size, bytesRead: bytesRead, requests: requests}
}

// failure returns the storage error a read hit, if any: callers report it instead
// of whatever the Parquet decoder made of the short read.
func (r *blobReaderAt) failure() error {
	if p := r.failed.Load(); p != nil {
		return *p
	}
	return nil
}

func (r *blobReaderAt) loadTail() {
	n := int64(footerFetch)
	if n > r.size {
		n = r.size
	}
	r.tailOff = r.size - n
	r.tail = make([]byte, n)
	r.tailErr = r.fetch(r.tail, r.tailOff)
}

func (r *blobReaderAt) fetch(p []byte, off int64) error {
	err := r.lake.do(r.ctx, "get", r.key, func(ctx context.Context, progress func()) error {
		rd, err := r.lake.bucket.NewRangeReader(ctx, r.key, off, int64(len(p)), nil)
		if err != nil {
			return err
		}
		defer rd.Close()
		n, err := io.ReadFull(&progressReader{r: rd, progress: progress}, p)
		if r.bytesRead != nil {
			r.bytesRead.Add(int64(n))
			r.requests.Add(1)
		}
		return err
	})
	if err != nil {
		r.failed.CompareAndSwap(nil, &err)
	}
	return err
}

// ReadAt implements io.ReaderAt.
func (r *blobReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := len(p)
	if rem := r.size - off; int64(want) > rem {
		p = p[:rem]
	}
	if off+int64(len(p)) > r.size-footerFetch || r.size <= footerFetch {
		r.tailOnce.Do(r.loadTail)
		if r.tailErr != nil {
			return 0, r.tailErr
		}
		if off >= r.tailOff {
			n := copy(p, r.tail[off-r.tailOff:])
			if n < want {
				return n, io.EOF
			}
			return n, nil
		}
	}
	if err := r.fetch(p, off); err != nil {
		return 0, err
	}
	if len(p) < want {
		return len(p), io.EOF
	}
	return len(p), nil
}
