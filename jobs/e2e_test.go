package jobs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/jobs"
	"github.com/lakefuse/lakefuse/lake"
)

// Cancelling a run at any stage leaves no _SUCCESS, and running it again completes
// with the same bytes as a run that was never interrupted.
func TestInterruptedRunCommitsNothing(t *testing.T) {
	spec, err := jobs.ParseSpec([]byte(syntheticSpec), "synthetic")
	if err != nil {
		t.Fatal(err)
	}
	data := synthetic{rows: 3000, classes: 4, coverage: map[string]float64{"text": 0.9, "image": 0.8, "audio": 0.7}, seed: 1}
	refURL := "file://" + t.TempDir()
	data.write(t, openLake(t, refURL), "ds")
	ref, err := jobs.Run(context.Background(), spec, jobs.Options{Lake: refURL, RunID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	want := committedFiles(t, openLake(t, refURL), ref.Prefix)

	for _, stage := range []string{"scan", "align", "fit", "write", "commit"} {
		t.Run(stage, func(t *testing.T) {
			url := "file://" + t.TempDir()
			data.write(t, openLake(t, url), "ds")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := jobs.Run(ctx, spec, jobs.Options{Lake: url, RunID: "r", Progress: func(s string, done, total int64) {
				// "commit" is reported after the commit; cancel on the last write instead,
				// just before it.
				if s == stage || (stage == "commit" && s == "write" && done == total) {
					cancel()
				}
			}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
			l := openLake(t, url)
			if ok, _ := l.Exists(context.Background(), ref.Prefix+"/_SUCCESS"); ok {
				t.Fatal("an interrupted run left _SUCCESS")
			}
			again, err := jobs.Run(context.Background(), spec, jobs.Options{Lake: url, RunID: "r"})
			if err != nil {
				t.Fatalf("rerun: %v", err)
			}
			got := committedFiles(t, l, again.Prefix)
			for path, w := range want {
				if path == "report.json" || path == "report.html" {
					continue // hold timings
				}
				if got[path].SHA256 != w.SHA256 {
					t.Errorf("%s differs from the uninterrupted run", path)
				}
			}
		})
	}
}

// Bad input gets an error that says what and where; never a panic.
func TestBadInput(t *testing.T) {
	data := synthetic{rows: 200, classes: 4, coverage: map[string]float64{"text": 0.9, "image": 0.8, "audio": 0.7}, seed: 2}
	tests := []struct {
		name   string
		spec   string
		mutate func(t *testing.T, l *lake.Lake)
		want   error
		text   []string
	}{
		{
			name: "missing modality folder",
			spec: strings.Replace(syntheticSpec, "{name: audio, probs: probs}", "{name: video, probs: probs}", 1),
			want: jobs.ErrInput, text: []string{`modality "video"`, "no parquet files", "modality=video/"},
		},
		{
			name: "file that is not parquet",
			mutate: func(t *testing.T, l *lake.Lake) {
				l.WriteAll(context.Background(), "ds/modality=text/part-9.parquet", []byte("id,probs\n1,0.5\n"))
			},
			want: lake.ErrNotParquet, text: []string{"ds/modality=text/part-9.parquet"},
		},
		{
			name: "missing key column",
			spec: "key: id\n" + syntheticSpec,
			want: lake.ErrMissingColumn, text: []string{`column "id"`, "entity_id"},
		},
		{
			name: "probs vector of the wrong length under invalid: error",
			spec: strings.Replace(syntheticSpec, "{name: text, probs: probs}", "{name: text, probs: probs, invalid: error}", 1),
			mutate: func(t *testing.T, l *lake.Lake) {
				writeTable(t, l, "ds/modality=text/part-2.parquet", 2, []lake.OutColumn{
					{Name: "entity_id", Int64: []int64{1, 2}}, {Name: "probs", List64: []float64{0.5, 0.5, 0.2, 0.8}, Width: 2}})
			},
			want: jobs.ErrInput, text: []string{"part-2.parquet", `column "probs"`, "row 0 has 2 values, want 4"},
		},
		{
			name: "duplicate keys under the error policy",
			mutate: func(t *testing.T, l *lake.Lake) {
				writeTable(t, l, "ds/modality=image/part-2.parquet", 2, []lake.OutColumn{
					{Name: "entity_id", Int64: []int64{1, 1}}, {Name: "probs", List64: []float64{0.25, 0.25, 0.25, 0.25, 0.1, 0.2, 0.3, 0.4}, Width: 4}})
			},
			want: jobs.ErrInput, text: []string{"duplicate key 1", "image", "part-2.parquet row 0", "row 1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url, _, spec := mutatedLake(t, data, tc.mutate, tc.spec)
			_, err := jobs.Run(context.Background(), spec, jobs.Options{Lake: url})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			for _, s := range tc.text {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestSpecErrors(t *testing.T) {
	tests := []struct {
		name string
		spec string
		text []string
	}{
		{"misspelt field", "name: x\ndataset: d\nmodalitis: []\n", []string{`unknown field "modalitis"`, "line 3", "declare at least one modality"}},
		{"every problem at once", "name: x\nmodalities:\n  - {name: a, probs: p, score: s}\nstrategies:\n  - {name: s, type: nope}\n",
			[]string{"dataset: required", "modalities[0]: set exactly one of", `strategies[0].type: "nope"`}},
		{"wrong type", "name: x\ndataset: [1]\n", []string{"[2:"}},
		// Unknown fields at any depth, a bad option value and the rest, in one error.
		{"misspelt fields with other problems", "name: x\ndataset: d\nmodalities:\n  - {name: a, probs: p, colour: red}\nstrategies:\n  - {name: m, type: late-mean, calibration: tempreature}\n  - {name: e, type: early, normalise: l2}\nevaluation: {bootstrap: -5, ablaton: false}\n",
			[]string{`modalities[0].colour: line 4: unknown field "colour"`, `strategies[1].normalise: line 7`, `evaluation.ablaton: line 8`, `calibration "tempreature"`, "evaluation.bootstrap", "5 problems"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := jobs.ParseSpec([]byte(tc.spec), "spec.yaml")
			if !errors.Is(err, jobs.ErrSpec) {
				t.Fatalf("got %v, want ErrSpec", err)
			}
			for _, s := range tc.text {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
	if _, err := jobs.LoadSpecFile(filepath.Join(os.TempDir(), "does-not-exist.yaml")); !errors.Is(err, jobs.ErrSpec) {
		t.Errorf("missing spec file: %v", err)
	}
}

// The spec reference in the README is a valid spec.
func TestReadmeSpecIsValid(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no yaml block in README.md")
	}
	if _, err := jobs.ParseSpec([]byte(block), "README.md"); err != nil {
		t.Errorf("the README's spec reference does not validate: %v", err)
	}
}
