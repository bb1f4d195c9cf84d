package fusion

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

func init() {
	Register("hybrid", func(cfg Config) (Strategy, error) {
		if len(cfg.Groups) == 0 {
			return nil, fmt.Errorf("%w: hybrid needs groups: the modalities fused early, e.g. [[pix, fac]]", ErrConfig)
		}
		switch cfg.Combine {
		case "", "late-mean", "late-max", "late-product", "late-geomean", "vote":
		default:
			return nil, fmt.Errorf("%w: hybrid combine %q: want late-mean, late-max, late-product, late-geomean or vote", ErrConfig, cfg.Combine)
		}
		return &hybrid{cfg: cfg}, nil
	})
}

// hybrid fuses each group of modalities early (one early-fusion model per group)
// and then combines the group models' probabilities with the remaining modalities'
// unimodal probabilities by a late rule (combine, default late-mean). A group is
// present in a row when any of its modalities is.
type hybrid struct {
	cfg  Config
	p    *hybridParams
	from *hybridParams // where the groups' fits start (FitFrom), or nil
}

// FitFrom fits each group's model starting from from's (WarmFitter).
func (s *hybrid) FitFrom(ctx context.Context, in *Inputs, from Strategy) error {
	if h, ok := from.(*hybrid); ok {
		s.from = h.p
	}
	return s.Fit(ctx, in)
}

type hybridParams struct {
	Groups  []*earlyParams `json:"groups"`
	Rest    []string       `json:"rest"`
	Combine *lateParams    `json:"combine"`
	Rule    string         `json:"rule"`
}

var _ Strategy = (*hybrid)(nil)

func (s *hybrid) Name() string { return s.cfg.Name }

func (s *hybrid) rule() string {
	if s.cfg.Combine == "" {
		return "late-mean"
	}
	return s.cfg.Combine
}

func (s *hybrid) Fit(ctx context.Context, in *Inputs) error {
	used, err := selectBlocks(in.Frame, s.cfg.Modalities)
	if err != nil {
		return err
	}
	usedNames := blockNames(in.Frame, used)
	p := &hybridParams{Rule: s.rule()}
	grouped := map[string]bool{}
	for g, names := range s.cfg.Groups {
		for _, n := range names {
			if !slices.Contains(usedNames, n) || grouped[n] {
				return fmt.Errorf("%w: hybrid group %d: %q is not a modality of the strategy, or is in two groups", ErrConfig, g, n)
			}
			grouped[n] = true
		}
		e := &early{cfg: Config{Name: s.cfg.Name + ".group" + strconv.Itoa(g), Type: "early", Modalities: names, C: s.cfg.C, MaxIter: s.cfg.MaxIter,
			Normalize: s.cfg.Normalize, BlockWeights: pick(s.cfg.BlockWeights, names)}}
		if s.from != nil && g < len(s.from.Groups) {
			e.init = s.from.Groups[g].LR
		}
		if err := e.Fit(ctx, in); err != nil {
			return fmt.Errorf("hybrid group %d: %w", g, err)
		}
		p.Groups = append(p.Groups, e.params)
	}
	for _, n := range usedNames {
		if !grouped[n] {
			p.Rest = append(p.Rest, n)
		}
	}
	units, err := p.units(ctx, in)
	if err != nil {
		return err
	}
	comb := &late{cfg: Config{Type: p.Rule, TieRule: s.cfg.TieRule}, rule: p.Rule}
	if err := comb.Fit(ctx, units); err != nil {
		return err
	}
	p.Combine = comb.p
	s.p = p
	return nil
}

func pick(m map[string]float64, keys []string) map[string]float64 {
	out := map[string]float64{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// units builds the late stage's inputs: one probs block per group (its early
// model's probabilities) and one per remaining modality (its unimodal model's).
func (p *hybridParams) units(ctx context.Context, in *Inputs) (*Inputs, error) {
	k := in.Classes
	f := &Frame{Rows: in.Rows, Classes: k, Label: in.Label, Train: in.Train, KeyHash: in.KeyHash}
	u := &Inputs{Frame: f}
	for g, gp := range p.Groups {
		idx, err := selectBlocks(in.Frame, gp.Blocks)
		if err != nil {
			return nil, err
		}
		blk := Block{Name: "group" + strconv.Itoa(g), Kind: Probs, Width: k, Values: make([]float32, in.Rows*k), Present: make([]bool, in.Rows)}
		err = forRows(ctx, in.Rows, func(lo, hi int) error {
			x, z := make([]float64, gp.dim()), make([]float64, k)
			for i := lo; i < hi; i++ {
				if gp.row(in.Frame, idx, i, x) {
					blk.Present[i] = true
					gp.LR.PredictProba(x, z)
					narrow(blk.Values[i*k:(i+1)*k], z)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		f.Blocks = append(f.Blocks, blk)
		u.Unimodal = append(u.Unimodal, blk.Values)
	}
	idx, err := selectBlocks(in.Frame, p.Rest)
	if err != nil {
		return nil, err
	}
	for _, b := range idx {
		blk := in.Blocks[b]
		f.Blocks = append(f.Blocks, Block{Name: blk.Name, Kind: Probs, Width: k, Values: in.Unimodal[b], Present: blk.Present})
		u.Unimodal = append(u.Unimodal, in.Unimodal[b])
	}
	return u, nil
}

func (s *hybrid) Predict(ctx context.Context, in *Inputs, out []float64) error {
	if s.p == nil {
		return ErrNotFitted
	}
	units, err := s.p.units(ctx, in)
	if err != nil {
		return err
	}
	comb := &late{cfg: Config{Type: s.p.Rule}, rule: s.p.Rule, p: s.p.Combine}
	return comb.Predict(ctx, units, out)
}

func (s *hybrid) Artifact() Artifact {
	if s.p == nil {
		return artifact(s.cfg, nil, 0, nil)
	}
	var mods []string
	for _, g := range s.p.Groups {
		mods = append(mods, g.Blocks...)
	}
	return artifact(s.cfg, append(mods, s.p.Rest...), s.p.Combine.Classes, s.p)
}

func (s *hybrid) Restore(params json.RawMessage) error {
	var p hybridParams
	if err := restore(params, &p); err != nil {
		return err
	}
	if p.Combine == nil || len(p.Groups) == 0 {
		return fmt.Errorf("incomplete hybrid parameters")
	}
	s.p = &p
	return nil
}
