package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lakefuse/lakefuse/eval"
	"github.com/lakefuse/lakefuse/fusion"
	"github.com/lakefuse/lakefuse/internal/bigmem"
	"github.com/lakefuse/lakefuse/lake"
)

// Options are the run-time settings that do not belong in the spec.
type Options struct {
	Lake   string // overrides spec.lake
	RunID  string // overrides spec.run_id
	Logger *slog.Logger
	// Progress, if set, is told how far each stage has got. It is called from
	// several goroutines.
	Progress func(stage string, done, total int64)
}

// Result is a committed run.
type Result struct {
	RunID  string
	Lake   string
	Prefix string // the run's prefix within the lake
	Report *eval.Report
}

// RunID returns the run id a spec gets: the override, spec.run_id, or
// <name>-<first 12 hex digits of the spec hash>, so that rerunning an interrupted
// job continues the same run.
func RunID(spec *Spec, override string) string {
	switch {
	case override != "":
		return override
	case spec.RunID != "":
		return spec.RunID
	}
	return spec.Name + "-" + spec.Hash()[:12]
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
	spec    *Spec
	opts    Options
	log     *slog.Logger
	lake    *lake.Lake
	cpu     int
	seconds map[string]float64
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

func execute(ctx context.Context, spec *Spec, opts Options, lm *loadedModels) (*Result, error) {
	url, err := LakeURL(spec, opts.Lake)
	if err != nil {
		return nil, err
	}
	r := &runner{spec: spec, opts: opts, log: opts.Logger, cpu: spec.Concurrency.CPU, seconds: map[string]float64{}}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.cpu <= 0 {
		r.cpu = runtime.GOMAXPROCS(0)
	}
	l, err := lake.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	r.lake = l
	runID := RunID(spec, opts.RunID)
	r.log = r.log.With("run_id", runID)

	start := time.Now()
	plan, err := makePlan(ctx, l, spec, lm == nil)
	if err != nil {
		return nil, err
	}
	r.timed("plan", start)
	rw, err := l.NewRunWriter(ctx, lake.Join(spec.Output, runID))
	if err != nil {
		return nil, err
	}
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
	var scored []*scoredStrategy
	var models map[string]*ModelFile
	if lm != nil {
		if err := lm.checkSchema(plan, bf.frame); err != nil {
			return nil, err
		}
		scored, err = r.restorePredict(ctx, bf, lm)
	} else {
		var uni map[string]*fusion.Unimodal
		scored, uni, err = r.fitPredict(ctx, plan, bf)
		models = modelFiles(spec, plan, bf, scored, uni, runID)
	}
	if err != nil {
		return nil, err
	}
	report := r.evaluate(plan, bf, scored, stats, tables, runID, l.String())
	writeScores := lm != nil || spec.Mode != "fit"
	if err := r.write(ctx, rw, bf, scored, models, writeScores, report); err != nil {
		return nil, err
	}
	start = time.Now()
	manifest := lake.Manifest{
		RunID:      runID,
		SpecSHA256: spec.Hash(),
		Created:    time.Now().UTC(),
		Versions:   versions(),
		Job:        map[string]any{"name": spec.Name, "dataset": spec.Dataset, "rows": report.Rows},
	}
	if err := rw.Commit(ctx, manifest); err != nil {
		return nil, err
	}
	r.progress("commit", 1, 1)
	r.log.Info("run committed", "prefix", rw.Prefix(), "seconds", fmt.Sprintf("%.3f", time.Since(start).Seconds()))
	return &Result{RunID: runID, Lake: l.String(), Prefix: rw.Prefix(), Report: report}, nil
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
					return fmt.Errorf("jobs: %w: %s %q: %w", ErrInput, sp.Kind, sp.Name, err)
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
	bf, err := buildFrame(ctx, r, plan, src, al, cs, stats)
	if err != nil {
		return nil, err
	}
	r.timed("load", start)
	return bf, nil
}

// scoredStrategy is one strategy's (or baseline's) predictions for every frame row.
type scoredStrategy struct {
	name        string
	typ         string
	baseline    bool
	modalities  []string
	probs       []float64 // Rows×Classes
	uncertainty []float64 // per row, for uncertainty-aware strategies; else nil
	artifact    any
	fitSec      float64
	predictSec  float64
}

// fitPredict fits the unimodal models and every strategy, and scores every row.
func (r *runner) fitPredict(ctx context.Context, plan *Plan, bf *builtFrame) ([]*scoredStrategy, map[string]*fusion.Unimodal, error) {
	defer r.timed("fit_predict", time.Now())
	f := bf.frame
	lr := &fusion.LogRegOptions{C: r.spec.Model.C, MaxIter: r.spec.Model.MaxIter}
	uni, err := fusion.FitUnimodal(ctx, f, lr, r.cpu)
	if err != nil {
		return nil, nil, fmt.Errorf("jobs: fit unimodal models: %w", err)
	}
	byName := map[string]*fusion.Unimodal{}
	for b, u := range uni {
		byName[f.Blocks[b].Name] = u
	}
	in, baselines := r.predictUnimodal(f, uni)
	strategies := make([]fusion.Strategy, len(r.spec.Strategies))
	for i, st := range r.spec.Strategies {
		if strategies[i], err = fusion.New(st.Config()); err != nil {
			return nil, nil, fmt.Errorf("jobs: %w: strategies[%d]: %w", ErrSpec, i, err)
		}
	}
	if fusion.NeedsOOF(strategies) {
		start := time.Now()
		if in.OOF, err = fusion.OutOfFold(ctx, f, in.Unimodal, lr, r.cpu); err != nil {
			return nil, nil, fmt.Errorf("jobs: out-of-fold predictions: %w", err)
		}
		r.seconds["out_of_fold"] = time.Since(start).Seconds()
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
			sc, err := predictStrategy(gctx, s, in)
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
		return nil, nil, err
	}
	return append(scored, baselines...), byName, nil
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
		sc, err := predictStrategy(ctx, s, in)
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
	in := &fusion.Inputs{Frame: f, Unimodal: make([][]float64, len(f.Blocks))}
	out := make([]*scoredStrategy, len(f.Blocks))
	var pg errgroup.Group
	pg.SetLimit(r.cpu)
	for b := range f.Blocks {
		pg.Go(func() error {
			start := time.Now()
			if f.Blocks[b].Kind == fusion.Probs {
				in.Unimodal[b] = f.Blocks[b].Values // normalised in place
			} else {
				in.Unimodal[b] = bigmem.Floats(f.Rows * k)
			}
			uni[b].Predict(&f.Blocks[b], in.Unimodal[b])
			out[b] = &scoredStrategy{
				name: "unimodal." + f.Blocks[b].Name, typ: "unimodal", baseline: true,
				modalities: []string{f.Blocks[b].Name}, probs: in.Unimodal[b], artifact: uni[b],
				fitSec: uni[b].FitSeconds, predictSec: time.Since(start).Seconds(),
			}
			return nil
		})
	}
	_ = pg.Wait()
	return in, out
}

// predictStrategy scores every row with a fitted (or restored) strategy.
func predictStrategy(ctx context.Context, s fusion.Strategy, in *fusion.Inputs) (*scoredStrategy, error) {
	t0 := time.Now()
	art := s.Artifact()
	sc := &scoredStrategy{name: s.Name(), typ: art.Type, modalities: art.Modalities, probs: bigmem.Floats(in.Rows * in.Classes)}
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
	art.Classes = in.Classes
	sc.artifact = art
	sc.predictSec = time.Since(t0).Seconds()
	return sc, nil
}

// evaluate accumulates every strategy's metrics on every split and assembles the
// report.
func (r *runner) evaluate(plan *Plan, bf *builtFrame, scored []*scoredStrategy, stats []*lake.ScanStats, tables [][]*lake.Table, runID, lakeURL string) *eval.Report {
	defer r.timed("evaluate", time.Now())
	f := bf.frame
	k := f.Classes
	rep := &eval.Report{
		RunID: runID, Job: r.spec.Name, Dataset: r.spec.Dataset, Lake: lakeURL,
		Classes: bf.classes.names, Splits: bf.splits, Seconds: r.seconds,
		Rows: eval.RowCounts{Aligned: bf.aligned, Scored: int64(f.Rows), Rejected: map[string]int64{}, BySplit: map[string]int64{}},
	}
	if n := bf.aligned - int64(f.Rows); n > 0 {
		rep.Rows.Rejected["no modality present"] = n
	}
	for _, s := range bf.split {
		rep.Rows.BySplit[s]++
	}
	for si, sp := range plan.Modalities {
		var rows int64
		for _, t := range tables[si] {
			rows += int64(t.Rows)
		}
		st := bf.stats[si]
		rep.Modalities = append(rep.Modalities, eval.ModalityReport{
			Name: sp.Name, Kind: sp.Kind, Files: len(sp.Files), Width: f.Blocks[si].Width,
			RowsRead: rows, Matched: st.Matched, Duplicates: st.Duplicates,
			Unmatched: rows - st.Matched - st.Duplicates, BytesRead: stats[si].BytesRead.Load(),
		})
	}
	splitIndex := map[string]int{}
	for i, s := range bf.splits {
		splitIndex[s] = i
	}
	rowSplit := make([]int, f.Rows)
	for i, s := range bf.split {
		rowSplit[i] = splitIndex[s]
	}
	// Every strategy is evaluated over all the entities of a split. A unimodal
	// baseline is also evaluated over the entities that have its modality: where it
	// is missing, the baseline can only predict the training prior.
	accs := make([][]*eval.Classification, len(scored))
	present := make([][]*eval.Confusion, len(scored))
	var g errgroup.Group
	g.SetLimit(r.cpu)
	for si, s := range scored {
		g.Go(func() error {
			accs[si] = make([]*eval.Classification, len(bf.splits))
			for i := range accs[si] {
				accs[si][i] = eval.NewClassification(k)
			}
			var mask []bool
			if s.baseline {
				present[si] = make([]*eval.Confusion, len(bf.splits))
				for i := range present[si] {
					present[si][i] = eval.NewConfusion(k)
				}
				for b := range f.Blocks {
					if f.Blocks[b].Name == s.modalities[0] {
						mask = f.Blocks[b].Present
					}
				}
			}
			for i := 0; i < f.Rows; i++ {
				if f.Label[i] < 0 {
					continue
				}
				p := s.probs[i*k : (i+1)*k]
				accs[si][rowSplit[i]].Add(p, int(f.Label[i]))
				if mask != nil && mask[i] {
					present[si][rowSplit[i]].Add(int(f.Label[i]), eval.Argmax(p))
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	for si, s := range scored {
		sr := eval.StrategyReport{Name: s.name, Type: s.typ, Baseline: s.baseline, Modalities: s.modalities,
			FitSeconds: s.fitSec, PredictSeconds: s.predictSec, Splits: map[string]*eval.SplitReport{}}
		for i, name := range bf.splits {
			if accs[si][i].Confusion.Result().N == 0 {
				continue
			}
			sr.Splits[name] = eval.NewSplitReport(accs[si][i])
			if present[si] != nil {
				pr := present[si][i].Result()
				sr.Splits[name].Metrics["rows_when_present"] = float64(pr.N)
				sr.Splits[name].Metrics["accuracy_when_present"] = pr.Accuracy
			}
		}
		rep.Strategies = append(rep.Strategies, sr)
	}
	return rep
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
