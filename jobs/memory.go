package jobs

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/lakefuse/lakefuse/eval"
	"github.com/lakefuse/lakefuse/fusion"
	"github.com/lakefuse/lakefuse/internal/bucket"
	"github.com/lakefuse/lakefuse/internal/spill"
	"github.com/lakefuse/lakefuse/lake"
)

// Bytes per row and value that the in-memory path holds at its peak, from the
// data structures it builds. The estimate is of the live heap: peak RSS reaches
// up to about twice that when the budget leaves the collector room (GOGC), and
// stays near the budget when it does not (GOMEMLIMIT). Compared on two workloads
// (docs/decisions.md): the 2M-row shared benchmark, estimate 1.1 GiB, live heap
// at most 0.66 GB, peak RSS 0.93 GB (float32 blocks, GOGC 25; with float64 blocks
// it was estimate 1.77 GB, peak RSS 1.33 GB); 16,000 rows × 100 classes, estimate 0.50 GB, live heap 0.40 GB, peak
// RSS 0.86 GB.
const (
	keyBytesInt   = 8 + 8   // the scanned key, and its slot in the alignment map
	keyBytesStr   = 16 + 40 // a string header and a short key's bytes, twice
	rowBookkeep   = 24      // per entity: labels, splits, key hashes, row index
	valueBytes    = 8       // one float64 of a strategy's probabilities, or of a fit's copy of a row
	blockBytes    = 4       // one float32 of a modality's block or of its unimodal probabilities
	heapHeadroom  = 1.3     // the Go heap between collections at GOMEMLIMIT
	defaultWidth  = 16      // a list column whose width cannot be read
	defaultCounts = 2       // classes, when the footers do not say
	rankPairBytes = 9       // a score and a label in an exact ranking
	// rankHistogramBytes is an approximate ranking: two counts per bin.
	rankHistogramBytes = 2 * 8 << 16
)

// estimateMemory estimates the in-memory path's peak from the footers (a list
// column's width from its values per row): keys of every source, the aligned frame's
// blocks, and one probability matrix per scored classifier that holds its rows
// (a fusion.RowPredictor computes them when read; its ablations are held).
func estimateMemory(ctx context.Context, r *runner, plan *Plan) *eval.MemoryReport {
	var keys, entities, frame int64
	classes := int64(0)
	for i, sp := range plan.Sources() {
		rows := sp.TotalRows()
		per := int64(keyBytesInt)
		if slices.Contains(sp.stringKey, true) {
			per = keyBytesStr
		}
		keys += rows * per
		if i == plan.Anchor || (plan.Anchor < 0 && rows > entities) {
			entities = max(entities, rows)
		}
		width := int64(len(sp.Scalar))
		if sp.Vector != "" && len(sp.Files) > 0 {
			// From the footer: decoding a page for the width was 30 ms a
			// source at the 2M bench's start.
			width = defaultWidth
			if w, err := r.lake.ValuesPerRow(ctx, sp.Files[0], sp.Vector); err == nil && w > 0 {
				width = int64(math.Ceil(w))
			}
			if sp.Kind == "probs" {
				classes = max(classes, width)
			}
		}
		frame += rows * width * blockBytes
	}
	if classes == 0 {
		classes = defaultCounts
	}
	var strategies int64
	for _, st := range r.spec.Strategies {
		if s, err := fusion.New(st.Config()); err != nil || !computedWhenRead(s) {
			strategies++
		}
	}
	if r.spec.Evaluation.ablation() {
		strategies += int64(len(r.spec.Strategies) * len(r.spec.Modalities))
	}
	scores := entities * classes * (valueBytes*strategies + blockBytes*int64(len(r.spec.Modalities)))
	// One-vs-rest rankings of every strategy and baseline, exact up to their
	// limit, then a fixed histogram.
	limit := int64(r.spec.Evaluation.ExactRankLimit)
	if limit == 0 {
		limit = eval.DefaultExactLimit
	}
	classifiers := int64(len(r.spec.Strategies) + len(r.spec.Modalities))
	rankings := entities * rankPairBytes * classes * classifiers
	if entities > limit {
		// A ranking sized past its limit starts as the histogram, and each
		// evaluation worker counts its pairs in a tally of its own first.
		rankings = rankHistogramBytes*classes*classifiers + int64(max(r.cpu, 1))*eval.RankTallyBytes(int(classes))*classifiers
	}
	total := int64(float64(keys+frame+scores+rankings+entities*rowBookkeep) * heapHeadroom)
	return &eval.MemoryReport{
		BudgetBytes:   r.budget.Bytes,
		BudgetSource:  r.budget.Source,
		EstimateBytes: total,
		Path:          "in-memory",
	}
}

// groupShare is the part of the budget one bucket group's frame may take: the
// rest holds the fit sample, the merged evaluation and the writers.
const groupShare = 4

// choosePath picks the in-memory path when its estimate fits the budget, else
// the partitioned one with enough bucket groups that each holds a quarter of the
// budget.
func (r *runner) choosePath(plan *Plan) {
	m := r.memory
	if r.opts.Groups > 0 {
		r.groups = r.opts.Groups
	} else if !r.budget.Fits(m.EstimateBytes) {
		share := max(r.budget.Bytes/groupShare, 1)
		r.groups = int((m.EstimateBytes + share - 1) / share)
		if most := maxGroups(len(plan.Sources()), spill.OpenFiles()); r.groups > most {
			r.log.Warn("fewer bucket groups than the memory budget asks for: the spill keeps one file open per source and group",
				"groups", most, "wanted", r.groups, "open_files_limit", spill.OpenFiles())
			r.groups = most
		}
	}
	if r.groups > 0 {
		m.Path, m.Groups = "partitioned", r.groups
	}
}

// maxGroups is how many bucket groups the spill can keep files open for, one per
// source and group, leaving room for the lake's files and the runtime's: at most
// 4096, and within the open-files limit when it is known (0: unknown).
func maxGroups(sources, openFiles int) int {
	most := 4096
	if openFiles > 0 {
		most = min(most, max((openFiles-256)/max(sources, 1), 1))
	}
	return most
}

// fitRowCopies is how many float64 copies of a training row the fits hold at
// their peak: its features and probabilities raw, standardised, as out-of-fold
// predictions, and their gradients.
const fitRowCopies = 4

// limitTraining caps the rows the fits see (fit.max_rows, else what a
// quarter of the budget holds): the training rows first in sample order
// (sampleKeys), a sample that does not depend on row order or on which other
// rows a run holds. The other training rows keep their split in the reports;
// only fitting skips them. It returns the report's note, nil when nothing was
// left out.
func limitTraining(r *runner, f *fusion.Frame, order []uint64) *eval.FitReport {
	limit, source := r.fitCap()
	// Counted first: a frame within the cap, the usual case, allocates nothing.
	n := 0
	for i, train := range f.Train {
		if train && f.Label[i] >= 0 {
			n++
		}
	}
	if n <= limit {
		return nil
	}
	keys := make([]uint64, 0, n)
	for i, train := range f.Train {
		if train && f.Label[i] >= 0 {
			keys = append(keys, order[i])
		}
	}
	slices.Sort(keys)
	cut := keys[limit-1]
	for i, train := range f.Train {
		if train && f.Label[i] >= 0 && order[i] > cut {
			f.Train[i] = false
		}
	}
	return fitReport(limit, int64(len(keys)), source)
}

// MaxBuckets is the most key buckets a dataset may have: the sample order
// keeps a bucket in 16 bits.
const MaxBuckets = 1 << 16

// sampleKey orders the training rows for the fit sample: by key hash; on a
// bucketed dataset by bucket first, then by the key hash's top 48 bits — the
// rows of buckets 0, 1, … in turn, as Hive's TABLESAMPLE BUCKET samples — so
// that a shard finds the sample in the first buckets and reads no other
// bucket's files to fit.
func sampleKey(keyHash uint64, bucket, buckets int) uint64 {
	if buckets == 0 {
		return keyHash
	}
	return uint64(bucket)<<48 | keyHash>>16
}

// sampleKeys is every frame row's sampleKey.
func (r *runner) sampleKeys(bf *builtFrame) []uint64 {
	f := bf.frame
	n := r.plan.Buckets
	if n == 0 {
		return f.KeyHash
	}
	out := make([]uint64, f.Rows)
	for i := range out {
		out[i] = sampleKey(f.KeyHash[i], keyBucket(bf.keys, i, n), n)
	}
	return out
}

// keyBucket is the Iceberg bucket of row i's key in a key column.
func keyBucket(keys lake.OutColumn, i, n int) int {
	if keys.Int64 != nil {
		return bucket.Of(bucket.Long(keys.Int64[i]), n)
	}
	return bucket.Of(bucket.String(keys.String[i]), n)
}

// fitCap is how many training rows the fits may see, and what set it.
func (r *runner) fitCap() (int, string) {
	if r.spec.Fit.MaxRows > 0 {
		return r.spec.Fit.MaxRows, "fit.max_rows"
	}
	width := r.classes * (len(r.spec.Strategies) + len(r.spec.Modalities))
	for _, w := range r.widths {
		width += w
	}
	return int(max(min(r.budget.Bytes/4/int64(max(width, 1)*valueBytes*fitRowCopies), 1<<40), 1)), "a quarter of the memory budget"
}

func fitReport(rows int, of int64, source string) *eval.FitReport {
	return &eval.FitReport{Rows: int64(rows), Of: of, Source: source,
		Warning: fmt.Sprintf("the learned strategies were fitted on %d of the %d training rows (%s; a sample by key hash)", rows, of, source)}
}
