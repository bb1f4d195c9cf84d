package eval

import "testing"

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
