package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/lakefuse/lakefuse/eval"
	"github.com/lakefuse/lakefuse/fusion"
	"golang.org/x/sync/errgroup"
)

// strategiesOutOfFold measures how each strategy does on training rows it was
// not fitted on, for the report's overfitting table: the labelled training rows
// the fits saw are dealt to stratified folds (fusion.Frame.StratifiedFolds), and
// each strategy is fitted afresh once per fold on the rows outside it and scores
// the rows inside it. Its inputs are the out-of-fold unimodal probabilities
// (oof), so a held-out row's unimodal inputs come from models fitted without it
// too; the fusion layer of a fold's fit sees them for its own rows as the real
// fit does. Each fold's accuracy is averaged over the folds, as the baseline
// choice's (scikit-learn's cross_val_score). A strategy that can (fusion.WarmFitter) starts each fold's fit from
// its full fit, fitted (in spec order; nil fits cold). Fits run r.cpu at a time
// and are deterministic, so the figures are.
func (r *runner) strategiesOutOfFold(ctx context.Context, f *fusion.Frame, oof [][]float64, fitted []fusion.Strategy) (*eval.StrategyOOF, error) {
	rows := f.TrainRows(nil)
	if len(rows) == 0 || len(r.spec.Strategies) == 0 || !r.spec.Evaluation.outOfFold() {
		return nil, nil
	}
	defer r.timed("strategies_out_of_fold", time.Now())
	k := f.Classes
	// The training rows alone, in canonical order.
	g := &fusion.Frame{Rows: len(rows), Classes: k, Label: make([]int32, len(rows)), Train: make([]bool, len(rows))}
	if f.KeyHash != nil {
		g.KeyHash = make([]uint64, len(rows))
	}
	in := &fusion.Inputs{Frame: g, Unimodal: make([][]float64, len(f.Blocks))}
	for b, blk := range f.Blocks {
		sub := fusion.Block{Name: blk.Name, Kind: blk.Kind, Width: blk.Width, Values: make([]float64, 0, len(rows)*blk.Width), Present: make([]bool, len(rows))}
		in.Unimodal[b] = make([]float64, 0, len(rows)*k)
		for j, i := range rows {
			sub.Values = append(sub.Values, blk.Row(i)...)
			sub.Present[j] = blk.Present[i]
			in.Unimodal[b] = append(in.Unimodal[b], oof[b][i*k:(i+1)*k]...)
		}
		g.Blocks = append(g.Blocks, sub)
	}
	for j, i := range rows {
		g.Label[j] = f.Label[i]
		if f.KeyHash != nil {
			g.KeyHash[j] = f.KeyHash[i]
		}
	}
	in.OOF = in.Unimodal
	all := make([]int, len(rows))
	for j := range all {
		all[j] = j
	}
	fold, folds, _ := g.StratifiedFolds(all, fusion.Folds)

	right := make([][]int64, len(r.spec.Strategies)) // per strategy, per fold
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(r.cpu)
	for si, st := range r.spec.Strategies {
		right[si] = make([]int64, folds)
		for fo := 0; fo < folds; fo++ {
			eg.Go(func() error {
				s, err := fusion.New(st.Config())
				if err != nil {
					return err
				}
				gf := *g
				gf.Train = make([]bool, g.Rows)
				for j := range gf.Train {
					gf.Train[j] = fold[j] != fo
				}
				fin := &fusion.Inputs{Frame: &gf, Unimodal: in.Unimodal, OOF: in.OOF}
				if w, ok := s.(fusion.WarmFitter); ok && si < len(fitted) && fitted[si] != nil {
					err = w.FitFrom(ectx, fin, fitted[si])
				} else {
					err = s.Fit(ectx, fin)
				}
				if err != nil {
					return fmt.Errorf("jobs: strategy %q: out-of-fold fit %d: %w", st.Name, fo, err)
				}
				probs := make([]float64, g.Rows*k)
				if err := s.Predict(ectx, fin, probs); err != nil {
					return fmt.Errorf("jobs: strategy %q: out-of-fold predict %d: %w", st.Name, fo, err)
				}
				for j := range fold {
					if fold[j] == fo && eval.Argmax(probs[j*k:(j+1)*k]) == int(g.Label[j]) {
						right[si][fo]++
					}
				}
				return nil
			})
		}
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	out := &eval.StrategyOOF{Folds: folds, Rows: int64(len(rows)), Accuracy: map[string]float64{}}
	size := make([]int64, folds)
	for _, fo := range fold {
		size[fo]++
	}
	for si, st := range r.spec.Strategies {
		out.Accuracy[st.Name] = foldMean(right[si], size)
	}
	return out, nil
}

// foldMean is the accuracy of each fold (right of rows) averaged over the folds
// that have rows, as scikit-learn's cross_val_score reports it; 0 without any.
func foldMean(right, rows []int64) float64 {
	acc, used := 0.0, 0
	for fo, n := range rows {
		if n > 0 {
			acc += float64(right[fo]) / float64(n)
			used++
		}
	}
	if used == 0 {
		return 0
	}
	return acc / float64(used)
}
