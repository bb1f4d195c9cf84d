package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

// randomRows draws n scored rows over k classes with some signal and many ties.
func randomRows(n, k int, seed uint64) ([][]float64, []int) {
	rng := rand.New(rand.NewPCG(seed, 2))
	probs := make([][]float64, n)
	labels := make([]int, n)
	for i := range probs {
		labels[i] = rng.IntN(k)
		p := make([]float64, k)
		s := 0.0
		for j := range p {
			p[j] = math.Round(rng.Float64()*20) / 20 // coarse values: ties
			if j == labels[i] {
				p[j] += 0.3
			}
			s += p[j]
		}
		for j := range p {
			p[j] /= s
		}
		probs[i] = p
	}
	return probs, labels
}

// Merging the accumulators of any partition of the rows gives the one-pass result
// bit for bit, for every metric, exact or approximate.
func TestMergeEqualsWholeAllMetrics(t *testing.T) {
	for _, tc := range []struct {
		name  string
		k     int
		limit int
	}{{"binary exact", 2, 0}, {"multiclass exact", 4, 0}, {"binary approximate", 2, 50}, {"multiclass approximate", 4, 50}} {
		t.Run(tc.name, func(t *testing.T) {
			probs, labels := randomRows(3000, tc.k, 7)
			whole := NewClassificationLimit(tc.k, tc.limit)
			parts := make([]*Classification, 5)
			for i := range parts {
				parts[i] = NewClassificationLimit(tc.k, tc.limit)
			}
			for i := range probs {
				whole.Add(probs[i], labels[i])
				parts[(i*13)%5].Add(probs[i], labels[i])
			}
			merged := NewClassificationLimit(tc.k, tc.limit)
			for _, j := range []int{3, 0, 4, 1, 2} {
				merged.Merge(parts[j])
			}
			a, b := whole.Metrics(), merged.Metrics()
			for i := range a {
				// Bit for bit: every sum is an integer one (fixedSum), so the
				// grouping of rows cannot change a value.
				if a[i].Name != b[i].Name || math.Float64bits(a[i].Value) != math.Float64bits(b[i].Value) {
					t.Errorf("%v: whole %v, merged %v", a[i].Name, a[i].Value, b[i].Value)
				}
			}
		})
	}
}

// The histogram approximation stays within the bound it reports.
func TestApproximateRankingWithinBound(t *testing.T) {
	probs, labels := randomRows(20000, 2, 3)
	rng := rand.New(rand.NewPCG(1, 1))
	exact, approx := NewRanking(1<<20), NewRanking(100)
	for i := range probs {
		s := probs[i][1] + rng.Float64()*1e-6 // fine structure the bins cannot see
		exact.Add(s, labels[i] == 1)
		approx.Add(s, labels[i] == 1)
	}
	e, a := exact.Result(), approx.Result()
	if !exact.Exact() || approx.Exact() {
		t.Fatal("modes")
	}
	if !(math.Abs(e.AUC-a.AUC) <= a.AUCBound+1e-15) || !(math.Abs(e.AP-a.AP) <= a.APBound+1e-15) { // NaN fails
		t.Errorf("AUC %v vs %v (bound %v); AP %v vs %v (bound %v)", e.AUC, a.AUC, a.AUCBound, e.AP, a.AP, a.APBound)
	}

	// On continuous scores (no exact ties) the bound is tight enough to use.
	exact, approx = NewRanking(1<<20), NewRanking(100)
	for i := 0; i < 200000; i++ {
		pos := rng.IntN(2) == 1
		s := rng.Float64()
		if pos {
			s = math.Sqrt(s)
		}
		exact.Add(s, pos)
		approx.Add(s, pos)
	}
	e, a = exact.Result(), approx.Result()
	if !(math.Abs(e.AUC-a.AUC) <= a.AUCBound) || !(a.AUCBound <= 1e-4) || !(a.APBound <= 1e-3) { // NaN fails
		t.Errorf("continuous scores: AUC %v vs %v, bound %v; AP bound %v", e.AUC, a.AUC, a.AUCBound, a.APBound)
	}
}

// Evaluating 10 million rows keeps memory bounded: past the exact limit, no
// accumulator grows with the rows.
func TestStateIsBoundedOverTenMillionRows(t *testing.T) {
	if testing.Short() {
		t.Skip("10M rows")
	}
	acc := NewClassificationLimit(3, 1000)
	rng := rand.New(rand.NewPCG(9, 9))
	p := make([]float64, 3)
	size := func() int {
		n := 0
		for _, r := range acc.Rankings {
			n += cap(r.scores) + cap(r.pos) + cap(r.neg)
		}
		return n
	}
	var after1M int
	for i := 0; i < 10_000_000; i++ {
		a, b := rng.Float64(), rng.Float64()
		p[0], p[1], p[2] = a/2, b/2, 1-a/2-b/2
		acc.Add(p, i%3)
		if i == 1_000_000 {
			after1M = size()
		}
	}
	if got := size(); got != after1M {
		t.Errorf("state grew from %d to %d slots between 1M and 10M rows", after1M, got)
	}
	if r := acc.Confusion.Result(); r.N != 10_000_000 {
		t.Errorf("counted %d rows", r.N)
	}
}

// Ties in top-k are broken as scikit-learn 1.2's top_k_accuracy_score breaks
// them (its argsort, reversed, puts the higher class index first): values from
// scikit-learn on these rows.
func TestTopKTies(t *testing.T) {
	tests := []struct {
		probs    []float64
		label, k int
		hit      bool
	}{
		{[]float64{0.4, 0.4, 0.2}, 0, 1, false},
		{[]float64{0.4, 0.4, 0.2}, 1, 1, true},
		{[]float64{0.4, 0.4, 0.2}, 0, 2, true},
		{[]float64{0.3, 0.3, 0.3}, 0, 1, false},
		{[]float64{0.3, 0.3, 0.3}, 2, 1, true},
		{[]float64{0.3, 0.3, 0.3}, 0, 2, false},
		{[]float64{0.3, 0.3, 0.3}, 1, 2, true},
	}
	for _, tc := range tests {
		tk := TopK{K: tc.k}
		tk.Add(tc.probs, tc.label)
		if got := tk.Hits == 1; got != tc.hit {
			t.Errorf("top-%d of %v, label %d: hit %v, scikit-learn %v", tc.k, tc.probs, tc.label, got, tc.hit)
		}
	}
}
