package eval

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/mathext"

	"github.com/lakefuse/lakefuse/internal/keyhash"
)

// DefaultReplicates is the number of bootstrap replicates for intervals.
const DefaultReplicates = 1000

// poissonTable is the inverse CDF of Poisson(1) at 16-bit resolution: a uniform
// 16-bit draw u maps to the smallest k with F(k) > u/65536.
var poissonTable = func() [1 << 16]uint8 {
	var t [1 << 16]uint8
	cdf, term, k := math.Exp(-1), math.Exp(-1), 0
	for u := range t {
		for float64(u)/65536 >= cdf && k < 20 {
			k++
			term /= float64(k)
			cdf += term
		}
		t[u] = uint8(k)
	}
	return t
}()

// mix64 is the shared fixed key scramble.
var mix64 = keyhash.Mix

// PoissonWeights writes row weights for replicates 0..len(w)-1: Poisson(1) draws
// from a generator seeded by the row's key hash and the replicate index, so every
// bucket, worker or shard that sees the row draws the same weights.
func PoissonWeights(keyHash uint64, w []uint8) {
	for r := 0; r < len(w); r += 4 {
		h := mix64(keyHash ^ mix64(uint64(r/4)+0x9e3779b97f4a7c15))
		for j := 0; j < 4 && r+j < len(w); j++ {
			w[r+j] = poissonTable[uint16(h>>(16*j))]
		}
	}
}

// Bootstrap accumulates Poisson-bootstrap replicates of the headline metrics:
// accuracy, balanced accuracy, macro-F1, log loss and Brier score. (The ranking
// metrics have no intervals: a replicate of a ranking costs a ranking.)
//
// Per replicate it keeps only the sufficient statistics of those metrics — per
// class the weighted support, predictions and true positives, and the weighted
// log-loss and Brier sums — so it holds R·3K counts and 3R sums, not R·K² (a full
// confusion matrix per replicate took 80 MB per classifier at 100 classes). The
// weights are small integers, so the counts merge exactly; as uint32 they hold
// up to 4·10⁹ weighted rows of one class, far past one run's evaluation split.
type Bootstrap struct {
	R, K  int
	stats []uint32   // R×3K: support, predicted, true positives per class
	logl  []fixedSum // R weighted log-loss sums
	brier []fixedSum // R weighted Brier sums
	w     []float64  // R total weights
}

// NewBootstrap returns an empty accumulator of r replicates over k classes.
func NewBootstrap(r, k int) *Bootstrap {
	return &Bootstrap{R: r, K: k, stats: make([]uint32, r*3*k), logl: make([]fixedSum, r), brier: make([]fixedSum, r), w: make([]float64, r)}
}

// Add records one row with its replicate weights (PoissonWeights).
func (b *Bootstrap) Add(weights []uint8, probs []float64, label int) {
	t := termsOf(probs, label, nil)
	b.addTerms(weights, &t, label)
}

// addTerms is Add for a row whose terms (termsOf) the caller has: the
// evaluation pass computed them for the row's other accumulators.
func (b *Bootstrap) addTerms(weights []uint8, t *rowTerms, label int) {
	pred := t.pred
	nll, nllOK := quantize(t.logLoss)
	var one Brier // the row's Brier score as Brier.Result gives it, then quantized
	one.sum.add(t.brier)
	one.Rows++
	brier, brierOK := quantize(one.Result())
	k3 := 3 * b.K
	support, predicted, tp := label, b.K+pred, 2*b.K+label
	right := pred == label
	for r, w := range weights {
		if w == 0 {
			continue
		}
		fw := float64(w)
		s := b.stats[r*k3 : (r+1)*k3 : (r+1)*k3]
		s[support] += uint32(w)
		s[predicted] += uint32(w)
		if right {
			s[tp] += uint32(w)
		}
		b.logl[r].addQuantized(nll, nllOK, w)
		b.brier[r].addQuantized(brier, brierOK, w)
		b.w[r] += fw
	}
}

// clippedTrueProb is the probability of the true class as LogLoss computes it.
func clippedTrueProb(probs []float64, label int) float64 {
	var total float64
	for _, p := range probs {
		total += clipProb(p)
	}
	return clipProb(probs[label]) / total
}

// clipProb is min(max(p, logLossEps), 1−logLossEps) by comparisons: the same
// value for every p, NaN and −0 included, without the builtins' NaN and
// signed-zero rules (the largest cost of the log loss before its logarithm).
func clipProb(p float64) float64 {
	if p < logLossEps {
		p = logLossEps
	}
	if p > 1-logLossEps {
		p = 1 - logLossEps
	}
	return p
}

// Merge adds another accumulator's rows.
func (b *Bootstrap) Merge(o *Bootstrap) {
	for i, v := range o.stats {
		b.stats[i] += v
	}
	for r := range b.w {
		b.logl[r].merge(o.logl[r])
		b.brier[r].merge(o.brier[r])
		b.w[r] += o.w[r]
	}
}

// Interval is a two-sided percentile interval.
type Interval struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Intervals returns the 95 % percentile intervals of the headline metrics.
func (b *Bootstrap) Intervals() map[string]Interval {
	vals := map[string][]float64{}
	k3 := 3 * b.K
	for r := 0; r < b.R; r++ {
		if b.w[r] == 0 {
			continue
		}
		acc, bal, f1 := replicateMetrics(b.stats[r*k3:(r+1)*k3], b.K)
		vals["accuracy"] = append(vals["accuracy"], acc)
		vals["balanced_accuracy"] = append(vals["balanced_accuracy"], bal)
		vals["f1_macro"] = append(vals["f1_macro"], f1)
		vals["log_loss"] = append(vals["log_loss"], b.logl[r].value()/b.w[r])
		vals["brier"] = append(vals["brier"], b.brier[r].value()/b.w[r])
	}
	out := map[string]Interval{}
	for name, v := range vals {
		out[name] = percentileInterval(v)
	}
	return out
}

// replicateMetrics mirrors Confusion.Result for one replicate's per-class
// support, predicted and true-positive counts.
func replicateMetrics(s []uint32, k int) (acc, balanced, f1 float64) {
	var n, correct float64
	var recallSum float64
	present := 0
	for c := 0; c < k; c++ {
		row, col, tp := float64(s[c]), float64(s[k+c]), float64(s[2*k+c])
		n += row
		correct += tp
		if row > 0 {
			recallSum += tp / row
			present++
		}
		f1 += safeDiv(2*tp, row+col) / float64(k)
	}
	return safeDiv(correct, n), safeDiv(recallSum, float64(present)), f1
}

func percentileInterval(v []float64) Interval {
	if len(v) == 0 {
		return Interval{math.NaN(), math.NaN()}
	}
	slices.Sort(v)
	at := func(q float64) float64 { // linear interpolation, as numpy's default
		pos := q * float64(len(v)-1)
		lo := int(math.Floor(pos))
		hi := min(lo+1, len(v)-1)
		return v[lo] + (v[hi]-v[lo])*(pos-float64(lo))
	}
	return Interval{at(0.025), at(0.975)}
}

// Paired accumulates the comparison of two classifiers on the same rows: McNemar's
// discordant counts and bootstrap replicates of the accuracy difference (A − B).
type Paired struct {
	R       int
	OnlyA   int64 // rows A gets right and B wrong
	OnlyB   int64 // rows B gets right and A wrong
	Rows    int64
	diff, w []float64
}

// NewPaired returns an empty comparison with r replicates.
func NewPaired(r int) *Paired { return &Paired{R: r, diff: make([]float64, r), w: make([]float64, r)} }

// Add records one row: whether each classifier got it right, with the row's
// replicate weights.
func (p *Paired) Add(weights []uint8, rightA, rightB bool) {
	p.Rows++
	d := 0.0
	switch {
	case rightA && !rightB:
		p.OnlyA++
		d = 1
	case rightB && !rightA:
		p.OnlyB++
		d = -1
	}
	for r, w := range weights {
		p.diff[r] += float64(w) * d
		p.w[r] += float64(w)
	}
}

// Merge adds another comparison's rows.
func (p *Paired) Merge(o *Paired) {
	p.OnlyA += o.OnlyA
	p.OnlyB += o.OnlyB
	p.Rows += o.Rows
	for r := range p.diff {
		p.diff[r] += o.diff[r]
		p.w[r] += o.w[r]
	}
}

// Comparison is the result of a paired comparison.
// VerdictWords says each Comparison.Verdict in words.
var VerdictWords = map[string]string{"helped": "fusion helped", "hurt": "fusion hurt", "inconclusive": "cannot be told apart"}

type Comparison struct {
	Baseline     string   `json:"baseline"`
	Difference   float64  `json:"accuracy_difference"` // A − B
	Interval     Interval `json:"interval"`            // bootstrap 95 %
	OnlyStrategy int64    `json:"only_strategy_right"`
	OnlyBaseline int64    `json:"only_baseline_right"`
	McNemarP     float64  `json:"mcnemar_p"` // exact, two-sided
	Verdict      string   `json:"verdict"`   // helped, hurt, or inconclusive
	Summary      string   `json:"summary"`   // the verdict in a sentence
}

// Result compares A (a strategy) with B (the baseline).
func (p *Paired) Result(baseline string) Comparison {
	c := Comparison{Baseline: baseline, OnlyStrategy: p.OnlyA, OnlyBaseline: p.OnlyB, McNemarP: McNemarExact(p.OnlyA, p.OnlyB)}
	c.Difference = safeDiv(float64(p.OnlyA-p.OnlyB), float64(p.Rows))
	var reps []float64
	for r := range p.diff {
		if p.w[r] > 0 {
			reps = append(reps, p.diff[r]/p.w[r])
		}
	}
	c.Interval = percentileInterval(reps)
	switch {
	case c.Interval.Low > 0:
		c.Verdict = "helped"
	case c.Interval.High < 0:
		c.Verdict = "hurt"
	default:
		c.Verdict = "inconclusive"
	}
	return c
}

// McNemarExact is the two-sided exact McNemar test on discordant counts b and c:
// 2·P(X ≤ min(b, c)) for X ~ Binomial(b + c, ½), capped at 1.
func McNemarExact(b, c int64) float64 {
	n := b + c
	if n == 0 {
		return 1
	}
	k := min(b, c)
	if k == n {
		return 1
	}
	// P(X ≤ k) = I_{1/2}(n − k, k + 1), the regularised incomplete beta function.
	return min(1, 2*mathext.RegIncBeta(float64(n-k), float64(k+1), 0.5))
}
