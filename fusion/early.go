package fusion

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

func init() {
	Register("early", func(cfg Config) (Strategy, error) {
		switch cfg.Normalize {
		case "", "standard", "l2":
		default:
			return nil, fmt.Errorf("%w: normalize %q: want standard or l2", ErrConfig, cfg.Normalize)
		}
		for name, w := range cfg.BlockWeights {
			if !(w > 0) || math.IsInf(w, 0) {
				return nil, fmt.Errorf("%w: block weight %v for %q: want a positive number", ErrConfig, w, name)
			}
		}
		return &early{cfg: cfg}, nil
	})
}

// early is feature-level fusion: the blocks are concatenated into one feature vector
// and a multinomial logistic regression (L2) is fitted on it. Each block is
// standardised (normalize: standard, the default) or scaled to unit L2 norm per row
// (normalize: l2), and multiplied by its block weight (block_weights, default 1),
// which lets the penalty shrink a heavier block less. A missing block is imputed
// with its training mean and flagged by a presence indicator, so the model can learn
// what absence means.
type early struct {
	cfg    Config
	params *earlyParams
	init   *LogReg // where the fit starts (FitFrom), or nil
}

// FitFrom fits starting from from's logistic regression (WarmFitter).
func (s *early) FitFrom(ctx context.Context, in *Inputs, from Strategy) error {
	if e, ok := from.(*early); ok && e.params != nil {
		s.init = e.params.LR
	}
	return s.Fit(ctx, in)
}

type earlyParams struct {
	Blocks     []string    `json:"blocks"`
	Widths     []int       `json:"widths"`
	Normalize  string      `json:"normalize"`
	Impute     [][]float64 `json:"impute"`     // per block: training mean (after normalisation) used when absent
	Indicators bool        `json:"indicators"` // presence indicators appended
	LR         *LogReg     `json:"logreg"`
}

var _ Strategy = (*early)(nil)

func (s *early) Name() string { return s.cfg.Name }

func (s *early) Fit(ctx context.Context, in *Inputs) error {
	idx, err := selectBlocks(in.Frame, s.cfg.Modalities)
	if err != nil {
		return err
	}
	p := &earlyParams{Blocks: blockNames(in.Frame, idx), Normalize: s.cfg.Normalize}
	if p.Normalize == "" {
		p.Normalize = "standard"
	}
	for name := range s.cfg.BlockWeights {
		if !slices.Contains(p.Blocks, name) {
			return fmt.Errorf("%w: block_weights names %q, which the strategy does not use (%v)", ErrConfig, name, p.Blocks)
		}
	}
	rows := in.TrainRows(nil)
	if len(rows) == 0 {
		return ErrNoTrainingRows
	}
	var weights []float64
	for _, b := range idx {
		blk := &in.Blocks[b]
		mean := make([]float64, blk.Width)
		row := make([]float64, blk.Width)
		n := 0
		for _, i := range rows {
			if blk.Present[i] {
				p.block(blk, i, row)
				axpy(mean, 1, row)
				n++
			} else {
				p.Indicators = true
			}
		}
		for j := range mean {
			if n > 0 {
				mean[j] /= float64(n)
			}
		}
		p.Widths = append(p.Widths, blk.Width)
		p.Impute = append(p.Impute, mean)
		w := 1.0
		if v, ok := s.cfg.BlockWeights[blk.Name]; ok {
			w = v
		}
		for j := 0; j < blk.Width; j++ {
			weights = append(weights, w)
		}
	}
	dim := p.dim()
	for len(weights) < dim {
		weights = append(weights, 1) // indicators
	}
	X := make([]float64, len(rows)*dim)
	y := make([]int32, len(rows))
	for k, i := range rows {
		p.row(in.Frame, idx, i, X[k*dim:(k+1)*dim])
		y[k] = in.Label[i]
	}
	opts := &LogRegOptions{C: s.cfg.C, MaxIter: s.cfg.MaxIter, NoStandardize: p.Normalize == "l2", Init: s.init}
	if len(s.cfg.BlockWeights) > 0 {
		opts.FeatureWeights = weights
	}
	lr, err := FitLogReg(ctx, X, y, dim, in.Classes, opts)
	if err != nil {
		return err
	}
	p.LR = lr
	s.params = p
	return nil
}

// block writes block row i, normalised as configured, into dst.
func (p *earlyParams) block(blk *Block, i int, dst []float64) {
	widen(dst, blk.Row(i))
	if p.Normalize != "l2" {
		return // standardisation happens in the logistic regression
	}
	norm := math.Sqrt(dot(dst, dst))
	if norm == 0 {
		return
	}
	for j := range dst {
		dst[j] /= norm
	}
}

func (p *earlyParams) dim() int {
	d := 0
	for _, w := range p.Widths {
		d += w
	}
	if p.Indicators {
		d += len(p.Widths)
	}
	return d
}

// row writes the concatenated feature vector of frame row i into dst and reports
// whether any block was present.
func (p *earlyParams) row(f *Frame, idx []int, i int, dst []float64) bool {
	off, any := 0, false
	for k, b := range idx {
		blk := &f.Blocks[b]
		if blk.Present[i] {
			p.block(blk, i, dst[off:off+blk.Width])
			any = true
		} else {
			copy(dst[off:off+blk.Width], p.Impute[k])
		}
		off += blk.Width
	}
	if p.Indicators {
		for k, b := range idx {
			dst[off+k] = 0
			if f.Blocks[b].Present[i] {
				dst[off+k] = 1
			}
		}
	}
	return any
}

func (s *early) Predict(ctx context.Context, in *Inputs, out []float64) error {
	if s.params == nil {
		return ErrNotFitted
	}
	idx, err := selectBlocks(in.Frame, s.params.Blocks)
	if err != nil {
		return err
	}
	for k, b := range idx {
		if in.Blocks[b].Width != s.params.Widths[k] {
			return fmt.Errorf("%w: modality %q has %d features, the model was fitted on %d", ErrShape, in.Blocks[b].Name, in.Blocks[b].Width, s.params.Widths[k])
		}
	}
	c := in.Classes
	if c != s.params.LR.Classes {
		return fmt.Errorf("%w: %d classes, the model was fitted on %d", ErrShape, c, s.params.LR.Classes)
	}
	return forRows(ctx, in.Rows, func(lo, hi int) error {
		x := make([]float64, s.params.dim())
		for i := lo; i < hi; i++ {
			if !s.params.row(in.Frame, idx, i, x) {
				return noModality(i)
			}
			s.params.LR.PredictProba(x, out[i*c:(i+1)*c])
		}
		return nil
	})
}

func (s *early) Artifact() Artifact {
	if s.params == nil {
		return artifact(s.cfg, nil, 0, nil)
	}
	return artifact(s.cfg, s.params.Blocks, s.params.LR.Classes, s.params)
}

func (s *early) Restore(params json.RawMessage) error {
	var p earlyParams
	if err := restore(params, &p); err != nil {
		return err
	}
	if p.LR == nil || len(p.Widths) != len(p.Blocks) || len(p.Impute) != len(p.Blocks) {
		return fmt.Errorf("incomplete early-fusion parameters")
	}
	s.params = &p
	return nil
}
