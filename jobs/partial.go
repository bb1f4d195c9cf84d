package jobs

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/lakefuse/lakefuse/eval"
	"github.com/lakefuse/lakefuse/internal/jsonsafe"
	"github.com/lakefuse/lakefuse/lake"
)

// runFacts is what the report and the checks need to know about the plan: the
// sources' names and the modalities' shapes. A sharded run's finalize has them
// from the shards' states rather than from a plan of its own.
type runFacts struct {
	Sources    []string        `json:"sources"` // modalities, then labels when a table of their own
	Modalities []modalityFacts `json:"modalities"`
	LakeBytes  int64           `json:"lake_bytes"` // the planned files' sizes
	// Owned is set when the plan held one shard's buckets only: the shards'
	// facts then add up to the run's.
	Owned bool `json:"owned,omitempty"`
}

// add adds another shard's facts (of other buckets' files).
func (f *runFacts) add(o *runFacts) {
	f.LakeBytes += o.LakeBytes
	for i := range f.Modalities {
		f.Modalities[i].Files += o.Modalities[i].Files
		f.Modalities[i].Rows += o.Modalities[i].Rows
	}
}

type modalityFacts struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Files    int    `json:"files"`
	Rows     int64  `json:"rows"`
	Width    int    `json:"width"`
	Required bool   `json:"required,omitempty"`
}

// facts are the plan's facts, with the block widths known so far.
func (r *runner) facts(plan *Plan) *runFacts {
	f := &runFacts{Owned: plan.Owned}
	for _, sp := range plan.Sources() {
		f.Sources = append(f.Sources, sp.Name)
		f.LakeBytes += sp.Bytes
	}
	for si, sp := range plan.Modalities {
		f.Modalities = append(f.Modalities, modalityFacts{Name: sp.Name, Kind: sp.Kind, Files: len(sp.Files), Rows: sp.TotalRows(), Width: r.widths[si], Required: sp.Required})
	}
	return f
}

// scorerMeta is what the report says of a classifier beyond its metrics.
type scorerMeta struct {
	Name   string  `json:"name"`
	Type   string  `json:"type"`
	FitSec float64 `json:"fit_seconds"`
}

func metaOf(scored []*scoredStrategy) []scorerMeta {
	out := make([]scorerMeta, len(scored))
	for i, s := range scored {
		out[i] = scorerMeta{Name: s.name, Type: s.typ, FitSec: s.fitSec}
	}
	return out
}

// partial is what the last pass over a partitioned run's bucket groups leaves
// once their rows are written: the whole run's (every group), or one shard's
// (the groups it owns). The partials of a run's shards merge into the whole's,
// bit for bit (every part of it is a sum or an exact accumulator); complete
// turns a whole one into the checks, the report and the summary files.
type partial struct {
	eval      *eval.Evaluation // over the candidate splits; rows and scores forgotten
	tally     *tally
	counts    *frameCounts
	scorers   []scorerMeta
	models    map[string][]byte // a fit's model files (nil for a score run)
	classes   []string
	bytesRead []int64 // per source
	requests  []int64
	fitRows   int // rows the fits saw; -1 when nothing was fitted (score)
	fitCap    int // what fitCap allowed: shards must agree on it
	fitSource string
}

func statsOf(stats []*lake.ScanStats) (bytes, requests []int64) {
	for _, s := range stats {
		bytes, requests = append(bytes, s.BytesRead.Load()), append(requests, s.Requests.Load())
	}
	return bytes, requests
}

// merge adds another shard's partial of the same run.
func (p *partial) merge(o *partial) error {
	if !slices.Equal(p.classes, o.classes) || len(p.scorers) != len(o.scorers) || len(p.bytesRead) != len(o.bytesRead) {
		return fmt.Errorf("jobs: %w: the shards' classes, classifiers or sources differ", ErrShardMismatch)
	}
	if p.fitRows != o.fitRows || p.fitCap != o.fitCap {
		return fmt.Errorf("jobs: %w: the shards fitted on different samples (%d rows of at most %d, and %d of at most %d): give every shard the same --memory, or set fit.max_rows",
			ErrShardMismatch, p.fitRows, p.fitCap, o.fitRows, o.fitCap)
	}
	if !maps.EqualFunc(p.models, o.models, slices.Equal) {
		return fmt.Errorf("jobs: %w: the shards fitted different models from the same rows", ErrShardMismatch)
	}
	if err := p.eval.Merge(o.eval); err != nil {
		return fmt.Errorf("jobs: %w: %w", ErrShardMismatch, err)
	}
	p.tally.merge(o.tally)
	p.counts.merge(o.counts)
	for i := range p.scorers {
		p.scorers[i].FitSec = max(p.scorers[i].FitSec, o.scorers[i].FitSec)
	}
	for i := range p.bytesRead {
		p.bytesRead[i] += o.bytesRead[i]
		p.requests[i] += o.requests[i]
	}
	return nil
}

// complete runs the checks on the counts of every row, then writes the run's
// summary files: the report, the metrics table and the models.
func (r *runner) complete(ctx context.Context, att *lake.Attempt, facts *runFacts, p *partial, runID, lakeURL string) (*eval.Report, error) {
	t := p.tally
	var err error
	// The checks a run held whole makes before fitting (or scoring), on every row.
	if t.warnings, err = p.counts.check(facts, p.classes, p.fitRows >= 0); err != nil {
		return nil, err
	}
	var trainRows int64
	for _, n := range p.counts.train {
		trainRows += n
	}
	if p.fitRows >= 0 && int64(p.fitRows) < trainRows {
		r.fitSample = fitReport(p.fitRows, trainRows, p.fitSource)
		r.log.Warn(r.fitSample.Warning)
	}
	splits, err := keepSeenSplits(p.eval, t)
	if err != nil {
		return nil, err
	}
	p.eval.SettleBaseline() // a sharded score run's, on every shard's rows
	rep := r.report(facts, t, p.eval, p.scorers, p.classes, splits, p.bytesRead, p.requests, runID, lakeURL)
	r.attachTruth(ctx, rep)
	if err := r.finishRun(ctx, att, rep, p.models, runID, nil); err != nil {
		return nil, err
	}
	return rep, nil
}

// marshalModels encodes model files as they are written.
func marshalModels(models map[string]*ModelFile) (map[string][]byte, error) {
	if models == nil {
		return nil, nil
	}
	out := make(map[string][]byte, len(models))
	for name, m := range models {
		b, err := jsonsafe.MarshalIndent(m, "", "  ")
		if err != nil {
			return nil, err
		}
		out[name] = b
	}
	return out, nil
}

// merge adds another part's row counts.
func (t *tally) merge(o *tally) {
	t.aligned += o.aligned
	t.scored += o.scored
	t.noModality += o.noModality
	for s, n := range o.bySplit {
		t.bySplit[s] += n
	}
	for m := range t.matched {
		t.matched[m] += o.matched[m]
		t.duplicates[m] += o.duplicates[m]
		for reason, n := range o.invalid[m] {
			t.invalid[m][reason] += n
		}
	}
	for i := range t.predictSec {
		t.predictSec[i] += o.predictSec[i]
	}
}

// merge adds another part's counts.
func (c *frameCounts) merge(o *frameCounts) {
	c.aligned += o.aligned
	for b := range c.present {
		c.present[b] += o.present[b]
	}
	for k, n := range o.train {
		c.train[k] += n
	}
	for k, n := range o.other {
		c.other[k] += n
	}
}
