package fusion

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// Folds is the number of out-of-fold splits.
const Folds = 5

// OOFUser is implemented by strategies that fit on out-of-fold unimodal
// probabilities; the caller computes Inputs.OOF for them (OutOfFold).
type OOFUser interface {
	NeedsOOF() bool
}

// NeedsOOF reports whether any of the strategies needs Inputs.OOF.
func NeedsOOF(strategies []Strategy) bool {
	for _, s := range strategies {
		if u, ok := s.(OOFUser); ok && u.NeedsOOF() {
			return true
		}
	}
	return false
}

// OutOfFold computes Inputs.OOF: for each features block, one logistic regression
// per stratified fold (StratifiedFolds over the block's training rows: Folds, or
// fewer where a class is small), fitted on the training rows outside the fold and
// predicting the rows inside it; probs blocks are their own out-of-fold
// predictions. Rows that are not training rows get the full model's prediction
// (unimodal[b]). When models (the blocks' fitted unimodal models) is not nil, each
// fold's fit starts from its block's full model (LogRegOptions.Init): it ends
// sooner, at the same optimum within the tolerance, and is as deterministic.
func OutOfFold(ctx context.Context, f *Frame, models []*Unimodal, unimodal [][]float32, opts *LogRegOptions, workers int) ([][]float32, error) {
	k := f.Classes
	oof := make([][]float32, len(f.Blocks))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	for b := range f.Blocks {
		blk := &f.Blocks[b]
		if blk.Kind == Probs {
			oof[b] = unimodal[b]
			continue
		}
		oof[b] = append([]float32(nil), unimodal[b]...)
		rows := f.TrainRows(blk.Present)
		folds, nf, _ := f.StratifiedFolds(rows, Folds)
		for fold := 0; fold < nf; fold++ {
			g.Go(func() error {
				var fitRows, heldOut []int
				for j, i := range rows {
					if folds[j] == fold {
						heldOut = append(heldOut, i)
					} else {
						fitRows = append(fitRows, i)
					}
				}
				if len(heldOut) == 0 {
					return nil
				}
				if len(fitRows) == 0 {
					return fmt.Errorf("modality %q: fold %d: %w", blk.Name, fold, ErrNoTrainingRows)
				}
				X := make([]float64, 0, len(fitRows)*blk.Width)
				y := make([]int32, len(fitRows))
				for j, i := range fitRows {
					X = appendWide(X, blk.Row(i))
					y[j] = f.Label[i]
				}
				o := LogRegOptions{}
				if opts != nil {
					o = *opts
				}
				if models != nil && models[b] != nil {
					o.Init = models[b].LR
				}
				lr, err := FitLogReg(gctx, X, y, blk.Width, k, &o)
				if err != nil {
					return fmt.Errorf("modality %q: fold %d: %w", blk.Name, fold, err)
				}
				x, z := make([]float64, blk.Width), make([]float64, k)
				for _, i := range heldOut { // folds own disjoint rows
					lr.PredictProba(widen(x, blk.Row(i)), z)
					narrow(oof[b][i*k:(i+1)*k], z)
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return oof, nil
}

// RowPredictor is implemented by strategies whose prediction of a row depends on
// that row's inputs and the fitted parameters alone, and is cheap: a caller may
// predict rows when it reads them rather than hold every row's probabilities
// (the late rules; a run held in memory does so). PredictRows writes rows
// lo…hi−1 of in into out, row i at (i−lo)·Classes, bit for bit what Predict
// writes for them.
type RowPredictor interface {
	PredictRows(in *Inputs, lo, hi int, out []float64) error
}

// FixedRule is implemented by strategies that can say their fit learns nothing
// from the rows it sees (a late rule without calibration or learned weights):
// such a strategy predicts the same whatever rows it was fitted on.
type FixedRule interface {
	FixedRule() bool
}

// Learns reports whether s's fit learns anything from its training rows; a
// strategy that does not say (FixedRule) is taken to learn.
func Learns(s Strategy) bool {
	f, ok := s.(FixedRule)
	return !ok || !f.FixedRule()
}
