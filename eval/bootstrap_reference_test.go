package eval

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// Each bootstrap replicate, recomputed independently: a Poisson weight w is the
// row counted w times, so replicate r's metrics are the plain (unweighted)
// accumulators over the rows repeated by their weights. The 95 % interval is then
// numpy's default percentile of those values, written out here from its
// definition.
func TestBootstrapReplicatesMatchExpandedRows(t *testing.T) {
	const (
		rows = 120
		k    = 4 // imbalanced draws classes 0, 1 and 3: class 2 has no support
		r    = 40
	)
	rng := rand.New(rand.NewPCG(8, 9))
	probs := make([][]float64, rows)
	labels := make([]int, rows)
	weights := make([][]uint8, rows)
	b := NewBootstrap(r, k)
	for i := range probs {
		labels[i] = imbalanced(rng, k)
		p := make([]float64, k)
		s := 0.0
		for c := range p {
			p[c] = rng.Float64() + 0.01
			if c == labels[i] {
				p[c] += rng.Float64() // right more often than not
			}
			s += p[c]
		}
		for c := range p {
			p[c] /= s
		}
		switch i {
		case 7:
			p = []float64{0, 1, 0, 0} // a zero probability for the true class: clipping
			labels[i] = 0
		case 11:
			p = []float64{0.2, 0.9, 0.5, 0.1} // not normalised: log loss renormalises, as scikit-learn does
		case 13:
			labels[i] = 2 // one row: many replicates draw it zero times
		}
		probs[i] = p
		weights[i] = make([]uint8, r)
		PoissonWeights(uint64(i)*0x9e3779b97f4a7c15+1, weights[i])
		b.Add(weights[i], p, labels[i])
	}
	got := b.Intervals()
	perMetric := map[string][]float64{}
	for rep := 0; rep < r; rep++ {
		conf := NewConfusion(k)
		var ll LogLoss
		var br Brier
		for i := range probs {
			for n := 0; n < int(weights[i][rep]); n++ {
				conf.Add(labels[i], Argmax(probs[i]))
				ll.Add(probs[i], labels[i])
				br.Add(probs[i], labels[i])
			}
		}
		res := conf.Result()
		perMetric["accuracy"] = append(perMetric["accuracy"], res.Accuracy)
		perMetric["balanced_accuracy"] = append(perMetric["balanced_accuracy"], res.BalancedAccuracy)
		perMetric["f1_macro"] = append(perMetric["f1_macro"], res.F1Macro)
		perMetric["log_loss"] = append(perMetric["log_loss"], ll.Result())
		perMetric["brier"] = append(perMetric["brier"], br.Result())
	}
	for name, vals := range perMetric {
		want := numpyPercentile95(vals)
		g, ok := got[name]
		if !ok {
			t.Errorf("no interval for %s", name)
			continue
		}
		if differ(g.Low, want.Low, 1e-9) || differ(g.High, want.High, 1e-9) {
			t.Errorf("%s: interval [%v, %v], from the expanded rows [%v, %v]", name, g.Low, g.High, want.Low, want.High)
		}
	}
}

// numpyPercentile95 is numpy.percentile(v, [2.5, 97.5]) with linear interpolation:
// the q-th value of the sorted data sits at rank q·(n−1).
func numpyPercentile95(v []float64) Interval {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	at := func(q float64) float64 {
		rank := q * float64(len(s)-1)
		below := math.Floor(rank)
		frac := rank - below
		i := int(below)
		if i+1 >= len(s) {
			return s[i]
		}
		return s[i]*(1-frac) + s[i+1]*frac
	}
	return Interval{at(0.025), at(0.975)}
}

func imbalanced(rng *rand.Rand, k int) int {
	x := rng.Float64()
	switch {
	case x < 0.6:
		return 0
	case x < 0.9:
		return 1
	}
	return k - 1
}

// The Poisson(1) table: each k takes exactly the 16-bit draws u with
// F(k−1) ≤ u/65536 < F(k), and the weights drawn from it have mean and variance 1,
// independently across the four weights one hash yields.
func TestPoissonTableAndIndependence(t *testing.T) {
	cdf := 0.0
	start := 0
	for k := 0; k <= 8; k++ {
		cdf += math.Exp(-1) / float64(factorial(k))
		end := int(math.Ceil(cdf * 65536)) // first u with u/65536 >= F(k)
		for u := start; u < min(end, 1<<16); u++ {
			if int(poissonTable[u]) != k {
				t.Fatalf("table[%d] = %d, want %d (F(%d) = %v)", u, poissonTable[u], k, k, cdf)
			}
		}
		start = end
	}
	const n = 200000
	w := make([]uint8, 8)
	var sum, sumSq float64
	var cross [8]float64
	for key := uint64(0); key < n; key++ {
		PoissonWeights(key*0x2545f4914f6cdd1d+7, w)
		for j, v := range w {
			x := float64(v)
			sum += x
			sumSq += x * x
			cross[j] += x * float64(w[(j+1)%len(w)])
		}
	}
	m := sum / (n * 8)
	v := sumSq/(n*8) - m*m
	if math.Abs(m-1) > 0.01 || math.Abs(v-1) > 0.02 {
		t.Errorf("weights have mean %v and variance %v, want 1 and 1", m, v)
	}
	for j, c := range cross {
		if cov := c/n - 1; math.Abs(cov) > 0.02 {
			t.Errorf("weights %d and %d covary (%v): the replicates are not independent", j, (j+1)%8, cov)
		}
	}
	a, b := make([]uint8, 5), make([]uint8, 5)
	PoissonWeights(42, a)
	PoissonWeights(42, b)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("weights depend on more than the key hash")
		}
	}
}

func factorial(k int) int {
	f := 1
	for i := 2; i <= k; i++ {
		f *= i
	}
	return f
}
