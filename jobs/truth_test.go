package jobs_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/jobs"
	"github.com/lakefuse/lakefuse/lake"
	"github.com/lakefuse/lakefuse/synth"
)

// A run over a dataset lakefuse synth wrote carries its ground truth, and its
// sweep point, in the report; with --dataset the spec runs on each dataset of a
// sweep under its own default run id.
func TestReportCarriesGroundTruth(t *testing.T) {
	ctx := context.Background()
	l, err := lake.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sc, err := synth.Parse([]byte(`
name: gt
entities: 3000
classes: 3
modalities:
  - {name: a, kind: probs, separation: 1.5}
  - {name: b, kind: columns, dim: 8, separation: 1}
sweep: {parameter: modalities.a.separation, values: [0.5, 2]}
`), "gt")
	if err != nil {
		t.Fatal(err)
	}
	var files []*synth.File
	for _, p := range sc.Points() {
		f, err := synth.Write(ctx, l, p, 2)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	spec, err := jobs.ParseSpec([]byte(`
name: gt
dataset: nothing-here
label: {column: label, from: labels}
split: {column: split, train: [train]}
modalities:
  - {name: a, probs: probs}
  - {name: b, features: {columns: "^f[0-9]+$"}}
strategies: [{name: mean, type: late-mean}]
evaluation: {bootstrap: 0}
`), "spec")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for i, f := range files {
		s := *spec
		if err := s.SetDataset(f.Scenario.Dataset); err != nil {
			t.Fatal(err)
		}
		ids[jobs.RunID(&s, "")] = true
		res, err := jobs.Run(ctx, &s, jobs.Options{Lake: l.String(), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		gt := res.Report.Truth
		if gt == nil || gt.Sweep == nil || gt.Sweep.Value != sc.Sweep.Values[i] || gt.Fused.Accuracy != f.Truth.FusedMissing.Accuracy ||
			len(gt.Modalities) != 2 || gt.Modalities[0].Accuracy != f.Truth.Modalities[0].Accuracy {
			t.Errorf("dataset %s: ground truth %+v, scenario.json says %+v", f.Scenario.Dataset, gt, f.Truth)
		}
	}
	if len(ids) != 2 {
		t.Errorf("two datasets share a default run id: %v", ids)
	}
	if err := spec.SetDataset("../escape"); err == nil {
		t.Error("a dataset outside the lake was accepted")
	}
}

// The default run id names the spec and the input files: the same spec on the
// same files is the same run (already committed the second time), and
// re-imported data makes a new run.
func TestDefaultRunIDFollowsTheData(t *testing.T) {
	ctx := context.Background()
	l, err := lake.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	gen := func(seed uint64) {
		sc, err := synth.Parse([]byte("name: d\nentities: 500\nclasses: 2\nmodalities: [{name: a, kind: probs, separation: 1}]\n"), "d")
		if err != nil {
			t.Fatal(err)
		}
		sc.Seed = seed
		if _, err := synth.Write(ctx, l, sc, 1); err != nil {
			t.Fatal(err)
		}
	}
	gen(1)
	spec, err := jobs.ParseSpec([]byte(`
name: d
dataset: d
label: {column: label, from: labels}
split: {column: split, train: [train]}
modalities: [{name: a, probs: probs}]
strategies: [{name: mean, type: late-mean}]
evaluation: {bootstrap: 0, out_of_fold: false}
`), "spec")
	if err != nil {
		t.Fatal(err)
	}
	opts := jobs.Options{Lake: l.String(), Logger: slog.New(slog.DiscardHandler)}
	first, err := jobs.Run(ctx, spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Run(ctx, spec, opts); !errors.Is(err, lake.ErrRunCommitted) {
		t.Errorf("the same spec on the same files: %v, want the run already committed", err)
	}
	gen(2) // re-imported: other values, other sizes and times
	second, err := jobs.Run(ctx, spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	if second.RunID == first.RunID || !strings.HasPrefix(second.RunID, "d-") {
		t.Errorf("new data, run id %s; the first was %s", second.RunID, first.RunID)
	}
}
