package fusion

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/optimize"
)

// The decision-level (late) strategies. Each combines the unimodal probability
// vectors of the modalities present in a row, optionally calibrated first (per
// modality, on out-of-fold probabilities):
//
//	late-mean      the mean of the vectors
//	late-weighted  a weighted mean over the modalities present; the weights are given
//	               in the spec, or learned by minimising the out-of-fold log loss over
//	               the simplex
//	late-max       the elementwise maximum, renormalised
//	late-product   the product, renormalised (computed in log space)
//	late-geomean   the geometric mean, renormalised: the product tempered by 1/n
//	vote           majority vote of the modalities' predicted classes; the output is
//	               the vote share, and ties go to the lowest class (tie_rule: lowest)
//	               or to the highest mean probability (tie_rule: mean)
//	rank-average   each probability replaced by its rank among the training rows'
//	               out-of-fold probabilities for that class (an empirical CDF), the
//	               ranks averaged and renormalised: for scores on different scales
//	noisy-or       binary tasks: P(positive) = 1 − Π(1 − p_m(positive))
//
// A missing modality drops out of the combination.
var lateRules = []string{"late-mean", "late-weighted", "late-max", "late-product", "late-geomean", "vote", "rank-average", "noisy-or"}

func init() {
	for _, rule := range lateRules {
		Register(rule, func(cfg Config) (Strategy, error) {
			switch cfg.TieRule {
			case "", "lowest", "mean":
			default:
				return nil, fmt.Errorf("%w: tie_rule %q: want lowest or mean", ErrConfig, cfg.TieRule)
			}
			if err := checkCalibration(cfg.Calibration); err != nil {
				return nil, err
			}
			return &late{cfg: cfg, rule: rule}, nil
		})
	}
}

type late struct {
	cfg  Config
	rule string
	p    *lateParams
}

type lateParams struct {
	Blocks      []string      `json:"blocks"`
	Classes     int           `json:"classes"`
	Calibrators []*Calibrator `json:"calibrators"`        // per block; null = uncalibrated
	Weights     []float64     `json:"weights,omitempty"`  // late-weighted, per block
	Ranks       [][][]float64 `json:"ranks,omitempty"`    // rank-average: per block, per class, sorted reference values
	TieRule     string        `json:"tie_rule,omitempty"` // vote
}

var (
	_ Strategy     = (*late)(nil)
	_ RowPredictor = (*late)(nil)
)

func (s *late) Name() string { return s.cfg.Name }

func (s *late) NeedsOOF() bool {
	cal := s.cfg.Calibration != "" && s.cfg.Calibration != "none"
	return cal || s.rule == "rank-average" || (s.rule == "late-weighted" && len(s.cfg.Weights) == 0)
}

// FixedRule: a late rule learns only calibrators, learned weights or rank
// references, each of which it fits on out-of-fold probabilities.
func (s *late) FixedRule() bool { return !s.NeedsOOF() }

// rankReference bounds the reference values kept per class for rank-average.
const rankReference = 1001

func (s *late) Fit(ctx context.Context, in *Inputs) error {
	idx, err := selectBlocks(in.Frame, s.cfg.Modalities)
	if err != nil {
		return err
	}
	k := in.Classes
	if s.rule == "noisy-or" && k != 2 {
		return fmt.Errorf("%w: noisy-or needs a binary task, not %d classes", ErrConfig, k)
	}
	p := &lateParams{Blocks: blockNames(in.Frame, idx), Classes: k, TieRule: s.cfg.TieRule}
	src := in.Unimodal
	if s.NeedsOOF() {
		if in.OOF == nil {
			return fmt.Errorf("%w: %s needs out-of-fold probabilities", ErrShape, s.rule)
		}
		src = in.OOF
	}
	// Calibrated out-of-fold probabilities of each block's training rows, gathered
	// only when something is learned from them (a plain rule needs none).
	cal := make([][]float64, len(idx))
	rows := make([][]int, len(idx))
	p.Calibrators = make([]*Calibrator, len(idx))
	if s.NeedsOOF() {
		if err := s.calibrate(in, idx, src, p, cal, rows); err != nil {
			return err
		}
	}
	switch s.rule {
	case "late-weighted":
		if len(s.cfg.Weights) > 0 {
			p.Weights, err = fixedWeights(s.cfg.Weights, p.Blocks)
		} else {
			p.Weights, err = learnWeights(ctx, in, idx, src, p.Calibrators)
		}
		if err != nil {
			return err
		}
	case "rank-average":
		p.Ranks = make([][][]float64, len(idx))
		for j := range idx {
			p.Ranks[j] = make([][]float64, k)
			for c := 0; c < k; c++ {
				vals := make([]float64, len(rows[j]))
				for r := range rows[j] {
					vals[r] = cal[j][r*k+c]
				}
				sort.Float64s(vals)
				p.Ranks[j][c] = thin(vals, rankReference)
			}
		}
	}
	s.p = p
	return nil
}

// calibrate fits each block's calibrator on its training rows' out-of-fold
// probabilities, leaving the calibrated probabilities in cal and the rows in rows.
func (s *late) calibrate(in *Inputs, idx []int, src [][]float32, p *lateParams, cal [][]float64, rows [][]int) error {
	k := in.Classes
	for j, b := range idx {
		rows[j] = in.TrainRows(in.Blocks[b].Present)
		probs := make([]float64, 0, len(rows[j])*k)
		y := make([]int32, len(rows[j]))
		for r, i := range rows[j] {
			probs = appendWide(probs, src[b][i*k:(i+1)*k])
			y[r] = in.Label[i]
		}
		c, err := fitCalibrator(s.cfg.Calibration, probs, y, k)
		if err != nil {
			return err
		}
		p.Calibrators[j] = c
		for r := range rows[j] {
			c.Apply(probs[r*k:(r+1)*k], probs[r*k:(r+1)*k])
		}
		cal[j] = probs
	}
	return nil
}

func fixedWeights(given map[string]float64, blocks []string) ([]float64, error) {
	w := make([]float64, len(blocks))
	for name := range given {
		if !slices.Contains(blocks, name) {
			return nil, fmt.Errorf("%w: weights name %q, which the strategy does not use (%v)", ErrConfig, name, blocks)
		}
	}
	total := 0.0
	for j, name := range blocks {
		w[j] = 1 // unlisted modalities weigh 1
		if v, ok := given[name]; ok {
			w[j] = v
		}
		if w[j] < 0 || math.IsNaN(w[j]) {
			return nil, fmt.Errorf("%w: weight %v for %q: weights must be non-negative", ErrConfig, w[j], name)
		}
		total += w[j]
	}
	if total == 0 {
		return nil, fmt.Errorf("%w: every weight is zero", ErrConfig)
	}
	return w, nil
}

// learnWeights minimises the mean out-of-fold log loss of the weighted mean over the
// simplex, with w = softmax(θ).
func learnWeights(ctx context.Context, in *Inputs, idx []int, src [][]float32, cals []*Calibrator) ([]float64, error) {
	k, m := in.Classes, len(idx)
	rows := in.TrainRows(nil)
	// Calibrated probability of the true class, per row and block (NaN = absent).
	pt := make([]float64, len(rows)*m)
	tmp, row := make([]float64, k), make([]float64, k)
	any := false
	for r, i := range rows {
		for j, b := range idx {
			pt[r*m+j] = math.NaN()
			if in.Blocks[b].Present[i] {
				cals[j].Apply(widen(row, src[b][i*k:(i+1)*k]), tmp)
				pt[r*m+j] = tmp[in.Label[i]]
				any = true
			}
		}
	}
	if !any {
		return nil, ErrNoTrainingRows
	}
	loss := weightsLoss(pt, len(rows), m)
	problem := optimize.Problem{
		Func:   func(x []float64) float64 { return loss(x, nil) },
		Grad:   func(g, x []float64) { loss(x, g) },
		Status: stopOnCancel(ctx),
	}
	res, err := optimize.Minimize(problem, make([]float64, m), &optimize.Settings{GradientThreshold: 1e-9, MajorIterations: 200}, &optimize.LBFGS{})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if res == nil {
		return nil, fmt.Errorf("fusion: learning weights: %v", err)
	}
	out := append([]float64(nil), res.X...)
	softmax(out)
	return out, nil
}

// weightsLoss is learnWeights' objective over θ (w = softmax(θ)) and its
// gradient: the mean over n rows of −log(max(Σ_j w_j p_j / Σ_j w_j, probFloor)),
// the sums over the modalities present (pt holds each row's m probabilities of
// the true class, NaN where absent; a row with none adds 0).
func weightsLoss(pt []float64, n, m int) func(theta, grad []float64) float64 {
	w := make([]float64, m)
	return func(theta, grad []float64) float64 {
		copy(w, theta)
		softmax(w)
		total := 0.0
		if grad != nil {
			clear(grad)
		}
		gw := make([]float64, m)
		for r := 0; r < n; r++ {
			var num, den float64
			for j := 0; j < m; j++ {
				if v := pt[r*m+j]; !math.IsNaN(v) {
					num += w[j] * v
					den += w[j]
				}
			}
			if den == 0 {
				continue
			}
			q := max(num/den, probFloor)
			total -= math.Log(q)
			for j := 0; j < m; j++ {
				if v := pt[r*m+j]; !math.IsNaN(v) {
					gw[j] -= (v - q) / (den * q)
				}
			}
		}
		if grad != nil {
			// Through the softmax: dL/dθ_i = w_i (g_i − Σ_j w_j g_j).
			dot := 0.0
			for j := range gw {
				dot += w[j] * gw[j]
			}
			for j := range grad {
				grad[j] = w[j] * (gw[j] - dot) / float64(n)
			}
		}
		return total / float64(n)
	}
}

// thin keeps at most n evenly spaced values of a sorted slice (ends included).
func thin(sorted []float64, n int) []float64 {
	if len(sorted) <= n {
		return sorted
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = sorted[i*(len(sorted)-1)/(n-1)]
	}
	return out
}

// ecdf is the mid-rank empirical CDF of x among the sorted reference values.
func ecdf(ref []float64, x float64) float64 {
	if len(ref) == 0 {
		return 0.5
	}
	lo := sort.SearchFloat64s(ref, x)
	hi := lo
	for hi < len(ref) && ref[hi] == x {
		hi++
	}
	return (float64(lo) + float64(hi)) / 2 / float64(len(ref))
}

func (s *late) Predict(ctx context.Context, in *Inputs, out []float64) error {
	idx, err := s.blocks(in)
	if err != nil {
		return err
	}
	k := in.Classes
	return forRows(ctx, in.Rows, func(lo, hi int) error {
		return s.predictRows(in, idx, lo, hi, out[lo*k:hi*k])
	})
}

// PredictRows writes rows lo…hi−1's probabilities into out (RowPredictor): a
// late rule's row depends on that row's unimodal probabilities alone.
func (s *late) PredictRows(in *Inputs, lo, hi int, out []float64) error {
	idx, err := s.blocks(in)
	if err != nil {
		return err
	}
	return s.predictRows(in, idx, lo, hi, out)
}

// blocks is the fitted rule's blocks in in's frame, checked against the fit.
func (s *late) blocks(in *Inputs) ([]int, error) {
	if s.p == nil {
		return nil, ErrNotFitted
	}
	idx, err := selectBlocks(in.Frame, s.p.Blocks)
	if err != nil {
		return nil, err
	}
	if in.Classes != s.p.Classes {
		return nil, fmt.Errorf("%w: %d classes, the strategy was fitted on %d", ErrShape, in.Classes, s.p.Classes)
	}
	return idx, nil
}

// predictRows writes rows lo…hi−1 into out, row i at (i−lo)·k.
func (s *late) predictRows(in *Inputs, idx []int, lo, hi int, out []float64) error {
	if s.rule == "late-mean" && !slices.ContainsFunc(s.p.Calibrators, func(c *Calibrator) bool { return c != nil }) {
		return meanRows(in, idx, lo, hi, out)
	}
	return s.ruleRows(in, idx, lo, hi, out)
}

// ruleRows is predictRows for any rule.
func (s *late) ruleRows(in *Inputs, idx []int, lo, hi int, out []float64) error {
	p, k := s.p, in.Classes
	buf, wide := make([]float64, k), make([]float64, k)
	acc := make([]float64, k)
	mean := make([]float64, k)
	for i := lo; i < hi; i++ {
		dst := out[(i-lo)*k : (i-lo+1)*k]
		n := 0
		clear(acc)
		clear(mean)
		wsum := 0.0
		for j, b := range idx {
			if !in.Blocks[b].Present[i] {
				continue
			}
			vec := p.modality(j, widen(wide, in.Unimodal[b][i*k:(i+1)*k]), buf)
			n++
			switch s.rule {
			case "late-mean":
				axpy(acc, 1, vec)
			case "late-weighted":
				axpy(acc, p.Weights[j], vec)
				wsum += p.Weights[j]
			case "late-max":
				for c, v := range vec {
					if n == 1 || v > acc[c] {
						acc[c] = v
					}
				}
			case "late-product", "late-geomean":
				for c, v := range vec {
					acc[c] += math.Log(max(v, probFloor))
				}
			case "vote":
				acc[argmax(vec)]++
				axpy(mean, 1, vec)
			case "rank-average":
				for c, v := range vec {
					acc[c] += ecdf(p.Ranks[j][c], v)
				}
			case "noisy-or":
				if n == 1 {
					acc[0] = 1
				}
				acc[0] *= 1 - vec[1] // probability that no modality fires
			}
		}
		if n == 0 {
			return noModality(i)
		}
		switch s.rule {
		case "late-weighted":
			if wsum == 0 { // only zero-weight modalities present: fall back to the mean
				for j, b := range idx {
					if in.Blocks[b].Present[i] {
						axpy(acc, 1, p.modality(j, widen(wide, in.Unimodal[b][i*k:(i+1)*k]), buf))
					}
				}
			}
			normalise(acc, dst)
		case "late-product":
			expNormalise(acc, 1, dst)
		case "late-geomean":
			expNormalise(acc, 1/float64(n), dst)
		case "vote":
			// Vote shares; with tie_rule mean, half the mean probability is added
			// first, which breaks ties between equal counts and never overturns a
			// difference of one vote.
			if p.TieRule == "mean" {
				axpy(acc, 0.5/float64(n), mean)
			}
			normalise(acc, dst)
		case "noisy-or":
			dst[0], dst[1] = acc[0], 1-acc[0]
		default:
			normalise(acc, dst)
		}
	}
	return nil
}

// meanRows is predictRows for an uncalibrated late-mean, the most used rule,
// without the per-block rule switch and copies: the same sums in the same
// order, so the same bits. Rows are evaluated and written from it more than
// once (a late rule is computed when read). A row of up to three present
// blocks is summed and checked in one loop over its classes — each class's sum
// is its blocks' values added in block order, as the rule loop adds them, and
// normalise's sum is then taken class by class in the same loop — instead of a
// pass over the row per block and one more for the sum (in
// BenchmarkLatePredictRows/late-mean, 4.14 G -> 2.95 G instructions); a row of
// three, the usual one, two classes at a time on amd64 (meanRow3).
func meanRows(in *Inputs, idx []int, lo, hi int, out []float64) error {
	k := in.Classes
	present, uni := make([][]bool, len(idx)), make([][]float32, len(idx))
	for j, b := range idx {
		present[j], uni[j] = in.Blocks[b].Present, in.Unimodal[b]
	}
	which := make([]int, len(idx)) // which[:n]: the blocks present in row i
	for i := lo; i < hi; i++ {
		dst := out[(i-lo)*k : (i-lo+1)*k]
		n := 0
		for j, p := range present {
			if p[i] {
				which[n] = j
				n++
			}
		}
		row := func(j int) []float32 { return uni[which[j]][i*k : i*k+len(dst)] } // the j-th present block's
		s := 0.0
		switch n { // 0 + v, as the rule loop's cleared sum has it (−0 becomes +0)
		case 0:
			return noModality(i)
		case 1:
			a := row(0)
			for c := range dst {
				s += setMass(dst, c, 0+float64(a[c]))
			}
		case 2:
			a, b := row(0), row(1)
			for c := range dst {
				s += setMass(dst, c, 0+float64(a[c])+float64(b[c]))
			}
		case 3: // the usual row: two classes at a time on amd64, divided too
			if s = meanRow3(row(0), row(1), row(2), dst); s != 0 {
				continue
			}
		default:
			for c, v := range row(0) {
				dst[c] = 0 + float64(v)
			}
			for j := 1; j < n; j++ {
				for c, v := range row(j) {
					dst[c] += float64(v)
				}
			}
			for c, x := range dst {
				s += setMass(dst, c, x)
			}
		}
		if s == 0 {
			for c := range dst {
				dst[c] = 1 / float64(len(dst))
			}
			continue
		}
		for c := range dst {
			dst[c] /= s
		}
	}
	return nil
}

// setMass stores x as class c's mass in dst, as normalise counts it — 0 for a
// negative, NaN or infinite x — and returns it for the row's sum.
func setMass(dst []float64, c int, x float64) float64 {
	if !(x > 0 && x <= math.MaxFloat64) {
		x = 0
	}
	dst[c] = x
	return x
}

// modality returns block j's probabilities for one row: the unimodal row itself
// when the block is uncalibrated (no copy on the plain rules' hot path), else its
// calibration written into buf.
func (p *lateParams) modality(j int, row, buf []float64) []float64 {
	c := p.Calibrators[j]
	if c == nil {
		return row
	}
	c.Apply(row, buf)
	return buf
}

// expNormalise writes softmax(scale · logs) into dst.
func expNormalise(logs []float64, scale float64, dst []float64) {
	for c, v := range logs {
		dst[c] = v * scale
	}
	softmax(dst)
}

func argmax(p []float64) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

func (s *late) Artifact() Artifact {
	if s.p == nil {
		return artifact(s.cfg, nil, 0, nil)
	}
	return artifact(s.cfg, s.p.Blocks, s.p.Classes, s.p)
}

func (s *late) Restore(params json.RawMessage) error {
	var p lateParams
	if err := restore(params, &p); err != nil {
		return err
	}
	if len(p.Calibrators) != len(p.Blocks) {
		return fmt.Errorf("%d calibrators for %d blocks", len(p.Calibrators), len(p.Blocks))
	}
	s.p = &p
	return nil
}
