package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"time"

	"github.com/lakefuse/lakefuse/eval"
	"github.com/lakefuse/lakefuse/internal/spill"
	"github.com/lakefuse/lakefuse/lake"
	"github.com/lakefuse/lakefuse/shard"
)

// A sharded run is Count tasks of a batch engine's array job, started with the
// same spec and run id. Every shard makes the passes that need rows beyond its
// own — a holdout's cuts, the fit sample (so every shard fits the same models, in
// canonical order) — then predicts, evaluates and writes only the bucket groups
// it owns (shard.Layout). On a bucketed dataset it reads its own buckets' files,
// plus, to fit, the others' first buckets in sample order (gatherForeign); on an
// unbucketed one, or with a holdout, the whole lake. A score shard needs no other
// row: the best baseline is chosen at the finalize. A shard leaves its partial
// (accumulators and counts) as a state in the run's folder; the shard that finds
// every state present takes the finalize lock, merges the partials in shard
// order (exactly: every accumulator is an integer sum or an exact ranking) and
// commits the run with every shard's files.
//
// So the result equals a single process's, bit for bit, whatever the count; the
// report's shards.read_amplification says how many times the lake was read.

// shardJob is the job's part of a shard's state: its partial and what the
// report says about the shard.
type shardJob struct {
	Mode      string             `json:"mode"` // run or score
	Name      string             `json:"name"`
	Dataset   string             `json:"dataset"`
	Filters   map[string]string  `json:"filters,omitempty"` // the expanded partition filters
	Facts     *runFacts          `json:"facts"`
	Tally     tallyState         `json:"tally"`
	Counts    countsState        `json:"counts"`
	Scorers   []scorerMeta       `json:"scorers"`
	Models    map[string][]byte  `json:"models,omitempty"`
	Classes   []string           `json:"classes"`
	BytesRead []int64            `json:"bytes_read"`
	Requests  []int64            `json:"requests"`
	FitRows   int                `json:"fit_rows"`
	FitCap    int                `json:"fit_cap"`
	FitSource string             `json:"fit_source,omitempty"`
	Memory    *eval.MemoryReport `json:"memory"`
	Seconds   map[string]float64 `json:"seconds"`
	PeakRSS   int64              `json:"peak_rss_bytes"`
	Notes     []string           `json:"notes,omitempty"` // the fits' warnings (the same in every shard)
	// Baseline is how the shard's fit chose the best baseline (the same in every shard).
	Baseline *eval.BaselineChoice `json:"baseline_choice,omitempty"`
	// StrategyOOF is every strategy's out-of-fold accuracy (the same in every shard).
	StrategyOOF *eval.StrategyOOF `json:"strategy_oof,omitempty"`
}

type tallyState struct {
	Aligned    int64              `json:"aligned"`
	Scored     int64              `json:"scored"`
	NoModality int64              `json:"no_modality"`
	BySplit    map[string]int64   `json:"by_split"`
	Matched    []int64            `json:"matched"`
	Duplicates []int64            `json:"duplicates"`
	Invalid    []map[string]int64 `json:"invalid"`
	PredictSec []float64          `json:"predict_seconds"`
}

type countsState struct {
	Aligned int64            `json:"aligned"`
	Present []int64          `json:"present"`
	Train   map[string]int64 `json:"train"`
	Other   map[string]int64 `json:"other"`
}

func (t *tally) state() tallyState {
	return tallyState{t.aligned, t.scored, t.noModality, t.bySplit, t.matched, t.duplicates, t.invalid, t.predictSec}
}

func (s tallyState) tally() *tally {
	t := newTally(len(s.Matched), len(s.PredictSec))
	t.aligned, t.scored, t.noModality = s.Aligned, s.Scored, s.NoModality
	maps.Copy(t.bySplit, s.BySplit)
	copy(t.matched, s.Matched)
	copy(t.duplicates, s.Duplicates)
	for m, inv := range s.Invalid {
		maps.Copy(t.invalid[m], inv)
	}
	copy(t.predictSec, s.PredictSec)
	return t
}

func (c *frameCounts) state() countsState { return countsState{c.aligned, c.present, c.train, c.other} }

func (s countsState) counts() *frameCounts {
	c := newFrameCounts(len(s.Present))
	c.aligned = s.Aligned
	copy(c.present, s.Present)
	maps.Copy(c.train, s.Train)
	maps.Copy(c.other, s.Other)
	return c
}

// layout is a sharded run's bucket layout: a bucketed dataset's buckets, else
// as many buckets as shards; a shard owns the keys whose Iceberg bucket, mod
// Count, is its index.
func (r *runner) layout() shard.Layout { return r.shardLayout }

// ownedBuckets is a shard's plan filter on a bucketed dataset: the buckets it
// owns (b mod Count = Index); nil when not sharded, or when a holdout needs
// every row.
func (r *runner) ownedBuckets() func(int) bool {
	if r.opts.Shard == nil || r.spec.Split.Holdout != nil { // a holdout is drawn over every row
		return nil
	}
	id := *r.opts.Shard
	return func(b int) bool { return b%id.Count == id.Index }
}

// executeShard runs one shard: its passes and its state, unless a state is
// there from an earlier attempt of the shard; then, if every shard has
// finished, the finalize.
func (r *runner) executeShard(ctx context.Context, plan func() (*Plan, error), lm *loadedModels, prefix string) (*Result, error) {
	id := *r.opts.Shard
	l := r.lake
	r.log = r.log.With("shard", id.String())
	st, err := l.Status(ctx, prefix)
	if err != nil {
		return nil, err
	}
	mine, err := shard.Get(ctx, l, prefix, id.Index)
	if err != nil {
		return nil, err
	}
	switch {
	case st.Committed && mine != nil:
		r.log.Info("the run is committed, with this shard's rows")
		return &Result{RunID: r.runID, Attempt: st.Attempt, Lake: l.String(), Prefix: prefix, Completed: true, Shard: &ShardResult{Identity: id, Finalized: true}}, nil
	case st.Committed:
		return nil, fmt.Errorf("lake: run %q (committed by attempt %s, without a state of shard %s): %w", prefix, st.Attempt, id, lake.ErrRunCommitted)
	case st.Claimed:
		return r.completePending(ctx, r.runID, prefix, st.Attempt)
	}
	retry := mine != nil
	if retry {
		r.log.Info("this shard finished in an earlier attempt; checking whether the run can be finalized", "attempt", mine.Attempt)
	} else if err := r.runShard(ctx, plan, lm, prefix); err != nil {
		return nil, err
	}
	return r.finalizeIfLast(ctx, prefix, retry)
}

// runShard makes the shard's passes and leaves its state.
func (r *runner) runShard(ctx context.Context, makePlan func() (*Plan, error), lm *loadedModels, prefix string) (err error) {
	id := *r.opts.Shard
	att, err := r.lake.BeginAttempt(ctx, prefix)
	if err != nil {
		return err
	}
	r.log = r.log.With("attempt", att.ID())
	r.log.Info("shard started", "prefix", prefix, "shard_source", id.Source)
	defer func() {
		if err != nil {
			att.Abort()
		}
	}()
	r.ownedOnly = lm != nil && r.spec.Split.Holdout == nil
	plan, err := makePlan()
	if err != nil {
		return err
	}
	layout := shard.Layout{Buckets: id.Count, Count: id.Count}
	if plan.Buckets > 0 {
		if plan.Buckets < id.Count {
			return fmt.Errorf("jobs: %w: the dataset has %d key buckets, fewer than the %d shards: run at most %d shards, or rebucket it (lakefuse bucket --buckets)", ErrSpec, plan.Buckets, id.Count, plan.Buckets)
		}
		layout.Buckets = plan.Buckets
		if plan.Buckets%id.Count != 0 {
			r.log.Warn("the shards own unequal numbers of buckets: the bucket count is not a multiple of the shard count", "buckets", plan.Buckets, "shards", id.Count)
		}
	}
	r.shardLayout = layout
	r.groups = layout.Groups(r.groups)
	switch {
	case plan.Owned:
		r.log.Info("shard reads only its buckets' files", "buckets", layout.Buckets)
	case plan.Buckets == 0 && id.Count > 1:
		r.log.Warn("the dataset is not bucketed: this shard reads the whole lake, and the run reads it once per shard; lakefuse bucket rewrites it so that score shards read their own buckets only", "shards", id.Count)
	case id.Count > 1:
		r.log.Warn("this shard reads the whole lake: fitting (or a holdout split) needs every row; fit once and score in shards to read the lake once", "shards", id.Count)
	}
	if most := maxGroups(len(plan.Sources()), spill.OpenFiles()); r.groups > most {
		return fmt.Errorf("jobs: %w: %d shards need %d bucket groups, more than the %d the open-files limit allows", ErrSpec, id.Count, r.groups, most)
	}
	r.memory.Path, r.memory.Groups = "partitioned", r.groups
	p, err := r.runPartitioned(ctx, plan, att, lm)
	if err != nil {
		return err
	}
	evalState, err := p.eval.MarshalBinary()
	if err != nil {
		return err
	}
	mode := "run"
	if lm != nil {
		mode = "score"
	}
	facts := r.facts(plan)
	job, err := json.Marshal(shardJob{Mode: mode, Name: r.spec.Name, Dataset: r.spec.Dataset, Filters: r.spec.Filters, Facts: facts,
		Tally: p.tally.state(), Counts: p.counts.state(), Scorers: p.scorers, Models: p.models, Classes: p.classes,
		BytesRead: p.bytesRead, Requests: p.requests, FitRows: p.fitRows, FitCap: p.fitCap, FitSource: p.fitSource,
		Memory: r.memory, Seconds: r.seconds, PeakRSS: peakRSS(), Notes: r.notes, Baseline: r.baselineChoice, StrategyOOF: r.strategyOOF})
	if err != nil {
		return err
	}
	if err := r.yieldTo(ctx, att.Check(ctx), r.runID, prefix); err != nil {
		return err
	}
	won, err := shard.Put(ctx, r.lake, prefix, &shard.State{RunID: r.runID, SpecSHA256: r.spec.Hash(), Index: id.Index, Count: id.Count,
		Buckets: layout.Buckets, Source: id.Source, Attempt: att.ID(), Created: time.Now().UTC(), Versions: versions(), Files: att.Files(), Job: job}, evalState)
	if err != nil {
		return err
	}
	if !won {
		// Another attempt of this shard finished first; its files are the shard's.
		att.Abort()
		r.log.Info("another attempt of this shard finished first; its state stands")
		return nil
	}
	att.Keep()
	r.log.Info("shard state written", "state", shard.StateName(id.Index), "files", len(att.Files()))
	return nil
}

// ShardResult is what a shard did: its identity, and whether the run is
// finalized (by this shard or another), else how many shards it waits for.
type ShardResult struct {
	shard.Identity
	Finalized bool
	Waiting   int
}

// finalizeIfLast finalizes the run when every shard's state is present: a shard
// finishing first takes the lock; a retried shard (whose state was already
// there: an earlier attempt may have died finalizing) finalizes regardless.
func (r *runner) finalizeIfLast(ctx context.Context, prefix string, retry bool) (*Result, error) {
	id := *r.opts.Shard
	done, err := shard.Finished(ctx, r.lake, prefix)
	if err != nil {
		return nil, err
	}
	res := &Result{RunID: r.runID, Lake: r.lake.String(), Prefix: prefix, Shard: &ShardResult{Identity: id}}
	if n := countBelow(done, id.Count); n < id.Count {
		res.Shard.Waiting = id.Count - n
		r.log.Info("shard done; the last shard to finish finalizes the run", "waiting_for", res.Shard.Waiting)
		return res, nil
	}
	if !retry {
		took, err := shard.Lock(ctx, r.lake, prefix, r.runID+"/"+id.String())
		if err != nil {
			return nil, err
		}
		if !took {
			r.log.Info("every shard is done; another shard is finalizing the run")
			res.Shard.Finalized = true
			return res, nil
		}
	}
	fin, err := finalize(ctx, r.lake, prefix, id.Count, r.log, r.opts.Progress)
	if err != nil {
		return nil, err
	}
	fin.Shard = res.Shard
	fin.Shard.Finalized = true
	return fin, nil
}

func countBelow(idx []int, n int) int {
	c := 0
	for _, i := range idx {
		if i < n {
			c++
		}
	}
	return c
}

// finalize merges the states of shards 0 … count-1 and commits the run: the
// checks on every row, the report, the metrics table, the models, and every
// shard's score and rejected parts, under one manifest and _SUCCESS. It is
// idempotent: finalizes racing on a run commit it once (the commit protocol's
// claim), and one that died is completed by the next.
func finalize(ctx context.Context, l *lake.Lake, prefix string, count int, log *slog.Logger, progress func(string, int64, int64)) (*Result, error) {
	start := time.Now()
	states, err := shard.LoadAll(ctx, l, prefix, count)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w: %w", ErrShardMismatch, err)
	}
	var merged *partial
	var jobs []*shardJob
	var files []lake.ManifestFile
	for _, st := range states {
		var j shardJob
		if err := json.Unmarshal(st.Job, &j); err != nil {
			return nil, fmt.Errorf("jobs: %w: state of shard %d: %w", ErrShardMismatch, st.Index, err)
		}
		// One shard's accumulators in memory at a time, besides the merged ones.
		blob, err := shard.ReadEval(ctx, l, prefix, st)
		if err != nil {
			return nil, err
		}
		ev := &eval.Evaluation{}
		if err := ev.UnmarshalBinary(blob); err != nil {
			return nil, fmt.Errorf("jobs: %w: state of shard %d: %w", ErrShardMismatch, st.Index, err)
		}
		p := &partial{eval: ev, tally: j.Tally.tally(), counts: j.Counts.counts(), scorers: j.Scorers, models: j.Models, classes: j.Classes,
			bytesRead: slices.Clone(j.BytesRead), requests: slices.Clone(j.Requests), fitRows: j.FitRows, fitCap: j.FitCap, fitSource: j.FitSource}
		if merged == nil {
			merged = p
		} else if j.Mode != jobs[0].Mode {
			return nil, fmt.Errorf("jobs: %w: shard 0 is a %s, shard %d a %s", ErrShardMismatch, jobs[0].Mode, st.Index, j.Mode)
		} else if err := merged.merge(p); err != nil {
			return nil, fmt.Errorf("%w (shard %d)", err, st.Index)
		}
		jobs = append(jobs, &j)
		for _, f := range st.Files {
			f.Attempt = st.Attempt
			files = append(files, f)
		}
	}
	first := jobs[0]
	if first.Facts.Owned {
		for _, j := range jobs[1:] {
			first.Facts.add(j.Facts)
		}
	}
	r := &runner{spec: &Spec{Name: first.Name, Dataset: first.Dataset, hash: states[0].SpecSHA256}, log: log,
		seconds: map[string]float64{}, memory: first.Memory, notes: first.Notes, baselineChoice: first.Baseline, strategyOOF: first.StrategyOOF, runID: states[0].RunID, lake: l, opts: Options{Progress: progress}, cpu: runtime.GOMAXPROCS(0)}
	for _, j := range jobs { // a stage took as long as its slowest shard
		for stage, s := range j.Seconds {
			r.seconds[stage] = max(r.seconds[stage], s)
		}
	}
	att, err := l.BeginAttempt(ctx, prefix)
	var pending *lake.PendingCommit
	if errors.As(err, &pending) {
		return r.completePending(ctx, r.runID, prefix, pending.Attempt)
	}
	if err != nil {
		return nil, err
	}
	if err := att.Adopt(files); err != nil {
		att.Abort()
		return nil, err
	}
	rep, err := r.completeShards(ctx, att, first.Facts, merged, states, jobs, l.String())
	if err != nil {
		att.Abort()
		return nil, r.yieldTo(ctx, err, r.runID, prefix)
	}
	job := r.manifestJob(first.Name, first.Dataset, first.Filters, rep.Rows)
	job["shards"] = rep.Shards
	manifest := lake.Manifest{RunID: r.runID, SpecSHA256: states[0].SpecSHA256, Created: time.Now().UTC(), Versions: versions(), Job: job}
	if err := att.Commit(ctx, manifest); err != nil {
		return nil, r.yieldTo(ctx, err, r.runID, prefix)
	}
	r.progress("commit", 1, 1)
	log.Info("run finalized and committed", "prefix", prefix, "shards", count, "seconds", fmt.Sprintf("%.3f", time.Since(start).Seconds()))
	return &Result{RunID: r.runID, Attempt: att.ID(), Lake: l.String(), Prefix: prefix, Report: rep}, nil
}

// completeShards is complete for a merged partial, with the report's shards section.
func (r *runner) completeShards(ctx context.Context, att *lake.Attempt, facts *runFacts, p *partial, states []*shard.State, jobs []*shardJob, lakeURL string) (*eval.Report, error) {
	sr := &eval.ShardsReport{Count: len(states), Buckets: states[0].Buckets}
	var total int64
	for i, st := range states {
		j := jobs[i]
		var read int64
		for _, b := range j.BytesRead {
			read += b
		}
		total += read
		var secs float64
		for _, s := range j.Seconds {
			secs += s
		}
		sr.Shards = append(sr.Shards, eval.ShardReport{Index: st.Index, Source: st.Source, Attempt: st.Attempt, RowsScored: j.Tally.Scored, BytesRead: read,
			Seconds: secs, PeakRSSBytes: j.PeakRSS, Files: len(st.Files)})
	}
	if facts.LakeBytes > 0 {
		sr.ReadAmplification = float64(total) / float64(facts.LakeBytes)
	}
	r.shards = sr
	return r.complete(ctx, att, facts, p, r.runID, lakeURL)
}

// Finalize merges a sharded run's shard states and commits the run, by hand:
// after a finalize that failed for a reason the shards' retries cannot fix, or
// to commit a run whose shards all finished without one taking the lock. runURL
// is the run's folder (the lake URL joined with output/run_id); count is the
// shard count, 0 to take it from shard 0's state.
func Finalize(ctx context.Context, runURL string, count int, opts Options) (*Result, error) {
	l, prefix, err := lake.OpenRun(ctx, runURL, &lake.Options{IOTimeout: opts.IOTimeout, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	if count == 0 {
		st, err := shard.Get(ctx, l, prefix, 0)
		if err != nil {
			return nil, err
		}
		if st == nil {
			return nil, fmt.Errorf("jobs: %w: %s holds no state of shard 0: not a sharded run, or shard 0 has not finished", ErrInput, runURL)
		}
		count = st.Count
	}
	if status, err := l.Status(ctx, prefix); err != nil {
		return nil, err
	} else if status.Committed {
		return nil, fmt.Errorf("lake: run %q (committed by attempt %s): %w", prefix, status.Attempt, lake.ErrRunCommitted)
	}
	if done, err := shard.Finished(ctx, l, prefix); err != nil {
		return nil, err
	} else if n := countBelow(done, count); n < count {
		var missing []int
		for i := 0; i < count; i++ {
			if !slices.Contains(done, i) {
				missing = append(missing, i)
			}
		}
		return nil, fmt.Errorf("jobs: %w: %d of %d shards have not finished: %v; run them (the same spec, run id and shard count) first", ErrInput, count-n, count, missing)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return finalize(ctx, l, prefix, count, log, opts.Progress)
}

// shardCount is the run's shard count: 1 for a run of one process.
func (r *runner) shardCount() int {
	if r.opts.Shard == nil {
		return 1
	}
	return r.opts.Shard.Count
}
