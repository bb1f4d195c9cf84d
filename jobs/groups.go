package jobs

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lakefuse/lakefuse/eval"
	"github.com/lakefuse/lakefuse/fusion"
	"github.com/lakefuse/lakefuse/internal/spill"
	"github.com/lakefuse/lakefuse/lake"
)

// runPartitioned is the run of a lake larger than the memory budget. After the
// spill (spillLake) and, for a holdout split, the pass that draws it
// (holdoutPass), two passes over the bucket groups, one group in memory at a
// time:
//
//  1. gather the training rows the fits see (the smallest key hashes, up to the
//     fit cap; once the cap is reached only keys that can still enter are read
//     back), then fit once, on those rows, in canonical order — the same models
//     as a run held whole — and choose the best baseline on them;
//  2. align and load each group whole, predict, evaluate (accumulators merged
//     across groups, exactly), write the group's score and rejected parts, and
//     count what the checks need.
//
// It returns what pass 2 leaves (a partial); complete then runs the checks and
// writes the report, the merged evaluation's, bit for bit the one a run held
// whole computes. A shard of a sharded run makes the same passes over the whole
// lake but runs pass 2 on the groups it owns only, and leaves its partial in the
// run's folder for the finalize (shard.go).
//
// Scoring with saved models (lm) has no fit: pass 1 chooses the best baseline as
// eval does for a run held whole (accuracy on the train split, else the first).
//
// A lake whose footers range its row groups' keys is not spilled: the groups
// are key ranges read from the lake (ranges.go), and when the models learn
// nothing from the values, the passes are one (onepass.go).
func (r *runner) runPartitioned(ctx context.Context, plan *Plan, att *lake.Attempt, lm *loadedModels) (*partial, error) {
	var cs *classSet
	var err error
	if lm != nil { // the models fix the classes and their order
		spec := *r.spec
		spec.Label.Classes = lm.classes
		cs, err = collectClasses(&spec, nil, &lm.integer)
	} else {
		cs, err = collectClasses(r.spec, plan.labelValues, nil)
	}
	if err != nil {
		return nil, err
	}
	if len(cs.names) < 2 {
		return nil, fmt.Errorf("jobs: %w: label %q has %d distinct values; classification needs at least 2", ErrInput, plan.Spec.Label.Column, len(cs.names))
	}
	r.classes = len(cs.names)
	r.blockWidths(plan) // the fit cap needs them before any group is loaded
	sources := plan.Sources()
	stats := make([]*lake.ScanStats, len(sources))
	for i := range stats {
		stats[i] = &lake.ScanStats{}
	}
	start := time.Now()
	// The sample file serves pass 1, which a run scoring with saved models and
	// a shard of a bucketed dataset (its sample reaches into buckets it does not
	// spill) do not make from the spill alone.
	kr, err := r.partitionRanges(plan)
	if err != nil {
		return nil, err
	}
	var sd *spilled
	if kr != nil {
		sd, err = r.rangeLake(plan, kr)
	} else {
		sd, err = r.spillLake(ctx, plan, stats, r.groups, lm == nil && !plan.Owned)
	}
	if err != nil {
		return nil, err
	}
	defer sd.dir.Remove()
	if kr != nil {
		r.groups, r.memory.Groups, r.memory.Layout = sd.groups, sd.groups, "key ranges"
	} else {
		r.memory.Layout, r.memory.SpilledBytes = "bucket files", sd.bytes
		r.timed("spill", start)
	}

	if r.spec.Split.Holdout != nil {
		start = time.Now()
		if r.holdout, err = r.holdoutPass(ctx, plan, sd, cs, stats); err != nil {
			return nil, err
		}
		r.timed("holdout", start)
	}

	if lm != nil {
		return r.scorePartitioned(ctx, plan, att, lm, sd, cs, stats)
	}

	start = time.Now()
	limit, source := r.fitCap()
	var tg *trainGather
	// A lake read in key ranges, whose models learn nothing from rows but the
	// class prior, is read once (onePass): pass 2 gathers the fit sample.
	var one *onePass
	if r.onePassFits(plan, sd) {
		if one, err = r.runOnePass(ctx, plan, att, sd, cs, stats, limit); err != nil {
			return nil, err
		}
		tg = one.tg
	} else {
		if tg, err = r.gatherPass(ctx, plan, sd, cs, stats, limit, sampleBound(plan, sd, limit)); err != nil {
			return nil, err
		}
		r.timed("gather", start)
	}
	train := &builtFrame{frame: tg.frame(cs, r.widths, plan), classes: cs}

	trainScored, uni, fitted, err := r.fitPredict(ctx, plan, train)
	if err != nil {
		return nil, err
	}
	models := modelFiles(r.spec, plan, train, trainScored, byModality(train.frame, uni), r.runID)
	best, err := r.chooseBaseline(ctx, train.frame, fitted)
	if err != nil {
		return nil, err
	}
	chosenOn := fitSplits(r.spec)
	prior, strategies := fitted.prior, fitted.strategies
	// What the partial needs of the fit sample; the sample itself (its frame,
	// inputs and predictions) is left to the collector before the groups load.
	scorers, fitRows := metaOf(trainScored), train.frame.Rows
	var total *eval.Evaluation
	var t *tally
	var counts *frameCounts
	if one != nil {
		if same, why := sameModels(one.uni, uni, one.scored, trainScored); same {
			one.settle(best, chosenOn)
			total, t, counts = one.total, one.tally, one.counts
		} else {
			r.log.Warn("the fit sample's models differ from those its keys predicted (null or invalid vectors among its rows): the groups are read again", "what", why)
		}
		one = nil
	}
	train, trainScored, fitted = nil, nil, nil

	// Pass 2: predict, evaluate and write each group.
	if total == nil {
		start = time.Now()
		total, t, counts, err = r.groupsPass(ctx, plan, att, sd, cs, stats, candidateSplits(r.spec, plan), best, chosenOn, r.spec.Mode != "fit", r.predictor(ctx, uni, strategies, prior), nil)
		if err != nil {
			return nil, err
		}
		r.timed("groups", start)
	}
	modelBytes, err := marshalModels(models)
	if err != nil {
		return nil, err
	}
	bytesRead, requests := statsOf(stats)
	return &partial{eval: total, tally: t, counts: counts, scorers: scorers, models: modelBytes, classes: cs.names,
		bytesRead: bytesRead, requests: requests, fitRows: fitRows, fitCap: limit, fitSource: source}, nil
}

// gatherPass is pass 1: the fit sample. From the sample file when it holds the
// whole sample: the limit of training rows, the largest of them within the
// file's sample keys — every row of a smaller key is in the file. Otherwise
// from every group: once the sample holds the limit, only keys that hash below
// its largest can still enter it, and only those rows are read back.
//
// Below math.MaxUint64, from bounds the sample keys read from the first group
// on (a guess at the sample's cut); if the sample turns out to reach past it,
// the groups are read again from no bound.
func (r *runner) gatherPass(ctx context.Context, plan *Plan, sd *spilled, cs *classSet, stats []*lake.ScanStats, limit int, from uint64) (*trainGather, error) {
	tg := &trainGather{limit: limit}
	complete := false
	if sd.sampled {
		bf, err := r.buildGroup(ctx, plan, sd, cs, stats, sd.groups, math.MaxUint64)
		if err != nil {
			return nil, err
		}
		tg.add(bf.frame, r.sampleKeys(bf))
		if complete = len(tg.key) >= limit && tg.cut() <= sd.sampleMax; complete {
			r.progress("gather", 1, 1)
		} else {
			r.log.Info("the sample file holds too few training rows for the fit sample: reading every group", "rows", len(tg.key), "limit", limit)
			tg = &trainGather{limit: limit}
		}
		sd.removeGroup(sd.groups)
	}
	maxKey := from
	for g := 0; g < sd.groups && !complete; g++ {
		bf, err := r.buildGroup(ctx, plan, sd, cs, stats, g, maxKey)
		if err != nil {
			return nil, err
		}
		if tg.add(bf.frame, r.sampleKeys(bf)) {
			maxKey = tg.key[tg.limit-1]
		}
		r.progress("gather", int64(g+1), int64(sd.groups))
	}
	if from != math.MaxUint64 && !complete && (len(tg.key) < limit || tg.cut() > from) {
		r.log.Info("the fit sample reaches past the guessed bound: reading every group again", "rows", len(tg.key), "limit", limit)
		return r.gatherPass(ctx, plan, sd, cs, stats, limit, math.MaxUint64)
	}
	if plan.Owned { // a shard of a bucketed dataset: the sample's other buckets
		if err := r.gatherForeign(ctx, plan, cs, tg, stats); err != nil {
			return nil, err
		}
	}
	return tg, nil
}

// groupsPass is the last pass over the groups: each is aligned and loaded,
// predicted, evaluated (merged into the run's evaluation) and written, in a
// pipeline of three stages — group g+2 is built while g+1 is predicted and
// evaluated and g's rows are written — so at most two groups' frames are alive
// with their vectors (a group is a quarter of the budget: groupShare), and the
// one being written without them (dropUnwritten). Groups are merged in order, so
// the result is the sequential pass's. Measured on the 2M-row benchmark under
// 512 MiB: the groups pass 2.98 s -> 2.48 s, peak RSS 430 -> 485 MB.
func (r *runner) groupsPass(ctx context.Context, plan *Plan, att *lake.Attempt, sd *spilled, cs *classSet, stats []*lake.ScanStats,
	splits []string, best, chosenOn string, writeScores bool, predict func(*builtFrame) ([]*scoredStrategy, *fittedState, error), collect func(*builtFrame)) (*eval.Evaluation, *tally, *frameCounts, error) {
	var total *eval.Evaluation
	var t *tally
	counts := newFrameCounts(len(plan.Modalities))
	var owned []int
	for g := 0; g < sd.groups; g++ {
		if r.opts.Shard == nil || r.layout().OwnsGroup(g, r.opts.Shard.Index) {
			owned = append(owned, g)
		}
	}
	type built struct {
		g  int
		bf *builtFrame
	}
	frames := make(chan built)
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		defer close(frames)
		for _, g := range owned {
			bf, err := r.buildGroup(ectx, plan, sd, cs, stats, g, math.MaxUint64)
			if err != nil {
				return err
			}
			sd.removeGroup(g)
			select {
			case frames <- built{g, bf}:
			case <-ectx.Done():
				return ectx.Err()
			}
		}
		return nil
	})
	type toWrite struct {
		g      int
		bf     *builtFrame
		scored []*scoredStrategy
	}
	writes := make(chan toWrite)
	eg.Go(func() error {
		done := 0
		for w := range writes {
			if err := r.writeRows(ectx, att, w.bf, w.scored, w.g, writeScores); err != nil {
				return err
			}
			done++
			r.progress("groups", int64(done), int64(sd.groups/r.shardCount()))
			r.log.Info("bucket group done", "group", w.g, "of", sd.groups, "rows", w.bf.frame.Rows)
		}
		return nil
	})
	eg.Go(func() error {
		defer close(writes)
		for b := range frames {
			g, bf := b.g, b.bf
			counts.add(bf, r.cpu)
			if collect != nil {
				collect(bf)
			}
			scored, fitted, err := predict(bf)
			if err != nil {
				return err
			}
			ev, err := r.evaluateFrame(ectx, bf, scored, fitted, splits, best, chosenOn, nil, total)
			if err != nil {
				return err
			}
			if total == nil {
				total, t = ev, newTally(len(plan.Modalities), len(scored))
			} else if err := total.Merge(ev); err != nil {
				return fmt.Errorf("jobs: bucket group %d: %w", g, err)
			}
			forget(total)
			t.add(bf, scored)
			dropUnwritten(bf, scored, writeScores && r.spec.Outputs.BaselineScores)
			select {
			case writes <- toWrite{g, bf, scored}:
			case <-ectx.Done():
				return ectx.Err()
			}
		}
		return nil
	})
	if err := eg.Wait(); err != nil {
		return nil, nil, nil, err
	}
	return total, t, counts, nil
}

// removeGroup deletes group g's bucket files once the last pass has read them,
// while the other groups are still evaluated and written. Left to the spill
// directory's removal at the end, deleting 8.8 GB of them (50M entities under
// 512 MiB, written back to disk by then) took 2.2 s on one core after the last
// group. A file that cannot be deleted goes with the directory.
func (sd *spilled) removeGroup(g int) {
	for si := range sd.paths {
		if p := sd.paths[si][g]; p != "" {
			_ = sd.dir.RemoveFile(p)
		}
	}
}

// dropUnwritten lets the collector have what writeRows does not read of an
// evaluated group, the largest part of it: the modalities' vectors and, unless
// their scores are written, the baselines' probabilities (a probabilities
// modality's are its vectors).
func dropUnwritten(bf *builtFrame, scored []*scoredStrategy, baselineScores bool) {
	for _, s := range scored {
		if s.baseline && !baselineScores {
			s.probs, s.probs32, s.fill = nil, nil, nil
		}
	}
	for b := range bf.frame.Blocks {
		bf.frame.Blocks[b].Values = nil
	}
}

// candidateSplits are the splits a run can have, before any row is aligned: the
// split column's values (checkLabels), or the holdout's, or "all"; and
// "unlabelled". The groups are evaluated over these; keepSeenSplits then drops
// those no row had, which a run held whole never lists.
func candidateSplits(spec *Spec, plan *Plan) []string {
	seen := map[string]bool{"unlabelled": true}
	switch {
	case spec.Split.Column != "":
		values := plan.splitValues
		if values == nil { // a score run reads no labels up front: the declared ones (assignSplits refuses others)
			values = append(slices.Clone(spec.Split.Train), spec.Split.Evaluate...)
		}
		for _, v := range values {
			seen[v] = true
		}
	case spec.Split.Holdout != nil:
		seen["train"], seen["test"] = true, true
	default:
		seen["all"] = true
	}
	return orderSplits(seen)
}

// keepSeenSplits drops from the evaluation the candidate splits no row had, and
// returns the others.
func keepSeenSplits(ev *eval.Evaluation, t *tally) ([]string, error) {
	var seen []string
	for _, s := range ev.Rows.Splits {
		if t.bySplit[s] > 0 {
			seen = append(seen, s)
		}
	}
	return seen, ev.KeepSplits(seen)
}

// scorePartitioned scores a spilled lake with saved models: pass 1 finds the
// splits and the best baseline, pass 2 scores, evaluates, writes and counts
// what the checks need.
func (r *runner) scorePartitioned(ctx context.Context, plan *Plan, att *lake.Attempt, lm *loadedModels, sd *spilled, cs *classSet, stats []*lake.ScanStats) (*partial, error) {
	var splits []string
	var best, chosenOn string
	var meta []*scoredStrategy // names and types, from the first group
	if r.ownedOnly {
		// A shard of a score run sees only its own rows: eval keeps the
		// comparisons with every baseline, and the finalize chooses.
		splits = candidateSplits(r.spec, plan)
	} else {
		var err error
		if splits, best, chosenOn, meta, err = r.scoreBaseline(ctx, plan, lm, sd, cs, stats); err != nil {
			return nil, err
		}
	}

	start := time.Now()
	predict := func(bf *builtFrame) ([]*scoredStrategy, *fittedState, error) {
		if err := lm.checkSchema(plan, bf.frame); err != nil {
			return nil, nil, err
		}
		scored, err := r.restorePredict(ctx, bf, lm)
		if meta == nil {
			meta = scored
		}
		return scored, nil, err
	}
	ev, t, counts, err := r.groupsPass(ctx, plan, att, sd, cs, stats, splits, best, chosenOn, true, predict, nil)
	if err != nil {
		return nil, err
	}
	r.timed("groups", start)
	bytesRead, requests := statsOf(stats)
	return &partial{eval: ev, tally: t, counts: counts, scorers: metaOf(meta), classes: cs.names,
		bytesRead: bytesRead, requests: requests, fitRows: -1}, nil
}

// scoreBaseline is a score run's first pass: the splits its rows have and the
// best baseline, chosen as eval does for a run held whole (accuracy on the train
// split, else the first split).
func (r *runner) scoreBaseline(ctx context.Context, plan *Plan, lm *loadedModels, sd *spilled, cs *classSet, stats []*lake.ScanStats) (splits []string, best, chosenOn string, meta []*scoredStrategy, err error) {
	start := time.Now()
	seen := map[string]bool{}
	type tallyKey struct{ split, baseline string }
	right := map[tallyKey]int64{}
	for g := 0; g < sd.groups; g++ {
		bf, err := r.buildGroup(ctx, plan, sd, cs, stats, g, math.MaxUint64)
		if err != nil {
			return nil, "", "", nil, err
		}
		if err := lm.checkSchema(plan, bf.frame); err != nil {
			return nil, "", "", nil, err
		}
		for _, s := range bf.splits {
			seen[s] = true
		}
		scored, err := r.restorePredict(ctx, bf, lm)
		if err != nil {
			return nil, "", "", nil, err
		}
		f := bf.frame
		for i, y := range f.Label {
			if y < 0 {
				continue
			}
			for _, s := range scored {
				if s.baseline && s.argmax(i, f.Classes) == int(y) {
					right[tallyKey{bf.splitOf(i), s.name}]++
				}
			}
		}
		if meta == nil {
			meta = scored
		}
		r.progress("gather", int64(g+1), int64(sd.groups))
	}
	splits = orderSplits(seen)
	// eval's rule for a run held whole: the most accurate baseline on the train
	// split (else the first split), ties to the first name.
	if len(splits) > 0 {
		chosenOn = splits[0]
		if slices.Contains(splits, "train") {
			chosenOn = "train"
		}
	}
	// Every baseline is judged on the same rows, so counts rank as accuracies do.
	var names []string
	var rightOn []int64
	for _, s := range meta {
		if s.baseline {
			names, rightOn = append(names, s.name), append(rightOn, right[tallyKey{chosenOn, s.name}])
		}
	}
	best = mostRight(names, rightOn)
	r.timed("gather", start)

	return splits, best, chosenOn, meta, nil
}

// blockWidths sets every modality's block width from the plan and the classes.
func (r *runner) blockWidths(plan *Plan) {
	for s, sp := range plan.Modalities {
		r.widths[s] = blockWidth(sp, r.classes, r.listWidth[s])
	}
}

// orderSplits puts split names in report order: train, test, all, then the
// others sorted.
func orderSplits(seen map[string]bool) []string {
	var out, rest []string
	for _, s := range []string{"train", "test", "all"} {
		if seen[s] {
			out = append(out, s)
		}
	}
	for s := range seen {
		if !slices.Contains(out, s) {
			rest = append(rest, s)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// buildGroup reads bucket group g back from local disk (or key range g from
// the lake), aligns it and builds its frame.
// Only keys whose sample key is at most maxKey are read (spilled.load).
func (r *runner) buildGroup(ctx context.Context, plan *Plan, sd *spilled, cs *classSet, stats []*lake.ScanStats, g int, maxKey uint64) (*builtFrame, error) {
	sources := plan.Sources()
	gs := make([]*groupSource, len(sources))
	var eg errgroup.Group
	eg.SetLimit(r.cpu)
	if sd.ranges != nil {
		// Every source at once: each decodes its row groups one after another,
		// and the labels' take a fraction of a modality's time.
		eg.SetLimit(len(sources))
	}
	for si, sp := range sources {
		eg.Go(func() (err error) {
			if sd.ranges != nil {
				gs[si], err = r.loadRange(ctx, sd, si, g, sp, maxKey, stats[si])
			} else {
				gs[si], err = sd.load(si, g, sp, maxKey, plan.Buckets)
			}
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	if sd.intKeys {
		return buildGroupFrame(ctx, r, plan, gs, cs, stats, func(t *lake.Table) []int64 { return t.IntKeys })
	}
	return buildGroupFrame(ctx, r, plan, gs, cs, stats, func(t *lake.Table) []string { return t.StrKeys })
}

func buildGroupFrame[K keyed](ctx context.Context, r *runner, plan *Plan, gs []*groupSource, cs *classSet, stats []*lake.ScanStats, keysOf func(*lake.Table) []K) (*builtFrame, error) {
	if L := plan.LabelFrom; L >= 0 {
		if t := gs[L].table; (t.IntLabels != nil || t.StrLabels != nil) && (t.IntLabels != nil) != cs.isInt {
			return nil, fmt.Errorf("jobs: %w: label column %q holds %s labels, the model's are %s", ErrInput, plan.Spec.Label.Column, labelType(t.IntLabels != nil), labelType(cs.isInt))
		}
	}
	src := make([]scanned[K], len(gs))
	for si, sp := range plan.Sources() {
		src[si] = scanned[K]{name: sp.Name, tables: []*lake.Table{gs[si].table}, keys: [][]K{keysOf(gs[si].table)}}
	}
	al, err := alignBuckets(ctx, src, plan.Anchor, plan.Spec.Align.Join, plan.Spec.Align.Duplicates, plan.Spec.Align.Buckets, r.cpu)
	if err != nil {
		return nil, err
	}
	return buildFrame(ctx, r, plan, src, al, cs, stats, gs[:len(plan.Modalities)])
}

// predictor is a groups pass's predict: each group scored with the fitted
// unimodal models and strategies, and what its ablations need.
func (r *runner) predictor(ctx context.Context, uni []*fusion.Unimodal, strategies []fusion.Strategy, prior []float64) func(*builtFrame) ([]*scoredStrategy, *fittedState, error) {
	return func(bf *builtFrame) ([]*scoredStrategy, *fittedState, error) {
		scored, in, err := r.predictGroup(ctx, bf, uni, strategies)
		return scored, &fittedState{in: in, uni: uni, strategies: strategies, prior: prior}, err
	}
}

// predictGroup scores a group's rows with the fitted unimodal models and
// strategies: the strategies' scores, then the baselines', as fitPredict orders them.
func (r *runner) predictGroup(ctx context.Context, bf *builtFrame, uni []*fusion.Unimodal, strategies []fusion.Strategy) ([]*scoredStrategy, *fusion.Inputs, error) {
	in, baselines := r.predictUnimodal(bf.frame, uni)
	scored := make([]*scoredStrategy, len(strategies))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cpu)
	for i, s := range strategies {
		g.Go(func() (err error) {
			scored[i], err = r.predictStrategy(gctx, s, in)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	return append(scored, baselines...), in, nil
}

// gatherForeign adds to a shard's fit sample the training rows of the buckets
// it does not own, bucket by bucket in sample order, until no row of the next
// bucket can enter the sample (on a bucketed dataset the sample takes buckets
// 0, 1, … in turn): with a fit cap, a shard reads the first buckets' files, not
// the lake. Each bucket is spilled as one group, loaded and dropped.
func (r *runner) gatherForeign(ctx context.Context, plan *Plan, cs *classSet, tg *trainGather, stats []*lake.ScanStats) error {
	id := *r.opts.Shard
	read := 0
	for b := 0; b < plan.Buckets; b++ {
		if r.layout().Owner(b) == id.Index {
			continue
		}
		cut := tg.cut()
		if cut != math.MaxUint64 && cut < sampleKey(0, b, plan.Buckets) {
			break
		}
		sub := plan.foreignBucket(b)
		files := 0
		for _, sp := range sub.Sources() {
			files += len(sp.Files)
		}
		if files == 0 {
			continue
		}
		sd, err := r.spillLake(ctx, sub, stats, 1, false)
		if err != nil {
			return err
		}
		bf, err := r.buildGroup(ctx, sub, sd, cs, stats, 0, cut)
		sd.dir.Remove()
		if err != nil {
			return err
		}
		tg.add(bf.frame, r.sampleKeys(bf))
		read++
	}
	r.log.Info("fit sample gathered", "other_buckets_read", read, "of", plan.Buckets-plan.Buckets/id.Count)
	return nil
}

// trainGather collects, across bucket groups, the labelled training rows first
// in sample order (sampleKey) — the rows limitTraining leaves a run held whole —
// holding at most about twice the limit at a time.
type trainGather struct {
	limit   int
	label   []int32
	hash    []uint64    // the rows' key hashes (the fits' canonical order)
	key     []uint64    // their sample keys
	values  [][]float32 // per block
	present [][]bool
	widths  []int
	// normalised per block: every frame added had its rows normalised at load
	// (fusion.Block.Normalised), so the sample's rows are too.
	normalised []bool
	// bound is the largest sample key that can still enter once the limit is
	// held (bounded): add skips larger ones without copying them, which the
	// one pass's full groups need (onepass.go).
	bound   uint64
	bounded bool
}

// add gathers a frame's labelled training rows, whose sample keys are order;
// it reports whether it trimmed the gathered rows, after which tg.key[tg.limit-1]
// bounds the sample keys that can still enter.
func (tg *trainGather) add(f *fusion.Frame, order []uint64) bool {
	if tg.values == nil {
		tg.values = make([][]float32, len(f.Blocks))
		tg.present = make([][]bool, len(f.Blocks))
		for _, b := range f.Blocks {
			tg.widths = append(tg.widths, b.Width)
			tg.normalised = append(tg.normalised, true)
		}
	}
	for b, blk := range f.Blocks {
		tg.normalised[b] = tg.normalised[b] && blk.Normalised
	}
	for i := 0; i < f.Rows; i++ {
		if !f.Train[i] || f.Label[i] < 0 || (tg.bounded && order[i] > tg.bound) {
			continue
		}
		tg.label = append(tg.label, f.Label[i])
		tg.hash = append(tg.hash, f.KeyHash[i])
		tg.key = append(tg.key, order[i])
		for b, blk := range f.Blocks {
			w := blk.Width
			tg.values[b] = append(tg.values[b], blk.Values[i*w:(i+1)*w]...)
			tg.present[b] = append(tg.present[b], blk.Present[i])
		}
	}
	if len(tg.hash) > 2*tg.limit {
		tg.trim()
		return true
	}
	return false
}

// cut is the largest sample key that can still enter the sample: the
// limit-th smallest gathered, MaxUint64 while fewer rows are gathered.
func (tg *trainGather) cut() uint64 {
	if len(tg.key) < tg.limit {
		return math.MaxUint64
	}
	tg.trim()
	return tg.key[tg.limit-1]
}

// trim keeps the rows whose sample key is at most the limit-th smallest (ties
// kept, as limitTraining keeps them), in sample order.
func (tg *trainGather) trim() {
	// The cut first (the limit-th smallest key, from a plain sort of the keys),
	// then only the rows within it sorted by key, ties in the order they came:
	// a stable sort of every row by a comparison closure took a second at 10M
	// entities under 512 MiB.
	cut := uint64(math.MaxUint64)
	if len(tg.key) > tg.limit {
		sorted := slices.Clone(tg.key)
		slices.Sort(sorted)
		cut = sorted[tg.limit-1]
	}
	type keyed struct {
		key uint64
		at  int
	}
	rows := make([]keyed, 0, min(len(tg.key), tg.limit+tg.limit/8))
	for i, k := range tg.key {
		if k <= cut {
			rows = append(rows, keyed{k, i})
		}
	}
	slices.SortFunc(rows, func(a, b keyed) int {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.at, b.at)
	})
	idx := make([]int, len(rows))
	for i, r := range rows {
		idx[i] = r.at
	}
	tg.label = pick(tg.label, idx, 1)
	tg.hash = pick(tg.hash, idx, 1)
	tg.key = pick(tg.key, idx, 1)
	if len(tg.key) >= tg.limit && tg.limit > 0 {
		tg.bound, tg.bounded = tg.key[tg.limit-1], true
	}
	for b := range tg.values {
		tg.values[b] = pick(tg.values[b], idx, tg.widths[b])
		tg.present[b] = pick(tg.present[b], idx, 1)
	}
}

// frame returns the gathered rows as a frame of training rows.
func (tg *trainGather) frame(cs *classSet, widths []int, plan *Plan) *fusion.Frame {
	tg.trim()
	n := len(tg.hash)
	f := &fusion.Frame{Rows: n, Classes: len(cs.names), Label: tg.label, Train: make([]bool, n), KeyHash: tg.hash}
	for i := range f.Train {
		f.Train[i] = true
	}
	for s, sp := range plan.Modalities {
		kind := fusion.Features
		if sp.Kind == "probs" || sp.Kind == "score" {
			kind = fusion.Probs
		}
		blk := fusion.Block{Name: sp.Name, Kind: kind, Width: widths[s], Values: make([]float32, 0), Present: make([]bool, n)}
		if tg.values != nil {
			blk.Values, blk.Present, blk.Normalised = tg.values[s], tg.present[s], tg.normalised[s]
		}
		if blk.Values == nil {
			blk.Values = []float32{}
		}
		f.Blocks = append(f.Blocks, blk)
	}
	return f
}

// holdoutCuts are a stratified holdout's cuts, per class: a labelled row is in
// the test split when its draw is at most its class's cut, that is, among the
// class's round(test_fraction × size) smallest draws — the rows a run held whole
// puts in the test split.
type holdoutCuts struct {
	n   []int64  // test rows per class
	cut []uint64 // the largest draw of a test row
}

func (c *holdoutCuts) test(class int32, draw uint64) bool {
	return c.n[class] > 0 && draw <= c.cut[class]
}

// holdoutPass computes the holdout's cuts in one pass over the groups: per class,
// its size and a histogram of the draws' top 16 bits; the draws go to a local
// file, from which only those in each class's cut bin are read back and sorted.
func (r *runner) holdoutPass(ctx context.Context, plan *Plan, sd *spilled, cs *classSet, stats []*lake.ScanStats) (*holdoutCuts, error) {
	const shift = 48 // 65,536 bins
	k := len(cs.names)
	hist := make([][]uint32, k)
	for c := range hist {
		hist[c] = make([]uint32, 1<<(64-shift))
	}
	size := make([]int64, k)
	path := sd.dir.File("holdout-draws.arrow")
	defer os.Remove(path)
	w, err := spill.Create(path)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	seed := r.spec.Split.Holdout.Seed
	for g := 0; g < sd.groups; g++ {
		bf, err := r.buildGroup(ctx, plan, sd, cs, stats, g, math.MaxUint64)
		if err != nil {
			w.Close()
			return nil, err
		}
		f := bf.frame
		var class, draw []int64
		for i, y := range f.Label {
			if y < 0 {
				continue
			}
			d := holdoutDraw(seed, f.KeyHash[i])
			size[y]++
			hist[y][d>>shift]++
			class, draw = append(class, int64(y)), append(draw, int64(d))
		}
		if err := w.Write(&spill.Batch{Rows: len(class), Cols: []spill.Column{{Kind: spill.Int64s, I64: class}, {Kind: spill.Int64s, I64: draw}}}); err != nil {
			w.Close()
			return nil, fmt.Errorf("jobs: %w", err)
		}
		r.progress("holdout", int64(g+1), int64(sd.groups))
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	cuts := &holdoutCuts{n: make([]int64, k), cut: make([]uint64, k)}
	bin := make([]uint64, k)
	rank := make([]int64, k) // of the cut within its bin, from 1
	for c := range size {
		cuts.n[c] = int64(math.Round(r.spec.Split.Holdout.TestFraction * float64(size[c])))
		var below int64
		for b, n := range hist[c] {
			if below+int64(n) >= cuts.n[c] {
				bin[c], rank[c] = uint64(b), cuts.n[c]-below
				break
			}
			below += int64(n)
		}
	}
	inBin := make([][]uint64, k)
	err = spill.ReadFile(path, func(b *spill.Batch) error {
		for i, c := range b.Cols[0].I64 {
			if d := uint64(b.Cols[1].I64[i]); cuts.n[c] > 0 && d>>shift == bin[c] {
				inBin[c] = append(inBin[c], d)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	for c, v := range inBin {
		if cuts.n[c] > 0 {
			slices.Sort(v)
			cuts.cut[c] = v[rank[c]-1]
		}
	}
	return cuts, nil
}
