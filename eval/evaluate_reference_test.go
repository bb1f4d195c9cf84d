package eval

import (
	"math/rand/v2"
	"testing"
)

// Evaluate against a naive recomputation of everything it accumulates: per
// classifier and split, fresh accumulators fed the split's rows in order; the
// baselines' accuracy where their modality is present; the best baseline by
// training accuracy; McNemar's discordant counts; accuracy by presence pattern.
// The rows span several partitions and chunks, with unlabelled rows, imbalanced
// classes and three splits.
func TestEvaluateMatchesNaiveRecomputation(t *testing.T) {
	const n, k = 10000, 3
	rng := rand.New(rand.NewPCG(21, 22))
	rows := Rows{Classes: k, Label: make([]int32, n), Split: make([]int, n), Splits: []string{"train", "test", "val"},
		KeyHash: make([]uint64, n), Modalities: []string{"a", "b"}, Present: [][]bool{make([]bool, n), make([]bool, n)}}
	for i := 0; i < n; i++ {
		rows.Label[i] = int32(imbalanced(rng, k))
		if i%17 == 0 {
			rows.Label[i] = -1
		}
		rows.Split[i] = []int{0, 0, 1, 2}[rng.IntN(4)]
		rows.KeyHash[i] = rng.Uint64()
		pattern := 1 + rng.IntN(3)
		rows.Present[0][i], rows.Present[1][i] = pattern&1 != 0, pattern&2 != 0
	}
	score := func(skill float64) []float64 {
		p := make([]float64, n*k)
		for i := 0; i < n; i++ {
			s := 0.0
			for c := 0; c < k; c++ {
				v := rng.Float64()
				if int32(c) == rows.Label[i] {
					v += skill
				}
				p[i*k+c] = v
				s += v
			}
			for c := 0; c < k; c++ {
				p[i*k+c] /= s
			}
		}
		return p
	}
	scores := []Scores{
		{Name: "s", Modalities: []string{"a", "b"}, Probs: score(0.9)},
		{Name: "unimodal.a", Baseline: true, Modalities: []string{"a"}, Probs: score(0.5)},
		{Name: "unimodal.b", Baseline: true, Modalities: []string{"b"}, Probs: score(0.6)},
		{Name: "s without a", Of: "s", Without: "a", Modalities: []string{"a", "b"}, Probs: score(0.3)},
	}
	e := Evaluate(rows, scores, Options{Replicates: 30, Workers: 3})

	// The best baseline, by training accuracy.
	trainAcc := func(si int) float64 {
		c := NewConfusion(k)
		for i, y := range rows.Label {
			if y >= 0 && rows.Split[i] == 0 {
				c.Add(int(y), Argmax(scores[si].Probs[i*k:(i+1)*k]))
			}
		}
		return c.Result().Accuracy
	}
	wantBest := 1
	if trainAcc(2) > trainAcc(1) {
		wantBest = 2
	}
	if e.BestBaseline != wantBest || e.ChosenOn != "train" {
		t.Fatalf("best baseline %d chosen on %q, want %d on train", e.BestBaseline, e.ChosenOn, wantBest)
	}

	for si, s := range scores {
		for sp, split := range rows.Splits {
			acc := e.Metrics[si][sp]
			ablation, evalSplit := s.Of != "", split != "train"
			if ablation && !evalSplit {
				if acc != nil {
					t.Errorf("%s on %s: an ablation is evaluated on evaluation splits only", s.Name, split)
				}
				continue
			}
			naive := NewClassification(k)
			present := NewConfusion(k)
			var onlyS, onlyBase int64
			for i, y := range rows.Label {
				if y < 0 || rows.Split[i] != sp {
					continue
				}
				p := s.Probs[i*k : (i+1)*k]
				naive.Add(p, int(y))
				if s.Baseline && rows.Present[si-1][i] {
					present.Add(int(y), Argmax(p))
				}
				right, baseRight := Argmax(p) == int(y), Argmax(scores[wantBest].Probs[i*k:(i+1)*k]) == int(y)
				switch {
				case right && !baseRight:
					onlyS++
				case baseRight && !right:
					onlyBase++
				}
			}
			got, want := acc.Metrics(), naive.Metrics()
			if len(got) != len(want) {
				t.Fatalf("%s on %s: %d metrics, naive %d", s.Name, split, len(got), len(want))
			}
			for j := range want {
				if got[j].Name != want[j].Name || got[j].Class != want[j].Class || differ(got[j].Value, want[j].Value, 1e-9) {
					t.Errorf("%s on %s: %v, naive %v", s.Name, split, got[j], want[j])
				}
			}
			wantIntervals := evalSplit && !ablation
			if (e.Intervals[si][sp] != nil) != wantIntervals {
				t.Errorf("%s on %s: intervals %v, want %v", s.Name, split, e.Intervals[si][sp] != nil, wantIntervals)
			}
			if s.Baseline {
				if g, w := e.Present[si][sp].Result().Accuracy, present.Result().Accuracy; differ(g, w, 1e-12) {
					t.Errorf("%s on %s: accuracy where present %v, naive %v", s.Name, split, g, w)
				}
			} else if pp := e.Paired[si][sp]; evalSplit && !ablation {
				if pp == nil || pp.OnlyA != onlyS || pp.OnlyB != onlyBase {
					t.Errorf("%s on %s: paired %+v, naive discordant %d/%d", s.Name, split, pp, onlyS, onlyBase)
				}
			} else if pp != nil {
				t.Errorf("%s on %s: a comparison where none belongs", s.Name, split)
			}
		}
	}

	// Accuracy by presence pattern, on the evaluation splits.
	for sp, split := range rows.Splits {
		want := map[uint64][]int64{}
		if split != "train" {
			for i, y := range rows.Label {
				if y < 0 || rows.Split[i] != sp {
					continue
				}
				var pattern uint64
				for m := range rows.Modalities {
					if rows.Present[m][i] {
						pattern |= 1 << m
					}
				}
				if want[pattern] == nil {
					want[pattern] = make([]int64, 1+len(scores))
				}
				want[pattern][0]++
				for si, s := range scores {
					if s.Of == "" && Argmax(s.Probs[i*k:(i+1)*k]) == int(y) {
						want[pattern][1+si]++
					}
				}
			}
		}
		if len(e.Patterns[sp]) != len(want) {
			t.Errorf("%s: %d patterns, naive %d", split, len(e.Patterns[sp]), len(want))
		}
		for pattern, counts := range want {
			got := e.Patterns[sp][pattern]
			for j := range counts {
				if got == nil || got[j] != counts[j] {
					t.Errorf("%s pattern %b: %v, naive %v", split, pattern, got, counts)
					break
				}
			}
		}
	}
}
