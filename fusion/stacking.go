package fusion

import (
	"context"
	"encoding/json"
	"fmt"
)

func init() {
	Register("stacking", func(cfg Config) (Strategy, error) { return &stacking{cfg: cfg}, nil })
}

// stacking fits a multinomial logistic regression (the meta-model) on the
// modalities' out-of-fold class probabilities, with one presence indicator per
// modality so that it knows which modalities are missing (a missing modality's
// probabilities are zeros). It scores new rows on the full unimodal models'
// probabilities, as stacking does.
type stacking struct {
	cfg  Config
	p    *stackParams
	init *LogReg // where the meta-model's fit starts (FitFrom), or nil
}

// FitFrom fits starting from from's meta-model (WarmFitter).
func (s *stacking) FitFrom(ctx context.Context, in *Inputs, from Strategy) error {
	if st, ok := from.(*stacking); ok && st.p != nil {
		s.init = st.p.LR
	}
	return s.Fit(ctx, in)
}

type stackParams struct {
	Blocks  []string `json:"blocks"`
	Classes int      `json:"classes"`
	LR      *LogReg  `json:"logreg"`
}

var _ Strategy = (*stacking)(nil)

func (s *stacking) Name() string   { return s.cfg.Name }
func (s *stacking) NeedsOOF() bool { return true }

// features writes row i's meta-features (probabilities, then presence) into dst.
func (p *stackParams) features(in *Inputs, src [][]float32, idx []int, i int, dst []float64) bool {
	k := p.Classes
	any := false
	for j, b := range idx {
		part := dst[j*k : (j+1)*k]
		if in.Blocks[b].Present[i] {
			widen(part, src[b][i*k:(i+1)*k])
			dst[len(idx)*k+j] = 1
			any = true
		} else {
			clear(part)
			dst[len(idx)*k+j] = 0
		}
	}
	return any
}

func (s *stacking) Fit(ctx context.Context, in *Inputs) error {
	if in.OOF == nil {
		return fmt.Errorf("%w: stacking needs out-of-fold probabilities", ErrShape)
	}
	idx, err := selectBlocks(in.Frame, s.cfg.Modalities)
	if err != nil {
		return err
	}
	p := &stackParams{Blocks: blockNames(in.Frame, idx), Classes: in.Classes}
	dim := len(idx) * (in.Classes + 1)
	var X []float64
	var y []int32
	row := make([]float64, dim)
	for _, i := range in.TrainRows(nil) {
		if p.features(in, in.OOF, idx, i, row) {
			X = append(X, row...)
			y = append(y, in.Label[i])
		}
	}
	lr, err := FitLogReg(ctx, X, y, dim, in.Classes, &LogRegOptions{C: s.cfg.C, MaxIter: s.cfg.MaxIter, Init: s.init})
	if err != nil {
		return err
	}
	p.LR = lr
	s.p = p
	return nil
}

func (s *stacking) Predict(ctx context.Context, in *Inputs, out []float64) error {
	if s.p == nil {
		return ErrNotFitted
	}
	idx, err := selectBlocks(in.Frame, s.p.Blocks)
	if err != nil {
		return err
	}
	k := in.Classes
	if k != s.p.Classes {
		return fmt.Errorf("%w: %d classes, the meta-model was fitted on %d", ErrShape, k, s.p.Classes)
	}
	return forRows(ctx, in.Rows, func(lo, hi int) error {
		row := make([]float64, len(idx)*(k+1))
		for i := lo; i < hi; i++ {
			if !s.p.features(in, in.Unimodal, idx, i, row) {
				return noModality(i)
			}
			s.p.LR.PredictProba(row, out[i*k:(i+1)*k])
		}
		return nil
	})
}

func (s *stacking) Artifact() Artifact {
	if s.p == nil {
		return artifact(s.cfg, nil, 0, nil)
	}
	return artifact(s.cfg, s.p.Blocks, s.p.Classes, s.p)
}

func (s *stacking) Restore(params json.RawMessage) error {
	var p stackParams
	if err := restore(params, &p); err != nil {
		return err
	}
	if p.LR == nil {
		return fmt.Errorf("stacking parameters have no meta-model")
	}
	s.p = &p
	return nil
}
