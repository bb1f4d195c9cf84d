package lake

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func fileLake(t *testing.T) *Lake {
	t.Helper()
	l, err := Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// An exclusive create on a file:// lake publishes nothing when the write fails
// or the caller gives up part-way.
func TestCreateLocalFailures(t *testing.T) {
	l := fileLake(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := l.WriteObject(ctx, "a/x", &WriteOptions{IfNotExist: true}, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("failing write: %v", err)
	}
	if _, err := l.ReadAll(ctx, "a/x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a failed write left an object: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	err = l.WriteObject(cctx, "a/y", &WriteOptions{IfNotExist: true}, func(w io.Writer) error {
		io.WriteString(w, "all of it")
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled write: %v", err)
	}
	if _, err := l.ReadAll(ctx, "a/y"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a cancelled write left an object: %v", err)
	}
}

// Copy of a missing object is ErrNotFound (a hard link on file://); Delete of a
// missing object is not an error; List is in key order.
func TestCopyDeleteListEdges(t *testing.T) {
	ctx := context.Background()
	for name, l := range map[string]*Lake{"file": fileLake(t), "mem": memLake(t)} {
		if err := l.Copy(ctx, "dst", "missing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: copy of a missing object: %v", name, err)
		}
		if err := l.Delete(ctx, "missing"); err != nil {
			t.Errorf("%s: delete of a missing object: %v", name, err)
		}
		for _, k := range []string{"p/c", "p/a", "p/b"} {
			if err := l.WriteAll(ctx, k, []byte(k)); err != nil {
				t.Fatal(err)
			}
		}
		objs, err := l.List(ctx, "p/")
		if err != nil || len(objs) != 3 || objs[0].Key != "p/a" || objs[2].Key != "p/c" {
			t.Errorf("%s: list %+v, %v", name, objs, err)
		}
	}
}

// An unknown scheme is a bad URL; Redact and RedactText at their edges.
func TestOpenAndRedactEdges(t *testing.T) {
	if _, err := Open(context.Background(), "nope://bucket"); !errors.Is(err, ErrBadURL) {
		t.Errorf("unknown scheme: %v", err)
	}
	if got := Redact("s3://b/%zz"); got != "<unparseable URL>" {
		t.Errorf("Redact of an unparseable URL: %q", got)
	}
	msg := RedactText("denied for alice with hunter22", "s3://alice:hunter22@host/b")
	if strings.Contains(msg, "alice") || strings.Contains(msg, "hunter22") {
		t.Errorf("user info left in %q", msg)
	}
	if got := RedactText("x", "s3://b/%zz"); !strings.Contains(got, "withheld") {
		t.Errorf("RedactText of an unparseable URL: %q", got)
	}
}

// A request that never makes progress is warned about before it is cancelled.
func TestStallWithoutProgressWarns(t *testing.T) {
	logs := &lockedBuffer{}
	l := memLake(t).withOptions(&Options{IOTimeout: 200 * time.Millisecond, Retries: -1, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	err := l.do(context.Background(), "get", "k", func(ctx context.Context, _ func()) error {
		<-ctx.Done()
		return ctx.Err()
	})
	if !errors.Is(err, ErrStalled) || !strings.Contains(logs.String(), "making no progress") {
		t.Errorf("stall: %v; log:\n%s", err, logs.String())
	}
}

// Exactly twelve columns are listed whole.
func TestMissingColumnListsExactlyTwelve(t *testing.T) {
	l := memLake(t)
	cols := []OutColumn{{Name: "id", Int64: []int64{1}}}
	for i := 0; i < 11; i++ {
		cols = append(cols, OutColumn{Name: "c" + string(rune('a'+i)), Float64: []float64{1}})
	}
	f := put(t, l, "a/part-0.parquet", 1, cols)
	_, err := l.ScanFile(context.Background(), f, ColumnRequest{Key: "id", Scalar: []string{"nope"}}, nil)
	if err == nil || strings.Contains(err.Error(), "more") || !strings.Contains(err.Error(), "ck, id") {
		t.Errorf("error %v", err)
	}
}
