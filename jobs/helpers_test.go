package jobs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/internal/testenv"
	"github.com/lakefuse/lakefuse/jobs"
	"github.com/lakefuse/lakefuse/lake"
)

// s3URL returns an s3:// lake URL under a fresh prefix on the test server started
// by scripts/test.sh. Outside that script the S3 tests skip — except in CI, where a
// missing server is a failure.
func s3URL(t *testing.T, name string) string {
	t.Helper()
	base := testenv.S3(t)
	bucket, query, _ := strings.Cut(base, "?")
	return fmt.Sprintf("%s/%s-%d?%s", bucket, name, rand.Int64(), query)
}

// duckdb runs SQL in DuckDB (through scripts/duckdb-query.mjs) and returns each
// statement's rows.
func duckdb(t *testing.T, sql ...string) [][]map[string]any {
	t.Helper()
	script := os.Getenv("LAKEFUSE_TEST_DUCKDB")
	if script == "" {
		testenv.Missing(t, "LAKEFUSE_TEST_DUCKDB is not set: run the tests with scripts/test.sh")
	}
	cmd := exec.Command("node", append([]string{script}, sql...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, stderr.String())
	}
	var results [][]map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var rows []map[string]any
		if err := json.Unmarshal([]byte(line), &rows); err != nil {
			t.Fatalf("duckdb output %q: %v", line, err)
		}
		results = append(results, rows)
	}
	return results
}

func openLake(t *testing.T, url string) *lake.Lake {
	t.Helper()
	l, err := lake.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func writeTable(t *testing.T, l *lake.Lake, key string, rows int, cols []lake.OutColumn) {
	t.Helper()
	var buf bytes.Buffer
	if err := lake.WriteParquet(&buf, rows, cols); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteAll(context.Background(), key, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// synthetic describes a small late-fusion dataset: modalities of class
// probabilities with some signal, each covering part of the entities.
type synthetic struct {
	rows     int
	classes  int
	coverage map[string]float64 // modality → fraction of entities it has
	seed     uint64
}

// write puts the dataset under <dataset>/ in l: labels/ (entity_id, label, split)
// and modality=<name>/ (entity_id, probs), each modality split over two files.
func (s synthetic) write(t *testing.T, l *lake.Lake, dataset string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(s.seed, 7))
	ids := make([]int64, s.rows)
	labels := make([]int64, s.rows)
	split := make([]string, s.rows)
	for i := range ids {
		ids[i] = int64(i * 3)
		labels[i] = int64(rng.IntN(s.classes))
		split[i] = "train"
		if i%4 == 0 {
			split[i] = "test"
		}
	}
	writeTable(t, l, dataset+"/labels/part-0.parquet", s.rows, []lake.OutColumn{
		{Name: "entity_id", Int64: ids}, {Name: "label", Int64: labels}, {Name: "split", String: split}})
	names := make([]string, 0, len(s.coverage))
	for name := range s.coverage {
		names = append(names, name)
	}
	sort.Strings(names) // the draws must not depend on map order
	for _, name := range names {
		cov := s.coverage[name]
		var keys []int64
		var probs []float64
		for i := range ids {
			if rng.Float64() >= cov {
				continue
			}
			keys = append(keys, ids[i])
			row := make([]float64, s.classes)
			sum := 0.0
			for c := range row {
				row[c] = math.Exp(rng.NormFloat64())
				if int64(c) == labels[i] {
					row[c] *= 3
				}
				sum += row[c]
			}
			for c := range row {
				probs = append(probs, row[c]/sum)
			}
		}
		half := len(keys) / 2
		writeTable(t, l, dataset+"/modality="+name+"/part-0.parquet", half, []lake.OutColumn{
			{Name: "entity_id", Int64: keys[:half]}, {Name: "probs", List64: probs[:half*s.classes], Width: s.classes}})
		writeTable(t, l, dataset+"/modality="+name+"/part-1.parquet", len(keys)-half, []lake.OutColumn{
			{Name: "entity_id", Int64: keys[half:]}, {Name: "probs", List64: probs[half*s.classes:], Width: s.classes}})
	}
}

// copyModalities copies a synthetic dataset's modality files to another dataset.
func copyModalities(t *testing.T, l *lake.Lake, from, to string) {
	t.Helper()
	ctx := context.Background()
	for _, m := range []string{"text", "image", "audio"} {
		for _, part := range []string{"part-0.parquet", "part-1.parquet"} {
			raw, err := l.ReadAll(ctx, from+"/modality="+m+"/"+part)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.WriteAll(ctx, to+"/modality="+m+"/"+part, raw); err != nil {
				t.Fatal(err)
			}
		}
	}
}

const syntheticSpec = `
name: synthetic
dataset: ds
split: {column: split}
modalities:
  - {name: text, probs: probs}
  - {name: image, probs: probs}
  - {name: audio, probs: probs}
strategies:
  - {name: late-mean, type: late-mean}
  - {name: early, type: early}
`

// committedFiles reads a run's manifest and returns its files by path, after
// checking that every file it names holds the bytes it describes and that
// nothing else an engine would read (outside the hidden _attempts/) is in the run.
func committedFiles(t *testing.T, l *lake.Lake, prefix string) map[string]lake.ManifestFile {
	t.Helper()
	ctx := context.Background()
	if ok, err := l.Exists(ctx, prefix+"/_SUCCESS"); err != nil || !ok {
		t.Fatalf("%s has no _SUCCESS (%v)", prefix, err)
	}
	b, err := l.ReadAll(ctx, prefix+"/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m lake.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]lake.ManifestFile{}
	for _, f := range m.Files {
		body, err := l.ReadAll(ctx, prefix+"/"+f.Path)
		if err != nil {
			t.Fatalf("committed file %s: %v", f.Path, err)
		}
		if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(body)) != f.Size {
			t.Errorf("committed file %s does not match its manifest entry", f.Path)
		}
		out[f.Path] = f
	}
	objs, err := l.List(ctx, prefix+"/")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, prefix+"/")
		if _, ok := out[rel]; !ok && !strings.HasPrefix(rel, "_") && rel != "manifest.json" {
			t.Errorf("stray object %s in committed run %s", rel, prefix)
		}
	}
	return out
}

// differ reports whether got is not want within tol; a NaN equals only a NaN
// (a plain math.Abs(got-want) > tol lets a NaN pass).
func differ(got, want, tol float64) bool {
	if math.IsNaN(got) || math.IsNaN(want) {
		return math.IsNaN(got) != math.IsNaN(want)
	}
	return math.Abs(got-want) > tol
}

// mutatedLake writes data into a fresh file:// lake as dataset ds, lets mutate
// (if set) damage it, and parses specSrc (default syntheticSpec).
func mutatedLake(t *testing.T, data synthetic, mutate func(*testing.T, *lake.Lake), specSrc string) (string, *lake.Lake, *jobs.Spec) {
	t.Helper()
	url := "file://" + t.TempDir()
	l := openLake(t, url)
	data.write(t, l, "ds")
	if mutate != nil {
		mutate(t, l)
	}
	if specSrc == "" {
		specSrc = syntheticSpec
	}
	spec, err := jobs.ParseSpec([]byte(specSrc), "spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return url, l, spec
}
