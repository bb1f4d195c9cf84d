package eval

import "math"

// TopK accumulates top-k accuracy: the share of rows whose true class is among the
// k most probable. Ties rank as scikit-learn's stable argsort, reversed, ranks them:
// among equal probabilities the higher class index comes first.
type TopK struct {
	K    int
	Hits int64
	Rows int64
}

// Add records one row.
func (t *TopK) Add(probs []float64, label int) {
	p := probs[label]
	ahead := 0
	// Counted without a branch per class (random probabilities mispredict).
	for j, v := range probs {
		ahead += b2i(v > p) + b2i(v == p)&b2i(j > label)
	}
	t.addAhead(ahead)
}

// addAhead records a row whose true class has ahead classes ranked before it.
func (t *TopK) addAhead(ahead int) {
	if ahead < t.K {
		t.Hits++
	}
	t.Rows++
}

// Merge adds another accumulator's rows.
func (t *TopK) Merge(o *TopK) { t.Hits += o.Hits; t.Rows += o.Rows }

// Result is the top-k accuracy (NaN for no rows).
func (t *TopK) Result() float64 {
	if t.Rows == 0 {
		return math.NaN()
	}
	return float64(t.Hits) / float64(t.Rows)
}

// Brier accumulates the Brier score: the mean over rows of Σ_k (p_k − y_k)². For a
// binary task it is reported, as scikit-learn's brier_score_loss does, on the
// positive class alone: (p_1 − y)², half the two-class sum.
type Brier struct {
	sum  fixedSum
	Rows int64
}

// Add records one row.
func (b *Brier) Add(probs []float64, label int) {
	if len(probs) == 2 {
		y := 0.0
		if label == 1 {
			y = 1
		}
		d := probs[1] - y
		b.sum.add(d * d)
	} else {
		s := 0.0
		for k, v := range probs {
			if k == label {
				v--
			}
			s += v * v
		}
		b.sum.add(s)
	}
	b.Rows++
}

// Merge adds another accumulator's rows.
func (b *Brier) Merge(o *Brier) { b.sum.merge(o.sum); b.Rows += o.Rows }

// Result is the Brier score (NaN for no rows).
func (b *Brier) Result() float64 {
	if b.Rows == 0 {
		return math.NaN()
	}
	return b.sum.value() / float64(b.Rows)
}

// CalibrationBins is the number of equal-width bins of the top-class probability
// used by expected calibration error.
const CalibrationBins = 15

// Calibration accumulates the reliability diagram: per equal-width bin of the
// top-class probability, the rows, their mean confidence and their accuracy.
type Calibration struct {
	Count   [CalibrationBins]int64
	Correct [CalibrationBins]int64
	conf    [CalibrationBins]fixedSum
}

// Add records one row; the prediction is Argmax(probs).
func (c *Calibration) Add(probs []float64, label int) {
	pred := Argmax(probs)
	c.addPredicted(probs[pred], pred, label)
}

// addPredicted records one row by its prediction and that class's probability p.
func (c *Calibration) addPredicted(p float64, pred, label int) {
	y := p * CalibrationBins
	var b int // bins (i/15, (i+1)/15], the first closed: ⌈y⌉ − 1, clamped
	if y >= 0 && y <= CalibrationBins {
		b = int(y) // ⌈y⌉ by truncation and the fraction: no call to math.Ceil
		if float64(b) < y {
			b++
		}
		b--
	} else {
		b = int(math.Ceil(y)) - 1
	}
	b = min(max(b, 0), CalibrationBins-1)
	c.Count[b]++
	c.conf[b].add(p)
	if pred == label {
		c.Correct[b]++
	}
}

// Merge adds another accumulator's rows.
func (c *Calibration) Merge(o *Calibration) {
	for b := range c.Count {
		c.Count[b] += o.Count[b]
		c.Correct[b] += o.Correct[b]
		c.conf[b].merge(o.conf[b])
	}
}

// ReliabilityBin is one bin of a reliability diagram.
type ReliabilityBin struct {
	Lo, Hi     float64
	Rows       int64
	Confidence float64 // mean top-class probability (NaN when empty)
	Accuracy   float64 // share correct (NaN when empty)
}

// Result returns the expected calibration error, Σ_b (n_b/N)·|acc_b − conf_b|, and
// the bins.
func (c *Calibration) Result() (float64, []ReliabilityBin) {
	var n int64
	for _, v := range c.Count {
		n += v
	}
	bins := make([]ReliabilityBin, CalibrationBins)
	ece := 0.0
	for b := range bins {
		bins[b] = ReliabilityBin{Lo: float64(b) / CalibrationBins, Hi: float64(b+1) / CalibrationBins, Rows: c.Count[b],
			Confidence: math.NaN(), Accuracy: math.NaN()}
		if c.Count[b] == 0 {
			continue
		}
		bins[b].Confidence = c.conf[b].value() / float64(c.Count[b])
		bins[b].Accuracy = float64(c.Correct[b]) / float64(c.Count[b])
		ece += float64(c.Count[b]) / float64(n) * math.Abs(bins[b].Accuracy-bins[b].Confidence)
	}
	if n == 0 {
		ece = math.NaN()
	}
	return ece, bins
}

// b2i is 1 for true and 0 for false, compiled to a flag set (SETcc), not a branch.
func b2i(b bool) int {
	var i int
	if b {
		i = 1
	}
	return i
}
