package lake

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
)

func TestNameChecks(t *testing.T) {
	long := strings.Repeat("a", 128)
	for _, tc := range []struct {
		check func(string) error
		s     string
		ok    bool
	}{
		{nameCheck, "nightly-2026-11-27", true},
		{nameCheck, "a", true},
		{nameCheck, long, true},
		{nameCheck, long + "a", false},
		{nameCheck, "", false},
		{nameCheck, "..", false},
		{nameCheck, "a..b", false},
		{nameCheck, ".hidden", false},
		{nameCheck, "_hidden", false},
		{nameCheck, "a/b", false},
		{nameCheck, "has space", false},
		{pathCheck, "runs", true},
		{pathCheck, "team/runs", true},
		{pathCheck, "team/runs/", true},
		{pathCheck, strings.Repeat("ab/", 170) + "ab", true}, // 512 characters
		{pathCheck, strings.Repeat("ab/", 170) + "abc", false},
		{pathCheck, "", false},
		{pathCheck, "/etc", false},
		{pathCheck, "../x", false},
		{pathCheck, "a//b", false},
		{pathCheck, ".", false},
	} {
		if err := tc.check(tc.s); (err == nil) != tc.ok {
			t.Errorf("%q: got %v, want ok=%v", tc.s, err, tc.ok)
		} else if err != nil && !errors.Is(err, ErrBadName) {
			t.Errorf("%q: %v is not ErrBadName", tc.s, err)
		}
	}
	for _, tc := range []struct {
		k, v string
		ok   bool
	}{
		{"date", "2026-11-27", true}, {"hour", "00:00+01", true}, {"k_1", "a%20b", true},
		{"date", "../x", false}, {"date", "a/b", false}, {"date", "", false}, {"da-te", "x", false},
		{"date", strings.Repeat("1", 128), true}, {"date", strings.Repeat("1", 129), false}, {strings.Repeat("k", 129), "x", false},
	} {
		if err := CheckPartition(tc.k, tc.v); (err == nil) != tc.ok {
			t.Errorf("%s=%s: got %v, want ok=%v", tc.k, tc.v, err, tc.ok)
		}
	}
}

func nameCheck(s string) error { return CheckName("run id", s) }
func pathCheck(s string) error { return CheckPath("output", s) }

// The ranged ReaderAt: reads before, across and inside the cached tail, at and
// past the end, agree with the bytes, with io.EOF exactly where io.ReaderAt says;
// the tail costs one request however often it is read.
func TestReaderAtBoundaries(t *testing.T) {
	ctx := context.Background()
	l := memLake(t)
	for _, size := range []int{10, footerFetch, footerFetch + 1, footerFetch + 5000} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i*7 + i/251)
		}
		if err := l.WriteAll(ctx, "obj", data); err != nil {
			t.Fatal(err)
		}
		var bytesRead, requests atomic.Int64
		r := newBlobReaderAt(ctx, l, "obj", int64(size), &bytesRead, &requests)
		for _, c := range []struct{ off, n int }{
			{0, 5}, {size - 5, 5}, {size - 5, 10}, {size - 1, 1}, {0, size}, {size / 2, size}, {size - footerFetch/2, 3},
		} {
			if c.off < 0 {
				continue
			}
			p := make([]byte, c.n)
			n, err := r.ReadAt(p, int64(c.off))
			wantN := min(c.n, size-c.off)
			if n != wantN || !bytes.Equal(p[:n], data[c.off:c.off+wantN]) {
				t.Errorf("size %d: ReadAt(%d bytes at %d) = %d bytes, want %d matching", size, c.n, c.off, n, wantN)
			}
			if wantEOF := wantN < c.n; wantEOF != errors.Is(err, io.EOF) || (!wantEOF && err != nil) {
				t.Errorf("size %d: ReadAt(%d bytes at %d): err %v, want EOF=%v", size, c.n, c.off, err, wantEOF)
			}
		}
		if n, err := r.ReadAt(make([]byte, 4), int64(size)); n != 0 || !errors.Is(err, io.EOF) {
			t.Errorf("size %d: reading at the end: %d, %v", size, n, err)
		}
		if _, err := r.ReadAt(make([]byte, 4), -1); err == nil {
			t.Errorf("size %d: a negative offset was accepted", size)
		}
		before := requests.Load()
		for i := 0; i < 3; i++ {
			if _, err := r.ReadAt(make([]byte, 2), int64(size-2)); err != nil {
				t.Fatal(err)
			}
		}
		if requests.Load() != before {
			t.Errorf("size %d: reading the cached tail again made %d requests", size, requests.Load()-before)
		}
		if bytesRead.Load() <= 0 {
			t.Errorf("size %d: no bytes counted", size)
		}
	}
}

// The trailer check before parquet-go opens a file: the magic number, and a
// footer length that fits between the leading magic and the trailer.
func TestCheckTrailer(t *testing.T) {
	trailer := func(size int, footer uint32, magic string) []byte {
		b := make([]byte, size)
		copy(b, "PAR1")
		if size >= 8 {
			b[size-8], b[size-7], b[size-6], b[size-5] = byte(footer), byte(footer>>8), byte(footer>>16), byte(footer>>24)
			copy(b[size-4:], magic)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"smallest", trailer(12, 0, "PAR1"), true},
		{"footer filling the file", trailer(40, 28, "PAR1"), true},
		{"footer one byte too long", trailer(40, 29, "PAR1"), false},
		{"footer length beyond 2 GiB", trailer(40, 0xffffff00, "PAR1"), false},
		{"too short", trailer(11, 0, "PAR1"), false},
		{"wrong magic", trailer(40, 4, "PAR2"), false},
	} {
		err := checkTrailer(bytes.NewReader(tc.b), int64(len(tc.b)))
		if (err == nil) != tc.ok {
			t.Errorf("%s: got %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
