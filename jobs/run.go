package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lakefuse/lakefuse/eval"
	"github.com/lakefuse/lakefuse/fusion"
	"github.com/lakefuse/lakefuse/internal/bigmem"
	"github.com/lakefuse/lakefuse/internal/spill"
	"github.com/lakefuse/lakefuse/lake"
	"github.com/lakefuse/lakefuse/shard"
)

// Options are the run-time settings that do not belong in the spec.
type Options struct {
	Lake   string // overrides spec.lake
	RunID  string // overrides spec.run_id
	Logger *slog.Logger
	// IOTimeout bounds each storage request (see lake.Options); 0 means the default.
	IOTimeout time.Duration
	// Memory is the memory budget ("512MiB"), overriding spec resources.memory;
	// empty means the spec's, else 75 % of the machine's (spill.NewBudget).
	Memory string
	// SpillDir is where the partitioned path writes its bucket files; empty
	// means the temp dir.
	SpillDir string
	// Groups forces the partitioned path with this many bucket groups (tests,
	// and reproducing a run); 0 lets the memory budget decide.
	Groups int
	// Partition is how the partitioned path groups rows: PartitionRange (key
	// ranges read from the lake; its footers must bound every row group's
	// keys), PartitionBucket (bucket files spilled to local disk), or empty:
	// key ranges where the footers allow them (ranges.go).
	Partition string
	// Progress, if set, is told how far each stage has got. It is called from
	// several goroutines.
	Progress func(stage string, done, total int64)
	// Shard, if set, makes this process one shard of a sharded run (shard.go):
	// it writes its bucket groups' rows and its state, and the last shard to
	// finish commits the run.
	Shard *shard.Identity
	// DatesFrom is the time the placeholders of the run id and the filters
	// ({today}, {yesterday}) were expanded at, and where it came from; the
	// manifest records it beside the expanded filters. Nil: not recorded.
	DatesFrom *DatesFrom
}

// DatesFrom is the time a run's dates were taken from: the time a scheduler
// scheduled it for, or the time it started.
type DatesFrom struct {
	Time   time.Time `json:"time"`
	Source string    `json:"source"` // LAKEFUSE_SCHEDULED_TIME, LAKEFUSE_CRONJOB_JOB_NAME or start
}

// manifestJob is what a manifest says of the job.
func (r *runner) manifestJob(name, dataset string, filters map[string]string, rows any) map[string]any {
	job := map[string]any{"name": name, "dataset": dataset, "filters": filters, "rows": rows}
	if r.opts.DatesFrom != nil {
		job["dates_from"] = r.opts.DatesFrom
	}
	return job
}

// Result is a committed run.
type Result struct {
	RunID   string
	Attempt string // the attempt whose files the run holds
	Lake    string
	Prefix  string // the run's prefix within the lake
	Report  *eval.Report
	// Completed is set when this call did not compute the run but finished
	// publishing an earlier attempt that had claimed the commit and was interrupted.
	Completed bool
	// Shard is set for a shard of a sharded run. Report is nil unless this
	// shard finalized the run.
	Shard *ShardResult
}

// readAmplificationWarn is the read amplification past which a sharded run's
// report warns (one read of every needed column, footers and all, is about 1).
const readAmplificationWarn = 1.3

// heapShare is the percentage of the memory budget the Go runtime's memory
// limit (GOMEMLIMIT) is set to.
const heapShare = 85

// gcPercent is the heap growth between collections the in-memory path sets
// (GOGC) unless the environment does. Its data are a few huge arrays without
// pointers, which a collection marks at almost no cost, so Go's default of 100 %
// only lets the heap grow to twice the live data: on the 2M-row benchmark, peak
// RSS 1,585 MB at 100, 1,215 MB at 25, 1,052 MB at 10, with the same wall time.
// Not on the partitioned path, which allocates batch after small batch under
// GOMEMLIMIT: there 25 made the 2M-row run under 512 MiB 4.59 s -> 6.59 s.
const gcPercent = 25

// RunID returns the run id a spec gets: the override, spec.run_id, or
// <name>-<12 hex digits of a hash of the spec and of its input snapshot
// (InputSnapshot, when execute or the caller set it)>, so that rerunning an
// interrupted job continues the same run and new data makes a new one.
func RunID(spec *Spec, override string) string {
	switch {
	case override != "":
		return override
	case spec.RunID != "":
		return spec.RunID
	}
	if spec.snapshot == "" {
		return spec.Name + "-" + spec.Hash()[:12]
	}
	sum := sha256.Sum256([]byte(spec.Hash() + "\n" + spec.snapshot))
	return spec.Name + "-" + hex.EncodeToString(sum[:6])
}

// LakeURL returns the lake a run uses: the override or spec.lake.
func LakeURL(spec *Spec, override string) (string, error) {
	if override != "" {
		return override, nil
	}
	if spec.Lake == "" {
		return "", fmt.Errorf("jobs: %w: lake: not set in the spec and no --lake given", ErrSpec)
	}
	return spec.Lake, nil
}

type runner struct {
	spec      *Spec
	opts      Options
	log       *slog.Logger
	lake      *lake.Lake
	cpu       int
	seconds   map[string]float64
	budget    *spill.Budget
	memory    *eval.MemoryReport
	fitSample *eval.FitReport // nil when the fits saw every training row
	plan      *Plan
	classes   int          // classes of the task, once known
	widths    []int        // per modality: its block's width
	listWidth []int        // per modality: its list column's width (features lists)
	groups    int          // bucket groups of the partitioned path; 0: in memory
	holdout   *holdoutCuts // a holdout's cuts over every bucket group (partitioned path)
	spillDir  string
	runID     string
	shards    *eval.ShardsReport // a finalized sharded run's
	notes     []string           // warnings from the fits, for the report
	// baselineChoice is how a fitting run chose its best baseline (chooseBaseline).
	baselineChoice *eval.BaselineChoice
	strategyOOF    *eval.StrategyOOF // every strategy's out-of-fold accuracy (strategiesOutOfFold)
	// ownedOnly is set for a shard that needs no row but its own (a score
	// run without a holdout): it spills only its bucket groups, and leaves the
	// choice of the best baseline to the finalize.
	ownedOnly bool
	// deferBaseline defers every evaluation's baseline choice while the one
	// pass over a lake of key ranges predicts before the fit sample is known
	// (onepass.go).
	deferBaseline bool
	shardLayout   shard.Layout
	// rowsOnDemand: a strategy that can (fusion.RowPredictor) computes its
	// rows when they are read instead of holding them (the in-memory path,
	// where its probabilities would be the run's largest array after the
	// frame; a bucket group's are small).
	rowsOnDemand bool
	// dealing, once started (dealAhead), deals the in-memory frame's folds
	// while the fits run.
	dealing *dealtFolds
}

// dealtFolds is a frame's training rows in canonical order and their folds
// (blockFolds), dealt by a goroutine: ready once done is closed.
type dealtFolds struct {
	frame *fusion.Frame
	done  chan struct{}
	train []int
	fold  [][]int8
	folds []int
}

// dealAhead starts dealing f's folds, which need the frame alone (labels,
// splits, presence, key hashes; fixed once the load is done), for the baseline
// choice to find ready: on the 2M bench it ran on one core for 0.8-1.3 s after
// the writes and before the evaluation could start; now it runs beside the fits
// and the writes.
func (r *runner) dealAhead(f *fusion.Frame) {
	d := &dealtFolds{frame: f, done: make(chan struct{})}
	r.dealing = d
	go func() {
		defer close(d.done)
		d.train = f.TrainRows(nil)
		d.fold, d.folds = blockFolds(f, d.train, fusion.Folds)
	}()
}

// dealt returns f's training rows in canonical order and their folds: those
// dealAhead dealt, else dealt now.
func (r *runner) dealt(f *fusion.Frame) (train []int, fold [][]int8, folds []int) {
	if d := r.dealing; d != nil && d.frame == f {
		<-d.done
		return d.train, d.fold, d.folds
	}
	train = f.TrainRows(nil) // in canonical order: each block's rows keep it
	fold, folds = blockFolds(f, train, fusion.Folds)
	return train, fold, folds
}

func (r *runner) progress(stage string, done, total int64) {
	if r.opts.Progress != nil {
		r.opts.Progress(stage, done, total)
	}
}

func (r *runner) timed(stage string, start time.Time) {
	r.seconds[stage] = time.Since(start).Seconds()
	r.log.Info("stage done", "stage", stage, "seconds", fmt.Sprintf("%.3f", r.seconds[stage]))
}

// Run executes a job end to end and commits it: fit on the training rows, score
// every row (unless the spec's mode is fit), evaluate, write. A cancelled ctx stops
// the job without committing: a run without _SUCCESS does not exist, and running
// the same spec again completes it.
func Run(ctx context.Context, spec *Spec, opts Options) (*Result, error) {
	return execute(ctx, spec, opts, nil)
}

// Score applies saved models (LoadModels' location: a run, its models/ folder, or
// one model file) to the spec's data, which need not have labels, and commits the
// scores as a run of its own. Where labels exist, the scores are evaluated too.
func Score(ctx context.Context, spec *Spec, opts Options, models string) (*Result, error) {
	lm, err := LoadModels(ctx, models)
	if err != nil {
		return nil, err
	}
	return execute(ctx, spec, opts, lm)
}

func execute(ctx context.Context, spec *Spec, opts Options, lm *loadedModels) (res *Result, err error) {
	url, err := LakeURL(spec, opts.Lake)
	if err != nil {
		return nil, err
	}
	r := &runner{spec: spec, opts: opts, log: opts.Logger, cpu: spec.Concurrency.CPU, seconds: map[string]float64{}, spillDir: opts.SpillDir}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.cpu <= 0 {
		r.cpu = runtime.GOMAXPROCS(0)
	}
	l, err := lake.OpenWith(ctx, url, &lake.Options{IOTimeout: opts.IOTimeout, Logger: r.log})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	r.lake = l
	if opts.RunID == "" && spec.RunID == "" && lm == nil {
		// The default run id names the spec and the files it reads.
		snap, err := InputSnapshot(ctx, l, spec)
		if err != nil {
			return nil, err
		}
		spec.SetSnapshot(snap)
	}
	runID := RunID(spec, opts.RunID)
	if err := lake.CheckName("run id", runID); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	r.runID = runID
	budget, err := spill.NewBudget(opts.Memory, spec.Resources.Memory)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	r.budget = budget
	if os.Getenv("GOMEMLIMIT") == "" {
		// The collector works harder near the budget instead of letting the heap
		// double past it (never below 64 MiB, where the runtime itself would make
		// it collect without pause). The limit sits at 85 % of the budget: the
		// resident set also holds what the runtime freed but has not yet returned,
		// whole huge pages and non-heap memory (measured: the embedding benchmark
		// peaked at 2.22 GB under a 2 GiB limit, at 1.93 GB under 85 % of it).
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(max(budget.Bytes/100*heapShare, 64<<20)))
	}
	r.log = r.log.With("run_id", runID)

	prefix := lake.Join(spec.Output, runID)
	prepare := func() (*Plan, error) {
		start := time.Now()
		plan, err := makePlan(ctx, l, spec, lm == nil, r.ownedBuckets())
		if err != nil {
			return nil, err
		}
		r.timed("plan", start)
		r.memory = estimateMemory(ctx, r, plan)
		r.choosePath(plan)
		r.log.Info("memory", "budget", r.budget.String(), "estimate", spill.FormatSize(r.memory.EstimateBytes), "path", r.memory.Path)
		return plan, r.modalityWidths(ctx, plan)
	}
	if opts.Shard != nil {
		return r.executeShard(ctx, prepare, lm, prefix)
	}

	// Before any heavy work: a committed run is final, and a commit that another
	// attempt claimed but did not finish is finished rather than redone.
	att, err := l.BeginAttempt(ctx, prefix)
	var pending *lake.PendingCommit
	if errors.As(err, &pending) {
		return r.completePending(ctx, runID, prefix, pending.Attempt)
	}
	if err != nil {
		return nil, err
	}
	r.log = r.log.With("attempt", att.ID())
	r.log.Info("attempt started", "prefix", prefix)
	defer func() {
		if err != nil {
			att.Abort() // its staged files; a committed run is never touched
		}
	}()

	plan, err := prepare()
	if err != nil {
		return nil, err
	}
	var report *eval.Report
	if r.groups > 0 {
		var p *partial
		if p, err = r.runPartitioned(ctx, plan, att, lm); err == nil {
			report, err = r.complete(ctx, att, r.facts(plan), p, runID, l.String())
		}
	} else {
		report, err = r.runInMemory(ctx, plan, att, lm, runID, l.String())
	}
	if err != nil {
		return nil, err
	}
	start := time.Now()
	manifest := lake.Manifest{
		RunID:      runID,
		SpecSHA256: spec.Hash(),
		Created:    time.Now().UTC(),
		Versions:   versions(),
		Job:        r.manifestJob(spec.Name, spec.Dataset, spec.Filters, report.Rows),
	}
	if err := att.Commit(ctx, manifest); err != nil {
		return nil, r.yieldTo(ctx, err, runID, prefix)
	}
	r.progress("commit", 1, 1)
	r.log.Info("run committed", "prefix", prefix, "seconds", fmt.Sprintf("%.3f", time.Since(start).Seconds()))
	return &Result{RunID: runID, Attempt: att.ID(), Lake: l.String(), Prefix: prefix, Report: report}, nil
}

// runInMemory is the run held whole in memory: scan every source, align, build
// one frame, fit (or restore), predict, evaluate and write it.
func (r *runner) runInMemory(ctx context.Context, plan *Plan, att *lake.Attempt, lm *loadedModels, runID, lakeURL string) (*eval.Report, error) {
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(gcPercent))
	}
	r.rowsOnDemand = true
	tables, stats, err := r.scan(ctx, plan)
	if err != nil {
		return nil, err
	}
	var bf *builtFrame
	if len(tables[0]) > 0 && firstTable(tables).IntKeys != nil {
		bf, err = alignAndBuild[int64](ctx, r, plan, tables, stats, lm, func(t *lake.Table) []int64 { return t.IntKeys })
	} else {
		bf, err = alignAndBuild[string](ctx, r, plan, tables, stats, lm, func(t *lake.Table) []string { return t.StrKeys })
	}
	if err != nil {
		return nil, err
	}
	// The scan's key columns, the alignment's maps and the load's decode
	// buffers (150 MB at 2M rows) are garbage now, but the collector would
	// only run once the next stages had allocated a quarter of the heap anew,
	// in pages faulted in fresh — the most expensive memory on a virtual
	// machine. Collected here, the stages after reuse them: 2M-row bench,
	// peak RSS 689 → 603 MiB and 14 % less wall time (docs/decisions.md).
	runtime.GC()
	var scored []*scoredStrategy
	var models map[string]*ModelFile
	var fitted *fittedState
	var uni []*fusion.Unimodal
	if lm != nil {
		if err := lm.checkSchema(plan, bf.frame); err != nil {
			return nil, err
		}
		scored, err = r.restorePredict(ctx, bf, lm)
	} else {
		r.dealAhead(bf.frame)
		scored, uni, fitted, err = r.fitPredict(ctx, plan, bf)
	}
	if err != nil {
		return nil, err
	}
	// The scores are final: their rows are written while the baseline is
	// chosen and the rows are evaluated, which only read them.
	rows, stop, err := r.startRows(ctx, att, bf, scored, lm != nil || r.spec.Mode != "fit", runID)
	if err != nil {
		return nil, err
	}
	defer stop()
	start := time.Now()
	var ev *eval.Evaluation
	if lm == nil {
		models = modelFiles(r.spec, plan, bf, scored, byModality(bf.frame, uni), runID)
		ev, err = r.chooseAndEvaluate(ctx, bf, scored, fitted)
	} else {
		ev, err = r.evaluateFrame(ctx, bf, scored, fitted, bf.splits, "", "", nil, nil)
	}
	if err != nil {
		return nil, err
	}
	t := newTally(len(plan.Modalities), len(scored))
	t.add(bf, scored)
	t.warnings = bf.warnings
	bytesRead, requests := statsOf(stats)
	report := r.report(r.facts(plan), t, ev, metaOf(scored), bf.classes.names, bf.splits, bytesRead, requests, runID, lakeURL)
	r.attachTruth(ctx, report)
	r.timed("evaluate", start)
	modelBytes, err := marshalModels(models)
	if err != nil {
		return nil, err
	}
	if err = r.finishRun(ctx, att, report, modelBytes, runID, rows); err != nil {
		return nil, err
	}
	return report, nil
}

// startRows starts writing a frame's score and rejected rows (writeRows) unless
// another attempt has committed the run or claimed its commit. rows waits for
// the writes and records their time; stop, for the paths that fail before
// waiting, cancels them and waits, so that nothing writes once the run returns.
func (r *runner) startRows(ctx context.Context, att *lake.Attempt, bf *builtFrame, scored []*scoredStrategy, writeScores bool, runID string) (rows func() error, stop func(), err error) {
	if err := r.yieldTo(ctx, att.Check(ctx), runID, att.Prefix()); err != nil {
		return nil, nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- r.writeRows(wctx, att, bf, scored, 0, writeScores) }()
	var once sync.Once
	var werr error
	wait := func() { once.Do(func() { werr = <-done }) }
	rows = func() error {
		wait()
		r.timed("write_rows", start)
		return werr
	}
	stop = func() {
		cancel()
		wait()
	}
	return rows, stop, nil
}

// finishRun stamps the report with the attempt, yields to an attempt that
// committed (or claimed the commit) while this one computed, then writes the
// rows still to write (rows, if set) and what describes the whole run.
func (r *runner) finishRun(ctx context.Context, att *lake.Attempt, rep *eval.Report, models map[string][]byte, runID string, rows func() error) error {
	rep.Attempt = att.ID()
	if err := r.yieldTo(ctx, att.Check(ctx), runID, att.Prefix()); err != nil {
		return err
	}
	defer r.timed("write", time.Now())
	if rows != nil {
		if err := rows(); err != nil {
			return err
		}
	}
	return r.writeSummary(ctx, att, models, rep)
}

// byModality names each block's unimodal model by its modality.
func byModality(f *fusion.Frame, uni []*fusion.Unimodal) map[string]*fusion.Unimodal {
	out := map[string]*fusion.Unimodal{}
	for b, u := range uni {
		out[f.Blocks[b].Name] = u
	}
	return out
}

// chooseAndEvaluate chooses the baseline (chooseBaseline) and evaluates the
// frame against it. With bootstrap replicates the evaluation's per-row paired
// comparisons need the baseline first. Without, the evaluation needs it only
// for its report: it runs first, deferred, and scores the cross-validation
// folds of every probabilities modality in the same pass — such a modality's
// predictions are its own out-of-fold ones, so the choice would read, predict
// and score the same rows again — and is settled with the choice after.
func (r *runner) chooseAndEvaluate(ctx context.Context, bf *builtFrame, scored []*scoredStrategy, fitted *fittedState) (*eval.Evaluation, error) {
	f := bf.frame
	chosenOn := fitSplits(r.spec)
	if r.spec.Evaluation.replicates() >= 0 {
		best, err := r.chooseBaseline(ctx, f, fitted)
		if err != nil {
			return nil, err
		}
		return r.evaluateFrame(ctx, bf, scored, fitted, bf.splits, best, chosenOn, nil, nil)
	}
	cv, err := r.candidateFolds(ctx, f, fitted)
	if err != nil {
		return nil, err
	}
	ev, err := r.evaluateFrame(ctx, bf, scored, fitted, bf.splits, "", "", cv, nil)
	if err != nil {
		return nil, err
	}
	best, err := r.chooseOn(ctx, f, fitted, cv, ev)
	ev.Folds = nil // read: the report does not show them
	if err != nil {
		return nil, err
	}
	switch {
	case r.ownedOnly: // a shard's evaluation stays deferred until the shards merge
	case best == "": // no candidate: the evaluation's own rule, as without one
		ev.SettleBaseline()
	default:
		ev.UseBaseline(best, chosenOn)
	}
	return ev, nil
}

// cvFolds is what the baseline candidates are scored on: every block's
// out-of-fold predictions, the training rows in key-hash order, and each
// block's stratified folds (blockFolds).
type cvFolds struct {
	oof   [][]float32
	train []int
	fold  [][]int8
	folds []int
}

// candidateFolds computes the out-of-fold predictions of the blocks whose
// fits did not (a features modality's, when no strategy needed them) and deals
// the folds.
func (r *runner) candidateFolds(ctx context.Context, f *fusion.Frame, fs *fittedState) (*cvFolds, error) {
	oof := fs.in.OOF
	if oof == nil {
		lr := &fusion.LogRegOptions{C: r.spec.Model.C, MaxIter: r.spec.Model.MaxIter}
		var err error
		if oof, err = fusion.OutOfFold(ctx, f, fs.uni, fs.in.Unimodal, lr, r.cpu); err != nil {
			return nil, fmt.Errorf("jobs: out-of-fold predictions for the baseline choice: %w", err)
		}
	}
	train, fold, folds := r.dealt(f)
	return &cvFolds{oof: oof, train: train, fold: fold, folds: folds}, nil
}

// scoredIn is the fold scores an evaluation kept for the classifier whose
// probabilities are oof — the same array, so the same predictions — or nil.
func scoredIn(ev *eval.Evaluation, oof []float32) *eval.FoldScores {
	if ev == nil {
		return nil
	}
	for si, fs := range ev.Folds {
		if fs != nil && sameArray(ev.Scores[si].Probs32, oof) {
			return fs
		}
	}
	return nil
}

// chooseBaseline names the baseline strategies are compared with: the modality
// whose unimodal model has the best cross-validated accuracy on the training rows
// the fits saw — a features modality's rows predicted by models fitted without
// them (the stratified folds of fusion.OutOfFold), a probabilities modality's
// own, each fold's accuracy averaged over the folds (scikit-learn's
// cross_val_score) — ties to the lower cross-validated log loss, then to the
// first name. Training accuracy
// would reward the modality that overfits most. Every path chooses on the same
// rows, so a run held whole, a run in bucket groups and every shard compare with
// the same baseline. It records the candidates for the report.
func (r *runner) chooseBaseline(ctx context.Context, f *fusion.Frame, fs *fittedState) (string, error) {
	cv, err := r.candidateFolds(ctx, f, fs)
	if err != nil {
		return "", err
	}
	return r.chooseOn(ctx, f, fs, cv, nil)
}

// chooseOn is chooseBaseline on the candidates' folds, taking a candidate an
// evaluation (ev, if not nil) scored per fold from it.
func (r *runner) chooseOn(ctx context.Context, f *fusion.Frame, fs *fittedState, cv *cvFolds, ev *eval.Evaluation) (string, error) {
	choice := &eval.BaselineChoice{}
	// One candidate per block, scored concurrently.
	choice.Candidates = make([]eval.BaselineCandidate, len(f.Blocks))
	var g errgroup.Group
	g.SetLimit(r.cpu)
	for b, blk := range f.Blocks {
		name := "unimodal." + blk.Name
		if sc := scoredIn(ev, cv.oof[b]); sc != nil {
			choice.Candidates[b] = candidateOf(name, sc.Right, sc.LogLoss)
			continue
		}
		g.Go(func() error {
			choice.Candidates[b] = scoreCandidate(f, name, cv.oof[b], cv.fold[b], cv.folds[b])
			return nil
		})
	}
	_ = g.Wait()
	// Equal accuracy up to rounding is a tie (a mean of per-fold fractions).
	same := func(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }
	best := -1
	for b, c := range choice.Candidates {
		switch {
		case best < 0:
			best = b
		case same(c.Accuracy, choice.Candidates[best].Accuracy):
			if bc := choice.Candidates[best]; c.LogLoss < bc.LogLoss || (c.LogLoss == bc.LogLoss && c.Name < bc.Name) {
				best = b
			}
		case c.Accuracy > choice.Candidates[best].Accuracy:
			best = b
		}
	}
	if best < 0 {
		return "", nil
	}
	// A tie is the winner's accuracy shared: log loss (or the name) decided.
	for b, c := range choice.Candidates {
		if b != best && same(c.Accuracy, choice.Candidates[best].Accuracy) {
			choice.Tie = true
		}
	}
	r.baselineChoice = choice
	// The same out-of-fold inputs measure every strategy out of fold, for the
	// report's overfitting table.
	var err error
	all := len(f.Blocks) // blockFolds' last entry: every training row
	if r.strategyOOF, err = r.strategiesOutOfFold(ctx, f, cv.train, cv.fold[all], cv.folds[all], cv.oof, fs); err != nil {
		return "", err
	}
	return choice.Candidates[best].Name, nil
}

// scoreCandidate is a block's unimodal model as a baseline candidate: its
// out-of-fold predictions (oof) on the training rows that have the modality,
// scored per stratified fold (foldOf, of folds, as blockFolds deals them and
// fusion.OutOfFold fitted them), and averaged over the folds: scikit-learn's
// cross_val_score.
func scoreCandidate(f *fusion.Frame, name string, oof []float32, foldOf []int8, folds int) eval.BaselineCandidate {
	k := f.Classes
	right, lls := make([]int64, folds), make([]eval.LogLoss, folds)
	p := make([]float64, k)
	for i, fo := range foldOf {
		if fo < 0 {
			continue
		}
		for c, v := range oof[i*k : (i+1)*k] {
			p[c] = float64(v)
		}
		if eval.Argmax(p) == int(f.Label[i]) {
			right[fo]++
		}
		lls[fo].Add(p, int(f.Label[i]))
	}
	return candidateOf(name, right, lls)
}

// candidateOf is a candidate from its folds' right predictions and log loss:
// each figure averaged over the folds that have rows.
func candidateOf(name string, right []int64, lls []eval.LogLoss) eval.BaselineCandidate {
	c := eval.BaselineCandidate{Name: name, Folds: len(right)}
	size := make([]int64, len(lls))
	used := 0
	for fo := range lls {
		if size[fo] = lls[fo].Rows; size[fo] > 0 {
			c.Rows += size[fo]
			c.LogLoss += lls[fo].Result()
			used++
		}
	}
	c.Accuracy = foldMean(right, size)
	if used > 0 {
		c.LogLoss /= float64(used)
	}
	return c
}

// mostRight names the baseline with the most right predictions among rows every
// baseline is judged on, ties to the first name ("" without baselines).
func mostRight(names []string, right []int64) string {
	best, bestRight := "", int64(-1)
	for i, name := range names {
		if right[i] > bestRight || (right[i] == bestRight && name < best) {
			best, bestRight = name, right[i]
		}
	}
	return best
}

// fitSplits names the split(s) the fits train on, for the report.
func fitSplits(spec *Spec) string {
	switch {
	case spec.Split.Column != "":
		return strings.Join(spec.Split.Train, "+")
	case spec.Split.Holdout != nil:
		return "train"
	}
	return "all"
}

// yieldTo handles an attempt that found another attempt's claim on the run (err
// is a *lake.PendingCommit): it helps that commit finish, live winner or dead,
// and reports the run as committed. Any other error, or nil, is returned as is.
func (r *runner) yieldTo(ctx context.Context, err error, runID, prefix string) error {
	var pending *lake.PendingCommit
	if !errors.As(err, &pending) {
		return err
	}
	if cerr := r.lake.CompleteCommit(ctx, prefix, pending.Attempt); cerr != nil && !errors.Is(cerr, lake.ErrRunCommitted) {
		return cerr
	}
	return fmt.Errorf("jobs: run %s: attempt %s committed it first: %w", runID, pending.Attempt, lake.ErrRunCommitted)
}

// completePending finishes the commit of an attempt that claimed the run and was
// interrupted while publishing, and returns that run.
func (r *runner) completePending(ctx context.Context, runID, prefix, attempt string) (*Result, error) {
	r.log.Warn("finishing the commit of an earlier attempt that was interrupted while publishing", "attempt", attempt, "prefix", prefix)
	if err := r.lake.CompleteCommit(ctx, prefix, attempt); err != nil {
		return nil, err
	}
	b, err := r.lake.ReadAll(ctx, lake.Join(prefix, "report.json"))
	if err != nil {
		return nil, err
	}
	rep, err := eval.ReadReport(b)
	if err != nil {
		return nil, fmt.Errorf("jobs: run %s: report.json: %w", runID, err)
	}
	return &Result{RunID: runID, Attempt: attempt, Lake: r.lake.String(), Prefix: prefix, Report: rep, Completed: true}, nil
}

func firstTable(tables [][]*lake.Table) *lake.Table { return tables[0][0] }

// scan reads every file of every source, at most IO files at a time.
func (r *runner) scan(ctx context.Context, plan *Plan) ([][]*lake.Table, []*lake.ScanStats, error) {
	defer r.timed("scan", time.Now())
	sources := plan.Sources()
	tables := make([][]*lake.Table, len(sources))
	stats := make([]*lake.ScanStats, len(sources))
	var total int64
	var done atomic.Int64
	for _, sp := range sources {
		total += int64(len(sp.Files))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.spec.Concurrency.IO)
	for si, sp := range sources {
		tables[si] = make([]*lake.Table, len(sp.Files))
		stats[si] = &lake.ScanStats{}
		for fi, f := range sp.Files {
			g.Go(func() error {
				t, err := r.lake.ScanFile(gctx, f, sp.Request, stats[si])
				if err != nil {
					if gctx.Err() != nil {
						return gctx.Err()
					}
					return sourceErr(sp.Kind, sp.Name, err)
				}
				tables[si][fi] = t
				r.progress("scan", done.Add(1), total)
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	return tables, stats, nil
}

// alignAndBuild checks the key type, aligns every source by key and builds the Frame.
func alignAndBuild[K keyed](ctx context.Context, r *runner, plan *Plan, tables [][]*lake.Table, stats []*lake.ScanStats, lm *loadedModels, keysOf func(*lake.Table) []K) (*builtFrame, error) {
	start := time.Now()
	sources := plan.Sources()
	src := make([]scanned[K], len(sources))
	for si, sp := range sources {
		src[si] = scanned[K]{name: sp.Name, tables: tables[si]}
		for _, t := range tables[si] {
			k := keysOf(t)
			if k == nil {
				return nil, fmt.Errorf("jobs: %w: %s %q: file %s: key column %q has a different type (integer vs string) from the first file's", ErrInput, sp.Kind, sp.Name, t.File, plan.Spec.Key)
			}
			src[si].keys = append(src[si].keys, k)
		}
	}
	al, err := alignBuckets(ctx, src, plan.Anchor, plan.Spec.Align.Join, plan.Spec.Align.Duplicates, plan.Spec.Align.Buckets, r.cpu)
	if err != nil {
		return nil, err
	}
	r.progress("align", 1, 1)
	r.timed("align", start)
	start = time.Now()
	var labelTables []*lake.Table
	if plan.LabelFrom >= 0 {
		labelTables = tables[plan.LabelFrom]
	}
	spec := plan.Spec
	if lm != nil { // the models fix the classes and their order
		cp := *spec
		cp.Label.Classes = lm.classes
		spec = &cp
	}
	var modelInteger *bool
	if lm != nil {
		modelInteger = &lm.integer
	}
	cs, err := collectClasses(spec, labelTables, modelInteger)
	if err != nil {
		return nil, err
	}
	if len(cs.names) < 2 {
		return nil, fmt.Errorf("jobs: %w: label %q has %d distinct values; classification needs at least 2", ErrInput, plan.Spec.Label.Column, len(cs.names))
	}
	bf, err := buildFrame(ctx, r, plan, src, al, cs, stats, nil)
	if err != nil {
		return nil, err
	}
	if err := checkFrame(r, plan, bf, lm == nil); err != nil {
		return nil, err
	}
	if lm == nil {
		r.classes = len(cs.names)
		if r.fitSample = limitTraining(r, bf.frame, r.sampleKeys(bf)); r.fitSample != nil {
			r.log.Warn(r.fitSample.Warning)
		}
	}
	r.timed("load", start)
	return bf, nil
}

// scoredStrategy is one strategy's (or baseline's) predictions for every frame row.
type scoredStrategy struct {
	name       string
	typ        string
	baseline   bool
	modalities []string
	probs      []float64 // Rows×Classes
	probs32    []float32 // instead of probs: a baseline's, the frame's float32 unimodal probabilities
	// fill, instead of probs, computes rows lo…hi−1 into dst (row i at
	// (i−lo)·Classes): a fusion.RowPredictor's, on the in-memory path.
	fill        func(lo, hi int, dst []float64)
	classes     []int32   // with fill: the class each row predicts
	uncertainty []float64 // per row, for uncertainty-aware strategies; else nil
	artifact    any
	fitSec      float64
	predictSec  float64
}

// argmax is the class row i predicts (not for a strategy computed on demand:
// predictions).
func (s *scoredStrategy) argmax(i, k int) int {
	if s.probs32 != nil {
		return eval.Argmax(s.probs32[i*k : (i+1)*k])
	}
	return eval.Argmax(s.probs[i*k : (i+1)*k])
}

// fillRows is how many rows a strategy computed on demand computes at a time.
const fillRows = 4096

// predictions calls fn with the class each of rows 0…n−1 predicts, in order.
func (s *scoredStrategy) predictions(n, k int, fn func(i, class int)) {
	if s.classes != nil {
		for i, c := range s.classes[:n] {
			fn(i, int(c))
		}
		return
	}
	if s.fill == nil {
		for i := 0; i < n; i++ {
			fn(i, s.argmax(i, k))
		}
		return
	}
	_ = rowClasses(context.Background(), n, k, func(lo, hi int, dst []float64) error {
		s.fill(lo, hi, dst)
		return nil
	}, fn)
}

// classCodes is the class each of rows 0…n−1 predicts.
func (s *scoredStrategy) classCodes(n, k int) []int32 {
	if s.classes != nil {
		return s.classes[:n]
	}
	codes := make([]int32, n)
	s.predictions(n, k, func(i, c int) { codes[i] = int32(c) })
	return codes
}

// rowClasses calls fn with the class each of rows 0…n−1 predicts, in order, from
// the probabilities fill computes fillRows rows at a time; it stops at fill's
// first error.
func rowClasses(ctx context.Context, n, k int, fill func(lo, hi int, dst []float64) error, fn func(i, class int)) error {
	buf := make([]float64, fillRows*k)
	for lo := 0; lo < n; lo += fillRows {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := chunkClasses(lo, min(lo+fillRows, n), k, buf, fill, fn); err != nil {
			return err
		}
	}
	return nil
}

// chunkClasses computes rows lo…hi−1 with fill into buf and calls fn with the
// class each predicts.
func chunkClasses(lo, hi, k int, buf []float64, fill func(lo, hi int, dst []float64) error, fn func(i, class int)) error {
	if err := fill(lo, hi, buf[:(hi-lo)*k]); err != nil {
		return err
	}
	for i := lo; i < hi; i++ {
		fn(i, eval.Argmax(buf[(i-lo)*k:(i-lo+1)*k]))
	}
	return nil
}

// classesOf is the class each of rows 0…n−1 predicts, from the probabilities
// fill computes fillRows rows at a time on up to workers goroutines (fill must
// allow concurrent calls, as a fusion.RowPredictor does); it stops at the first
// error.
func classesOf(ctx context.Context, n, k, workers int, fill func(lo, hi int, dst []float64) error) ([]int32, error) {
	classes := make([]int32, n)
	set := func(i, c int) { classes[i] = int32(c) }
	var next atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for range max(1, min(workers, (n+fillRows-1)/fillRows)) {
		g.Go(func() error {
			buf := make([]float64, fillRows*k)
			for {
				lo := int(next.Add(fillRows)) - fillRows
				if lo >= n {
					return nil
				}
				if err := gctx.Err(); err != nil {
					return err
				}
				if err := chunkClasses(lo, min(lo+fillRows, n), k, buf, fill, set); err != nil {
					return err
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return classes, nil
}

// probsColumn is rows [lo, hi)'s probabilities as an output column.
func (s *scoredStrategy) probsColumn(lo, hi, k int) lake.OutColumn {
	if s.fill != nil {
		return lake.OutColumn{Name: "probs", Width: k, Fill: func(a, b int, dst []float64) { s.fill(lo+a, lo+b, dst) }}
	}
	if s.probs32 != nil {
		return lake.OutColumn{Name: "probs", List32: s.probs32[lo*k : hi*k], Width: k}
	}
	return lake.OutColumn{Name: "probs", List64: s.probs[lo*k : hi*k], Width: k}
}

// fitPredict fits the unimodal models and every strategy, and scores every row.
func (r *runner) fitPredict(ctx context.Context, plan *Plan, bf *builtFrame) ([]*scoredStrategy, []*fusion.Unimodal, *fittedState, error) {
	defer r.timed("fit_predict", time.Now())
	f := bf.frame
	lr := &fusion.LogRegOptions{C: r.spec.Model.C, MaxIter: r.spec.Model.MaxIter}
	uni, err := fusion.FitUnimodal(ctx, f, lr, r.cpu)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("jobs: fit unimodal models: %w", err)
	}
	in, baselines := r.predictUnimodal(f, uni)
	strategies := make([]fusion.Strategy, len(r.spec.Strategies))
	for i, st := range r.spec.Strategies {
		if strategies[i], err = fusion.New(st.Config()); err != nil {
			return nil, nil, nil, fmt.Errorf("jobs: %w: strategies[%d]: %w", ErrSpec, i, err)
		}
	}
	if fusion.NeedsOOF(strategies) {
		start := time.Now()
		if in.OOF, err = fusion.OutOfFold(ctx, f, uni, in.Unimodal, lr, r.cpu); err != nil {
			return nil, nil, nil, fmt.Errorf("jobs: out-of-fold predictions: %w", err)
		}
		r.seconds["out_of_fold"] = time.Since(start).Seconds()
		r.foldNotes(f, bf.classes)
	}
	r.progress("fit", int64(len(f.Blocks)), int64(len(f.Blocks)+len(strategies)))

	scored := make([]*scoredStrategy, len(strategies))
	var done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cpu)
	for i, s := range strategies {
		g.Go(func() error {
			t0 := time.Now()
			if err := s.Fit(gctx, in); err != nil {
				return fmt.Errorf("jobs: strategy %q: fit: %w", s.Name(), err)
			}
			fitSec := time.Since(t0).Seconds()
			sc, err := r.predictStrategy(gctx, s, in)
			if err != nil {
				return err
			}
			sc.fitSec = fitSec
			scored[i] = sc
			r.progress("fit", int64(len(f.Blocks))+done.Add(1), int64(len(f.Blocks)+len(strategies)))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, nil, err
	}
	var prior []float64
	if len(uni) > 0 {
		prior = uni[0].Prior
	}
	return append(scored, baselines...), uni, &fittedState{in: in, uni: uni, strategies: strategies, scored: scored, prior: prior}, nil
}

// restorePredict scores every row with loaded models: the unimodal models they
// carry (also reported as baselines) and the strategies.
func (r *runner) restorePredict(ctx context.Context, bf *builtFrame, lm *loadedModels) ([]*scoredStrategy, error) {
	defer r.timed("predict", time.Now())
	f := bf.frame
	uni := make([]*fusion.Unimodal, len(f.Blocks))
	var blocks []fusion.Block
	var models []*fusion.Unimodal
	for b, blk := range f.Blocks {
		if u, ok := lm.unimodal[blk.Name]; ok {
			uni[b] = u
			blocks = append(blocks, blk)
			models = append(models, u)
		}
	}
	// Only the modalities the models use are scored; the others stay out of the frame.
	sub := *f
	sub.Blocks = blocks
	in, baselines := r.predictUnimodal(&sub, models)
	var scored []*scoredStrategy
	for _, s := range lm.strategies {
		sc, err := r.predictStrategy(ctx, s, in)
		if err != nil {
			return nil, err
		}
		scored = append(scored, sc)
	}
	r.progress("fit", 1, 1)
	return append(scored, baselines...), nil
}

// predictUnimodal scores every block with its unimodal model: the strategies'
// inputs, and the baselines.
func (r *runner) predictUnimodal(f *fusion.Frame, uni []*fusion.Unimodal) (*fusion.Inputs, []*scoredStrategy) {
	k := f.Classes
	in := &fusion.Inputs{Frame: f, Unimodal: make([][]float32, len(f.Blocks))}
	out := make([]*scoredStrategy, len(f.Blocks))
	var pg errgroup.Group
	pg.SetLimit(r.cpu)
	for b := range f.Blocks {
		pg.Go(func() error {
			start := time.Now()
			if f.Blocks[b].Kind == fusion.Probs {
				in.Unimodal[b] = f.Blocks[b].Values // normalised in place
			} else {
				in.Unimodal[b] = bigmem.Make[float32](f.Rows*k, f.Rows*k)
			}
			uni[b].Predict(&f.Blocks[b], in.Unimodal[b])
			out[b] = &scoredStrategy{
				name: "unimodal." + f.Blocks[b].Name, typ: "unimodal", baseline: true,
				modalities: []string{f.Blocks[b].Name}, probs32: in.Unimodal[b], artifact: uni[b],
				fitSec: uni[b].FitSeconds, predictSec: time.Since(start).Seconds(),
			}
			return nil
		})
	}
	_ = pg.Wait()
	return in, out
}

// foldNotes warns where a features modality's out-of-fold predictions used fewer
// folds than fusion.Folds, or fitted a fold without a class, because a class has
// few training rows there.
func (r *runner) foldNotes(f *fusion.Frame, cs *classSet) {
	for _, blk := range f.Blocks {
		if blk.Kind != fusion.Features {
			continue
		}
		_, k, small := f.StratifiedFolds(f.TrainRows(blk.Present), fusion.Folds)
		if k == fusion.Folds && small == nil {
			continue
		}
		msg := fmt.Sprintf("modality %q: out-of-fold predictions (for stacking, learned weights, calibration) used %d stratified folds instead of %d: a class has fewer training rows than folds", blk.Name, k, fusion.Folds)
		if small != nil {
			var names []string
			for _, c := range small {
				names = append(names, cs.names[c])
			}
			msg += fmt.Sprintf("; classes %v have one training row, which one fold fits without", names)
		}
		r.notes = append(r.notes, msg)
		r.log.Warn(msg)
	}
}

// computedWhenRead reports whether s's rows can be computed when read instead
// of held: a fusion.RowPredictor without an uncertainty column.
func computedWhenRead(s fusion.Strategy) bool {
	_, rows := s.(fusion.RowPredictor)
	_, uncertain := s.(fusion.UncertaintyPredictor)
	return rows && !uncertain
}

// predictStrategy scores every row with a fitted (or restored) strategy — or,
// with r.rowsOnDemand and a fusion.RowPredictor, predicts every row once (for
// its errors, its time and the classes it predicts) and keeps a way to compute
// the probabilities again when read.
func (r *runner) predictStrategy(ctx context.Context, s fusion.Strategy, in *fusion.Inputs) (*scoredStrategy, error) {
	t0 := time.Now()
	art := s.Artifact()
	art.Classes = in.Classes
	sc := &scoredStrategy{name: s.Name(), typ: art.Type, modalities: art.Modalities, artifact: art}
	if r.rowsOnDemand && computedWhenRead(s) {
		rp := s.(fusion.RowPredictor)
		predict := func(lo, hi int, dst []float64) error { return rp.PredictRows(in, lo, hi, dst) }
		var err error
		if sc.classes, err = classesOf(ctx, in.Rows, in.Classes, r.cpu, predict); err != nil {
			return nil, fmt.Errorf("jobs: strategy %q: predict: %w", s.Name(), err)
		}
		sc.fill = func(lo, hi int, dst []float64) {
			// Every row was predicted above without an error: the same
			// computation cannot fail now.
			if err := rp.PredictRows(in, lo, hi, dst); err != nil {
				panic(fmt.Sprintf("jobs: strategy %q: rows %d…%d, predicted before, now: %v", s.Name(), lo, hi, err))
			}
		}
		sc.predictSec = time.Since(t0).Seconds()
		return sc, nil
	}
	sc.probs = bigmem.Floats(in.Rows * in.Classes)
	var err error
	if up, ok := s.(fusion.UncertaintyPredictor); ok {
		sc.uncertainty = make([]float64, in.Rows)
		err = up.PredictUncertainty(ctx, in, sc.probs, sc.uncertainty)
	} else {
		err = s.Predict(ctx, in, sc.probs)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: strategy %q: predict: %w", s.Name(), err)
	}
	sc.predictSec = time.Since(t0).Seconds()
	return sc, nil
}

// tally is what the report counts about rows, summed over bucket groups.
type tally struct {
	aligned, scored, noModality int64
	bySplit                     map[string]int64
	matched, duplicates         []int64            // per modality
	invalid                     []map[string]int64 // per modality, by reason
	warnings                    []string
	predictSec                  []float64 // per scorer
}

func newTally(modalities, scorers int) *tally {
	t := &tally{bySplit: map[string]int64{}, matched: make([]int64, modalities), duplicates: make([]int64, modalities),
		invalid: make([]map[string]int64, modalities), predictSec: make([]float64, scorers)}
	for i := range t.invalid {
		t.invalid[i] = map[string]int64{}
	}
	return t
}

// add counts one frame's rows and the time its scores took.
func (t *tally) add(bf *builtFrame, scored []*scoredStrategy) {
	t.aligned += bf.aligned
	t.scored += int64(bf.frame.Rows)
	t.noModality += bf.aligned - int64(bf.frame.Rows)
	for c, n := range bf.splitCounts() {
		if n > 0 {
			t.bySplit[bf.splitNames[c]] += n
		}
	}
	for m := range t.matched {
		t.matched[m] += bf.stats[m].Matched
		t.duplicates[m] += bf.stats[m].Duplicates
		for reason, n := range bf.invalid[m] {
			t.invalid[m][reason] += n
		}
	}
	for i, s := range scored {
		t.predictSec[i] += s.predictSec
	}
}

// evaluateFrame computes every strategy's and baseline's metrics on one frame's
// rows (a run's, or a bucket group's), with its ablations. splits is the run's
// split order, which every group shares; best names the baseline strategies are
// compared with ("" lets eval choose, for a run evaluated whole). With cv the
// choice is left to be settled after (eval's DeferBaseline, as for runs that
// hold only their own rows), and the folds of every baseline whose predictions
// are its out-of-fold ones are scored in the same pass (chooseAndEvaluate).
// into is the total a bucket group's evaluation is merged into (eval's
// Options.Into), nil for the first group and for a frame evaluated whole.
func (r *runner) evaluateFrame(ctx context.Context, bf *builtFrame, scored []*scoredStrategy, fitted *fittedState, splits []string, best, chosenOn string, cv *cvFolds, into *eval.Evaluation) (*eval.Evaluation, error) {
	f := bf.frame
	splitIndex := map[string]int{}
	for i, s := range splits {
		splitIndex[s] = i
	}
	rows := eval.Rows{Classes: f.Classes, ClassNames: bf.classes.names, Label: f.Label, Split: make([]int, f.Rows),
		Splits: splits, KeyHash: f.KeyHash}
	byCode := make([]int, len(bf.splitNames))
	for c, name := range bf.splitNames {
		byCode[c] = splitIndex[name]
	}
	for i, c := range bf.split {
		rows.Split[i] = byCode[c]
	}
	for _, b := range f.Blocks {
		rows.Modalities = append(rows.Modalities, b.Name)
		rows.Present = append(rows.Present, b.Present)
	}
	var scores []eval.Scores
	for _, s := range scored {
		scores = append(scores, eval.Scores{Name: s.name, Baseline: s.baseline, Modalities: s.modalities, Probs: s.probs, Probs32: s.probs32, Fill: s.fill})
		if cv == nil || !s.baseline {
			continue
		}
		for b, oof := range cv.oof {
			if sameArray(oof, s.probs32) {
				scores[len(scores)-1].Folds, scores[len(scores)-1].NFolds = cv.fold[b], cv.folds[b]
			}
		}
	}
	if fitted != nil && r.spec.Evaluation.ablation() {
		abl, err := r.ablations(ctx, bf, fitted)
		if err != nil {
			return nil, err
		}
		scores = append(scores, abl...)
	}
	// A run held whole tallies its rankings in the evaluation pass (its memory
	// estimate counts the tallies); a bucket group, under a budget, ranks
	// after it with one tally per worker.
	return eval.Evaluate(rows, scores, eval.Options{Replicates: r.spec.Evaluation.replicates(), ExactLimit: r.spec.Evaluation.ExactRankLimit,
		Workers: r.cpu, BestBaseline: best, ChosenOn: chosenOn, DeferBaseline: cv != nil || r.ownedOnly || r.deferBaseline, Into: into,
		RankInPass: r.groups == 0}), nil
}

// forget drops an evaluation's references to rows and scores once it holds
// merged accumulators: Fill needs neither, and they are a group's frame.
func forget(ev *eval.Evaluation) {
	ev.Rows.Label, ev.Rows.Split, ev.Rows.KeyHash, ev.Rows.Present = nil, nil, nil, nil
	for i := range ev.Scores {
		ev.Scores[i].Probs, ev.Scores[i].Probs32 = nil, nil
	}
}

// report assembles the run's report: the row counts, what was read, the memory
// path, and every metric of the (merged) evaluation.
func (r *runner) report(facts *runFacts, t *tally, ev *eval.Evaluation, scorers []scorerMeta, classes []string, splits []string, bytesRead, requests []int64, runID, lakeURL string) *eval.Report {
	rep := &eval.Report{
		RunID: runID, Job: r.spec.Name, Dataset: r.spec.Dataset, Lake: lakeURL,
		Classes: classes, Splits: splits, Seconds: r.seconds,
		Rows:     eval.RowCounts{Aligned: t.aligned, Scored: t.scored, Rejected: map[string]int64{}, BySplit: t.bySplit},
		Cost:     eval.CostReport{BytesRead: map[string]int64{}, Requests: map[string]int64{}},
		Warnings: t.warnings,
	}
	if t.noModality > 0 {
		rep.Rows.Rejected["no modality present"] = t.noModality
	}
	for si, name := range facts.Sources {
		rep.Cost.BytesRead[name] = bytesRead[si]
		rep.Cost.Requests[name] = requests[si]
	}
	rep.Warnings = append(rep.Warnings, r.notes...)
	rep.BaselineChoice = r.baselineChoice
	rep.Memory, rep.Shards = r.memory, r.shards
	if sh := rep.Shards; sh != nil && sh.ReadAmplification > readAmplificationWarn {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the %d shards read %.1f times the lake's bytes: every shard that fits, or draws a holdout, or reads an unbucketed dataset reads the whole lake (fit once and score in shards over a dataset lakefuse bucket wrote to read it once)", sh.Count, sh.ReadAmplification))
	}
	if rep.Fit = r.fitSample; rep.Fit != nil {
		rep.Warnings = append(rep.Warnings, rep.Fit.Warning)
	}
	for si, m := range facts.Modalities {
		rep.Modalities = append(rep.Modalities, eval.ModalityReport{
			Name: m.Name, Kind: m.Kind, Files: m.Files, Width: m.Width,
			RowsRead: m.Rows, Matched: t.matched[si], Duplicates: t.duplicates[si],
			Unmatched: m.Rows - t.matched[si] - t.duplicates[si], BytesRead: bytesRead[si],
			Invalid: t.invalid[si],
		})
		if n := sumCounts(t.invalid[si]); n > 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("modality %q: %d entities' values were rejected as invalid and count as missing (rejected/ lists them with the reason)", m.Name, n))
		}
	}
	ev.Fill(rep)
	for i := range rep.Strategies {
		s := scorers[i]
		st := &rep.Strategies[i]
		st.Type, st.FitSeconds, st.PredictSeconds = s.Type, s.FitSec, t.predictSec[i]
		if st.PredictSeconds > 0 {
			st.RowsPerSecond = float64(t.scored) / st.PredictSeconds
		}
	}
	rep.SetOverfit(r.strategyOOF)
	if o := rep.Overfit; o != nil {
		for _, row := range o.Strategies {
			if row.Overfit {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s: %.2f points more accurate on its training rows than out of fold (%.4f against %.4f): it overfits; trust its %s figure", row.Name, 100*row.Gap, row.InSample, row.OutOfFold, o.Split))
			}
		}
	}
	rep.Cost.PeakRSSBytes = peakRSS()
	return rep
}

// fittedState is what ablations re-score: the fitted strategies and their inputs.
type fittedState struct {
	in         *fusion.Inputs
	uni        []*fusion.Unimodal // the fitted unimodal models: out-of-fold fits start from them
	strategies []fusion.Strategy
	scored     []*scoredStrategy // the strategies' predictions of in's rows, when made (fitPredict)
	prior      []float64
}

// ablations re-scores every fitted strategy with each of its modalities removed in
// turn, on the rows of the evaluation splits (not "train"). A row left with none
// of the strategy's modalities gets the training prior, as a model with nothing to
// go on would.
func (r *runner) ablations(ctx context.Context, bf *builtFrame, fs *fittedState) ([]eval.Scores, error) {
	f := fs.in.Frame
	k := f.Classes
	var evalRows []int
	for i := 0; i < f.Rows; i++ {
		if f.Label[i] >= 0 && bf.splitOf(i) != "train" {
			evalRows = append(evalRows, i)
		}
	}
	var out []eval.Scores
	for _, s := range fs.strategies {
		used := s.Artifact().Modalities
		if len(used) < 2 {
			continue
		}
		for _, without := range used {
			// Rows that keep at least one of the strategy's modalities.
			var keep []int
			for _, i := range evalRows {
				for b, blk := range f.Blocks {
					if blk.Name != without && slices.Contains(used, blk.Name) && f.Blocks[b].Present[i] {
						keep = append(keep, i)
						break
					}
				}
			}
			probs := make([]float64, f.Rows*k)
			for i := 0; i < f.Rows; i++ {
				copy(probs[i*k:(i+1)*k], fs.prior)
			}
			if len(keep) > 0 {
				sub := subInputs(fs.in, keep, without)
				subProbs := make([]float64, len(keep)*k)
				if err := s.Predict(ctx, sub, subProbs); err != nil {
					return nil, fmt.Errorf("jobs: ablation of %q without %q: %w", s.Name(), without, err)
				}
				for j, i := range keep {
					copy(probs[i*k:(i+1)*k], subProbs[j*k:(j+1)*k])
				}
			}
			out = append(out, eval.Scores{Name: s.Name() + " without " + without, Of: s.Name(), Without: without, Modalities: used, Probs: probs})
		}
	}
	return out, nil
}

// subInputs copies the given rows of the inputs, with modality without marked absent.
func subInputs(in *fusion.Inputs, rows []int, without string) *fusion.Inputs {
	f := in.Frame
	k := f.Classes
	g := &fusion.Frame{Rows: len(rows), Classes: k, Label: make([]int32, len(rows)), Train: make([]bool, len(rows)), KeyHash: make([]uint64, len(rows))}
	out := &fusion.Inputs{Frame: g}
	pickRows := func(src []float32, w int) []float32 {
		if src == nil {
			return nil
		}
		return pick(src, rows, w)
	}
	for j, i := range rows {
		g.Label[j], g.Train[j], g.KeyHash[j] = f.Label[i], f.Train[i], f.KeyHash[i]
	}
	for b, blk := range f.Blocks {
		nb := fusion.Block{Name: blk.Name, Kind: blk.Kind, Width: blk.Width, Values: pickRows(blk.Values, blk.Width), Present: make([]bool, len(rows)),
			Normalised: blk.Normalised}
		for j, i := range rows {
			nb.Present[j] = blk.Present[i] && blk.Name != without
		}
		g.Blocks = append(g.Blocks, nb)
		out.Unimodal = append(out.Unimodal, pickRows(in.Unimodal[b], k))
		if in.OOF != nil {
			out.OOF = append(out.OOF, pickRows(in.OOF[b], k))
		}
	}
	return out
}

func versions() map[string]string {
	v := map[string]string{"lakefuse": lake.Version, "go": runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/parquet-go/parquet-go", "gocloud.dev", "gonum.org/v1/gonum":
				v[d.Path] = d.Version
			}
		}
	}
	return v
}
