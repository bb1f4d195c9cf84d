package eval

// MemoryReport is how a run fitted its memory budget: the budget and where it
// came from, the in-memory path's estimated peak, and the path taken.
type MemoryReport struct {
	BudgetBytes   int64  `json:"budget_bytes"`
	BudgetSource  string `json:"budget_source"`
	EstimateBytes int64  `json:"estimate_bytes"`          // the in-memory path's peak, estimated from the footers
	Path          string `json:"path"`                    // in-memory or partitioned
	Groups        int    `json:"bucket_groups,omitempty"` // the partitioned path's
	Layout        string `json:"layout,omitempty"`        // its groups: "key ranges" read from the lake, or "bucket files" spilled
	SpilledBytes  int64  `json:"spilled_bytes,omitempty"` // bucket files written to local disk
}

// FitReport says the fits saw a sample of the training rows.
type FitReport struct {
	Rows    int64  `json:"rows"`       // training rows the fits saw
	Of      int64  `json:"of"`         // labelled training rows in the run
	Source  string `json:"limited_by"` // fit.max_rows, or the memory budget
	Warning string `json:"-"`
}

// BaselineChoice is how the best single modality was chosen: by cross-validated
// accuracy on the training rows — each features modality's rows predicted by
// models fitted without their stratified fold (a probabilities modality is its
// own), the accuracy of each fold averaged over the folds, as scikit-learn's
// cross_val_score — ties broken by the cross-validated log loss, then by name.
type BaselineChoice struct {
	Candidates []BaselineCandidate `json:"candidates"`
	Tie        bool                `json:"tie"` // the best accuracy was shared; log loss (or the name) decided
}

// StrategyOOF is every fitted strategy's accuracy out of fold on the training
// rows the fits saw: refitted once per stratified fold on the rows outside it
// (with the out-of-fold unimodal probabilities as its inputs) and scored on the
// rows inside it; each fold's accuracy averaged over the folds, as the
// baselines' (BaselineCandidate).
type StrategyOOF struct {
	Folds    int                `json:"folds"`
	Rows     int64              `json:"rows"`
	Accuracy map[string]float64 `json:"accuracy"` // by strategy name
}

// OverfitMargin is how far (a fraction: 0.05 is five points) a strategy's
// in-sample accuracy may exceed its out-of-fold accuracy before the report flags
// it as overfitting. A correctly fitted model on its own training rows is
// expected to score a few points above out of fold; a gap beyond five points
// means its evaluation-split accuracy is the figure to trust, not the training
// one, and that a stronger penalty (a smaller c) may generalise better.
const OverfitMargin = 0.05

// OverfitReport puts each strategy's accuracy on the rows it was fitted on
// (in-sample), out of fold on those rows, and on the evaluation split side by
// side, and flags the strategies whose in-sample figure exceeds the out-of-fold
// one by more than Margin.
type OverfitReport struct {
	Margin     float64      `json:"margin"`
	Folds      int          `json:"folds"`
	Rows       int64        `json:"rows"`             // training rows the out-of-fold figures cover
	Split      string       `json:"evaluation_split"` // the split of the evaluation column
	Strategies []OverfitRow `json:"strategies"`
}

// OverfitRow is one strategy's (or unimodal baseline's) line of OverfitReport.
type OverfitRow struct {
	Name       string   `json:"name"`
	InSample   float64  `json:"in_sample_accuracy"`
	OutOfFold  float64  `json:"out_of_fold_accuracy"`
	Evaluation *float64 `json:"evaluation_accuracy,omitempty"`
	Gap        float64  `json:"gap"` // in-sample minus out-of-fold
	Overfit    bool     `json:"overfit"`
}

// BaselineCandidate is one modality's out-of-fold figures on the training rows.
type BaselineCandidate struct {
	Name     string  `json:"name"`
	Rows     int64   `json:"rows"`
	Folds    int     `json:"folds"`
	Accuracy float64 `json:"oof_accuracy"` // the mean over folds of each fold's accuracy
	LogLoss  float64 `json:"oof_log_loss"` // the mean over folds of each fold's log loss
}

// SetOverfit fills r.Overfit from the strategies' train-split (in-sample) and
// first evaluation-split accuracies, the strategies' out-of-fold accuracies in oof
// and the baselines' in the baseline choice. A strategy without an out-of-fold
// figure is left out; without any, Overfit stays nil.
func (r *Report) SetOverfit(oof *StrategyOOF) {
	if oof == nil {
		return
	}
	outOfFold := map[string]float64{}
	for name, acc := range oof.Accuracy {
		outOfFold[name] = acc
	}
	if c := r.BaselineChoice; c != nil {
		for _, cand := range c.Candidates {
			outOfFold[cand.Name] = cand.Accuracy
		}
	}
	rep := &OverfitReport{Margin: OverfitMargin, Folds: oof.Folds, Rows: oof.Rows}
	for _, sp := range r.Splits {
		if sp != "train" && sp != "unlabelled" {
			rep.Split = sp
			break
		}
	}
	for _, s := range r.Strategies {
		o, ok := outOfFold[s.Name]
		train := s.Splits["train"]
		if !ok || train == nil {
			continue
		}
		in := train.Metrics["accuracy"]
		row := OverfitRow{Name: s.Name, InSample: in, OutOfFold: o, Gap: in - o, Overfit: in-o > OverfitMargin}
		if e := s.Splits[rep.Split]; e != nil && rep.Split != "" {
			acc := e.Metrics["accuracy"]
			row.Evaluation = &acc
		}
		rep.Strategies = append(rep.Strategies, row)
	}
	if len(rep.Strategies) > 0 {
		r.Overfit = rep
	}
}
