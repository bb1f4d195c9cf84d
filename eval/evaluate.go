package eval

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
)

// Rows describes the evaluated rows in plain types.
type Rows struct {
	Classes    int
	ClassNames []string // for the report; default "0", "1", …
	Label      []int32  // class index; -1 for an unlabelled row (not evaluated)
	Split      []int    // index into Splits
	Splits     []string
	KeyHash    []uint64 // seeds each row's bootstrap weights
	Modalities []string
	Present    [][]bool // per modality, per row
}

// Scores is one classifier's class probabilities for every row.
type Scores struct {
	Name       string
	Baseline   bool     // a unimodal baseline; Modalities holds its one modality
	Modalities []string // the modalities the classifier uses
	Probs      []float64
	// Probs32 holds the probabilities instead of Probs when they are float32 (a
	// unimodal baseline's, as the frame keeps them): each row is read as float64,
	// so every metric is what the same values as float64 would give.
	Probs32 []float32
	// Fill computes rows lo…hi−1's probabilities into dst, row i at (i−lo)·k,
	// instead of Probs and Probs32: a classifier cheaper to recompute than to
	// hold (fusion.RowPredictor). Evaluate asks for each aligned range of
	// rowsPerFill rows it reads once per pass, from several goroutines at once.
	Fill func(lo, hi int, dst []float64)
	// An ablation: strategy Of re-scored without modality Without. Ablations are
	// evaluated on the evaluation splits only, without intervals.
	Of, Without string
	// Folds, for a baseline whose cross-validation is scored in the same pass
	// (a probabilities modality, whose predictions are its own out-of-fold
	// ones): each row's fold, -1 for a row outside them, of NFolds folds. The
	// evaluation then counts each fold's right predictions and log loss
	// (Evaluation.Folds) from the predictions its metrics use.
	Folds  []int8
	NFolds int
}

// FoldScores are a classifier's right predictions and log loss per
// cross-validation fold (Scores.Folds).
type FoldScores struct {
	Right   []int64
	LogLoss []LogLoss
}

func newFoldScores(n int) *FoldScores {
	return &FoldScores{Right: make([]int64, n), LogLoss: make([]LogLoss, n)}
}

func (f *FoldScores) merge(o *FoldScores) {
	for i := range f.Right {
		f.Right[i] += o.Right[i]
		f.LogLoss[i].Merge(&o.LogLoss[i])
	}
}

// rowsPerFill is how many rows a rowReader asks Scores.Fill for at a time: the
// aligned ranges of chunkRows rows the evaluation's workers take.
const rowsPerFill = chunkRows

// rowReader reads one classifier's rows as float64, for one goroutine: a slice of
// Probs, Probs32's row widened, or a row of the last range Fill computed (rows
// are read in increasing order, so each range is computed once per pass).
type rowReader struct {
	s      *Scores
	k, n   int // classes, rows
	lo, hi int // the rows buf holds from Fill
	buf    []float64
}

func newRowReader(s *Scores, k, n int) *rowReader {
	r := &rowReader{s: s, k: k, n: n}
	if s.Fill != nil {
		r.buf = make([]float64, rowsPerFill*k)
	} else if s.Probs32 != nil {
		r.buf = make([]float64, k)
	}
	return r
}

// row returns row i's k probabilities.
func (r *rowReader) row(i int) []float64 {
	s, k := r.s, r.k
	switch {
	case s.Fill != nil:
		if i < r.lo || i >= r.hi {
			r.lo = i - i%rowsPerFill
			r.hi = min(r.lo+rowsPerFill, r.n)
			s.Fill(r.lo, r.hi, r.buf[:(r.hi-r.lo)*k])
		}
		return r.buf[(i-r.lo)*k : (i-r.lo+1)*k]
	case s.Probs32 != nil:
		for c, v := range s.Probs32[i*k : (i+1)*k] {
			r.buf[c] = float64(v)
		}
		return r.buf
	}
	return s.Probs[i*k : (i+1)*k]
}

// readers is a rowReader per classifier.
func readers(scores []Scores, k, n int) []*rowReader {
	out := make([]*rowReader, len(scores))
	for i := range scores {
		out[i] = newRowReader(&scores[i], k, n)
	}
	return out
}

// Options configure Evaluate. The zero value means defaults.
type Options struct {
	Replicates int // bootstrap replicates for intervals and paired comparisons; 0 = DefaultReplicates, < 0 = none
	ExactLimit int // pairs a ranking keeps exactly; 0 = DefaultExactLimit
	Workers    int // goroutines; 0 = 1
	// BestBaseline names the baseline strategies are compared with, when the
	// caller chose it (a run evaluated in parts — buckets, shards — must use one
	// for every part), and ChosenOn says on what. Empty: chosen here, by accuracy
	// on the training split.
	BestBaseline, ChosenOn string
	// DeferBaseline leaves the choice of the best baseline to SettleBaseline,
	// after the parts are merged (shards that cannot see each other's rows):
	// paired comparisons are kept against every baseline until then.
	DeferBaseline bool
	// Into, for an evaluation in parts, is the total this part will be merged
	// into: the part's rows of a split whose rankings are histograms in Into
	// already are ranked straight into Into's rankings, and the part keeps none
	// for that split, so that Merge adds nothing there. Ranked into histograms
	// of its own, each part allocated, cleared and merged 1 MiB per class and
	// classifier (40 MiB a bucket group on the shared benchmark). Nothing else
	// may use Into while Evaluate runs; Evaluate drops it from the part's
	// Options when done.
	Into *Evaluation
	// RankInPass counts the pairs of histogram rankings (splits past the
	// exact limit) in the evaluation pass, as it reads each row, with a tally
	// per classifier and worker (RankTallyBytes each: 6.3 MiB at ten
	// classes); without it a pass per classifier after the evaluation pass
	// reads the rows again, with one tally per worker. The same counts either
	// way; the first saves a read of every row (and a recomputation of every
	// fused one), the second memory where it is tight.
	RankInPass bool
}

// chunkRows is how rows are dealt to the evaluation's workers: each takes the
// next chunk as it is done with one, into an accumulator of its own (a part),
// and the parts merge when the rows run out. Every sum is an integer one
// (fixedSum, counts), so neither the number of workers nor which rows each
// took changes a bit of the result. (Eight fixed partitions of strided chunks
// left one core idle for the last partition: 0.2 s of a 2M-row job.)
const chunkRows = 4096

// termRows is how many rows of a chunk the pass takes at a time: each
// classifier's terms for them (4 classifiers: 160 KiB, in L2), then each row's
// accumulators.
const termRows = 1024

// Evaluation holds every accumulator of an evaluation, merged.
type Evaluation struct {
	Rows    Rows
	Scores  []Scores
	Options Options
	// Per score, per split.
	Metrics   [][]*Classification
	Intervals [][]*Bootstrap // nil for the training split and for ablations
	Present   [][]*Confusion // baselines only: the rows that have the modality
	// BestBaseline is the baseline with the highest accuracy on the training split
	// (on the first split when there is no training split); -1 without baselines.
	BestBaseline int
	ChosenOn     string
	Paired       [][]*Paired // strategies only, per split: against BestBaseline
	// Folds are per score its folds' scores, where Scores.Folds is set: for the
	// caller of Evaluate to read (Merge and marshalling leave them out).
	Folds []*FoldScores
	// Deferred is set until SettleBaseline chooses the best baseline; meanwhile
	// Candidates[b] holds the comparisons with the b-th baseline (in Scores
	// order), shaped as Paired.
	Deferred   bool
	Candidates [][][]*Paired
	// Patterns: per evaluation split, modality-presence bitmask → per score, rows
	// and correct predictions.
	Patterns []map[uint64][]int64
}

// evalSplit reports whether split s gets intervals, comparisons and patterns: every
// split but "train" (and "unlabelled", which has nothing to evaluate).
func (r *Rows) evalSplit(s int) bool { return r.Splits[s] != "train" && r.Splits[s] != "unlabelled" }

// Evaluate computes every metric of every classifier on every split.
func Evaluate(rows Rows, scores []Scores, opts Options) *Evaluation {
	if opts.Replicates == 0 {
		opts.Replicates = DefaultReplicates
	}
	reps := max(opts.Replicates, 0)
	e := &Evaluation{Rows: rows, Scores: scores, Options: opts, BestBaseline: -1, Deferred: opts.DeferBaseline}
	var baselines []int // score indexes of the baselines, for deferred comparisons
	for si, s := range scores {
		if s.Baseline {
			baselines = append(baselines, si)
		}
	}
	switch {
	case opts.DeferBaseline:
	case opts.BestBaseline != "":
		e.BestBaseline = baselineIndex(scores, opts.BestBaseline)
		e.ChosenOn = opts.ChosenOn
	default:
		e.chooseBaseline()
	}

	ns := len(rows.Splits)
	newPart := func() *part {
		p := &part{metrics: make([][]*Classification, len(scores)), intervals: make([][]*Bootstrap, len(scores)),
			present: make([][]*Confusion, len(scores)), paired: make([][]*Paired, len(scores)), patterns: make([]map[uint64][]int64, ns),
			folds: make([]*FoldScores, len(scores))}
		for i, s := range scores {
			if s.Folds != nil {
				p.folds[i] = newFoldScores(s.NFolds)
			}
		}
		if opts.DeferBaseline && reps > 0 {
			p.candidates = make([][][]*Paired, len(baselines))
			for b := range baselines {
				p.candidates[b] = make([][]*Paired, len(scores))
				for i, s := range scores {
					p.candidates[b][i] = make([]*Paired, ns)
					for sp := 0; sp < ns; sp++ {
						if !s.Baseline && s.Of == "" && rows.evalSplit(sp) {
							p.candidates[b][i][sp] = NewPaired(reps)
						}
					}
				}
			}
		}
		for i, s := range scores {
			p.metrics[i] = make([]*Classification, ns)
			p.intervals[i] = make([]*Bootstrap, ns)
			p.present[i] = make([]*Confusion, ns)
			p.paired[i] = make([]*Paired, ns)
			for sp := 0; sp < ns; sp++ {
				ablation := s.Of != ""
				if ablation && !rows.evalSplit(sp) {
					continue
				}
				p.metrics[i][sp] = NewClassificationLimit(rows.Classes, -1) // ranked below
				if !rows.evalSplit(sp) || ablation {
					continue
				}
				if reps > 0 {
					p.intervals[i][sp] = NewBootstrap(reps, rows.Classes)
				}
				if s.Baseline {
					p.present[i][sp] = NewConfusion(rows.Classes)
				} else if e.BestBaseline >= 0 && reps > 0 {
					p.paired[i][sp] = NewPaired(reps)
				}
			}
			if s.Baseline {
				for sp := 0; sp < ns; sp++ {
					if p.present[i][sp] == nil {
						p.present[i][sp] = NewConfusion(rows.Classes)
					}
				}
			}
		}
		for sp := range p.patterns {
			p.patterns[sp] = map[uint64][]int64{}
		}
		return p
	}
	// A baseline's modality, as an index into rows.Present (-1 for others).
	baselineModality := make([]int, len(scores))
	for si, s := range scores {
		baselineModality[si] = -1
		if s.Baseline {
			baselineModality[si] = slices.Index(rows.Modalities, s.Modalities[0])
		}
	}
	k := rows.Classes
	n := len(rows.Label)
	// Each worker's part merges into the total when the rows run out: a part per
	// worker is held besides the total.
	var (
		mu    sync.Mutex
		total *part
	)
	finish := func(pt *part) {
		mu.Lock()
		defer mu.Unlock()
		if total == nil {
			total = pt
		} else {
			total.merge(pt)
		}
	}
	// Where each classifier's rows of each split are ranked: with RankInPass
	// the pass tallies the pairs of histogram rankings as it reads the rows;
	// the rest, and every small split's exact rankings, are filled after (rank).
	targets := e.rankTargets(n)
	moveLocks := make([][]sync.Mutex, len(scores)) // per score and split: its rankings' tallies moving in
	for si := range moveLocks {
		moveLocks[si] = make([]sync.Mutex, ns)
	}
	var wg sync.WaitGroup
	workers := max(opts.Workers, 1)
	var nextChunk atomic.Int64
	evalSplits := make([]bool, ns) // rows.evalSplit, not two string comparisons a row
	for sp := range evalSplits {
		evalSplits[sp] = rows.evalSplit(sp)
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			weights := make([]uint8, reps)
			terms := make([]rowTerms, len(scores)*termRows) // terms[si*termRows+j]: row lo+j's, of a stretch from lo
			rd := readers(scores, k, n)
			tallies := make([][]*rankTally, len(scores)) // per score and split, where tallied
			for si := range tallies {
				tallies[si] = make([]*rankTally, ns)
				for sp, tg := range targets[si] {
					if tg.inPass {
						tallies[si][sp] = newRankTally(tg.rankings, tallyRows)
					}
				}
			}
			defer func() {
				// Workers share the rankings: each target's lock, taken in an
				// order rotated by the worker, so that one worker moves its
				// counts into one classifier's rankings while another moves
				// into the next (under one lock the last worker's moves ran
				// alone at the pass's end).
				for j := range tallies {
					si := (j + w) % len(tallies)
					for sp, t := range tallies[si] {
						if t != nil {
							t.count()
							moveLocks[si][sp].Lock()
							t.move()
							moveLocks[si][sp].Unlock()
							t.put()
						}
					}
				}
			}()
			var pt *part // allocated with the first chunk: none for a worker without rows
			var sinks [][]sink
			// Consecutive rows usually share a presence pattern: remember the last.
			lastPattern, lastSplit, lastCounts := uint64(0), -1, []int64(nil)
			for {
				lo := int(nextChunk.Add(1)-1) * chunkRows
				if lo >= n {
					break
				}
				if pt == nil {
					pt = newPart()
					sinks = pt.sinks(scores, rows, rd, tallies, baselines, baselineModality)
				}
				for slo := lo; slo < min(lo+chunkRows, n); slo += termRows {
					shi := min(slo+termRows, lo+chunkRows, n)
					// Each classifier's terms for the stretch's rows first, one
					// classifier at a time: its rows are read as one stream, not
					// interleaved with every other classifier's.
					for si := range scores {
						ts := terms[si*termRows : (si+1)*termRows]
						for i := slo; i < shi; i++ {
							y := int(rows.Label[i])
							if y < 0 {
								continue
							}
							sk := &sinks[rows.Split[i]][si]
							if sk.acc == nil {
								continue
							}
							var bins []uint16
							if sk.tally != nil {
								bins = sk.tally.next()
							}
							if sk.p32 != nil {
								termsInto(sk.p32[i*k:(i+1)*k:(i+1)*k], y, bins, &ts[i-slo])
							} else {
								termsInto(sk.reader.row(i), y, bins, &ts[i-slo])
							}
							if sk.tally != nil {
								sk.tally.added(int32(y))
							}
						}
					}
					for i := slo; i < shi; i++ {
						y := int(rows.Label[i])
						if y < 0 {
							continue
						}
						sp := rows.Split[i]
						eval := evalSplits[sp]
						if eval && reps > 0 {
							PoissonWeights(rows.KeyHash[i], weights)
						}
						var patternCounts []int64
						if eval {
							var pattern uint64
							for m := range rows.Modalities {
								if rows.Present[m][i] {
									pattern |= 1 << m
								}
							}
							if pattern == lastPattern && sp == lastSplit {
								patternCounts = lastCounts
							} else {
								patternCounts = pt.patterns[sp][pattern]
								if patternCounts == nil {
									patternCounts = make([]int64, 1+len(scores))
									pt.patterns[sp][pattern] = patternCounts
								}
								lastPattern, lastSplit, lastCounts = pattern, sp, patternCounts
							}
							patternCounts[0]++
						}
						// One prediction per classifier and row (terms[…].pred), shared
						// by every accumulator and by the comparison with the best
						// baseline (a baseline has metrics on every split).
						split := sinks[sp]
						j := i - slo
						// The classifiers' log loss terms, two logs at a time.
						pending := -1
						for si := range split {
							if split[si].acc == nil {
								continue
							}
							if pending < 0 {
								pending = si
								continue
							}
							tp, tq := &terms[pending*termRows+j], &terms[si*termRows+j]
							a, b := logPair(tp.logLoss, tq.logLoss)
							tp.logLoss, tq.logLoss = -a, -b
							pending = -1
						}
						if pending >= 0 {
							tp := &terms[pending*termRows+j]
							tp.logLoss = -math.Log(tp.logLoss)
						}
						baseRight := e.BestBaseline >= 0 && terms[e.BestBaseline*termRows+j].pred == y
						for si := range split {
							sk := &split[si]
							if sk.acc == nil {
								continue
							}
							t := &terms[si*termRows+j]
							var probs []float64 // the row itself, for exact rankings
							if sk.p32 == nil {
								probs = sk.reader.row(i) // the range read above: no fill
							}
							sk.acc.addTerms(probs, t, y)
							right := t.pred == y
							if sk.folds != nil {
								if fo := sk.foldOf[i]; fo >= 0 {
									if right {
										sk.folds.Right[fo]++
									}
									sk.folds.LogLoss[fo].addTerm(t.logLoss)
								}
							}
							if sk.interval != nil {
								sk.interval.addTerms(weights, t, y)
							}
							if sk.present != nil && sk.has[i] {
								sk.present.Add(y, t.pred)
							}
							if sk.paired != nil {
								sk.paired.Add(weights, right, baseRight)
							}
							for b, pp := range sk.candidates {
								if pp != nil {
									pp.Add(weights, right, terms[baselines[b]*termRows+j].pred == y)
								}
							}
							if eval && right && sk.patterned {
								patternCounts[1+si]++
							}
						}
					}
				}
			}
			if pt != nil {
				finish(pt)
			}
		}()
	}
	wg.Wait()

	if total == nil { // no rows at all
		total = newPart()
	}
	e.Metrics, e.Intervals, e.Present, e.Paired, e.Candidates = total.metrics, total.intervals, total.present, total.paired, total.candidates
	e.Folds = total.folds
	e.Patterns = total.patterns
	for si := range targets {
		for sp, tg := range targets[si] {
			if tg.own {
				e.Metrics[si][sp].Rankings = tg.rankings
			}
		}
	}
	e.rank(targets, workers)
	e.Options.Into = nil
	return e
}

// Merge adds the evaluation of other rows of the same job (a bucket, a shard):
// same scores, splits, classes, replicates and best baseline. Every accumulator
// merges exactly, so evaluating rows in parts and merging gives the whole's
// result bit for bit.
func (e *Evaluation) Merge(o *Evaluation) error {
	if len(e.Scores) != len(o.Scores) || !slices.Equal(e.Rows.Splits, o.Rows.Splits) || e.Rows.Classes != o.Rows.Classes ||
		e.BestBaseline != o.BestBaseline || e.Deferred != o.Deferred || len(e.Candidates) != len(o.Candidates) || max(e.Options.Replicates, 0) != max(o.Options.Replicates, 0) {
		return fmt.Errorf("eval: %w: merging evaluations of different jobs (scores, splits, classes, replicates or best baseline differ)", ErrMismatch)
	}
	for si := range e.Scores {
		if e.Scores[si].Name != o.Scores[si].Name {
			return fmt.Errorf("eval: %w: score %d is %q here and %q there", ErrMismatch, si, e.Scores[si].Name, o.Scores[si].Name)
		}
	}
	a := &part{metrics: e.Metrics, intervals: e.Intervals, present: e.Present, paired: e.Paired, patterns: e.Patterns, candidates: e.Candidates}
	a.merge(&part{metrics: o.Metrics, intervals: o.Intervals, present: o.Present, paired: o.Paired, patterns: o.Patterns, candidates: o.Candidates})
	return nil
}

// KeepSplits keeps the accumulators of the splits keep names, in their order,
// and drops the others: an evaluation in parts may declare splits up front that
// no row turned out to have (a run held whole lists only those it saw).
func (e *Evaluation) KeepSplits(keep []string) error {
	idx := make([]int, len(keep))
	for i, name := range keep {
		if idx[i] = slices.Index(e.Rows.Splits, name); idx[i] < 0 {
			return fmt.Errorf("eval: %w: split %q is not one of %v", ErrMismatch, name, e.Rows.Splits)
		}
	}
	perScoreSplits(e.Metrics, idx)
	perScoreSplits(e.Intervals, idx)
	perScoreSplits(e.Present, idx)
	perScoreSplits(e.Paired, idx)
	for _, c := range e.Candidates {
		perScoreSplits(c, idx)
	}
	e.Patterns = pickSplits(e.Patterns, idx)
	e.Rows.Splits = slices.Clone(keep)
	e.Rows.Split = nil // indexes of the old list
	return nil
}

// perScoreSplits keeps, for every score, the splits idx lists.
func perScoreSplits[T any](perScore [][]T, idx []int) {
	for i := range perScore {
		perScore[i] = pickSplits(perScore[i], idx)
	}
}

// pickSplits returns the entries idx lists, in its order.
func pickSplits[T any](s []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = s[j]
	}
	return out
}

// part is one worker's accumulators, per score and split.
type part struct {
	metrics   [][]*Classification
	intervals [][]*Bootstrap
	present   [][]*Confusion
	paired    [][]*Paired
	patterns  []map[uint64][]int64
	// candidates[b]: against the b-th baseline, when the choice is deferred.
	candidates [][][]*Paired
	folds      []*FoldScores
}

// sink is where a row of one split goes for one classifier within a part: the
// accumulators the row loop reaches, gathered so that a row's visit to a
// classifier is one lookup, not a chain of slice headers per accumulator. The
// loop's own instructions, outside the accumulators, were 1.44 G of
// BenchmarkEvaluate's 9.25 G (cachegrind, GOMAXPROCS=1, one op); 1.08 G so.
type sink struct {
	reader     *rowReader
	p32        []float32       // Scores.Probs32, read in place (nil: through reader)
	acc        *Classification // nil: the classifier has no metrics on the split
	tally      *rankTally
	folds      *FoldScores
	foldOf     []int8
	interval   *Bootstrap
	present    *Confusion
	has        []bool // with present: the rows that have the baseline's modality
	paired     *Paired
	candidates []*Paired // per baseline, deferred comparisons (nil entries skip)
	patterned  bool      // counted in the presence patterns (not an ablation)
}

// sinks lays out pt's accumulators per split and classifier (sinks[sp][si]),
// with the worker's readers and tallies.
func (t *part) sinks(scores []Scores, rows Rows, rd []*rowReader, tallies [][]*rankTally, baselines, baselineModality []int) [][]sink {
	out := make([][]sink, len(rows.Splits))
	for sp := range out {
		out[sp] = make([]sink, len(scores))
		for si, s := range scores {
			sk := &out[sp][si]
			sk.reader, sk.acc, sk.tally = rd[si], t.metrics[si][sp], tallies[si][sp]
			if s.Fill == nil && s.Probs32 != nil && sk.acc != nil && len(sk.acc.Rankings) == 0 {
				sk.p32 = s.Probs32 // the row's accumulators take its terms alone
			}
			sk.folds, sk.foldOf = t.folds[si], s.Folds
			sk.interval, sk.present, sk.paired = t.intervals[si][sp], t.present[si][sp], t.paired[si][sp]
			if sk.present != nil {
				sk.has = rows.Present[baselineModality[si]]
			}
			if t.candidates != nil {
				sk.candidates = make([]*Paired, len(baselines))
				for b := range baselines {
					sk.candidates[b] = t.candidates[b][si][sp]
				}
			}
			sk.patterned = s.Of == ""
		}
	}
	return out
}

// merge adds another worker's part.
func (t *part) merge(pt *part) {
	for si := range t.metrics {
		for sp := range t.metrics[si] {
			if a := t.metrics[si][sp]; a != nil {
				a.Merge(pt.metrics[si][sp])
			}
			if b := t.intervals[si][sp]; b != nil {
				b.Merge(pt.intervals[si][sp])
			}
			if c := t.present[si][sp]; c != nil {
				c.Merge(pt.present[si][sp])
			}
			if pp := t.paired[si][sp]; pp != nil {
				pp.Merge(pt.paired[si][sp])
			}
			for b, c := range t.candidates {
				if pp := c[si][sp]; pp != nil {
					pp.Merge(pt.candidates[b][si][sp])
				}
			}
		}
	}
	for si, f := range t.folds {
		if f != nil {
			f.merge(pt.folds[si])
		}
	}
	for sp := range t.patterns {
		for pattern, counts := range pt.patterns[sp] {
			if cur := t.patterns[sp][pattern]; cur != nil {
				for j := range cur {
					cur[j] += counts[j]
				}
			} else {
				t.patterns[sp][pattern] = counts
			}
		}
	}
}

// rankTarget is where one classifier's rows of one split are ranked.
type rankTarget struct {
	rankings []*Ranking // nil: the classifier has no metrics on the split
	own      bool       // the part's own rankings, not Options.Into's
	inPass   bool       // histograms the evaluation pass tallies (RankInPass)
}

// rankTargets decides, per score and split, the rankings its rows go to:
// Options.Into's, for a split ranked into the total (rankInto), else new ones
// sized for the split's labelled rows (histograms past the exact limit).
func (e *Evaluation) rankTargets(n int) [][]rankTarget {
	k, splits := e.Rows.Classes, len(e.Rows.Splits)
	rowsOf := make([]int, splits) // labelled rows per split: the rankings' sizes
	for i, y := range e.Rows.Label[:n] {
		if y >= 0 {
			rowsOf[e.Rows.Split[i]]++
		}
	}
	into := e.rankInto()
	out := make([][]rankTarget, len(e.Scores))
	for si, s := range e.Scores {
		out[si] = make([]rankTarget, splits)
		for sp := range splits {
			if s.Of != "" && !e.Rows.evalSplit(sp) {
				continue // an ablation is evaluated on the evaluation splits only
			}
			tg := &out[si][sp]
			if into[sp] && e.Options.Into.Metrics[si][sp] != nil {
				tg.rankings = e.Options.Into.Metrics[si][sp].Rankings
			} else {
				tg.rankings, tg.own = newRankings(k, e.Options.ExactLimit, rowsOf[sp]), true
			}
			tg.inPass = e.Options.RankInPass && !slices.ContainsFunc(tg.rankings, (*Ranking).Exact)
		}
	}
	return out
}

// rank fills the rankings (ROC AUC, average precision) of every classifier
// and split that the evaluation pass did not tally: in one pass per pair,
// through a tally for histograms (rankTally) and row by row for exact
// rankings. Rankings do not depend on the order of their rows, so unlike the
// other accumulators they need no partitions: one per class holds the whole
// split.
func (e *Evaluation) rank(targets [][]rankTarget, workers int) {
	type task struct{ si, sp int }
	var tasks []task
	for si := range targets {
		for sp, tg := range targets[si] {
			if tg.rankings != nil && !tg.inPass {
				tasks = append(tasks, task{si, sp})
			}
		}
	}
	k := e.Rows.Classes
	ch := make(chan task, len(tasks))
	for _, t := range tasks {
		ch <- t
	}
	close(ch)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range ch {
				rankings := targets[t.si][t.sp].rankings
				rd := newRowReader(&e.Scores[t.si], k, len(e.Rows.Label))
				if slices.ContainsFunc(rankings, (*Ranking).Exact) { // a small split: every pair kept
					withRanks := &Classification{Rankings: rankings}
					for i, y := range e.Rows.Label {
						if y >= 0 && e.Rows.Split[i] == t.sp {
							withRanks.addRanks(rd.row(i), int(y))
						}
					}
					continue
				}
				tally := newRankTally(rankings, tallyRows)
				for i, y := range e.Rows.Label {
					if y >= 0 && e.Rows.Split[i] == t.sp {
						tally.add(rd.row(i), y)
					}
				}
				tally.flush()
				tally.put()
			}
		}()
	}
	wg.Wait()
}

// rankInto reports per split whether its rows are ranked into Options.Into's
// rankings: where every classifier's rankings of the split are histograms there
// already. A pair falls into the same bin whether it arrives on its own or in a
// ranking merged in, exact or not.
func (e *Evaluation) rankInto() []bool {
	into := make([]bool, len(e.Rows.Splits))
	o := e.Options.Into
	if o == nil || !slices.Equal(o.Rows.Splits, e.Rows.Splits) || len(o.Metrics) != len(e.Scores) {
		return into
	}
	for sp := range into {
		seen, histograms := false, true
		for si := range o.Metrics {
			if m := o.Metrics[si][sp]; m != nil {
				for _, r := range m.Rankings {
					seen, histograms = true, histograms && !r.Exact()
				}
			}
		}
		into[sp] = seen && histograms
	}
	return into
}

// chooseBaseline picks the baseline with the highest training accuracy.
func (e *Evaluation) chooseBaseline() {
	k := e.Rows.Classes
	e.chooseBy(func(si, split int) float64 {
		r, rd := &e.Rows, newRowReader(&e.Scores[si], k, len(e.Rows.Label))
		var right, total int
		for i, y := range r.Label {
			if y >= 0 && r.Split[i] == split {
				total++
				if Argmax(rd.row(i)) == int(y) {
					right++
				}
			}
		}
		return safeDiv(float64(right), float64(total))
	})
}

// chooseBy sets BestBaseline to the baseline with the highest accuracy on the
// training split (the first split when there is none), ties to the lower name,
// and ChosenOn to that split.
func (e *Evaluation) chooseBy(accuracy func(si, split int) float64) {
	r := &e.Rows
	if len(r.Splits) == 0 {
		return
	}
	split := max(slices.Index(r.Splits, "train"), 0)
	e.ChosenOn = r.Splits[split]
	best, bestAcc := -1, -1.0
	for si, s := range e.Scores {
		if !s.Baseline {
			continue
		}
		if acc := accuracy(si, split); acc > bestAcc || (acc == bestAcc && best >= 0 && cmp.Less(s.Name, e.Scores[best].Name)) {
			best, bestAcc = si, acc
		}
	}
	e.BestBaseline = best
}

// SettleBaseline makes a deferred choice of the best baseline, on the merged
// evaluation, by the rule chooseBaseline applies to rows: the highest accuracy
// on the training split (else the first split), ties to the first name. Call
// it after KeepSplits. It does nothing when the choice was not deferred.
func (e *Evaluation) SettleBaseline() {
	if !e.Deferred {
		return
	}
	e.chooseBy(func(si, split int) float64 {
		if m := e.Metrics[si][split]; m != nil {
			return m.Confusion.Result().Accuracy
		}
		return 0
	})
	e.settle()
}

// UseBaseline settles a deferred choice with the baseline the caller chose
// (as Options.BestBaseline names one) once the evaluation has run: a caller
// that chooses from what the evaluation counted (Folds). It does nothing when
// the choice was not deferred.
func (e *Evaluation) UseBaseline(name, chosenOn string) {
	if !e.Deferred {
		return
	}
	e.BestBaseline = baselineIndex(e.Scores, name)
	e.ChosenOn = chosenOn
	e.settle()
}

// baselineIndex is the place of the baseline named name among scores (-1 for
// none).
func baselineIndex(scores []Scores, name string) int {
	return slices.IndexFunc(scores, func(s Scores) bool { return s.Baseline && s.Name == name })
}

// settle ends the deferral: the comparisons with the chosen baseline, kept
// with every baseline's meanwhile, become the paired comparisons.
func (e *Evaluation) settle() {
	e.Deferred = false
	if e.Candidates != nil && e.BestBaseline >= 0 {
		b := 0 // the best's place among the baselines
		for _, s := range e.Scores[:e.BestBaseline] {
			if s.Baseline {
				b++
			}
		}
		e.Paired = e.Candidates[b]
	}
	e.Candidates = nil
}

// PatternModalities lists the modalities present in a pattern bitmask.
func (r *Rows) PatternModalities(pattern uint64) []string {
	var out []string
	for pattern != 0 {
		m := bits.TrailingZeros64(pattern)
		out = append(out, r.Modalities[m])
		pattern &^= 1 << m
	}
	return out
}
