package eval

import (
	"encoding/json"
	"io"
	"math"
)

// Report is report.json: what a run read, how every strategy and unimodal baseline
// scored on each split, and what the run cost. It is a plain document; the jobs
// package fills it in.
type Report struct {
	RunID      string             `json:"run_id"`
	Job        string             `json:"job"`
	Dataset    string             `json:"dataset"`
	Lake       string             `json:"lake"`
	Classes    []string           `json:"classes"`
	Splits     []string           `json:"splits"`
	Rows       RowCounts          `json:"rows"`
	Modalities []ModalityReport   `json:"modalities"`
	Strategies []StrategyReport   `json:"strategies"`
	Seconds    map[string]float64 `json:"seconds"` // wall time per stage
}

// RowCounts reconciles rows: every aligned entity is either scored or rejected.
type RowCounts struct {
	Aligned  int64            `json:"aligned"`
	Scored   int64            `json:"scored"`
	Rejected map[string]int64 `json:"rejected"` // by reason
	BySplit  map[string]int64 `json:"by_split"`
}

// ModalityReport says what was read of one modality and how it joined.
type ModalityReport struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	Files      int    `json:"files"`
	Width      int    `json:"width"`
	RowsRead   int64  `json:"rows_read"`
	Matched    int64  `json:"matched"`    // aligned entities that have this modality
	Duplicates int64  `json:"duplicates"` // rows folded by the duplicate-key policy
	Unmatched  int64  `json:"unmatched"`  // rows whose key the join did not keep
	BytesRead  int64  `json:"bytes_read"`
}

// StrategyReport is one fused strategy or unimodal baseline.
type StrategyReport struct {
	Name           string                  `json:"name"`
	Type           string                  `json:"type"`
	Baseline       bool                    `json:"baseline"`
	Modalities     []string                `json:"modalities"`
	FitSeconds     float64                 `json:"fit_seconds"`
	PredictSeconds float64                 `json:"predict_seconds"`
	Splits         map[string]*SplitReport `json:"splits"`
}

// SplitReport is the metrics of one strategy on one split.
type SplitReport struct {
	Rows      int64                `json:"rows"`
	Metrics   map[string]float64   `json:"metrics"`
	PerClass  map[string][]float64 `json:"per_class"`
	Confusion [][]int64            `json:"confusion"`
}

// NewSplitReport summarises an accumulator.
func NewSplitReport(c *Classification) *SplitReport {
	r := c.Confusion.Result()
	sr := &SplitReport{Rows: r.N, Metrics: map[string]float64{}, PerClass: map[string][]float64{}, Confusion: c.Confusion.Rows()}
	for _, m := range c.Metrics() {
		if m.Class >= 0 {
			sr.PerClass[m.Name] = append(sr.PerClass[m.Name], m.Value)
		} else if m.Name != "rows" {
			sr.Metrics[m.Name] = m.Value
		}
	}
	return sr
}

// WriteJSON writes the report as indented JSON. NaN (a metric over no rows) is
// written as null.
func (r *Report) WriteJSON(w io.Writer) error {
	clean := *r
	clean.Strategies = make([]StrategyReport, len(r.Strategies))
	for i, s := range r.Strategies {
		s.Splits = map[string]*SplitReport{}
		for name, sp := range r.Strategies[i].Splits {
			cp := *sp
			cp.Metrics = map[string]float64{}
			for k, v := range sp.Metrics {
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					cp.Metrics[k] = v
				}
			}
			s.Splits[name] = &cp
		}
		clean.Strategies[i] = s
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&clean)
}
