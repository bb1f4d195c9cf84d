package eval

// MemoryReport is how a run fitted its memory budget: the budget and where it
// came from, the in-memory path's estimated peak, and the path taken.
type MemoryReport struct {
	BudgetBytes   int64  `json:"budget_bytes"`
	BudgetSource  string `json:"budget_source"`
	EstimateBytes int64  `json:"estimate_bytes"`          // the in-memory path's peak, estimated from the footers
	Path          string `json:"path"`                    // in-memory or partitioned
	Groups        int    `json:"bucket_groups,omitempty"` // the partitioned path's
	SpilledBytes  int64  `json:"spilled_bytes,omitempty"` // bucket files written to local disk
}

// FitReport says the fits saw a sample of the training rows.
type FitReport struct {
	Rows    int64  `json:"rows"`       // training rows the fits saw
	Of      int64  `json:"of"`         // labelled training rows in the run
	Source  string `json:"limited_by"` // fit.max_rows, or the memory budget
	Warning string `json:"-"`
}

// BaselineChoice is how the best single modality was chosen: by out-of-fold
// accuracy on the training rows (each features modality's rows predicted by
// models fitted without them; a probabilities modality is its own), ties broken
// by out-of-fold log loss, then by name.
type BaselineChoice struct {
	Candidates []BaselineCandidate `json:"candidates"`
	Tie        bool                `json:"tie"` // the best accuracy was shared; log loss (or the name) decided
}

// BaselineCandidate is one modality's out-of-fold figures on the training rows.
type BaselineCandidate struct {
	Name     string  `json:"name"`
	Rows     int64   `json:"rows"`
	Accuracy float64 `json:"oof_accuracy"`
	LogLoss  float64 `json:"oof_log_loss"`
}
