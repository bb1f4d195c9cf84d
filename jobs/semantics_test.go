package jobs_test

import (
	"context"
	"testing"

	"github.com/lakefuse/lakefuse/jobs"
	"github.com/lakefuse/lakefuse/lake"
)

func runSpec(t *testing.T, url, spec string) *jobs.Result {
	t.Helper()
	s, err := jobs.ParseSpec([]byte(spec), "spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := jobs.Run(context.Background(), s, jobs.Options{Lake: url})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func strategy(t *testing.T, res *jobs.Result, name string) map[string]float64 {
	t.Helper()
	for _, s := range res.Report.Strategies {
		if s.Name == name {
			out := map[string]float64{}
			for split, sr := range s.Splits {
				out[split] = sr.Metrics["accuracy"]
				out[split+".rows"] = float64(sr.Rows)
			}
			return out
		}
	}
	t.Fatalf("no strategy %q", name)
	return nil
}

// A seeded stratified holdout: the requested fraction of every class, the same rows
// on every run.
func TestHoldoutSplit(t *testing.T) {
	url := "file://" + t.TempDir()
	synthetic{rows: 1000, classes: 4, coverage: map[string]float64{"text": 1, "image": 0.9, "audio": 0.9}, seed: 3}.write(t, openLake(t, url), "ds")
	spec := `
name: holdout
dataset: ds
split: {holdout: {test_fraction: 0.25, seed: 9}}
modalities:
  - {name: text, probs: probs}
  - {name: image, probs: probs}
  - {name: audio, probs: probs}
strategies: [{name: m, type: late-mean}]
`
	a := runSpec(t, url, spec)
	if got := a.Report.Rows.BySplit; got["test"] < 245 || got["test"] > 255 || got["train"]+got["test"] != 1000 {
		t.Errorf("split sizes %v, want about 250 test rows", got)
	}
	b := runSpec(t, url, spec+"run_id: again\n")
	if strategy(t, a, "m")["test"] != strategy(t, b, "m")["test"] {
		t.Error("the same seed gave a different holdout")
	}
	// Stratified: per class, round(0.25 × class size) test rows.
	rep := strategy(t, a, "unimodal.text")
	if rep["test.rows"] != float64(a.Report.Rows.BySplit["test"]) {
		t.Errorf("test rows %v", rep)
	}
}

// A binary task with a score column; string keys and labels; inner and outer joins;
// duplicates averaged under the mean policy.
func TestBinaryScoresStringKeysAndJoins(t *testing.T) {
	url := "file://" + t.TempDir()
	l := openLake(t, url)
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	labels := []string{"no", "yes", "no", "yes", "no", "yes", "no", "yes"}
	writeTable(t, l, "bin/labels/part-0.parquet", 8, []lake.OutColumn{{Name: "id", String: keys}, {Name: "y", String: labels}})
	// m1 scores every entity but "h", and has "x" that no label has; "a" appears
	// twice (scores 0.2 and 0.9: the mean, 0.55, says "yes"; the first says "no").
	writeTable(t, l, "bin/modality=m1/part-0.parquet", 9, []lake.OutColumn{
		{Name: "id", String: []string{"a", "b", "c", "d", "e", "f", "g", "x", "a"}},
		{Name: "s", Float64: []float64{0.2, 0.9, 0.1, 0.8, 0.3, 0.7, 0.45, 0.5, 0.9}}})
	// m2 covers five entities, both classes among those m1 has too.
	writeTable(t, l, "bin/modality=m2/part-0.parquet", 5, []lake.OutColumn{
		{Name: "id", String: []string{"b", "c", "d", "f", "h"}},
		{Name: "s", Float64: []float64{0.6, 0.4, 0.6, 0.6, 0.9}}})
	spec := func(join, dups string) string {
		return `
name: bin
dataset: bin
key: id
label: {column: y}
align: {join: ` + join + `, duplicates: ` + dups + `}
modalities:
  - {name: m1, score: s}
  - {name: m2, score: s}
strategies: [{name: late, type: late-mean}]
`
	}
	left := runSpec(t, url, spec("left", "mean"))
	if got := left.Report.Rows; got.Aligned != 8 || got.Scored != 8 {
		t.Errorf("left join rows %+v", got)
	}
	// m1 predicts "yes" where its score is above 0.5. Averaged, "a" (label "no")
	// becomes 0.55 and is wrong; so is "h", which m1 lacks (the 50/50 prior ties to
	// "no"): 6 of 8. Keeping the first duplicate instead, "a" is right: 7 of 8.
	if acc := strategy(t, left, "unimodal.m1")["all"]; differ(acc, 6.0/8, 1e-12) {
		t.Errorf("unimodal.m1 accuracy %v with duplicates averaged, want 6/8", acc)
	}
	first := runSpec(t, url, spec("left", "first")+"run_id: first\n")
	if acc := strategy(t, first, "unimodal.m1")["all"]; differ(acc, 7.0/8, 1e-12) {
		t.Errorf("unimodal.m1 accuracy %v keeping the first duplicate, want 7/8", acc)
	}
	if m := left.Report.Modalities[0]; m.RowsRead != 9 || m.Matched != 7 || m.Duplicates != 1 || m.Unmatched != 1 {
		t.Errorf("m1 reconciliation %+v", m)
	}
	inner := runSpec(t, url, spec("inner", "mean")+"run_id: inner\n")
	if got := inner.Report.Rows.Scored; got != 4 { // b, c, d, f have both modalities
		t.Errorf("inner join scored %d, want 4", got)
	}
	outer := runSpec(t, url, spec("outer", "mean")+"run_id: outer\n")
	if got := outer.Report.Rows; got.Aligned != 9 || got.Scored != 9 || got.BySplit["unlabelled"] != 1 {
		t.Errorf("outer join rows %+v, want 9 with x unlabelled", got)
	}
}
