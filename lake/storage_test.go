package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/internal/errkind"
)

// lockedBuffer collects log lines written from timer goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// failingLake is a mem:// lake whose every request fails with err (counted).
func failingLake(t *testing.T, opts Options, err error) (*Lake, *int, *lockedBuffer) {
	t.Helper()
	tries := 0
	logs := &lockedBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	opts.Intercept = func(op, key string, do func() error) error {
		tries++
		return err
	}
	return memLake(t).withOptions(&opts), &tries, logs
}

// A transient failure is tried 1 + Retries times, each retry logged with its
// number; an access failure or a kind the caller set is not retried; a context
// error from inside a library (not ours) is worth a retry.
func TestRetries(t *testing.T) {
	ctx := context.Background()
	l, tries, logs := failingLake(t, Options{Retries: 2}, errors.New("connection reset by peer"))
	_, err := l.ReadAll(ctx, "k")
	var se *StorageError
	if !errors.As(err, &se) || se.Kind != errkind.Transient || *tries != 3 {
		t.Errorf("transient: %d tries, %v", *tries, err)
	}
	if s := logs.String(); strings.Count(s, "retrying") != 2 || !strings.Contains(s, "try=1 ") || !strings.Contains(s, "try=2 ") {
		t.Errorf("retry log:\n%s", s)
	}

	l, tries, _ = failingLake(t, Options{Retries: 2}, errkind.New(errkind.Access, "denied"))
	if _, err := l.ReadAll(ctx, "k"); errkind.Of(err) != errkind.Access || *tries != 1 {
		t.Errorf("access: %d tries, %v", *tries, err)
	}
	l, tries, _ = failingLake(t, Options{Retries: 1}, errors.Join(errors.New("sdk gave up"), context.Canceled))
	if _, err := l.ReadAll(ctx, "k"); errkind.Of(err) != errkind.Transient || *tries != 2 {
		t.Errorf("a library's context error: %d tries, %v", *tries, err)
	}
	l, tries, _ = failingLake(t, Options{Retries: -1}, errors.New("connection reset by peer"))
	if _, err := l.ReadAll(ctx, "k"); err == nil || *tries != 1 {
		t.Errorf("no retries: %d tries, %v", *tries, err)
	}
}

// A request that stops making progress is warned about half-way to the I/O
// timeout (counted from its last progress) and then cancelled as stalled, a
// transient error; a request whose caller gives up ends with the caller's error.
func TestStalledRequest(t *testing.T) {
	logs := &lockedBuffer{}
	l := memLake(t).withOptions(&Options{IOTimeout: 300 * time.Millisecond, Retries: -1, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	stall := func(ctx context.Context, progress func()) error {
		progress()
		<-ctx.Done()
		return ctx.Err()
	}
	err := l.do(context.Background(), "get", "k", stall)
	var se *StorageError
	if !errors.Is(err, ErrStalled) || !errors.As(err, &se) || se.Kind != errkind.Transient {
		t.Errorf("stalled request: %v", err)
	}
	if !strings.Contains(logs.String(), "making no progress") {
		t.Errorf("no warning before the stall was cancelled:\n%s", logs.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if err := l.do(ctx, "get", "k", stall); !errors.Is(err, context.Canceled) || errors.Is(err, ErrStalled) {
		t.Errorf("caller cancelled: %v", err)
	}
	// Steady progress keeps a request alive well past the timeout.
	steady := func(ctx context.Context, progress func()) error {
		for i := 0; i < 12; i++ {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
				progress()
			}
		}
		return nil
	}
	if err := l.do(context.Background(), "get", "k", steady); err != nil {
		t.Errorf("a request making progress: %v", err)
	}
}

// Backoff: 200 ms doubling to a 10 s cap, with full jitter over the upper half.
func TestBackoff(t *testing.T) {
	for try, d := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
		1600 * time.Millisecond, 3200 * time.Millisecond, 6400 * time.Millisecond, 10 * time.Second, 10 * time.Second, 10 * time.Second} {
		lo, hi := time.Duration(1<<62), time.Duration(0)
		for i := 0; i < 2000; i++ {
			w := backoff(try)
			lo, hi = min(lo, w), max(hi, w)
		}
		if lo < d/2 || hi > d || lo > d/2+d/20 || hi < d-d/20 {
			t.Errorf("try %d: waits %v..%v, want spread over %v..%v", try, lo, hi, d/2, d)
		}
	}
}

// A file of exactly one row group's rows has one row group; no rows, none.
func TestWriteRowGroupEdges(t *testing.T) {
	l := memLake(t)
	ctx := context.Background()
	for _, n := range []int{0, RowGroupRows} {
		f := put(t, l, "a/part-0.parquet", n, []OutColumn{{Name: "id", Int64: make([]int64, n)}})
		info, err := l.Inspect(ctx, f)
		want := 1
		if n == 0 {
			want = 0
		}
		if err != nil || info.RowGroups != want || info.Rows != int64(n) {
			t.Errorf("%d rows: %+v, %v", n, info, err)
		}
	}
}

// A folder lake's listing races uploads finishing (a temporary file renamed
// between the directory read and its stat): List starts again rather than
// failing with NotFound. Another goroutine uploads while the test lists, an
// upload every 200 µs (without the restarts a listing failed within the first
// few hundred).
func TestListSurvivesConcurrentUploads(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			time.Sleep(200 * time.Microsecond)
			if err := l.WriteObject(ctx, fmt.Sprintf("p/obj-%d", i%50), nil, func(w io.Writer) error {
				_, err := w.Write([]byte("x"))
				return err
			}); err != nil {
				done <- err
				return
			}
		}
	}()
	for range 2000 {
		if _, err := l.List(ctx, "p/"); err != nil {
			close(stop)
			t.Fatalf("list while uploading: %v", err)
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A list column computed by Fill is written to the same bytes as the same values
// held in List64, across pages and row groups; Fill sees each page's rows once,
// in order.
func TestWriteFillColumn(t *testing.T) {
	const w = 3
	const n = RowGroupRows + 3*pageBytes/(4*w) + 17
	probs := make([]float64, n*w)
	for i := range probs {
		probs[i] = float64(i%97) / 97
	}
	keys := make([]int64, n)
	write := func(c OutColumn) []byte {
		var buf bytes.Buffer
		if err := WriteParquet(&buf, n, []OutColumn{{Name: "k", Int64: keys}, c}); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	next := 0
	fill := func(lo, hi int, dst []float64) {
		if lo != next || len(dst) != (hi-lo)*w {
			t.Fatalf("Fill(%d, %d) with %d values, want rows from %d", lo, hi, len(dst), next)
		}
		next = hi
		copy(dst, probs[lo*w:hi*w])
	}
	if !bytes.Equal(write(OutColumn{Name: "p", List64: probs, Width: w}), write(OutColumn{Name: "p", Fill: fill, Width: w})) {
		t.Error("the column written from Fill differs from the one written from List64")
	}
	if next != n {
		t.Errorf("Fill reached row %d of %d", next, n)
	}
}
