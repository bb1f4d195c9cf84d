package fusion

import "context"

func init() {
	Register("late-mean", func(cfg Config) (Strategy, error) { return &lateMean{cfg: cfg}, nil })
}

// lateMean is decision-level fusion: the mean of the unimodal probability vectors of
// the modalities present in the row. A missing modality simply drops out of the
// mean; it needs no fitting.
type lateMean struct {
	cfg    Config
	blocks []string
}

var _ Strategy = (*lateMean)(nil)

func (s *lateMean) Name() string { return s.cfg.Name }

func (s *lateMean) Fit(ctx context.Context, in *Inputs) error {
	idx, err := selectBlocks(in.Frame, s.cfg.Modalities)
	if err != nil {
		return err
	}
	s.blocks = blockNames(in.Frame, idx)
	return nil
}

func (s *lateMean) Predict(ctx context.Context, in *Inputs, out []float64) error {
	idx, err := selectBlocks(in.Frame, s.cfg.Modalities)
	if err != nil {
		return err
	}
	k := in.Classes
	return forRows(ctx, in.Rows, func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			dst := out[i*k : (i+1)*k]
			clear(dst)
			n := 0
			for _, b := range idx {
				if !in.Blocks[b].Present[i] {
					continue
				}
				axpy(dst, 1, in.Unimodal[b][i*k:(i+1)*k])
				n++
			}
			if n == 0 {
				return noModality(i)
			}
			for j := range dst {
				dst[j] /= float64(n)
			}
		}
		return nil
	})
}

func (s *lateMean) Artifact() Artifact {
	return Artifact{FormatVersion: ArtifactVersion, Strategy: s.cfg.Name, Type: "late-mean", Modalities: s.blocks}
}
