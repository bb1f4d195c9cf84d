package eval

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/lakefuse/lakefuse/internal/jsonsafe"
)

// Num is a float64 that JSON-encodes NaN and infinities as null (a metric over no
// rows, an empty reliability bin) and decodes null as NaN.
type Num float64

// MarshalJSON implements json.Marshaler.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	var f float64
	err := json.Unmarshal(b, &f)
	*n = Num(f)
	return err
}

// Report is report.json: what a run read, how every strategy and unimodal baseline
// scored on each split with intervals, whether fusion beat the best single
// modality, how robust each strategy is to missing modalities, and what the run
// cost. It is a plain document; jobs fills in what eval cannot know.
type Report struct {
	RunID        string           `json:"run_id"`
	Attempt      string           `json:"attempt,omitempty"` // the attempt that wrote the run
	Job          string           `json:"job"`
	Dataset      string           `json:"dataset"`
	Lake         string           `json:"lake"`
	Classes      []string         `json:"classes"`
	Splits       []string         `json:"splits"`
	Replicates   int              `json:"bootstrap_replicates"`
	Rows         RowCounts        `json:"rows"`
	Modalities   []ModalityReport `json:"modalities"`
	Strategies   []StrategyReport `json:"strategies"`
	BestBaseline string           `json:"best_baseline"`           // the single modality fusion is compared with
	ChosenOn     string           `json:"best_baseline_chosen_on"` // the split it was chosen on
	// BaselineChoice is how a fitting run chose it: every modality's out-of-fold
	// figures on the training rows (nil for a score run: saved models have none).
	BaselineChoice *BaselineChoice `json:"best_baseline_choice,omitempty"`
	// Overfit is each strategy's in-sample, out-of-fold and evaluation accuracy
	// (nil for a score run).
	Overfit *OverfitReport `json:"overfit,omitempty"`
	// Truth is the dataset's ground truth when a generator wrote it (lakefuse synth).
	Truth      *GroundTruth       `json:"ground_truth,omitempty"`
	Robustness []PatternReport    `json:"robustness"`
	Ablation   []AblationReport   `json:"ablation"`
	Cost       CostReport         `json:"cost"`
	Memory     *MemoryReport      `json:"memory,omitempty"`
	Fit        *FitReport         `json:"fit_sample,omitempty"` // set when the fits saw a sample of the training rows
	Shards     *ShardsReport      `json:"shards,omitempty"`     // set for a sharded run
	Seconds    map[string]float64 `json:"seconds"`              // wall time per stage
	Warnings   []string           `json:"warnings,omitempty"`   // what a reader should know before trusting the figures
}

// ShardsReport is how a sharded run was split: its shards, the key buckets they
// owned, and what each did.
type ShardsReport struct {
	Count   int `json:"count"`
	Buckets int `json:"buckets"` // Iceberg buckets of the key; shard i owned those with bucket mod count = i
	// ReadAmplification is the bytes all shards read over the bytes of the
	// lake's planned files (a single run reads at most about 1).
	ReadAmplification float64       `json:"read_amplification"`
	Shards            []ShardReport `json:"shards"`
}

// ShardReport is one shard of a sharded run.
type ShardReport struct {
	Index        int     `json:"index"`
	Source       string  `json:"source"`  // where it learned its index: --shard, or the engine's variables
	Attempt      string  `json:"attempt"` // the attempt whose files were committed
	RowsScored   int64   `json:"rows_scored"`
	Files        int     `json:"files"`
	BytesRead    int64   `json:"bytes_read"`
	Seconds      float64 `json:"seconds"` // its stages' wall time, summed
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
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
	// Invalid counts aligned entities whose value of this modality was rejected by
	// the invalid policy (the modality counts as absent for them), by reason.
	Invalid map[string]int64 `json:"invalid,omitempty"`
}

// StrategyReport is one fused strategy or unimodal baseline.
type StrategyReport struct {
	Name           string                  `json:"name"`
	Type           string                  `json:"type"`
	Baseline       bool                    `json:"baseline"`
	Modalities     []string                `json:"modalities"`
	FitSeconds     float64                 `json:"fit_seconds"`
	PredictSeconds float64                 `json:"predict_seconds"`
	RowsPerSecond  float64                 `json:"scoring_rows_per_second"`
	Splits         map[string]*SplitReport `json:"splits"`
}

// SplitReport is the metrics of one strategy on one split.
type SplitReport struct {
	Rows        int64                `json:"rows"`
	Metrics     map[string]float64   `json:"metrics"`
	PerClass    map[string][]float64 `json:"per_class"`
	Confusion   [][]int64            `json:"confusion"`
	Intervals   map[string]Interval  `json:"intervals,omitempty"` // bootstrap 95 %, evaluation splits only
	Reliability []ReliabilityJSON    `json:"reliability"`
	ROC         []ClassCurve         `json:"roc"` // one curve for a binary task, one per class (one-vs-rest) otherwise
	Comparison  *Comparison          `json:"comparison,omitempty"`
}

// ReliabilityJSON is a reliability bin as reported.
type ReliabilityJSON struct {
	Lo         float64 `json:"lo"`
	Hi         float64 `json:"hi"`
	Rows       int64   `json:"rows"`
	Confidence Num     `json:"confidence"`
	Accuracy   Num     `json:"accuracy"`
}

// ClassCurve is the ROC curve of one class against the rest.
type ClassCurve struct {
	Class  string       `json:"class"`
	AUC    Num          `json:"auc"`
	Points []CurvePoint `json:"points"`
}

// PatternReport is the accuracy of every strategy on the entities that have
// exactly the listed modalities.
type PatternReport struct {
	Split    string         `json:"split"`
	Present  []string       `json:"present"`
	Rows     int64          `json:"rows"`
	Accuracy map[string]Num `json:"accuracy"`
}

// AblationReport is a strategy re-scored with one modality removed everywhere.
type AblationReport struct {
	Strategy string  `json:"strategy"`
	Without  string  `json:"without"`
	Split    string  `json:"split"`
	Accuracy float64 `json:"accuracy"`
	Full     float64 `json:"full_accuracy"`
	Delta    float64 `json:"delta"`
}

// CostReport is what the run cost.
type CostReport struct {
	PeakRSSBytes int64            `json:"peak_rss_bytes"`
	BytesRead    map[string]int64 `json:"bytes_read"` // per modality (and labels)
	Requests     map[string]int64 `json:"requests"`   // ranged reads per modality
}

// ROC curves keep this many points each in the report.
const reportCurvePoints = 60

// rankResults computes every ranking's result (sorting an exact one's scores,
// walking a histogram's bins) on Options.Workers goroutines, once the rankings
// hold all their rows: the report then reads them computed. One after the other
// they were a fifth of a 200,000-row run.
func (e *Evaluation) rankResults() {
	var all []*Ranking
	for _, perSplit := range e.Metrics {
		for _, m := range perSplit {
			if m != nil {
				all = append(all, m.Rankings...)
			}
		}
	}
	next := make(chan *Ranking, len(all))
	for _, rk := range all {
		next <- rk
	}
	close(next)
	var wg sync.WaitGroup
	for range max(e.Options.Workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rk := range next {
				rk.Result()
			}
		}()
	}
	wg.Wait()
}

// Fill adds the evaluation's results to a report: a StrategyReport per classifier
// (ablations aside) in Scores order, the comparison with the best baseline,
// robustness by presence pattern, and ablations.
func (e *Evaluation) Fill(rep *Report) {
	r := &e.Rows
	e.rankResults()
	rep.Replicates = max(e.Options.Replicates, 0)
	if e.BestBaseline >= 0 {
		rep.BestBaseline = e.Scores[e.BestBaseline].Name
		rep.ChosenOn = e.ChosenOn
	}
	full := map[string]map[string]float64{} // strategy → split → accuracy
	for si, s := range e.Scores {
		if s.Of != "" {
			continue
		}
		sr := StrategyReport{Name: s.Name, Baseline: s.Baseline, Modalities: s.Modalities, Splits: map[string]*SplitReport{}}
		full[s.Name] = map[string]float64{}
		for sp, split := range r.Splits {
			acc := e.Metrics[si][sp]
			if acc == nil || acc.Confusion.Result().N == 0 {
				continue
			}
			rep := e.splitReport(si, sp)
			sr.Splits[split] = rep
			full[s.Name][split] = rep.Metrics["accuracy"]
		}
		rep.Strategies = append(rep.Strategies, sr)
	}
	for sp, split := range r.Splits {
		if !r.evalSplit(sp) {
			continue
		}
		patterns := make([]uint64, 0, len(e.Patterns[sp]))
		for p := range e.Patterns[sp] {
			patterns = append(patterns, p)
		}
		// Most rows first; ties by the pattern's bits, not by map order.
		slices.SortFunc(patterns, func(a, b uint64) int {
			return cmp.Or(cmp.Compare(e.Patterns[sp][b][0], e.Patterns[sp][a][0]), cmp.Compare(a, b))
		})
		for _, p := range patterns {
			counts := e.Patterns[sp][p]
			pr := PatternReport{Split: split, Present: r.PatternModalities(p), Rows: counts[0], Accuracy: map[string]Num{}}
			for si, s := range e.Scores {
				if s.Of == "" {
					pr.Accuracy[s.Name] = Num(safeDiv(float64(counts[1+si]), float64(counts[0])))
				}
			}
			rep.Robustness = append(rep.Robustness, pr)
		}
		for si, s := range e.Scores {
			if s.Of == "" || e.Metrics[si][sp] == nil || e.Metrics[si][sp].Confusion.Result().N == 0 {
				continue
			}
			acc := e.Metrics[si][sp].Confusion.Result().Accuracy
			f := full[s.Of][split]
			rep.Ablation = append(rep.Ablation, AblationReport{Strategy: s.Of, Without: s.Without, Split: split, Accuracy: acc, Full: f, Delta: acc - f})
		}
	}
	sort.SliceStable(rep.Ablation, func(i, j int) bool { return rep.Ablation[i].Strategy < rep.Ablation[j].Strategy })
}

func (e *Evaluation) splitReport(si, sp int) *SplitReport {
	acc := e.Metrics[si][sp]
	r := acc.Confusion.Result()
	sr := &SplitReport{Rows: r.N, Metrics: map[string]float64{}, PerClass: map[string][]float64{}, Confusion: acc.Confusion.Rows()}
	for _, m := range acc.Metrics() {
		if m.Class >= 0 {
			sr.PerClass[m.Name] = append(sr.PerClass[m.Name], m.Value)
		} else if m.Name != "rows" {
			sr.Metrics[m.Name] = m.Value
		}
	}
	if c := e.Present[si][sp]; c != nil {
		pr := c.Result()
		sr.Metrics["rows_when_present"] = float64(pr.N)
		sr.Metrics["accuracy_when_present"] = pr.Accuracy
	}
	_, bins := acc.Calibration.Result()
	for _, b := range bins {
		sr.Reliability = append(sr.Reliability, ReliabilityJSON{b.Lo, b.Hi, b.Rows, Num(b.Confidence), Num(b.Accuracy)})
	}
	_, _, _, _, perClass := acc.Ranks()
	for c, res := range perClass {
		name := e.Rows.classNames()[c]
		if len(perClass) == 1 {
			name = e.Rows.classNames()[1]
		}
		sr.ROC = append(sr.ROC, ClassCurve{Class: name, AUC: Num(res.AUC), Points: thinCurve(res.Curve, reportCurvePoints)})
	}
	if b := e.Intervals[si][sp]; b != nil {
		sr.Intervals = b.Intervals()
	}
	if p := e.Paired[si][sp]; p != nil && e.BestBaseline >= 0 {
		c := p.Result(e.Scores[e.BestBaseline].Name)
		c.Summary = c.words(e.Scores[si].Name, e.ChosenOn)
		sr.Comparison = &c
	}
	return sr
}

func (r *Rows) classNames() []string {
	if len(r.ClassNames) == r.Classes {
		return r.ClassNames
	}
	names := make([]string, r.Classes)
	for i := range names {
		names[i] = fmt.Sprint(i)
	}
	return names
}

// words says in a sentence whether fusion helped.
func (c Comparison) words(strategy, chosenOn string) string {
	verdict := map[string]string{
		"helped":       "helped: better than the best single modality at the 95 % level",
		"hurt":         "hurt: worse than the best single modality at the 95 % level",
		"inconclusive": "cannot be told apart from the best single modality at the 95 % level",
	}[c.Verdict]
	return fmt.Sprintf("%s vs %s (best single modality on %s): %+.2f points of accuracy, 95 %% CI [%+.2f, %+.2f], McNemar p = %.3g (%d vs %d discordant rows); fusion %s.",
		strategy, c.Baseline, chosenOn, 100*c.Difference, 100*c.Interval.Low, 100*c.Interval.High, c.McNemarP, c.OnlyStrategy, c.OnlyBaseline, verdict)
}

// WriteJSON writes the report as indented JSON. NaN metrics (over no rows) are
// left out of the metrics maps; any other NaN or infinite value is null.
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
			cp.Intervals = map[string]Interval{}
			for k, v := range sp.Intervals {
				if !math.IsNaN(v.Low) && !math.IsNaN(v.High) {
					cp.Intervals[k] = v
				}
			}
			s.Splits[name] = &cp
		}
		clean.Strategies[i] = s
	}
	// Whatever else is undefined (NaN: a class never predicted, a comparison over
	// no rows) is written as null rather than failing the run's last write.
	b, err := jsonsafe.MarshalIndent(&clean, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadReport decodes a report.json.
func ReadReport(b []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
