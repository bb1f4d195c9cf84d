package fusion

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"golang.org/x/sync/errgroup"
)

func init() {
	Register("evidential", func(cfg Config) (Strategy, error) {
		if cfg.Lambda < 0 {
			return nil, fmt.Errorf("%w: lambda %v: want a non-negative weight", ErrConfig, cfg.Lambda)
		}
		return &evidential{cfg: cfg}, nil
	})
}

// evidential is uncertainty-aware late fusion after Trusted Multi-View
// Classification (Han et al., ICLR 2021). Each modality has a linear evidential
// classifier: evidence e = softplus(W·x + b) ≥ 0 on its standardised features (a
// probs modality uses the log of its probabilities as features), Dirichlet
// parameters α = e + 1. It is trained with TMC's loss: the expected cross-entropy
// under Dir(α), ψ(S) − ψ(α_y) with S = Σα, plus lambda × KL(Dir(α̃) ‖ Dir(1)), where α̃
// removes the true class's evidence (TMC anneals this weight up to 1 over training;
// a full-batch fit uses its final value), plus the L2 penalty ‖W‖²/(2C).
//
// A modality's opinion is belief b_k = e_k/S and uncertainty u = K/S. The opinions
// of the modalities present are combined by the reduced Dempster's rule,
//
//	b_k = (b¹_k b²_k + b¹_k u² + b²_k u¹) / (1 − C),  u = u¹u² / (1 − C),
//	C = Σ_{i≠j} b¹_i b²_j,
//
// and the fused probabilities are α/S with S = K/u, α = b·S + 1. The fused
// uncertainty u is written next to the scores.
type evidential struct {
	cfg  Config
	p    *evidentialParams
	from *evidentialParams // where the fits start (FitFrom), or nil
}

// FitFrom fits each modality's classifier starting from from's (WarmFitter).
func (s *evidential) FitFrom(ctx context.Context, in *Inputs, from Strategy) error {
	if e, ok := from.(*evidential); ok {
		s.from = e.p
	}
	return s.Fit(ctx, in)
}

type evidentialParams struct {
	Blocks  []string           `json:"blocks"`
	Classes int                `json:"classes"`
	Models  []*evidentialModel `json:"models"`
}

// evidentialModel is one modality's linear evidential classifier.
type evidentialModel struct {
	Kind    string    `json:"kind"` // features, or probs (features are log probabilities)
	Dim     int       `json:"dim"`
	Mean    []float64 `json:"mean"`
	Scale   []float64 `json:"scale"`
	Weights []float64 `json:"weights"` // Classes×Dim
	Bias    []float64 `json:"bias"`
}

var (
	_ Strategy             = (*evidential)(nil)
	_ UncertaintyPredictor = (*evidential)(nil)
)

func (s *evidential) Name() string { return s.cfg.Name }

func (s *evidential) Fit(ctx context.Context, in *Inputs) error {
	idx, err := selectBlocks(in.Frame, s.cfg.Modalities)
	if err != nil {
		return err
	}
	lambda := s.cfg.Lambda
	if lambda == 0 {
		lambda = 1
	}
	c := s.cfg.C
	if c == 0 {
		c = 1
	}
	maxIter := s.cfg.MaxIter
	if maxIter == 0 {
		maxIter = 500
	}
	p := &evidentialParams{Blocks: blockNames(in.Frame, idx), Classes: in.Classes, Models: make([]*evidentialModel, len(idx))}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(len(idx))
	for j, b := range idx {
		g.Go(func() error {
			var init *evidentialModel
			if s.from != nil && j < len(s.from.Models) {
				init = s.from.Models[j]
			}
			m, err := fitEvidential(gctx, &in.Blocks[b], in.Frame, lambda, c, maxIter, init)
			if err != nil {
				return fmt.Errorf("modality %q: %w", in.Blocks[b].Name, err)
			}
			p.Models[j] = m
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	s.p = p
	return nil
}

// features writes the model's standardised input for block row i into dst.
func (m *evidentialModel) features(blk *Block, i int, dst []float64) {
	for j, x := range blk.Row(i) {
		v := float64(x)
		if m.Kind == "probs" {
			v = math.Log(max(v, probFloor))
		}
		dst[j] = (v - m.Mean[j]) / m.Scale[j]
	}
}

// evidence writes e = softplus(W·x + b) into e, and sigmoid(W·x + b) (its
// derivative) into de when not nil.
func (m *evidentialModel) evidence(x, e, de []float64) {
	for k := range e {
		z := m.Bias[k] + dot(m.Weights[k*m.Dim:(k+1)*m.Dim], x)
		e[k] = softplus(z)
		if de != nil {
			_, de[k] = softplusSigmoid(z)
		}
	}
}

// softplusSigmoid returns softplus(z) and its derivative, the logistic sigmoid,
// from one exponential.
func softplusSigmoid(z float64) (float64, float64) {
	t := expFast(-math.Abs(z)) // in (0, 1]
	if z >= 0 {
		return z + log1pUnit(t), 1 / (1 + t)
	}
	return log1pUnit(t), t / (1 + t)
}

func softplus(z float64) float64 {
	v, _ := softplusSigmoid(z)
	return v
}

// fitEvidential fits one modality's classifier, from init's parameters when it
// is a model of the same shape (else from zero).
func fitEvidential(ctx context.Context, blk *Block, f *Frame, lambda, c float64, maxIter int, init *evidentialModel) (*evidentialModel, error) {
	rows := f.TrainRows(blk.Present)
	if len(rows) == 0 {
		return nil, ErrNoTrainingRows
	}
	k, d, n := f.Classes, blk.Width, len(rows)
	m := &evidentialModel{Kind: blk.Kind.String(), Dim: d, Mean: make([]float64, d), Scale: make([]float64, d)}
	// Standardise (on log probabilities for a probs block).
	X := make([]float64, n*d)
	for r, i := range rows {
		for j, x := range blk.Row(i) {
			v := float64(x)
			if blk.Kind == Probs {
				v = math.Log(max(v, probFloor))
			}
			X[r*d+j] = v
			m.Mean[j] += v / float64(n)
		}
	}
	for r := 0; r < n; r++ {
		for j := 0; j < d; j++ {
			dv := X[r*d+j] - m.Mean[j]
			m.Scale[j] += dv * dv / float64(n)
		}
	}
	for j := range m.Scale {
		m.Scale[j] = math.Sqrt(m.Scale[j])
		if m.Scale[j] < 1e-12 || math.IsNaN(m.Scale[j]) {
			m.Scale[j] = 1
		}
	}
	for r := 0; r < n; r++ {
		for j := 0; j < d; j++ {
			X[r*d+j] = (X[r*d+j] - m.Mean[j]) / m.Scale[j]
		}
	}
	labels := make([]int32, n)
	for r, i := range rows {
		labels[r] = f.Label[i]
	}
	obj := newEvidentialObjective(X, labels, d, k, lambda, c)
	x0 := make([]float64, k*d+k)
	if init != nil && init.Kind == m.Kind && init.Dim == d && len(init.Bias) == k {
		restandardise(init.Weights, init.Bias, init.Mean, init.Scale, m.Mean, m.Scale, x0)
	}
	theta, _, err := obj.minimize(ctx, x0, defaultTol/float64(n), maxIter)
	if err != nil {
		return nil, fmt.Errorf("fusion: evidential fit: %w", err)
	}
	m.Weights = append([]float64(nil), theta[:k*d]...)
	m.Bias = append([]float64(nil), theta[k*d:]...)
	return m, nil
}

// newEvidentialObjective is the fit's loss over standardised rows X (n×d,
// row-major) with labels y: the mean over rows of the expected cross-entropy
// ψ(S) − ψ(α_y) plus lambda × KL(Dir(α̃) ‖ Dir(1)), plus ‖W‖²/(2Cn) — a
// linearObjective (the scores of all rows in one matrix product) with the
// evidential row loss.
func newEvidentialObjective(X []float64, y []int32, d, k int, lambda, c float64) *linearObjective {
	o := newLinearObjective(X, y, d, k, c)
	lgK, _ := math.Lgamma(float64(k))
	o.scratchLen = 2 * k
	o.rowLoss = func(z []float64, y int32, scratch []float64) float64 {
		e, de := scratch[:k], scratch[k:2*k]
		for kk, v := range z {
			e[kk], de[kk] = softplusSigmoid(v)
		}
		// Expected cross-entropy: ψ(S) − ψ(α_y).
		S, St := float64(k), 1.0 // S = Σα; St = Σα̃ (α̃_y = 1)
		for kk, v := range e {
			S += v
			if kk != int(y) {
				St += v + 1
			}
		}
		_, psiS, tS := gammaFns(S)
		lgSt, psiSt, tSt := gammaFns(St)
		_, psiY, tY := gammaFns(e[y] + 1)
		loss := psiS - psiY
		// KL(Dir(α̃) ‖ Dir(1)), and ∂ℓ/∂z_k = ∂ℓ/∂α_k · softplus'(z_k).
		kl := lgSt - lgK
		for kk, v := range e {
			g := tS // ∂/∂α_k of ψ(S)
			if kk == int(y) {
				g -= tY
			} else {
				a := v + 1
				lga, psiA, tA := gammaFns(a)
				kl += -lga + (a-1)*(psiA-psiSt)
				g += lambda * ((a-1)*tA - tSt*(St-float64(k)))
			}
			z[kk] = g * de[kk]
		}
		loss += lambda * kl
		return loss
	}
	return o
}

// evidentialObjective is newEvidentialObjective as a function of theta (W, then
// b) that writes the gradient into grad when it is not nil; m receives theta.
func evidentialObjective(m *evidentialModel, X []float64, labels []int, k int, lambda, c float64) func(theta, grad []float64) float64 {
	y := make([]int32, len(labels))
	for i, v := range labels {
		y[i] = int32(v)
	}
	o := newEvidentialObjective(X, y, m.Dim, k, lambda, c)
	return func(theta, grad []float64) float64 {
		m.Weights, m.Bias = theta[:k*m.Dim], theta[k*m.Dim:]
		o.haveLast = false
		o.eval(theta)
		if grad != nil {
			copy(grad, o.lastG)
		}
		return o.lastF
	}
}

func (s *evidential) Predict(ctx context.Context, in *Inputs, out []float64) error {
	return s.PredictUncertainty(ctx, in, out, nil)
}

// PredictUncertainty writes fused probabilities and, when uncertainty is not nil,
// the fused uncertainty mass of each row.
func (s *evidential) PredictUncertainty(ctx context.Context, in *Inputs, probs, uncertainty []float64) error {
	if s.p == nil {
		return ErrNotFitted
	}
	idx, err := selectBlocks(in.Frame, s.p.Blocks)
	if err != nil {
		return err
	}
	k := in.Classes
	if k != s.p.Classes {
		return fmt.Errorf("%w: %d classes, the strategy was fitted on %d", ErrShape, k, s.p.Classes)
	}
	for j, b := range idx {
		if in.Blocks[b].Width != s.p.Models[j].Dim {
			return fmt.Errorf("%w: modality %q has width %d, the model was fitted on %d", ErrShape, in.Blocks[b].Name, in.Blocks[b].Width, s.p.Models[j].Dim)
		}
	}
	maxDim := 0
	for _, m := range s.p.Models {
		maxDim = max(maxDim, m.Dim)
	}
	return forRows(ctx, in.Rows, func(lo, hi int) error {
		x := make([]float64, maxDim)
		e := make([]float64, k)
		b, b2 := make([]float64, k), make([]float64, k)
		for i := lo; i < hi; i++ {
			u, n := 1.0, 0
			for j, blk := range idx {
				if !in.Blocks[blk].Present[i] {
					continue
				}
				m := s.p.Models[j]
				x = x[:m.Dim]
				m.features(&in.Blocks[blk], i, x)
				m.evidence(x, e, nil)
				S := float64(k)
				for _, v := range e {
					S += v
				}
				u2 := float64(k) / S
				for c := range b2 {
					b2[c] = e[c] / S
				}
				if n == 0 {
					copy(b, b2)
					u = u2
				} else {
					b, u = dempster(b, u, b2, u2)
				}
				n++
			}
			if n == 0 {
				return noModality(i)
			}
			dst := probs[i*k : (i+1)*k]
			S := float64(k) / u
			for c := range dst {
				dst[c] = (b[c]*S + 1) / S
			}
			normalise(dst, dst) // guards the last ulp
			if uncertainty != nil {
				uncertainty[i] = u
			}
		}
		return nil
	})
}

// dempster combines two opinions with the reduced Dempster's rule, in place in b1.
func dempster(b1 []float64, u1 float64, b2 []float64, u2 float64) ([]float64, float64) {
	var s1, s2, agree float64
	for c := range b1 {
		s1 += b1[c]
		s2 += b2[c]
		agree += b1[c] * b2[c]
	}
	conflict := s1*s2 - agree
	scale := 1 / (1 - conflict)
	for c := range b1 {
		b1[c] = (b1[c]*b2[c] + b1[c]*u2 + b2[c]*u1) * scale
	}
	return b1, u1 * u2 * scale
}

func (s *evidential) Artifact() Artifact {
	if s.p == nil {
		return artifact(s.cfg, nil, 0, nil)
	}
	return artifact(s.cfg, s.p.Blocks, s.p.Classes, s.p)
}

func (s *evidential) Restore(params json.RawMessage) error {
	var p evidentialParams
	if err := restore(params, &p); err != nil {
		return err
	}
	if len(p.Models) != len(p.Blocks) {
		return fmt.Errorf("%d models for %d blocks", len(p.Models), len(p.Blocks))
	}
	s.p = &p
	return nil
}
