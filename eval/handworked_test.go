package eval

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// Values worked by hand (or from a definition written out here), for the parts
// of eval whose mistakes the golden files cannot see: the multiclass Brier score
// (scikit-learn 1.2 has only the binary one), clipping at p = 1, the histogram
// ranking's bounds and curve, and the bookkeeping of Evaluate and Fill.

func relDiffer(got, want, rel float64) bool {
	if math.IsNaN(got) || math.IsNaN(want) {
		return math.IsNaN(got) != math.IsNaN(want)
	}
	return math.Abs(got-want) > rel*math.Abs(want)
}

// Overall metrics carry class -1, per-class ones their class: the long-format
// Parquet and the report tell them apart by it.
func TestMetricsClassColumn(t *testing.T) {
	c := NewClassification(3)
	c.Add([]float64{0.7, 0.2, 0.1}, 0)
	c.Add([]float64{0.1, 0.3, 0.6}, 2)
	c.Add([]float64{0.2, 0.5, 0.3}, 0)
	perClass := map[string]bool{"precision": true, "recall": true, "f1": true, "support": true, "roc_auc_ovr": true, "average_precision_ovr": true}
	seen := map[string][]int{}
	for _, m := range c.Metrics() {
		seen[m.Name] = append(seen[m.Name], m.Class)
		if !perClass[m.Name] && m.Class != -1 {
			t.Errorf("overall metric %s has class %d", m.Name, m.Class)
		}
	}
	for name, classes := range seen {
		if !perClass[name] {
			continue
		}
		for i, cl := range classes {
			if cl != i {
				t.Errorf("%s: per-class entries %v, want 0, 1, 2", name, classes)
				break
			}
		}
	}
	if len(seen["accuracy"]) != 1 || len(seen["precision"]) != 3 {
		t.Errorf("metrics %v", seen)
	}
}

// scikit-learn 1.2's log_loss clips to [eps, 1−eps] with eps="auto" (the float64
// machine epsilon, 2⁻⁵²) and then renormalises: a confident right answer costs
// −log((1−eps)/(1−eps+eps)), not 0 (scikit-learn 1.2.1: 2.2204460492503136e-16).
func TestLogLossClipsCertainAnswers(t *testing.T) {
	const eps = 0x1p-52
	want := -math.Log((1 - eps) / ((1 - eps) + eps))
	var l LogLoss
	l.Add([]float64{1, 0}, 0)
	if got := l.Result(); relDiffer(got, want, 1e-9) {
		t.Errorf("log loss of a certain right answer %v, want %v", got, want)
	}
	// The bootstrap's log loss clips the same way: every replicate is that value.
	b := NewBootstrap(20, 2)
	w := make([]uint8, 20)
	for i := 0; i < 50; i++ {
		PoissonWeights(uint64(i)+77, w)
		b.Add(w, []float64{1, 0}, 0)
	}
	iv := b.Intervals()["log_loss"]
	if relDiffer(iv.Low, want, 1e-9) || relDiffer(iv.High, want, 1e-9) {
		t.Errorf("bootstrap log loss interval %+v, want %v at both ends", iv, want)
	}
}

// The multiclass Brier score is Σ_k (p_k − y_k)² averaged over rows (range
// [0, 2]); with two classes it is scikit-learn's (p_1 − y)².
func TestBrierByHand(t *testing.T) {
	var b Brier
	b.Add([]float64{0.5, 0.3, 0.2}, 1) // 0.25 + 0.49 + 0.04
	b.Add([]float64{0.1, 0.1, 0.8}, 2) // 0.01 + 0.01 + 0.04
	if got := b.Result(); differ(got, (0.78+0.06)/2, 1e-12) {
		t.Errorf("multiclass Brier %v, want 0.42", got)
	}
	var bin Brier
	bin.Add([]float64{0.3, 0.7}, 1) // 0.09
	bin.Add([]float64{0.6, 0.4}, 1) // 0.36
	bin.Add([]float64{0.8, 0.2}, 0) // 0.04
	if got := bin.Result(); differ(got, (0.09+0.36+0.04)/3, 1e-12) {
		t.Errorf("binary Brier %v, want %v", got, (0.09+0.36+0.04)/3)
	}
}

// Reliability bins are [b/15, (b+1)/15).
func TestReliabilityBinEdges(t *testing.T) {
	var c Calibration
	c.Add([]float64{0.9, 0.1}, 0)
	_, bins := c.Result()
	if len(bins) != CalibrationBins {
		t.Fatalf("%d bins", len(bins))
	}
	for b, bin := range bins {
		if bin.Lo != float64(b)/CalibrationBins || bin.Hi != float64(b+1)/CalibrationBins {
			t.Errorf("bin %d is [%v, %v)", b, bin.Lo, bin.Hi)
		}
	}
}

// The paired comparison's replicates, recomputed from the rows repeated by their
// weights: replicate r's accuracy difference is (Σ w·[A right] − Σ w·[B right]) /
// Σ w, and a replicate with no rows drawn is left out (numpy would see 0/0). With
// three rows, about one replicate in twenty draws none.
func TestPairedMatchesExpandedRows(t *testing.T) {
	type row struct{ a, b bool }
	for _, rows := range [][]row{
		{{true, false}, {false, false}, {true, true}},
		{{true, false}, {false, true}, {false, true}, {true, true}, {false, true}, {true, true}, {false, false}},
	} {
		const reps = 400
		p := NewPaired(reps)
		weights := make([][]uint8, len(rows))
		for i, r := range rows {
			weights[i] = make([]uint8, reps)
			PoissonWeights(uint64(i)*0x9e3779b97f4a7c15+5, weights[i])
			p.Add(weights[i], r.a, r.b)
		}
		var vals []float64
		empty := 0
		for rep := 0; rep < reps; rep++ {
			var n, diff float64
			for i, r := range rows {
				for k := 0; k < int(weights[i][rep]); k++ {
					n++
					if r.a {
						diff++
					}
					if r.b {
						diff--
					}
				}
			}
			if n == 0 {
				empty++
				continue
			}
			vals = append(vals, diff/n)
		}
		if len(rows) == 3 && empty == 0 {
			t.Fatal("the fixture should draw an empty replicate")
		}
		want := numpyPercentile95(vals)
		c := p.Result("base")
		if differ(c.Interval.Low, want.Low, 1e-12) || differ(c.Interval.High, want.High, 1e-12) {
			t.Errorf("paired interval %+v, from the expanded rows %+v", c.Interval, want)
		}
		var onlyA, onlyB int64
		for _, r := range rows {
			if r.a && !r.b {
				onlyA++
			}
			if r.b && !r.a {
				onlyB++
			}
		}
		if c.OnlyStrategy != onlyA || c.OnlyBaseline != onlyB || differ(c.Difference, float64(onlyA-onlyB)/float64(len(rows)), 1e-15) {
			t.Errorf("comparison %+v", c)
		}
		verdict := "inconclusive"
		if want.Low > 0 {
			verdict = "helped"
		} else if want.High < 0 {
			verdict = "hurt"
		}
		if c.Verdict != verdict {
			t.Errorf("verdict %q for interval %+v, want %q", c.Verdict, want, verdict)
		}
	}
}

// The verdict rule at its edges: helped only when the whole interval is above
// zero, hurt only when it is below.
func TestVerdictRule(t *testing.T) {
	for _, tc := range []struct {
		onlyA, onlyB int
		verdict      string
	}{{40, 0, "helped"}, {0, 40, "hurt"}, {20, 20, "inconclusive"}, {1, 0, "inconclusive"}} {
		p := NewPaired(300)
		w := make([]uint8, 300)
		i := 0
		add := func(n int, a, b bool) {
			for j := 0; j < n; j++ {
				PoissonWeights(uint64(i)+1000, w)
				p.Add(w, a, b)
				i++
			}
		}
		add(tc.onlyA, true, false)
		add(tc.onlyB, false, true)
		add(40, true, true)
		if c := p.Result("b"); c.Verdict != tc.verdict {
			t.Errorf("%d vs %d discordant: %q (interval %+v), want %q", tc.onlyA, tc.onlyB, c.Verdict, c.Interval, tc.verdict)
		}
	}
}

// The weights one key hash draws are fixed: a report's intervals are reproducible
// by any later release and by every shard of a run.
func TestPoissonWeightsPinned(t *testing.T) {
	w := make([]uint8, 10)
	PoissonWeights(0x0123456789abcdef, w)
	if got := fmt.Sprint(w); got != pinnedWeights {
		t.Errorf("weights %s, pinned %s", got, pinnedWeights)
	}
}

const pinnedWeights = "[0 1 2 2 1 1 3 0 2 1]"

// A ranking keeps exactly Limit pairs, and merges into exact only while the pairs
// fit.
func TestRankingLimitEdges(t *testing.T) {
	r := NewRanking(3)
	for i := 0; i < 3; i++ {
		r.Add(float64(i)/4, i%2 == 0)
	}
	if !r.Exact() {
		t.Error("3 pairs with limit 3 went to the histogram")
	}
	r.Add(0.9, true)
	if r.Exact() {
		t.Error("4 pairs with limit 3 stayed exact")
	}
	a, b := NewRanking(4), NewRanking(4)
	a.Add(0.1, true)
	a.Add(0.2, false)
	b.Add(0.3, true)
	b.Add(0.4, false)
	a.Merge(b)
	if !a.Exact() {
		t.Error("2+2 pairs with limit 4 went to the histogram on merge")
	}
	c := NewRanking(4)
	c.Add(0.5, true)
	a.Merge(c)
	if a.Exact() {
		t.Error("5 pairs with limit 4 stayed exact on merge")
	}
}

// The rank pass's tally (rankTally: bins gathered class by class over chunks
// of rows, counted in 16-bit counts, added to the histograms on flush) ranks
// what row-by-row addRanks does, binary and multiclass: chunks that end
// mid-pass and a last one partly full, scores on the ends of [0, 1], outside it
// and NaN, rankings that hold pairs already, and counts that wrap past 0xFFFF
// (started near it).
func TestRankTallyEqualsRowByRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	odd := []float64{-0.5, 1.5, math.NaN(), 1, 0}
	for _, k := range []int{2, 3} {
		for _, nearWrap := range []bool{false, true} {
			const rows, chunk, limit = 400, 7, 10
			byRow, byTally := newRankings(k, limit, rows), newRankings(k, limit, rows)
			probs, labels := make([]float64, 0, rows*k), make([]int32, 0, rows)
			for j := range rows {
				for range k {
					p := float64(rng.IntN(20)) / 19 // ties
					if j%50 == 0 {
						p = odd[rng.IntN(len(odd))]
					}
					probs = append(probs, p)
				}
				labels = append(labels, int32(rng.IntN(k)))
			}
			for _, rk := range append(slices.Clone(byRow), byTally...) {
				rk.Add(0.5, true) // a pair held before the pass
			}
			for j, y := range labels {
				(&Classification{Rankings: byRow}).addRanks(probs[j*k:(j+1)*k], int(y))
			}
			tally := newRankTally(byTally, chunk)
			const start = 0xFFFF - 3 // a bin's fourth pair wraps its count
			if nearWrap {
				for r := range tally.rankings {
					for i := range tally.counts[r][:2*rankBins] {
						tally.counts[r][i] = start
					}
				}
			}
			for j, y := range labels {
				tally.add(probs[j*k:(j+1)*k], y)
			}
			tally.flush()
			tally.put()
			for _, rk := range byTally {
				if nearWrap { // the counts' start taken back out of every bin
					for b := range rk.pos {
						rk.pos[b] -= start
						rk.neg[b] -= start
					}
					rk.result = nil
				}
			}
			for c := range byRow {
				if got, want := fmt.Sprint(byTally[c].Result()), fmt.Sprint(byRow[c].Result()); got != want {
					t.Errorf("k %d, near wrap %v, ranking %d: tallied %s, by row %s", k, nearWrap, c, got, want)
				}
			}
		}
	}
}

// A bin that takes hundreds of thousands of pairs wraps its 16-bit count
// several times, within a chunk and across chunks: the tally still ranks what
// row-by-row addRanks does.
func TestRankTallyWrapsManyTimes(t *testing.T) {
	const k, rows = 3, 3<<16 + 5
	byRow, byTally := newRankings(k, 10, rows), newRankings(k, 10, rows)
	tally := newRankTally(byTally, tallyRows)
	probs := []float64{0.25, 0.25, 0.5}
	for j := range rows {
		y := j % 7 % k // classes unevenly, every row in the same three bins
		(&Classification{Rankings: byRow}).addRanks(probs, y)
		tally.add(probs, int32(y))
	}
	tally.flush()
	tally.put()
	for c := range byRow {
		if got, want := fmt.Sprint(byTally[c].Result()), fmt.Sprint(byRow[c].Result()); got != want {
			t.Errorf("ranking %d: tallied %s, by row %s", c, got, want)
		}
		if !slices.Equal(byTally[c].pos, byRow[c].pos) || !slices.Equal(byTally[c].neg, byRow[c].neg) {
			t.Errorf("ranking %d: the tallied histogram differs from the one added to row by row", c)
		}
	}
}

// rankBin puts [0, 1] in 65,536 equal bins, the upper edge in the last, scores
// outside it in the end bins and NaN in the first.
func TestRankBinEdges(t *testing.T) {
	for _, c := range []struct {
		score float64
		bin   int
	}{
		{0, 0}, {0.99 / rankBins, 0}, {1.0 / rankBins, 1}, {0.5, rankBins / 2},
		{(rankBins - 1.5) / rankBins, rankBins - 2}, {(rankBins - 1.0) / rankBins, rankBins - 1}, {1, rankBins - 1},
		{-0.25, 0}, {math.Inf(-1), 0}, {1.5, rankBins - 1}, {1e300, rankBins - 1}, {math.Inf(1), rankBins - 1},
		{math.NaN(), 0},
	} {
		if got := rankBin(c.score); got != c.bin {
			t.Errorf("rankBin(%v) = %d, want %d", c.score, got, c.bin)
		}
	}
}

// Rankings made for more rows than their limit start as histograms, and end as
// those that held the pairs up to the limit first: the same result to the bit.
func TestRankingsSizedPastTheLimit(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const k, limit, rows = 3, 50, 400
	sized, grown := newRankings(k, limit, rows), newRankings(k, limit, 0)
	if sized[0].Exact() {
		t.Fatal("rankings sized for 400 rows with limit 50 did not start as histograms")
	}
	for range rows {
		probs := []float64{rng.Float64(), rng.Float64(), rng.Float64()}
		y := rng.IntN(k)
		for c := range sized {
			sized[c].Add(probs[c], c == y)
			grown[c].Add(probs[c], c == y)
		}
	}
	for c := range sized {
		if got, want := fmt.Sprint(sized[c].Result()), fmt.Sprint(grown[c].Result()); got != want {
			t.Errorf("class %d: sized %s, grown %s", c, got, want)
		}
	}
	if small := newRankings(k, limit, limit); !small[0].Exact() || cap(small[0].scores) != limit {
		t.Errorf("rankings sized for %d rows with limit %d: exact %v, room %d", limit, limit, small[0].Exact(), cap(small[0].scores))
	}
}

// One worked example in both modes. Tie groups from the top (positives,
// negatives): (0,1), (2,1), (0,1), (1,1); P = 3, N = 4.
//
//	AUC = Σ neg·(pos above + pos tied/2) / PN = (0 + 1 + 2 + 2.5) / 12
//	AP  = Σ (pos/P)·precision = (2/3)(2/4) + (1/3)(3/7) = 10/21
//	AUC bound = Σ pos·neg/2 / PN = (1 + 0.5) / 12
//	AP bound  = Σ (pos/P)(hi − lo), hi = (T+pos)/(T+F+pos), lo = T/(T+F+neg) with
//	            T, F counted above the group: (2/3)(2/3 − 0) + (1/3)(1/2 − 1/3) = 1/2
//	ROC = (0,0) (1/4,0) (2/4,2/3) (3/4,2/3) (1,1)
func TestRankingWorkedExample(t *testing.T) {
	pairs := []struct {
		s   float64
		pos bool
	}{{0.95, false}, {0.9, true}, {0.9, false}, {0.9, true}, {0.5, false}, {0, true}, {0, false}}
	wantCurve := []CurvePoint{{0, 0}, {0.25, 0}, {0.5, 2.0 / 3}, {0.75, 2.0 / 3}, {1, 1}}
	for _, limit := range []int{100, 1} {
		r := NewRanking(limit)
		for _, p := range pairs {
			r.Add(p.s, p.pos)
		}
		res := r.Result()
		wantAUCBound, wantAPBound := 0.0, 0.0
		if !r.Exact() {
			wantAUCBound, wantAPBound = 1.5/12, 0.5
		}
		if res.Positives != 3 || res.Negatives != 4 || differ(res.AUC, 5.5/12, 1e-15) || differ(res.AP, 10.0/21, 1e-15) ||
			differ(res.AUCBound, wantAUCBound, 1e-15) || differ(res.APBound, wantAPBound, 1e-15) {
			t.Errorf("limit %d: %+v", limit, res)
		}
		if len(res.Curve) != len(wantCurve) {
			t.Errorf("limit %d: curve %v", limit, res.Curve)
			continue
		}
		for i, p := range wantCurve {
			if differ(res.Curve[i].FPR, p.FPR, 1e-15) || differ(res.Curve[i].TPR, p.TPR, 1e-15) {
				t.Errorf("limit %d: curve %v, want %v", limit, res.Curve, wantCurve)
				break
			}
		}
	}
	// A top group of positives only: its lower precision bound is 0, not 0/0.
	r := NewRanking(1)
	r.Add(0.9, true)
	r.Add(0.1, false)
	if res := r.Result(); differ(res.APBound, 1, 1e-15) || differ(res.AUCBound, 0, 0) || res.AP != 1 {
		t.Errorf("positives on top: %+v", res)
	}
	// Groups (1,0), (1,1): AUC = 1·(1 + 1/2)/2, AP = (1/2)·1 + (1/2)(2/3),
	// AUC bound = (1·1/2)/2, AP bound = (1/2)(1 − 0) + (1/2)(2/2 − 1/2).
	r = NewRanking(1)
	r.Add(0.9, true)
	r.Add(0.5, true)
	r.Add(0.5, false)
	if res := r.Result(); differ(res.AUC, 0.75, 1e-15) || differ(res.AP, 5.0/6, 1e-15) || differ(res.AUCBound, 0.25, 1e-15) || differ(res.APBound, 0.75, 1e-15) {
		t.Errorf("groups (1,0), (1,1): %+v", res)
	}
}

// The macro averages of the one-vs-rest rankings are the plain means of the
// per-class values; the weighted AUC weighs them by positives.
func TestMacroRankAverages(t *testing.T) {
	c := NewClassification(3)
	rows := [][]float64{{0.6, 0.3, 0.1}, {0.2, 0.5, 0.3}, {0.1, 0.2, 0.7}, {0.5, 0.4, 0.1}, {0.3, 0.3, 0.4}, {0.2, 0.6, 0.2}, {0.4, 0.1, 0.5}}
	labels := []int{0, 1, 2, 1, 2, 1, 0}
	for i, p := range rows {
		c.Add(p, labels[i])
	}
	auc, aucW, ap, _, per := c.Ranks()
	var wantAUC, wantAP, wantW, pos float64
	for _, r := range per {
		wantAUC += r.AUC / 3
		wantAP += r.AP / 3
		wantW += r.AUC * float64(r.Positives)
		pos += float64(r.Positives)
	}
	if differ(auc, wantAUC, 1e-15) || differ(ap, wantAP, 1e-15) || differ(aucW, wantW/pos, 1e-15) || pos != 7 {
		t.Errorf("macro AUC %v (want %v), AP %v (want %v), weighted AUC %v (want %v)", auc, wantAUC, ap, wantAP, aucW, wantW/pos)
	}
	// Each per-class value from its own binary ranking.
	for k := 0; k < 3; k++ {
		r := NewRanking(0)
		for i, p := range rows {
			r.Add(p[k], labels[i] == k)
		}
		if res := r.Result(); differ(per[k].AUC, res.AUC, 1e-15) || differ(per[k].AP, res.AP, 1e-15) {
			t.Errorf("class %d: %+v, from its binary ranking %+v", k, per[k], res)
		}
	}
}

// numpy's percentile of one value is that value.
func TestPercentileOfOne(t *testing.T) {
	if iv := percentileInterval([]float64{0.25}); iv.Low != 0.25 || iv.High != 0.25 {
		t.Errorf("interval of one replicate %+v", iv)
	}
}

// A long curve is thinned to curvePoints points, keeping both ends.
func TestThinCurve(t *testing.T) {
	p := make([]CurvePoint, 500)
	for i := range p {
		p[i] = CurvePoint{FPR: float64(i), TPR: float64(i)}
	}
	got := thinCurve(p, curvePoints)
	if len(got) != curvePoints || got[0] != p[0] || got[len(got)-1] != p[len(p)-1] {
		t.Fatalf("%d points from %v to %v", len(got), got[0], got[len(got)-1])
	}
	for i, q := range got {
		if q != p[i*499/199] {
			t.Fatalf("point %d is %v, want %v", i, q, p[i*499/199])
		}
	}
	if short := thinCurve(p[:curvePoints], curvePoints); len(short) != curvePoints {
		t.Errorf("a curve of %d points became %d", curvePoints, len(short))
	}
}

// Thinning a curve as its points come keeps the points thinCurve keeps of the
// whole curve, whatever its length against the limit.
func TestThinningKeepsThinCurvesPoints(t *testing.T) {
	for _, size := range []int{1, 2, 3, 199, 200, 201, 202, 399, 400, 401, 997, 65537} {
		p := make([]CurvePoint, size)
		th := newThinning(size, curvePoints)
		for i := range p {
			p[i] = CurvePoint{FPR: float64(i), TPR: float64(size - i)}
			th.add(p[i])
		}
		if want := thinCurve(p, curvePoints); !slices.Equal(th.out, want) {
			t.Errorf("%d points: kept %d (%v…), want %d (%v…)", size, len(th.out), th.out[:min(3, len(th.out))], len(want), want[:min(3, len(want))])
		}
	}
}

func smallRows(labels []int32, splits []int, splitNames []string, present [][]bool) Rows {
	r := Rows{Classes: 2, Label: labels, Split: splits, Splits: splitNames, KeyHash: make([]uint64, len(labels)),
		Modalities: []string{"a", "b"}, Present: present}
	for i := range r.KeyHash {
		r.KeyHash[i] = mix64(uint64(i) + 1)
	}
	return r
}

// probsOf turns predicted classes into one-hot-ish probabilities.
func probsOf(pred ...int) []float64 {
	p := make([]float64, 2*len(pred))
	for i, c := range pred {
		p[2*i+c], p[2*i+1-c] = 0.8, 0.2
	}
	return p
}

// Evaluate's options: 0 replicates means the default, negative means none (no
// intervals, no paired comparison), and the paired comparison counts against the
// best baseline also when it is the first score.
func TestEvaluateOptions(t *testing.T) {
	labels := []int32{0, 1, 0, 1, 0, 1, 1, 0}
	splits := []int{0, 0, 0, 0, 1, 1, 1, 1}
	present := [][]bool{{true, true, true, true, true, true, true, true}, {true, true, true, true, true, true, true, true}}
	rows := smallRows(labels, splits, []string{"train", "test"}, present)
	scores := []Scores{
		{Name: "unimodal.a", Baseline: true, Modalities: []string{"a"}, Probs: probsOf(0, 1, 0, 1, 0, 0, 0, 0)},
		{Name: "s", Modalities: []string{"a", "b"}, Probs: probsOf(0, 1, 0, 0, 0, 1, 1, 1)},
	}
	e := Evaluate(rows, scores, Options{})
	if e.Options.Replicates != DefaultReplicates || e.Intervals[1][1] == nil || e.Intervals[1][1].R != DefaultReplicates {
		t.Errorf("default replicates: options %+v", e.Options)
	}
	e = Evaluate(rows, scores, Options{Replicates: 7})
	if b := e.Intervals[1][1]; b == nil || b.R != 7 {
		t.Errorf("7 replicates: %+v", b)
	}
	if e.BestBaseline != 0 {
		t.Fatalf("best baseline %d", e.BestBaseline)
	}
	// On test, the baseline is right on rows 4 and 7, the strategy on 4, 5, 6.
	p := e.Paired[1][1]
	if p == nil || p.OnlyA != 2 || p.OnlyB != 1 || p.Rows != 4 {
		t.Errorf("paired against the first score: %+v", p)
	}
	var rep Report
	e.Fill(&rep)
	if rep.BestBaseline != "unimodal.a" || rep.Strategies[1].Splits["test"].Comparison == nil {
		t.Errorf("the first score as best baseline: %q, comparison %+v", rep.BestBaseline, rep.Strategies[1].Splits["test"].Comparison)
	}
	e = Evaluate(rows, scores, Options{Replicates: -1})
	for si := range scores {
		for sp := range rows.Splits {
			if e.Intervals[si][sp] != nil || e.Paired[si][sp] != nil {
				t.Errorf("replicates −1: intervals or comparison for score %d split %d", si, sp)
			}
		}
	}
	if e.Metrics[1][1] == nil || e.Metrics[1][1].Confusion.Result().N != 4 {
		t.Error("replicates −1 dropped the metrics")
	}
	// No splits at all: nothing to evaluate, no best baseline.
	none := Evaluate(Rows{Classes: 2, Modalities: []string{"a"}, Present: [][]bool{nil}}, scores[:1], Options{})
	if none.BestBaseline != -1 {
		t.Errorf("best baseline %d without splits", none.BestBaseline)
	}
}

// The robustness table counts rows whose first row of a partition has no
// modality present, on a split other than the first.
func TestEvaluatePatternOfNothingPresent(t *testing.T) {
	labels := []int32{0, 1, 1}
	splits := []int{1, 1, 0}
	present := [][]bool{{false, true, true}, {false, false, true}}
	rows := smallRows(labels, splits, []string{"train", "test"}, present)
	scores := []Scores{{Name: "s", Modalities: []string{"a", "b"}, Probs: probsOf(0, 0, 1)}}
	e := Evaluate(rows, scores, Options{Replicates: -1})
	if got := e.Patterns[1][0]; len(got) != 2 || got[0] != 1 || got[1] != 1 {
		t.Errorf("pattern {} on test: %v", got)
	}
	if got := e.Patterns[1][1]; len(got) != 2 || got[0] != 1 || got[1] != 0 {
		t.Errorf("pattern {a} on test: %v", got)
	}
}

// The best baseline: highest accuracy on the training split (labelled rows only),
// ties to the first name whatever the order of the scores; without a training
// split, on the first split.
func TestChooseBaseline(t *testing.T) {
	labels := []int32{0, 1, 0, -1, -1}
	present := [][]bool{{true, true, true, true, true}, {true, true, true, true, true}}
	// On the labelled training rows 0..2 (labels 0, 1, 0): b and c are right on
	// two, a on none. Counting the unlabelled rows instead would tie all three at
	// 0 and pick a.
	base := map[string]Scores{
		"a": {Name: "unimodal.a", Baseline: true, Modalities: []string{"a"}, Probs: probsOf(1, 0, 1, 0, 0)},
		"b": {Name: "unimodal.b", Baseline: true, Modalities: []string{"b"}, Probs: probsOf(0, 0, 0, 0, 0)},
		"c": {Name: "unimodal.c", Baseline: true, Modalities: []string{"a"}, Probs: probsOf(0, 1, 1, 1, 1)},
	}
	for _, tc := range []struct {
		splitNames []string
		splits     []int
		chosenOn   string
	}{
		{[]string{"train", "test"}, []int{0, 0, 0, 0, 1}, "train"},
		{[]string{"test", "train"}, []int{1, 1, 1, 1, 0}, "train"},
		{[]string{"x", "y"}, []int{0, 0, 0, 0, 1}, "x"},
	} {
		for _, order := range []string{"abc", "acb", "cba"} {
			rows := smallRows(labels, tc.splits, tc.splitNames, present)
			var scores []Scores
			for _, n := range order {
				scores = append(scores, base[string(n)])
			}
			e := Evaluate(rows, scores, Options{Replicates: -1})
			if e.BestBaseline < 0 || e.Scores[e.BestBaseline].Name != "unimodal.b" || e.ChosenOn != tc.chosenOn {
				t.Errorf("splits %v, order %s: best baseline %d chosen on %q", tc.splitNames, order, e.BestBaseline, e.ChosenOn)
			}
		}
	}
}

// Fill: robustness patterns by row count, most first; ablation deltas; per-class
// metrics; a binary problem's one ROC curve named after the positive class.
func TestFillTables(t *testing.T) {
	labels := []int32{0, 1, 0, 1, 0, 1, 1, 0, 1, 0}
	splits := []int{0, 0, 0, 0, 1, 1, 1, 1, 1, 1}
	present := [][]bool{
		{true, true, true, true, true, true, true, true, false, false},
		{true, true, true, true, true, false, false, false, false, true},
	}
	rows := smallRows(labels, splits, []string{"train", "test"}, present)
	rows.ClassNames = []string{"cat", "dog"}
	scores := []Scores{
		{Name: "s", Modalities: []string{"a", "b"}, Probs: probsOf(0, 1, 0, 1, 0, 1, 0, 0, 1, 1)},
		{Name: "unimodal.a", Baseline: true, Modalities: []string{"a"}, Probs: probsOf(0, 1, 0, 1, 0, 0, 0, 0, 0, 0)},
		{Name: "s without a", Of: "s", Without: "a", Modalities: []string{"a", "b"}, Probs: probsOf(1, 1, 1, 1, 1, 1, 1, 1, 1, 1)},
	}
	var rep Report
	Evaluate(rows, scores, Options{Replicates: 50}).Fill(&rep)
	if rep.BestBaseline != "unimodal.a" || rep.ChosenOn != "train" {
		t.Errorf("best baseline %q on %q", rep.BestBaseline, rep.ChosenOn)
	}
	// Test rows 4..9: patterns {a,b}: 4; {a}: 5, 6, 7; {}: 8; {b}: 9.
	var got []string
	for _, p := range rep.Robustness {
		got = append(got, fmt.Sprintf("%v:%d:%.4g", p.Present, p.Rows, float64(p.Accuracy["s"])))
	}
	if got[0] != "[a]:3:0.6667" || len(got) != 4 {
		t.Errorf("robustness %v", got)
	}
	if len(rep.Ablation) != 1 {
		t.Fatalf("ablation %+v", rep.Ablation)
	}
	ab := rep.Ablation[0]
	// s on test: right on 4, 5, 7, 8 of 4..9 → 4/6; without a: right on 5, 6, 8 → 3/6.
	if ab.Strategy != "s" || ab.Without != "a" || differ(ab.Full, 4.0/6, 1e-15) || differ(ab.Accuracy, 0.5, 1e-15) || differ(ab.Delta, 0.5-4.0/6, 1e-15) {
		t.Errorf("ablation %+v", ab)
	}
	test := rep.Strategies[0].Splits["test"]
	if len(test.PerClass["recall"]) != 2 || differ(test.PerClass["recall"][1], 2.0/3, 1e-15) {
		t.Errorf("per-class recall %v", test.PerClass["recall"])
	}
	if _, ok := test.Metrics["rows"]; ok {
		t.Error("rows listed as a metric")
	}
	if len(test.ROC) != 1 || test.ROC[0].Class != "dog" {
		t.Errorf("ROC curves %+v", test.ROC)
	}
	if test.Comparison == nil || !strings.Contains(test.Comparison.Summary, "s vs unimodal.a (best single modality on train)") {
		t.Errorf("comparison %+v", test.Comparison)
	}
	if len(rep.Strategies) != 2 {
		t.Errorf("%d strategies reported (the ablation is not one)", len(rep.Strategies))
	}
}

// The sentence states the comparison's numbers in points.
func TestVerdictSentenceNumbers(t *testing.T) {
	c := Comparison{Baseline: "unimodal.x", Difference: 0.0125, Interval: Interval{-0.005, 0.03}, McNemarP: 0.25,
		OnlyStrategy: 9, OnlyBaseline: 4, Verdict: "inconclusive"}
	want := "late-mean vs unimodal.x (best single modality on train): +1.25 points of accuracy, 95 % CI [-0.50, +3.00], " +
		"McNemar p = 0.25 (9 vs 4 discordant rows); fusion cannot be told apart from the best single modality at the 95 % level."
	if got := c.words("late-mean", "train"); got != want {
		t.Errorf("sentence\n%s\nwant\n%s", got, want)
	}
}

// The evaluation's state does not grow with classes squared: 100 classes × 1,000
// replicates × 20 classifiers allocate under 200 MB in all (a confusion
// matrix per replicate allocated 80 MB per classifier and partition: 12.8 GB).
func TestEvaluationStateManyClasses(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a few hundred MB")
	}
	const n, k, classifiers = 4000, 100, 20
	rows := Rows{Classes: k, Label: make([]int32, n), Split: make([]int, n), Splits: []string{"train", "test"},
		KeyHash: make([]uint64, n), Modalities: []string{"a"}, Present: [][]bool{make([]bool, n)}}
	probs := make([]float64, n*k)
	for i := 0; i < n; i++ {
		rows.Label[i] = int32(i % k)
		rows.Split[i] = i % 2
		rows.KeyHash[i] = mix64(uint64(i))
		rows.Present[0][i] = true
		for c := 0; c < k; c++ {
			probs[i*k+c] = 0.5 / float64(k-1)
		}
		probs[i*k+(i*7)%k] = 0.5
	}
	scores := []Scores{{Name: "unimodal.a", Baseline: true, Modalities: []string{"a"}, Probs: probs}}
	for c := 1; c < classifiers; c++ {
		scores = append(scores, Scores{Name: fmt.Sprint("s", c), Modalities: []string{"a"}, Probs: probs})
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	e := Evaluate(rows, scores, Options{Replicates: 1000, Workers: 2})
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 200<<20 {
		t.Errorf("evaluating 100 classes × 1,000 replicates × 20 classifiers allocated %d MB", got>>20)
	}
	if iv := e.Intervals[1][1].Intervals()["accuracy"]; !(iv.Low <= iv.High) {
		t.Errorf("interval %+v", iv)
	}
}

// Evaluating the rows in parts (buckets of a spilled run, shards) with the whole's
// best baseline and merging gives the whole's report, byte for byte, with exact
// and with histogram rankings.
func TestEvaluateInPartsEqualsWhole(t *testing.T) {
	rows, scores := evalFixture(9000)
	scores = append(scores, Scores{Name: "fused without a", Of: "fused", Without: "a", Modalities: []string{"a", "b"}, Probs: scores[2].Probs})
	for _, limit := range []int{0, 500} {
		opts := Options{Replicates: 100, Workers: 2, ExactLimit: limit}
		whole := Evaluate(rows, scores, opts)
		opts.BestBaseline, opts.ChosenOn = whole.Scores[whole.BestBaseline].Name, whole.ChosenOn
		var merged *Evaluation
		for _, e := range evaluateInParts(rows, scores, opts, 3) {
			if merged == nil {
				merged = e
			} else if err := merged.Merge(e); err != nil {
				t.Fatal(err)
			}
		}
		if reportJSON(t, whole) != reportJSON(t, merged) {
			t.Errorf("exact limit %d: the merged parts' report differs from the whole's", limit)
		}
	}
	// Evaluations of different jobs do not merge.
	rows2, scores2 := evalFixture(100)
	e1 := Evaluate(rows2, scores2, Options{Replicates: 10})
	e2 := Evaluate(rows2, scores2[:2], Options{Replicates: 10})
	if err := e1.Merge(e2); !errors.Is(err, ErrMismatch) {
		t.Errorf("merging different jobs: %v", err)
	}
}

// Parts ranked straight into the total they merge into (Options.Into, as the
// bucket groups of a spilled run are) give the whole's report, byte for byte:
// with a limit the training split passes in the first part (histograms from the
// start), one it passes at the second part's merge, and none; the small test
// split stays exact throughout and is never ranked into the total. An ablation
// (ranked on the test split only) rides along.
func TestPartsRankedIntoTheTotalEqualWhole(t *testing.T) {
	rows, scores := evalFixture(9000)
	scores = append(scores, Scores{Name: "fused without a", Of: "fused", Without: "a", Modalities: []string{"a", "b"}, Probs: scores[2].Probs})
	for i := range rows.Split {
		rows.Split[i] = 0
		if i%10 == 0 {
			rows.Split[i] = 1 // test: 900 rows, 300 a part
		}
	}
	for _, c := range []struct {
		limit     int
		intoParts int // parts whose training rows go into the total's histograms
		inPass    bool
	}{{2000, 2, false}, {4000, 1, false}, {0, 0, false}, {2000, 2, true}, {4000, 1, true}} {
		opts := Options{Replicates: 50, Workers: 2, ExactLimit: c.limit}
		whole := Evaluate(rows, scores, opts)
		opts.BestBaseline, opts.ChosenOn, opts.RankInPass = whole.Scores[whole.BestBaseline].Name, whole.ChosenOn, c.inPass
		total, parts := evaluateIntoTotal(t, rows, scores, opts, 3)
		if reportJSON(t, whole) != reportJSON(t, total) {
			t.Errorf("exact limit %d, in pass %v: the report of parts ranked into the total differs from the whole's", c.limit, c.inPass)
		}
		into := 0
		for _, p := range parts {
			if p.Metrics[0][0].Rankings == nil {
				into++
			}
			if p.Metrics[0][1].Rankings == nil {
				t.Errorf("exact limit %d: the exact test split was ranked into the total", c.limit)
			}
			if p.Options.Into != nil {
				t.Errorf("exact limit %d: a part still holds the total", c.limit)
			}
		}
		if into != c.intoParts {
			t.Errorf("exact limit %d: %d parts ranked their training rows into the total, want %d", c.limit, into, c.intoParts)
		}
	}
}

// An evaluation that declared splits no row has, with those splits dropped by
// KeepSplits, reports what an evaluation of only the splits seen reports.
func TestKeepSplitsDropsDeclaredEmptySplits(t *testing.T) {
	rows, scores := evalFixture(2000)
	opts := Options{Replicates: 30, Workers: 2}
	seen := Evaluate(rows, scores, opts)
	opts.BestBaseline, opts.ChosenOn = seen.Scores[seen.BestBaseline].Name, seen.ChosenOn
	want := Evaluate(rows, scores, opts)
	// The same rows, with "early" and "valid" declared (no rows) around the real splits.
	wide := rows
	wide.Splits = append([]string{"early"}, append(slices.Clone(rows.Splits), "valid")...)
	wide.Split = make([]int, len(rows.Split))
	for i, s := range rows.Split {
		wide.Split[i] = s + 1
	}
	got := Evaluate(wide, scores, opts)
	if err := got.KeepSplits(rows.Splits); err != nil {
		t.Fatal(err)
	}
	if reportJSON(t, want) != reportJSON(t, got) {
		t.Error("dropping the declared empty splits does not give the report of the splits seen")
	}
	if err := got.KeepSplits([]string{"nowhere"}); !errors.Is(err, ErrMismatch) {
		t.Errorf("keeping an unknown split: %v", err)
	}
}

// reportJSON is the report.json an evaluation fills.
func reportJSON(t *testing.T, e *Evaluation) string {
	t.Helper()
	var r Report
	e.Fill(&r)
	var b strings.Builder
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// evaluateInParts evaluates the rows in n parts, split by key hash.
func evaluateInParts(rows Rows, scores []Scores, opts Options, n uint64) []*Evaluation {
	var out []*Evaluation
	for g := uint64(0); g < n; g++ {
		sub, subScores := partOf(rows, scores, n, g)
		out = append(out, Evaluate(sub, subScores, opts))
	}
	return out
}

// evaluateIntoTotal evaluates the rows in n parts, split by key hash, as a
// spilled run's bucket groups are: each part with the total so far as its
// Options.Into, merged into it before the next.
func evaluateIntoTotal(t *testing.T, rows Rows, scores []Scores, opts Options, n uint64) (total *Evaluation, parts []*Evaluation) {
	t.Helper()
	for g := uint64(0); g < n; g++ {
		sub, subScores := partOf(rows, scores, n, g)
		opts.Into = total
		e := Evaluate(sub, subScores, opts)
		parts = append(parts, e)
		if total == nil {
			total = e
		} else if err := total.Merge(e); err != nil {
			t.Fatal(err)
		}
	}
	return total, parts
}

// partOf is part g of n of the rows and their scores, split by key hash.
func partOf(rows Rows, scores []Scores, n, g uint64) (Rows, []Scores) {
	var idx []int
	for i, h := range rows.KeyHash {
		if h%n == g {
			idx = append(idx, i)
		}
	}
	sub := Rows{Classes: rows.Classes, Splits: rows.Splits, Modalities: rows.Modalities, Present: make([][]bool, len(rows.Present))}
	for _, i := range idx {
		sub.Label = append(sub.Label, rows.Label[i])
		sub.Split = append(sub.Split, rows.Split[i])
		sub.KeyHash = append(sub.KeyHash, rows.KeyHash[i])
		for m := range rows.Present {
			sub.Present[m] = append(sub.Present[m], rows.Present[m][i])
		}
	}
	subScores := make([]Scores, len(scores))
	for si, s := range scores {
		subScores[si] = s
		subScores[si].Probs = nil
		for _, i := range idx {
			subScores[si].Probs = append(subScores[si].Probs, s.Probs[i*rows.Classes:(i+1)*rows.Classes]...)
		}
	}
	return sub, subScores
}

// An exact ranking's tie groups, radix-sorted, are what a comparison sort of the
// scores gives: descending, equal scores (−0 and +0 among them) one group, on
// scores with many ties, both signs, infinities and subnormals; a NaN is a group
// below every score, as the histogram puts it in its lowest bin.
func TestExactGroupsMatchAComparisonSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	sc := new(rankScratch) // reused from trial to trial, as a worker reuses it
	pool := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, math.Inf(1), math.Inf(-1), 5e-324, -5e-324, math.MaxFloat64, 0.1 + 0.2, 0.3}
	for trial := range 50 {
		n := 1 + rng.IntN(3000)
		r := NewRanking(1 << 20)
		var ref []struct {
			s float64
			p bool
		}
		for range n {
			s := rng.Float64()
			switch {
			case trial%5 == 4: // keys that differ in one byte: an odd number of passes
				s = 1 + float64(rng.IntN(16))/16
			case rng.IntN(4) == 0:
				s = pool[rng.IntN(len(pool))]
			case rng.IntN(3) == 0:
				s = float64(rng.IntN(20)) / 7
			}
			p := rng.IntN(3) == 0
			r.Add(s, p)
			ref = append(ref, struct {
				s float64
				p bool
			}{s, p})
		}
		slices.SortFunc(ref, func(a, b struct {
			s float64
			p bool
		}) int {
			return cmp.Compare(b.s, a.s)
		})
		var want []group
		for j, x := range ref {
			if j == 0 || x.s != ref[j-1].s {
				want = append(want, group{})
			}
			if x.p {
				want[len(want)-1].pos++
			} else {
				want[len(want)-1].neg++
			}
		}
		if got := r.groups(sc); !slices.Equal(got, want) {
			t.Fatalf("trial %d, %d scores: %d groups, want %d (first %v, want %v)", trial, n, len(got), len(want), got[:min(3, len(got))], want[:min(3, len(want))])
		}
	}
	r := NewRanking(0)
	for _, s := range []float64{math.NaN(), 0.2, math.Inf(-1), math.NaN()} {
		r.Add(s, s == 0.2)
	}
	if got, want := r.groups(sc), []group{{1, 0}, {0, 1}, {0, 2}}; !slices.Equal(got, want) {
		t.Errorf("with NaN: groups %v, want %v", got, want)
	}
}

// termsOf's one loop gives what Argmax, logLossTerm, Brier.Add and TopK.Add give
// in loops of their own, to the bit: binary and multiclass rows, ties (the
// prediction and the top-2 count break them by index), zeros and ones (the log
// loss clips them).
func TestTermsOfEqualsTheAccumulators(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, k := range []int{2, 3, 10} {
		for range 2000 {
			probs := make([]float64, k)
			for c := range probs {
				probs[c] = rng.Float64()
				if rng.IntN(4) == 0 {
					probs[c] = float64(rng.IntN(3)) / 2 // 0, ½, 1: ties and clipped ends
				}
			}
			label := rng.IntN(k)
			got := termsOf(probs, label, nil)
			var b Brier
			b.Add(probs, label)
			top := TopK{K: 2}
			top.Add(probs, label)
			hits := TopK{K: 2}
			hits.addAhead(got.ahead)
			want := rowTerms{pred: Argmax(probs), logLoss: logLossTerm(probs, label)}
			if got.pred != want.pred || math.Float64bits(got.logLoss) != math.Float64bits(want.logLoss) || hits != top {
				t.Fatalf("k %d, %v, label %d: terms %+v, accumulators %+v (top-2 %+v, %+v)", k, probs, label, got, want, hits, top)
			}
			var viaTerm Brier
			viaTerm.sum.add(got.brier)
			viaTerm.Rows++
			if viaTerm != b {
				t.Fatalf("k %d, %v, label %d: Brier term %v, Brier.Add %+v", k, probs, label, got.brier, b)
			}
		}
	}
}
