package eval

import (
	"math"
	"slices"
	"sync"
)

// DefaultExactLimit is how many (score, label) pairs a Ranking keeps exactly
// before it switches to a histogram.
const DefaultExactLimit = 1 << 18

// rankBins is the histogram resolution of an approximate Ranking: equal-width bins
// of the score over [0, 1].
const rankBins = 1 << 16

// Ranking accumulates (score, positive?) pairs of one binary problem for ROC AUC,
// average precision and the ROC curve.
//
// Up to its exact limit it keeps every pair and its results equal scikit-learn's,
// ties included (AUC counts a tied positive-negative pair as one half; average
// precision is the step-wise sum over distinct thresholds). Past the limit, or when
// merged with an approximate Ranking, it keeps a histogram of rankBins bins over
// [0, 1] instead (state: 1 MiB, whatever the row count) and treats scores in one bin
// as tied. Result then reports error bounds, computed from the histogram itself:
//
//	|ΔAUC| ≤ ½ Σ_b pos_b·neg_b / (P·N)        only pairs sharing a bin can change
//	|ΔAP|  ≤ Σ_b (pos_b/P)·(hi_b − lo_b)      each positive's precision stays within
//	                                           its bin's precision range [lo_b, hi_b]
//
// Scores outside [0, 1] are clamped into the end bins in approximate mode.
type Ranking struct {
	Limit  int
	scores []float64
	labels []bool
	pos    []int64 // approximate mode: positives per bin
	neg    []int64
	result *RankResult // Result's answer until the next Add or Merge
}

// NewRanking returns an empty Ranking that stays exact up to limit pairs
// (DefaultExactLimit when limit <= 0).
func NewRanking(limit int) *Ranking {
	if limit <= 0 {
		limit = DefaultExactLimit
	}
	return &Ranking{Limit: limit}
}

// Exact reports whether the Ranking still holds every pair.
func (r *Ranking) Exact() bool { return r.pos == nil }

// Add records one pair.
func (r *Ranking) Add(score float64, positive bool) {
	r.result = nil
	if r.pos != nil {
		r.addBin(score, positive, 1)
		return
	}
	r.scores = append(r.scores, score)
	r.labels = append(r.labels, positive)
	if len(r.scores) > r.Limit {
		r.toHistogram()
	}
}

func (r *Ranking) addBin(score float64, positive bool, n int64) {
	b := rankBin(score)
	if positive {
		r.pos[b] += n
	} else {
		r.neg[b] += n
	}
}

func (r *Ranking) toHistogram() {
	r.pos, r.neg = make([]int64, rankBins), make([]int64, rankBins)
	for i, s := range r.scores {
		r.addBin(s, r.labels[i], 1)
	}
	r.scores, r.labels = nil, nil
}

// Merge adds another Ranking's pairs. The result is exact only if both were and
// the pairs fit the limit.
func (r *Ranking) Merge(o *Ranking) {
	r.result = nil
	if r.pos == nil && o.pos == nil && len(r.scores)+len(o.scores) <= r.Limit {
		r.scores = append(r.scores, o.scores...)
		r.labels = append(r.labels, o.labels...)
		return
	}
	if r.pos == nil {
		r.toHistogram()
	}
	if o.pos == nil {
		for i, s := range o.scores {
			r.addBin(s, o.labels[i], 1)
		}
		return
	}
	for b := range r.pos {
		r.pos[b] += o.pos[b]
		r.neg[b] += o.neg[b]
	}
}

// RankResult is ROC AUC, average precision and the ROC curve of one binary problem.
// AUC and AP are NaN when one of the classes has no rows.
type RankResult struct {
	AUC, AP           float64
	AUCBound, APBound float64 // 0 when exact
	Positives         int64
	Negatives         int64
	Curve             []CurvePoint // ROC, at most curvePoints points, from (0,0) to (1,1)
}

// CurvePoint is one point of a ROC curve.
type CurvePoint struct {
	FPR float64 `json:"fpr"`
	TPR float64 `json:"tpr"`
}

const curvePoints = 200

// group is the pairs at one threshold: positives and negatives tied at a score.
type group struct{ pos, neg int64 }

// eachGroup calls fn with every tie group in descending score order: exact
// groups gs (groups), or a histogram's non-empty bins.
func (r *Ranking) eachGroup(gs []group, fn func(g group)) {
	if r.pos == nil {
		for _, g := range gs {
			fn(g)
		}
		return
	}
	for b := rankBins - 1; b >= 0; b-- {
		if r.pos[b]+r.neg[b] > 0 {
			fn(group{r.pos[b], r.neg[b]})
		}
	}
}

// groups returns an exact Ranking's tie groups in descending score order: the
// positives' and the negatives' scores radix-sorted apart by order-preserving
// keys (scoreKey), then merged from the top. A comparison sort of the pairs was
// 1.2 s of a 200,000-row run's evaluation (40 rankings). The keys and the groups
// live in sc, which the caller reuses from one ranking to the next.
func (r *Ranking) groups(sc *rankScratch) []group {
	n, npos := len(r.scores), 0
	for _, p := range r.labels {
		if p {
			npos++
		}
	}
	sc.keys, sc.tmp = slices.Grow(sc.keys[:0], n)[:n], slices.Grow(sc.tmp[:0], n)[:n]
	pos, neg := sc.keys[:npos], sc.keys[npos:]
	ip, in := 0, 0
	for i, s := range r.scores {
		if r.labels[i] {
			pos[ip] = scoreKey(s)
			ip++
		} else {
			neg[in] = scoreKey(s)
			in++
		}
	}
	radixSort(pos, sc.tmp[:npos])
	radixSort(neg, sc.tmp[npos:])
	gs := sc.groups[:0]
	for i, j := len(pos)-1, len(neg)-1; i >= 0 || j >= 0; {
		k := uint64(0)
		if i >= 0 {
			k = pos[i]
		}
		if j >= 0 && neg[j] > k {
			k = neg[j]
		}
		var g group
		for ; i >= 0 && pos[i] == k; i-- {
			g.pos++
		}
		for ; j >= 0 && neg[j] == k; j-- {
			g.neg++
		}
		gs = append(gs, g)
	}
	sc.groups = gs
	return gs
}

// rankScratch is the memory an exact ranking's result is computed in, pooled:
// the rankings of a run are computed one after another on each worker.
type rankScratch struct {
	keys, tmp []uint64
	groups    []group
}

var rankScratchPool = sync.Pool{New: func() any { return new(rankScratch) }}

// scoreKey maps scores to integers in the same order, equal where == has the
// scores equal (−0 and +0); every NaN is 0, below all, as a histogram puts NaN
// in its lowest bin.
func scoreKey(s float64) uint64 {
	if s != s {
		return 0
	}
	if s == 0 {
		s = 0 // −0 as +0
	}
	b := math.Float64bits(s)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

// radixSort sorts keys ascending, a byte at a time from the lowest (skipping a
// byte every key shares), through tmp (as long as keys).
func radixSort(keys, tmp []uint64) {
	if len(keys) < 64 {
		slices.Sort(keys)
		return
	}
	src, dst := keys, tmp
	for shift := uint(0); shift < 64; shift += 8 {
		var count [256]int
		for _, k := range src {
			count[byte(k>>shift)]++
		}
		if count[byte(src[0]>>shift)] == len(src) {
			continue
		}
		pos := 0
		for d, n := range count {
			count[d] = pos
			pos += n
		}
		for _, k := range src {
			d := byte(k >> shift)
			dst[count[d]] = k
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}

// Result computes the metrics (once: a report asks several times).
func (r *Ranking) Result() RankResult {
	if r.result == nil {
		res := r.compute()
		r.result = &res
	}
	return *r.result
}

func (r *Ranking) compute() RankResult {
	var res RankResult
	var gs []group // an exact Ranking's groups, sorted once
	if r.pos == nil {
		sc := rankScratchPool.Get().(*rankScratch)
		defer rankScratchPool.Put(sc)
		gs = r.groups(sc)
	}
	groups := 0
	r.eachGroup(gs, func(g group) {
		res.Positives += g.pos
		res.Negatives += g.neg
		groups++
	})
	P, N := float64(res.Positives), float64(res.Negatives)
	if P == 0 || N == 0 {
		// ROC AUC needs both classes. Average precision, as scikit-learn 1.2
		// computes it: 0 without positive rows, 1 with positives only (precision
		// is 1 at every threshold); undefined without rows.
		res.AUC, res.AP = math.NaN(), math.NaN()
		switch {
		case P == 0 && N > 0:
			res.AP = 0
		case P > 0:
			res.AP = 1
		}
		return res
	}
	var tp, fp float64
	var auc, ap, aucBound, apBound float64
	// The curve has a point per group after (0,0); only the points thinCurve
	// keeps of them are kept, as they come.
	curve := newThinning(groups+1, curvePoints)
	curve.add(CurvePoint{0, 0})
	r.eachGroup(gs, func(g group) {
		gp, gn := float64(g.pos), float64(g.neg)
		// Each negative in the group is outranked by the positives above it and
		// tied with the group's positives.
		auc += gn * (tp + gp/2)
		lo := tp / (tp + fp + gn)
		if tp+fp+gn == 0 {
			lo = 0
		}
		tp += gp
		fp += gn
		prec := tp / (tp + fp)
		ap += gp / P * prec
		if r.pos != nil && gp > 0 {
			aucBound += gp * gn / 2
			hi := (tp) / (tp - gp + fp - gn + gp)
			apBound += gp / P * (hi - lo)
		}
		curve.add(CurvePoint{FPR: fp / N, TPR: tp / P})
	})
	res.AUC = auc / (P * N)
	res.AP = ap
	res.AUCBound = aucBound / (P * N)
	res.APBound = apBound
	res.Curve = curve.out
	return res
}

// thinning keeps, of a curve of size points given one at a time, the points
// thinCurve(curve, n) keeps, without holding the curve.
type thinning struct {
	size, n int
	at      int // the next point's index
	kept    int // points kept so far
	out     []CurvePoint
}

func newThinning(size, n int) *thinning {
	return &thinning{size: size, n: n, out: make([]CurvePoint, 0, min(size, n))}
}

func (t *thinning) add(p CurvePoint) {
	if t.size <= t.n {
		t.out = append(t.out, p)
	} else if t.kept < t.n && t.at == t.kept*(t.size-1)/(t.n-1) {
		t.out = append(t.out, p)
		t.kept++
	}
	t.at++
}

func thinCurve(p []CurvePoint, n int) []CurvePoint {
	if len(p) <= n {
		return p
	}
	out := make([]CurvePoint, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, p[i*(len(p)-1)/(n-1)])
	}
	return out
}
