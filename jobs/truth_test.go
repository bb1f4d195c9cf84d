package jobs_test

import (
	"context"
	"log/slog"
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
