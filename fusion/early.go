package fusion

import (
	"context"
	"fmt"
)

func init() {
	Register("early", func(cfg Config) (Strategy, error) { return &early{cfg: cfg}, nil })
}

// early is feature-level fusion: the blocks are concatenated into one feature
// vector and a multinomial logistic regression (standardised features, L2) is fitted
// on it. A missing block is imputed with its training mean and flagged by a
// presence indicator, so the model can learn what absence means.
type early struct {
	cfg    Config
	params *earlyParams
}

type earlyParams struct {
	Blocks     []string    `json:"blocks"`
	Widths     []int       `json:"widths"`
	Impute     [][]float64 `json:"impute"`     // per block: training mean used when absent
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
	p := &earlyParams{Blocks: blockNames(in.Frame, idx)}
	rows := in.TrainRows(nil)
	if len(rows) == 0 {
		return ErrNoTrainingRows
	}
	for _, b := range idx {
		blk := &in.Blocks[b]
		mean := make([]float64, blk.Width)
		n := 0
		for _, i := range rows {
			if blk.Present[i] {
				axpy(mean, 1, blk.Row(i))
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
	}
	dim := p.dim()
	X := make([]float64, len(rows)*dim)
	y := make([]int32, len(rows))
	for k, i := range rows {
		p.row(in.Frame, idx, i, X[k*dim:(k+1)*dim])
		y[k] = in.Label[i]
	}
	lr, err := FitLogReg(ctx, X, y, dim, in.Classes, &LogRegOptions{C: s.cfg.C, MaxIter: s.cfg.MaxIter})
	if err != nil {
		return err
	}
	p.LR = lr
	s.params = p
	return nil
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

// row writes the concatenated feature vector of frame row i into dst.
func (p *earlyParams) row(f *Frame, idx []int, i int, dst []float64) bool {
	off, any := 0, false
	for k, b := range idx {
		blk := &f.Blocks[b]
		if blk.Present[i] {
			copy(dst[off:off+blk.Width], blk.Row(i))
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
	x := make([]float64, s.params.dim())
	c := in.Classes
	for i := 0; i < in.Rows; i++ {
		if i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if !s.params.row(in.Frame, idx, i, x) {
			return noModality(i)
		}
		s.params.LR.PredictProba(x, out[i*c:(i+1)*c])
	}
	return nil
}

func (s *early) Artifact() Artifact {
	a := Artifact{FormatVersion: ArtifactVersion, Strategy: s.cfg.Name, Type: "early"}
	if s.params != nil {
		a.Modalities, a.Classes, a.Params = s.params.Blocks, s.params.LR.Classes, s.params
	}
	return a
}
