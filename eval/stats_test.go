package eval

import (
	"bytes"
	"math"
	"reflect"
	"testing"
)

func TestMcNemarExact(t *testing.T) {
	tests := []struct {
		b, c int64
		want float64
	}{
		{0, 0, 1},
		{0, 2, 0.5},         // 2·P(X≤0), X~Bin(2,½) = 2·¼
		{1, 9, 0.021484375}, // 2·(1+10)/1024
		{5, 5, 1},
		{0, 10, 2.0 / 1024},
	}
	for _, tc := range tests {
		if got := McNemarExact(tc.b, tc.c); differ(got, tc.want, 1e-12) {
			t.Errorf("McNemar(%d, %d) = %v, want %v", tc.b, tc.c, got, tc.want)
		}
		if McNemarExact(tc.b, tc.c) != McNemarExact(tc.c, tc.b) {
			t.Errorf("McNemar(%d, %d) is not symmetric", tc.b, tc.c)
		}
	}
}

func TestPoissonWeights(t *testing.T) {
	w := make([]uint8, 1000)
	var sum, sq float64
	n := 0
	for key := uint64(1); key <= 200; key++ {
		PoissonWeights(key*0x9e3779b97f4a7c15, w)
		for _, v := range w {
			sum += float64(v)
			sq += float64(v) * float64(v)
			n++
		}
	}
	mean := sum / float64(n)
	variance := sq/float64(n) - mean*mean
	if math.Abs(mean-1) > 0.01 || math.Abs(variance-1) > 0.02 {
		t.Errorf("Poisson(1) weights: mean %v, variance %v", mean, variance)
	}
	a, b := make([]uint8, 10), make([]uint8, 10)
	PoissonWeights(42, a)
	PoissonWeights(42, b)
	if !reflect.DeepEqual(a, b) {
		t.Error("weights of one key differ between calls")
	}
}

// evalFixture builds rows over a train and a test split with two baselines and
// one fused strategy that is right more often.
func evalFixture(n int) (Rows, []Scores) {
	probs, labels := randomRows(n, 3, 5)
	rows := Rows{Classes: 3, Label: make([]int32, n), Split: make([]int, n), Splits: []string{"train", "test"},
		KeyHash: make([]uint64, n), Modalities: []string{"a", "b"}, Present: [][]bool{make([]bool, n), make([]bool, n)}}
	good, weak, fused := make([]float64, 3*n), make([]float64, 3*n), make([]float64, 3*n)
	for i := 0; i < n; i++ {
		rows.Label[i] = int32(labels[i])
		rows.Split[i] = i % 2
		rows.KeyHash[i] = mix64(uint64(i))
		rows.Present[0][i], rows.Present[1][i] = i%5 != 0, i%3 != 0
		copy(good[3*i:], probs[i])
		weak[3*i+(labels[i]+(i/2)%2)%3] = 1 // right half the time, on both splits
		copy(fused[3*i:], probs[i])
		fused[3*i+labels[i]] += 0.2 // a little better than good
	}
	return rows, []Scores{
		{Name: "fused", Modalities: []string{"a", "b"}, Probs: fused},
		{Name: "unimodal.a", Baseline: true, Modalities: []string{"a"}, Probs: good},
		{Name: "unimodal.b", Baseline: true, Modalities: []string{"b"}, Probs: weak},
	}
}

// The report does not depend on the number of workers, with exact rankings and
// with histograms, ranked in a pass of their own or tallied by every worker in
// the evaluation pass (RankInPass).
func TestEvaluateDoesNotDependOnWorkers(t *testing.T) {
	rows, scores := evalFixture(20000)
	for _, limit := range []int{0, 1000} {
		var reports []string
		for _, inPass := range []bool{false, true} {
			for _, w := range []int{1, 3, 8} {
				reports = append(reports, reportJSON(t, Evaluate(rows, scores, Options{Replicates: 200, Workers: w, ExactLimit: limit, RankInPass: inPass})))
			}
		}
		for i := 1; i < len(reports); i++ {
			if reports[0] != reports[i] {
				t.Fatalf("exact limit %d: results differ with the number of workers or where the rankings are counted (report %d)", limit, i)
			}
		}
	}
}

func TestIntervalsAndComparison(t *testing.T) {
	rows, scores := evalFixture(4000)
	e := Evaluate(rows, scores, Options{Replicates: 500, Workers: 2})
	var rep Report
	e.Fill(&rep)
	if rep.BestBaseline != "unimodal.a" || rep.ChosenOn != "train" {
		t.Fatalf("best baseline %q chosen on %q", rep.BestBaseline, rep.ChosenOn)
	}
	test := rep.Strategies[0].Splits["test"]
	acc, iv := test.Metrics["accuracy"], test.Intervals["accuracy"]
	if !(iv.Low < acc && acc < iv.High) || iv.High-iv.Low > 0.1 {
		t.Errorf("accuracy %v, interval %+v", acc, iv)
	}
	c := test.Comparison
	if c == nil || c.Verdict != "helped" || c.McNemarP > 0.01 || c.OnlyStrategy <= c.OnlyBaseline {
		t.Fatalf("comparison %+v", c)
	}
	// A bigger sample gives a narrower interval.
	rows2, scores2 := evalFixture(40000)
	var rep2 Report
	Evaluate(rows2, scores2, Options{Replicates: 500, Workers: 2}).Fill(&rep2)
	iv2 := rep2.Strategies[0].Splits["test"].Intervals["accuracy"]
	if !(iv2.High-iv2.Low < iv.High-iv.Low) {
		t.Errorf("interval at 10x the rows %+v is not narrower than %+v", iv2, iv)
	}
	if len(rep.Robustness) != 4 { // present: {a,b}, {a}, {b}, {} — patterns by presence
		t.Errorf("%d presence patterns: %+v", len(rep.Robustness), rep.Robustness)
	}
}

func TestArgmaxTiesGoLow(t *testing.T) {
	tests := []struct {
		p    []float64
		want int
	}{{[]float64{0.2, 0.5, 0.3}, 1}, {[]float64{0.4, 0.4, 0.2}, 0}, {[]float64{0.1, 0.45, 0.45}, 1}, {[]float64{1}, 0}}
	for _, tc := range tests {
		if got := Argmax(tc.p); got != tc.want {
			t.Errorf("Argmax(%v) = %d, want %d", tc.p, got, tc.want)
		}
	}
}

// Bootstrap replicates and paired comparisons merge exactly: any partition of the
// rows gives the one-pass intervals and counts, bit for bit.
func TestBootstrapAndPairedMergeEqualsWhole(t *testing.T) {
	probs, labels := randomRows(3000, 3, 8)
	w := make([]uint8, 300)
	wholeB, wholeP := NewBootstrap(300, 3), NewPaired(300)
	partsB := []*Bootstrap{NewBootstrap(300, 3), NewBootstrap(300, 3), NewBootstrap(300, 3)}
	partsP := []*Paired{NewPaired(300), NewPaired(300), NewPaired(300)}
	for i := range probs {
		PoissonWeights(mix64(uint64(i)), w)
		rightB := i%3 != 0
		rightA := Argmax(probs[i]) == labels[i]
		wholeB.Add(w, probs[i], labels[i])
		wholeP.Add(w, rightA, rightB)
		partsB[i%3].Add(w, probs[i], labels[i])
		partsP[i%3].Add(w, rightA, rightB)
	}
	mergedB, mergedP := NewBootstrap(300, 3), NewPaired(300)
	for _, j := range []int{2, 0, 1} {
		mergedB.Merge(partsB[j])
		mergedP.Merge(partsP[j])
	}
	a, b := wholeB.Intervals(), mergedB.Intervals()
	for name, iv := range a {
		if iv != b[name] { // bit for bit
			t.Errorf("%s: whole %+v, merged %+v", name, iv, b[name])
		}
	}
	if len(a) != 5 {
		t.Errorf("intervals for %d metrics, want 5", len(a))
	}
	if !reflect.DeepEqual(wholeP.Result("b"), mergedP.Result("b")) {
		t.Errorf("paired: whole %+v, merged %+v", wholeP.Result("b"), mergedP.Result("b"))
	}
}

// A report whose values are undefined (NaN: a class never predicted, an ablation
// over no rows) is still written: as null, never as an encoding failure.
func TestReportJSONWithUndefinedValues(t *testing.T) {
	nan := math.NaN()
	rep := &Report{RunID: "r", Classes: []string{"a", "b"}, Splits: []string{"test"},
		Strategies: []StrategyReport{{Name: "s", Splits: map[string]*SplitReport{"test": {
			Rows: 3, Metrics: map[string]float64{"accuracy": 0.5, "log_loss": math.Inf(1)},
			PerClass:   map[string][]float64{"precision": {nan, 1}},
			Comparison: &Comparison{Baseline: "u", Difference: nan, McNemarP: nan},
		}}}},
		Ablation: []AblationReport{{Strategy: "s", Without: "x", Split: "test", Accuracy: nan}},
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	back, err := ReadReport(buf.Bytes())
	if err != nil {
		t.Fatalf("ReadReport: %v\n%s", err, buf.String())
	}
	s := back.Strategies[0].Splits["test"]
	if s.Metrics["accuracy"] != 0.5 || s.PerClass["precision"][1] != 1 {
		t.Errorf("finite values changed: %+v", s)
	}
	if _, ok := s.Metrics["log_loss"]; ok {
		t.Error("an infinite metric was written as a number")
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"precision": [
              null,`)) {
		t.Errorf("the undefined precision is not null:\n%s", buf.String())
	}
}
