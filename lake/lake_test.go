package lake

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func memLake(t *testing.T) *Lake {
	t.Helper()
	l, err := Open(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func put(t *testing.T, l *Lake, key string, rows int, cols []OutColumn) DataFile {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteParquet(&buf, rows, cols); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteAll(context.Background(), key, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	return DataFile{Key: key, Size: int64(buf.Len())}
}

func TestScanRoundTrip(t *testing.T) {
	ctx := context.Background()
	l := memLake(t)
	n := RowGroupRows + 10 // spans two row groups and many pages
	keys := make([]int64, n)
	labels := make([]string, n)
	valid := make([]bool, n)
	probs := make([]float64, 3*n)
	feat := make([]float64, n)
	for i := range keys {
		keys[i] = int64(i * 7)
		labels[i] = []string{"cat", "dog"}[i%2]
		valid[i] = i%5 != 0
		probs[3*i], probs[3*i+1], probs[3*i+2] = 0.5, 0.25, float64(i%4)/4
		feat[i] = float64(i) / 2
	}
	f := put(t, l, "ds/modality=a/part-0.parquet", n, []OutColumn{
		{Name: "id", Int64: keys},
		{Name: "label", String: labels},
		{Name: "probs", List64: probs, Width: 3, Valid: valid},
		{Name: "f0", Float64: feat},
	})
	tab, err := l.ScanFile(ctx, f, ColumnRequest{Key: "id", Label: "label", Vector: "probs"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Rows != n || tab.Width != 3 {
		t.Fatalf("rows=%d width=%d", tab.Rows, tab.Width)
	}
	if diff := cmp.Diff(keys, tab.IntKeys); diff != "" {
		t.Errorf("keys: %s", diff)
	}
	if diff := cmp.Diff(labels, tab.StrLabels); diff != "" {
		t.Errorf("labels: %s", diff)
	}
	for i := 0; i < n; i++ {
		if tab.Missing[i] == valid[i] {
			t.Fatalf("row %d: missing=%v valid=%v", i, tab.Missing[i], valid[i])
		}
		if valid[i] && tab.Values[3*i+2] != probs[3*i+2] {
			t.Fatalf("row %d: got %v want %v", i, tab.Values[3*i:3*i+3], probs[3*i:3*i+3])
		}
	}
	sc, err := l.ScanFile(ctx, f, ColumnRequest{Key: "id", Scalar: []string{"f0"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(feat, sc.Values); diff != "" {
		t.Errorf("scalar features: %s", diff)
	}
}

func TestScanErrors(t *testing.T) {
	ctx := context.Background()
	l := memLake(t)
	good := put(t, l, "ds/modality=a/part-0.parquet", 2, []OutColumn{
		{Name: "id", String: []string{"x", "y"}},
		{Name: "probs", List64: []float64{0.1, 0.9, 0.3, 0.7}, Width: 2},
	})
	if err := l.WriteAll(ctx, "ds/modality=b/part-0.parquet", []byte("this is not parquet, it is text")); err != nil {
		t.Fatal(err)
	}
	bad := DataFile{Key: "ds/modality=b/part-0.parquet", Size: 31}
	tests := []struct {
		name string
		file DataFile
		req  ColumnRequest
		want error
		text string
	}{
		{"missing key column", good, ColumnRequest{Key: "entity_id"}, ErrMissingColumn, `column "entity_id"`},
		{"not parquet", bad, ColumnRequest{Key: "id"}, ErrNotParquet, "modality=b/part-0.parquet"},
		{"vector is a string", good, ColumnRequest{Key: "id", Vector: "id"}, ErrColumnType, `column "id"`},
		{"key is a list", good, ColumnRequest{Key: "probs"}, ErrColumnType, "scalar"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := l.ScanFile(ctx, tc.file, tc.req, nil)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want %v containing %q", err, tc.want, tc.text)
			}
		})
	}
}

func TestReaderAtFetchesFooterOnce(t *testing.T) {
	ctx := context.Background()
	l := memLake(t)
	f := put(t, l, "ds/modality=a/part-0.parquet", 3, []OutColumn{{Name: "id", Int64: []int64{1, 2, 3}}})
	var stats ScanStats
	if _, _, err := l.openParquet(ctx, f.Key, f.Size, &stats); err != nil {
		t.Fatal(err)
	}
	if got := stats.Requests.Load(); got != 1 {
		t.Errorf("opening a small file took %d requests, want 1", got)
	}
}

func TestDiscoverDataset(t *testing.T) {
	ctx := context.Background()
	l := memLake(t)
	for _, k := range []string{
		"ds/modality=text/date=2026-11-26/part-0.parquet",
		"ds/modality=text/date=2026-11-27/part-0.parquet",
		"ds/modality=image/date=2026-11-27/part-0.parquet",
		"ds/labels/part-0.parquet",
		"ds/modality=text/_SUCCESS",
		"ds/notes.txt",
	} {
		if err := l.WriteAll(ctx, k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := l.DiscoverDataset(ctx, "ds", map[string]string{"date": "2026-11-27"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for m, files := range ds.Modalities {
		for _, f := range files {
			got[m] = append(got[m], f.Key)
		}
	}
	for _, f := range ds.Labels {
		got["labels"] = append(got["labels"], f.Key)
	}
	want := map[string][]string{
		"text":   {"ds/modality=text/date=2026-11-27/part-0.parquet"},
		"image":  {"ds/modality=image/date=2026-11-27/part-0.parquet"},
		"labels": {"ds/labels/part-0.parquet"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	if _, err := l.DiscoverDataset(ctx, "nope", nil); !errors.Is(err, ErrNoData) {
		t.Errorf("missing dataset: got %v, want ErrNoData", err)
	}
}

// Scattering a file (every row group, in any order) puts each row's vector where
// Dest says, and agrees with a plain scan.
func TestScatterMatchesScan(t *testing.T) {
	ctx := context.Background()
	l := memLake(t)
	n := 2*RowGroupRows + 5
	keys := make([]int64, n)
	probs := make([]float64, 2*n)
	valid := make([]bool, n)
	for i := range keys {
		keys[i] = int64(i)
		probs[2*i], probs[2*i+1] = float64(i), -float64(i)
		valid[i] = i%7 != 3
	}
	f := put(t, l, "ds/modality=a/part-0.parquet", n, []OutColumn{
		{Name: "entity_id", Int64: keys}, {Name: "probs", List64: probs, Width: 2, Valid: valid}})
	dest := make([]int32, n)
	for i := range dest {
		dest[i] = int32(n - 1 - i) // reversed
		if i%11 == 0 {
			dest[i] = -1
		}
	}
	src, err := l.OpenScatter(ctx, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if src.RowGroups() != 3 {
		t.Fatalf("%d row groups", src.RowGroups())
	}
	sc := &Scatter{Vector: "probs", Width: 2, Stride: 3, Offset: 1, Dest: dest, Out: make([]float32, 3*n), Hits: make([]uint16, n)}
	for _, rg := range []int{2, 0, 1} {
		if err := src.ScatterRowGroup(ctx, rg, sc); err != nil {
			t.Fatal(err)
		}
	}
	for r := 0; r < n; r++ {
		d := dest[r]
		if d < 0 {
			continue
		}
		wantHit := uint16(0)
		if valid[r] {
			wantHit = 1
		}
		if sc.Hits[d] != wantHit {
			t.Fatalf("file row %d → %d: hits %d, want %d", r, d, sc.Hits[d], wantHit)
		}
		if valid[r] && (sc.Out[3*d+1] != float32(r) || sc.Out[3*d+2] != -float32(r) || sc.Out[3*d] != 0) {
			t.Fatalf("file row %d → %d: got %v", r, d, sc.Out[3*d:3*d+3])
		}
	}
	w, err := l.ListWidth(ctx, f, "probs")
	if err != nil || w != 2 {
		t.Errorf("ListWidth = %d, %v", w, err)
	}
}

// A secret in a URL parameter that is not on the allow-list never reaches a
// message, even when the library's own error quotes the URL.
func TestOpenErrorRedactsUnknownParameters(t *testing.T) {
	_, err := Open(context.Background(), "s3://bucket/p?region=eu-west-1&sig=TOPSECRET-123&X-Amz-Credential=AKIAEXAMPLE%2F2026")
	if err == nil {
		t.Fatal("an unknown parameter was accepted")
	}
	for _, secret := range []string{"TOPSECRET-123", "AKIAEXAMPLE"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows %q: %v", secret, err)
		}
	}
	if !strings.Contains(err.Error(), "region=eu-west-1") {
		t.Errorf("the error lost the safe parameters: %v", err)
	}
}

func TestKeyURL(t *testing.T) {
	for _, c := range [][3]string{
		{"file:///tmp/lake", "runs/x", "file:///tmp/lake/runs/x"},
		{"file:///tmp/lake/", "/runs/x", "file:///tmp/lake/runs/x"},
		{"s3://bucket/p?region=eu-west-1", "runs/x", "s3://bucket/p/runs/x?region=eu-west-1"},
		{"s3://bucket?region=r", "runs", "s3://bucket/runs?region=r"},
		{"mem://", "a/b", "mem:///a/b"},
	} {
		if got := KeyURL(c[0], c[1]); got != c[2] {
			t.Errorf("KeyURL(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}
