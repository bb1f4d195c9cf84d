package eval

import (
	"strings"
	"testing"
)

// The overfitting table: in-sample from the train split, out of fold from the
// strategies' refits and the baselines' choice, the evaluation split's accuracy,
// the gap, and the flag past OverfitMargin (strictly).
func TestSetOverfit(t *testing.T) {
	acc := func(train, test float64) map[string]*SplitReport {
		return map[string]*SplitReport{"train": {Metrics: map[string]float64{"accuracy": train}}, "val": {Metrics: map[string]float64{"accuracy": test}}}
	}
	r := &Report{Splits: []string{"train", "unlabelled", "val"}, Strategies: []StrategyReport{
		{Name: "late", Splits: acc(0.95, 0.9)},
		{Name: "early", Splits: acc(1, 0.8)},
		{Name: "unscored", Splits: acc(1, 0.7)}, // no out-of-fold figure: left out
		{Name: "unimodal.a", Splits: acc(0.875, 0.85)},
	}, BaselineChoice: &BaselineChoice{Candidates: []BaselineCandidate{{Name: "unimodal.a", Accuracy: 0.8}}}}
	r.SetOverfit(&StrategyOOF{Folds: 4, Rows: 40, Accuracy: map[string]float64{"late": 0.9, "early": 0.9}})
	o := r.Overfit
	if o == nil || o.Split != "val" || o.Folds != 4 || o.Rows != 40 || o.Margin != OverfitMargin || len(o.Strategies) != 3 {
		t.Fatalf("overfit report %+v", o)
	}
	want := []struct {
		name        string
		in, oof, ev float64
		overfit     bool
	}{{"late", 0.95, 0.9, 0.9, false}, {"early", 1, 0.9, 0.8, true}, {"unimodal.a", 0.875, 0.8, 0.85, true}}
	for i, w := range want {
		g := o.Strategies[i]
		if g.Name != w.name || g.InSample != w.in || g.OutOfFold != w.oof || g.Evaluation == nil || *g.Evaluation != w.ev || g.Gap != w.in-w.oof || g.Overfit != w.overfit {
			t.Errorf("row %d: %+v, want %+v", i, g, w)
		}
	}
	r.Overfit = nil
	r.SetOverfit(nil)
	if r.Overfit != nil {
		t.Error("no out-of-fold figures: an overfit report anyway")
	}
}

// Runs over a synth sweep compare against the swept value, in its order (not the
// order given), with the Bayes-optimal rate; a report with ground truth shows it.
func TestSweepComparisonAndTruthSection(t *testing.T) {
	rep := func(id string, v, acc, bayes float64) *Report {
		return &Report{RunID: id, Splits: []string{"train", "test"}, Strategies: []StrategyReport{{Name: "mean", Splits: map[string]*SplitReport{
			"test": {Metrics: map[string]float64{"accuracy": acc}, Intervals: map[string]Interval{"accuracy": {Low: acc - 0.01, High: acc + 0.01}}}}}},
			Truth: &GroundTruth{Scenario: "s", Fused: TruthRate{Accuracy: bayes, VsLabels: bayes}, Sweep: &SweepPoint{Parameter: "modalities.a.missing", Value: v}}}
	}
	var b strings.Builder
	if err := WriteComparisonHTML(&b, []*Report{rep("r2", 0.8, 0.61, 0.65), rep("r0", 0, 0.9, 0.93), rep("r1", 0.4, 0.75, 0.79)}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if !strings.Contains(page, "Accuracy against modalities.a.missing") || !strings.Contains(page, "Bayes-optimal, fused</td><td>0.9300</td><td>0.7900</td><td>0.6500") {
		t.Errorf("sweep comparison: no title or Bayes row in value order:\n%s", page)
	}
	if i0, i2 := strings.Index(page, "<th>r0"), strings.Index(page, "<th>r2"); i0 < 0 || i2 < i0 {
		t.Error("runs not in the swept value's order")
	}
	b.Reset()
	r := rep("one", 0.4, 0.75, 0.79)
	r.Truth.Modalities = []TruthRate{{Name: "a", Accuracy: 0.7}}
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Ground truth: synthetic scenario s") || !strings.Contains(b.String(), "a alone, where present") {
		t.Error("a report with ground truth does not show it")
	}
}
