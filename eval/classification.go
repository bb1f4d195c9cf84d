package eval

import (
	"fmt"
	"math"
)

// Argmax returns the index of the largest value, the lowest index on ties. It is
// written so that the compiler emits conditional moves rather than branches, which
// random probabilities mispredict (2.6x faster; it runs once per row and
// classifier). Probabilities are never NaN (the fusion conformance suite checks).
func Argmax[T float32 | float64](p []T) int {
	best, bv := 0, p[0]
	for i, v := range p[1:] {
		better := v > bv
		bv = max(bv, v)
		if better {
			best = i + 1
		}
	}
	return best
}

// Confusion accumulates a confusion matrix: M[true*K+pred].
type Confusion struct {
	K int
	M []int64
}

// NewConfusion returns an empty confusion matrix over k classes.
func NewConfusion(k int) *Confusion { return &Confusion{K: k, M: make([]int64, k*k)} }

// Add records one row.
func (c *Confusion) Add(label, pred int) { c.M[label*c.K+pred]++ }

// Merge adds another matrix's counts.
func (c *Confusion) Merge(o *Confusion) error {
	if o.K != c.K {
		return ErrClassCount
	}
	for i, v := range o.M {
		c.M[i] += v
	}
	return nil
}

// Rows returns a copy as a K×K matrix (rows are true classes).
func (c *Confusion) Rows() [][]int64 {
	out := make([][]int64, c.K)
	for i := range out {
		out[i] = append([]int64(nil), c.M[i*c.K:(i+1)*c.K]...)
	}
	return out
}

// ClassReport is every metric that a confusion matrix determines.
type ClassReport struct {
	N                 int64
	Accuracy          float64
	BalancedAccuracy  float64
	PrecisionPerClass []float64
	RecallPerClass    []float64
	F1PerClass        []float64
	SupportPerClass   []int64
	PrecisionMacro    float64
	RecallMacro       float64
	F1Macro           float64
	PrecisionMicro    float64
	RecallMicro       float64
	F1Micro           float64
	PrecisionWeighted float64
	RecallWeighted    float64
	F1Weighted        float64
	MCC               float64
	CohenKappa        float64
}

// Result computes the metrics. Empty input gives NaN accuracy.
func (c *Confusion) Result() ClassReport {
	k := c.K
	r := ClassReport{
		PrecisionPerClass: make([]float64, k),
		RecallPerClass:    make([]float64, k),
		F1PerClass:        make([]float64, k),
		SupportPerClass:   make([]int64, k),
	}
	tp := make([]float64, k)
	predCount := make([]float64, k)
	trueCount := make([]float64, k)
	var n, correct float64
	for t := 0; t < k; t++ {
		for p := 0; p < k; p++ {
			v := float64(c.M[t*k+p])
			n += v
			trueCount[t] += v
			predCount[p] += v
			if t == p {
				tp[t] = v
				correct += v
			}
		}
	}
	r.N = int64(n)
	r.Accuracy = safeDiv(correct, n)
	if n == 0 {
		r.Accuracy = math.NaN()
	}
	var recallSum float64
	var present int
	for i := 0; i < k; i++ {
		r.SupportPerClass[i] = int64(trueCount[i])
		r.PrecisionPerClass[i] = safeDiv(tp[i], predCount[i])
		r.RecallPerClass[i] = safeDiv(tp[i], trueCount[i])
		r.F1PerClass[i] = safeDiv(2*tp[i], predCount[i]+trueCount[i])
		r.PrecisionMacro += r.PrecisionPerClass[i] / float64(k)
		r.RecallMacro += r.RecallPerClass[i] / float64(k)
		r.F1Macro += r.F1PerClass[i] / float64(k)
		w := safeDiv(trueCount[i], n)
		r.PrecisionWeighted += w * r.PrecisionPerClass[i]
		r.RecallWeighted += w * r.RecallPerClass[i]
		r.F1Weighted += w * r.F1PerClass[i]
		if trueCount[i] > 0 {
			recallSum += r.RecallPerClass[i]
			present++
		}
	}
	// scikit-learn's balanced accuracy averages recall over the classes that occur.
	r.BalancedAccuracy = safeDiv(recallSum, float64(present))
	// Every row is predicted exactly once, so micro precision = recall = accuracy.
	r.PrecisionMicro, r.RecallMicro, r.F1Micro = r.Accuracy, r.Accuracy, r.Accuracy
	if n == 0 {
		r.PrecisionMicro, r.RecallMicro, r.F1Micro = 0, 0, 0
	}

	// Matthews correlation, multiclass form (Gorodkin), as scikit-learn computes it.
	var sumPT, sumPP, sumTT float64
	for i := 0; i < k; i++ {
		sumPT += predCount[i] * trueCount[i]
		sumPP += predCount[i] * predCount[i]
		sumTT += trueCount[i] * trueCount[i]
	}
	cov := correct*n - sumPT
	den := math.Sqrt((n*n - sumPP) * (n*n - sumTT))
	r.MCC = safeDiv(cov, den)

	// Cohen's kappa: (po - pe) / (1 - pe); undefined (NaN, as scikit-learn
	// gives it) when chance agreement is certain: one class, or one row.
	po := safeDiv(correct, n)
	pe := safeDiv(sumPT, n*n)
	r.CohenKappa = math.NaN()
	if pe != 1 {
		r.CohenKappa = (po - pe) / (1 - pe)
	}
	return r
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// logLossEps is where log loss clips probabilities: scikit-learn 1.2's
// eps="auto", the float64 machine epsilon.
const logLossEps = 0x1p-52

// LogLoss accumulates the mean negative log-likelihood of the true class. As in
// scikit-learn 1.2, each probability is clipped to [eps, 1-eps] (logLossEps) and
// the row is renormalised to sum to 1 before the log is taken.
type LogLoss struct {
	sum  fixedSum
	Rows int64
}

// Add records one row: the class probabilities and the true class.
func (l *LogLoss) Add(probs []float64, label int) {
	l.addTerm(logLossTerm(probs, label))
}

// logLossTerm is a row's term of the log loss.
func logLossTerm(probs []float64, label int) float64 {
	return -math.Log(clippedTrueProb(probs, label))
}

// addTerm adds a row by its term (logLossTerm): a row whose term another
// accumulator computed too.
func (l *LogLoss) addTerm(term float64) {
	l.sum.add(term)
	l.Rows++
}

// Merge adds another accumulator's rows.
func (l *LogLoss) Merge(o *LogLoss) {
	l.sum.merge(o.sum)
	l.Rows += o.Rows
}

// Result is the mean log loss (NaN for no rows).
func (l *LogLoss) Result() float64 {
	if l.Rows == 0 {
		return math.NaN()
	}
	return l.sum.value() / float64(l.Rows)
}

// Classification bundles the accumulators lakefuse reports for each strategy and
// split: the confusion matrix (and all it determines), log loss, Brier score, top-2
// accuracy, the reliability diagram, and one-vs-rest rankings for ROC AUC and
// average precision (one ranking on the positive class for a binary task).
type Classification struct {
	Confusion   *Confusion
	LogLoss     LogLoss
	Brier       Brier
	Top2        TopK
	Calibration Calibration
	Rankings    []*Ranking
}

// NewClassification returns an empty accumulator for k classes whose rankings stay
// exact up to DefaultExactLimit rows.
func NewClassification(k int) *Classification { return NewClassificationLimit(k, 0) }

// NewClassificationLimit is NewClassification with the rankings' exact limit.
// A negative limit leaves the rankings out: the caller ranks separately (see
// Evaluate) and sets Rankings before calling Ranks or Metrics.
func NewClassificationLimit(k, exactLimit int) *Classification {
	c := &Classification{Confusion: NewConfusion(k), Top2: TopK{K: 2}}
	if exactLimit < 0 {
		return c
	}
	c.Rankings = newRankings(k, exactLimit, 0)
	return c
}

// newRankings returns the one-vs-rest rankings of k classes (one for a binary
// problem), each with room for rows pairs up to its exact limit — or, for more
// rows than that, already a histogram: the pairs would become one at the limit,
// with the same bins (on 2M rows, 24 MB of pairs per classifier never held).
func newRankings(k, exactLimit, rows int) []*Ranking {
	n := k
	if k == 2 {
		n = 1
	}
	out := make([]*Ranking, n)
	for i := range out {
		out[i] = NewRanking(exactLimit)
		if rows > out[i].Limit {
			out[i].toHistogram()
		} else if rows > 0 {
			out[i].scores, out[i].labels = make([]float64, 0, rows), make([]bool, 0, rows)
		}
	}
	return out
}

// Add records one scored row; the prediction is Argmax(probs).
func (c *Classification) Add(probs []float64, label int) {
	c.AddPredicted(probs, Argmax(probs), label)
}

// AddPredicted is Add for a caller that already has pred = Argmax(probs).
func (c *Classification) AddPredicted(probs []float64, pred, label int) {
	t := termsOf(probs, label, nil)
	t.pred, t.top = pred, probs[pred]
	c.addTerms(probs, &t, label)
}

// rowTerms is what a row's accumulators take from its probabilities and its
// true class: the prediction and its probability, the log loss term, the
// Brier term and how many classes rank ahead of the true class (TopK).
type rowTerms struct {
	pred    int
	top     float64 // probs[pred]
	logLoss float64
	brier   float64
	ahead   int
}

// termsOf computes a row's terms in one loop over its probabilities, as
// Argmax, logLossTerm, Brier.Add and TopK.Add compute them in loops of their
// own — each sum in the same order, so to the same bit. Those four loops over
// ten classes were half of a 2M-row evaluation's per-row work. Unless bins is
// nil, the same loop stores each class's rank bin (rankBin) in bins[c], for a
// rankTally. A float32 row is read as float64, as a float64 copy of it would
// be: the evaluation pass reads a stored row where it is.
func termsOf[T float32 | float64](probs []T, label int, bins []uint16) rowTerms {
	var t rowTerms
	termsInto(probs, label, bins, &t)
	t.logLoss = -math.Log(t.logLoss)
	return t
}

// termsInto is termsOf but for the log loss term's log, storing the terms in
// *t field by field. Its logLoss is the argument of the log (the label's
// clipped probability over the row's clipped sum), for the evaluation pass to
// take the logs of a row's classifiers together (logPair). Returned by value,
// the 40-byte struct came back in registers, was spilled and copied on in
// 16-byte moves that read two 8-byte stores at once — a load the store buffer
// cannot forward, which stalled the pass: those copies were a third of its own
// samples (perf annotate, 2M bench).
func termsInto[T float32 | float64](probs []T, label int, bins []uint16, t *rowTerms) {
	p := float64(probs[label]) // and label is in the row, for the assembly
	if bins != nil {
		bins = bins[:len(probs)]
	}
	var clipped, sq float64
	var ahead, best int
	switch row := any(probs).(type) {
	case []float32:
		clipped, sq, ahead, best = rowSums32(row, label, bins)
	case []float64:
		clipped, sq, ahead, best = rowSums64(row, label, bins)
	}
	if clipped != clipped { // a NaN: the Go loop's comparisons and max are the reference
		clipped, sq, ahead, best = rowSums(probs, label, bins)
	}
	if len(probs) == 2 { // Brier.Add's binary form: the positive class only
		y := 0.0
		if label == 1 {
			y = 1
		}
		d := float64(probs[1]) - y
		sq = d * d
	}
	t.pred, t.top, t.logLoss, t.brier, t.ahead = best, float64(probs[best]), clipProb(p)/clipped, sq, ahead
}

// rowSums is termsOf's loop over a row's classes, in Go: the sum of the clipped
// probabilities (clipProb), the sum of squared errors against the label's
// one-hot row, how many classes rank ahead of the label (TopK), the first
// class of the largest probability (Argmax) and, with bins, each class's rank
// bin. On amd64, rowSums32 and rowSums64 are this loop in assembly: the Go
// compiler's code took about 75 instructions a class, with a mispredicted
// branch at the label and at each new maximum
// (TestRowSumsAssemblyIsTheGoLoop holds them to the same bits).
func rowSums[T float32 | float64](probs []T, label int, bins []uint16) (clipped, sq float64, ahead, best int) {
	p := float64(probs[label])
	bv := float64(probs[0])
	binned := bins != nil
	if binned {
		bins = bins[:len(probs)]
	}
	for j, x := range probs {
		v := float64(x)
		clipped += clipProb(v)
		d := v
		if j == label {
			d--
		}
		sq += d * d
		ahead += b2i(v > p) + b2i(v == p)&b2i(j > label) // TopK.Add's count
		better := v > bv                                 // Argmax's
		bv = max(bv, v)
		if better {
			best = j
		}
		if binned {
			bins[j] = uint16(rankBin(v))
		}
	}
	return clipped, sq, ahead, best
}

// addTerms records one row by its terms (termsOf), read through a pointer for
// the reason termsInto writes through one.
func (c *Classification) addTerms(probs []float64, t *rowTerms, label int) {
	c.Confusion.Add(label, t.pred)
	c.LogLoss.addTerm(t.logLoss)
	c.Brier.sum.add(t.brier)
	c.Brier.Rows++
	c.Top2.addAhead(t.ahead)
	c.Calibration.addPredicted(t.top, t.pred, label)
	c.addRanks(probs, label)
}

func (c *Classification) addRanks(probs []float64, label int) {
	if len(c.Rankings) == 1 {
		c.Rankings[0].Add(probs[1], label == 1)
		return
	}
	for k, r := range c.Rankings {
		if r.pos != nil { // a histogram already: Add's first case, without the call
			r.result = nil
			r.addBin(probs[k], label == k, 1)
			continue
		}
		r.Add(probs[k], label == k)
	}
}

// Merge combines another accumulator into c.
func (c *Classification) Merge(o *Classification) error {
	if err := c.Confusion.Merge(o.Confusion); err != nil {
		return err
	}
	c.LogLoss.Merge(&o.LogLoss)
	c.Brier.Merge(&o.Brier)
	c.Top2.Merge(&o.Top2)
	c.Calibration.Merge(&o.Calibration)
	for i, r := range c.Rankings {
		if i < len(o.Rankings) {
			r.Merge(o.Rankings[i])
		}
	}
	return nil
}

// Ranks returns ROC AUC and average precision: for a binary task on the positive
// class; for more classes one-vs-rest, averaged over classes (macro) and weighted by
// their support (weighted). As in scikit-learn 1.2, ROC AUC is defined only when
// every class occurs, while a class without positive rows counts as average
// precision 0 in the macro average. bound is the largest error bound of the
// approximations involved (0 when exact).
func (c *Classification) Ranks() (auc, aucWeighted, ap float64, bound float64, perClass []RankResult) {
	for _, r := range c.Rankings {
		perClass = append(perClass, r.Result())
	}
	if len(perClass) == 1 {
		r := perClass[0]
		return r.AUC, r.AUC, r.AP, max(r.AUCBound, r.APBound), perClass
	}
	for _, r := range perClass {
		ap += r.AP / float64(len(perClass))
		bound = max(bound, r.APBound)
	}
	var total float64
	for _, r := range perClass {
		if r.Positives == 0 {
			return math.NaN(), math.NaN(), ap, bound, perClass
		}
		auc += r.AUC / float64(len(perClass))
		aucWeighted += r.AUC * float64(r.Positives)
		total += float64(r.Positives)
		bound = max(bound, r.AUCBound, r.APBound)
	}
	return auc, aucWeighted / total, ap, bound, perClass
}

// Metric is one named value, with the class it concerns (-1 for none).
type Metric struct {
	Name  string
	Class int
	Value float64
}

// Metrics flattens the result into long format.
func (c *Classification) Metrics() []Metric {
	r := c.Confusion.Result()
	ece, _ := c.Calibration.Result()
	auc, aucW, ap, bound, perClass := c.Ranks()
	out := []Metric{
		{"rows", -1, float64(r.N)},
		{"accuracy", -1, r.Accuracy},
		{"balanced_accuracy", -1, r.BalancedAccuracy},
		{"f1_macro", -1, r.F1Macro},
		{"precision_macro", -1, r.PrecisionMacro},
		{"recall_macro", -1, r.RecallMacro},
		{"f1_micro", -1, r.F1Micro},
		{"f1_weighted", -1, r.F1Weighted},
		{"precision_weighted", -1, r.PrecisionWeighted},
		{"recall_weighted", -1, r.RecallWeighted},
		{"mcc", -1, r.MCC},
		{"cohen_kappa", -1, r.CohenKappa},
		{"log_loss", -1, c.LogLoss.Result()},
		{"brier", -1, c.Brier.Result()},
		{"top_2_accuracy", -1, c.Top2.Result()},
		{"ece", -1, ece},
		{"roc_auc", -1, auc},
		{"roc_auc_weighted", -1, aucW},
		{"average_precision", -1, ap},
		{"rank_error_bound", -1, bound},
	}
	for i := 0; i < c.Confusion.K; i++ {
		out = append(out,
			Metric{"precision", i, r.PrecisionPerClass[i]},
			Metric{"recall", i, r.RecallPerClass[i]},
			Metric{"f1", i, r.F1PerClass[i]},
			Metric{"support", i, float64(r.SupportPerClass[i])},
		)
		if len(perClass) > 1 {
			out = append(out, Metric{"roc_auc_ovr", i, perClass[i].AUC}, Metric{"average_precision_ovr", i, perClass[i].AP})
		}
	}
	return out
}

func (m Metric) String() string {
	if m.Class < 0 {
		return fmt.Sprintf("%s=%.6g", m.Name, m.Value)
	}
	return fmt.Sprintf("%s[%d]=%.6g", m.Name, m.Class, m.Value)
}
