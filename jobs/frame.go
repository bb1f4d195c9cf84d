package jobs

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/lakefuse/lakefuse/fusion"
	"github.com/lakefuse/lakefuse/internal/bigmem"
	"github.com/lakefuse/lakefuse/internal/keyhash"
	"github.com/lakefuse/lakefuse/lake"
)

// classSet maps label values to class indexes.
type classSet struct {
	names  []string
	ints   []int64 // the integer value of each class when labels are integers
	isInt  bool
	byName map[string]int
	byInt  map[int64]int
	// small is byInt for the labels 0…len(small)−1, as class index + 1 (0: not
	// a class): a slice lookup a row instead of a map's, for the usual labels.
	small []int32
}

// smallLabels is how far classSet.small, distinctInts and the plan's label
// pass (checkLabels) look labels up in a slice rather than a map.
const smallLabels = 1 << 12

// index sets small from byInt.
func (cs *classSet) index() {
	cs.small = make([]int32, smallLabels)
	for v, i := range cs.byInt {
		if v >= 0 && v < smallLabels {
			cs.small[v] = int32(i) + 1
		}
	}
}

// collectClasses builds the class list: the spec's, or every distinct label of the
// label source sorted (numerically for integer labels).
// When scoring with saved models, modelInteger is the models' label type: labels
// in the data, if any, must have it; without labels it is the output's label type.
func collectClasses(spec *Spec, tables []*lake.Table, modelInteger *bool) (*classSet, error) {
	cs := &classSet{byName: map[string]int{}, byInt: map[int64]int{}}
	if modelInteger != nil {
		cs.isInt = *modelInteger
	}
	if len(tables) > 0 {
		dataInteger := tables[0].IntLabels != nil
		if modelInteger != nil && dataInteger != *modelInteger {
			return nil, fmt.Errorf("jobs: %w: label column %q holds %s labels, the model's are %s", ErrInput, spec.Label.Column, labelType(dataInteger), labelType(*modelInteger))
		}
		cs.isInt = dataInteger
	}
	for _, t := range tables {
		if (t.IntLabels != nil) != cs.isInt {
			return nil, fmt.Errorf("jobs: %w: label column %q is an integer in some files and a string in others (file %s)", ErrInput, spec.Label.Column, t.File)
		}
	}
	if len(spec.Label.Classes) > 0 {
		for i, name := range spec.Label.Classes {
			cs.names = append(cs.names, name)
			cs.byName[name] = i
			if cs.isInt {
				v, err := strconv.ParseInt(name, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("jobs: %w: label.classes[%d] %q: labels are integers", ErrSpec, i, name)
				}
				cs.ints = append(cs.ints, v)
				cs.byInt[v] = i
			}
		}
		cs.index()
		return cs, nil
	}
	if cs.isInt {
		cs.ints = distinctInts(tables)
		for i, v := range cs.ints {
			cs.names = append(cs.names, strconv.FormatInt(v, 10))
			cs.byInt[v] = i
		}
		cs.index()
	} else {
		cs.names = distinctLabels(tables, func(t *lake.Table) []string { return t.StrLabels })
	}
	for i, v := range cs.names {
		cs.byName[v] = i
	}
	return cs, nil
}

// distinctLabels returns the distinct non-null labels of the tables, sorted.
func distinctLabels[T cmp.Ordered](tables []*lake.Table, labels func(*lake.Table) []T) []T {
	seen := map[T]bool{}
	for _, t := range tables {
		for i, v := range labels(t) {
			if t.LabelValid == nil || t.LabelValid[i] {
				seen[v] = true
			}
		}
	}
	out := make([]T, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// distinctInts is distinctLabels for integer labels, those in 0…smallLabels−1
// marked in a slice rather than a map.
func distinctInts(tables []*lake.Table) []int64 {
	small := make([]bool, smallLabels)
	seen := map[int64]bool{}
	for _, t := range tables {
		for i, v := range t.IntLabels {
			switch {
			case t.LabelValid != nil && !t.LabelValid[i]:
			case v >= 0 && v < smallLabels:
				small[v] = true
			default:
				seen[v] = true
			}
		}
	}
	for v, ok := range small {
		if ok {
			seen[int64(v)] = true
		}
	}
	out := make([]int64, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

func labelType(integer bool) string {
	if integer {
		return "integer"
	}
	return "string"
}

// labelOf returns the class index of a label source row, -1 for a null label.
func (cs *classSet) labelOf(t *lake.Table, row int) (int32, error) {
	if t.LabelValid != nil && !t.LabelValid[row] {
		return -1, nil
	}
	if cs.isInt {
		v := t.IntLabels[row]
		if v >= 0 && v < int64(len(cs.small)) && cs.small[v] > 0 {
			return cs.small[v] - 1, nil
		}
		c, ok := cs.byInt[v]
		if !ok {
			return 0, fmt.Errorf("jobs: %w: file %s row %d: label %d is not one of label.classes %v", ErrInput, t.File, row, t.IntLabels[row], cs.names)
		}
		return int32(c), nil
	}
	c, ok := cs.byName[t.StrLabels[row]]
	if !ok {
		return 0, fmt.Errorf("jobs: %w: file %s row %d: label %q is not one of label.classes %v", ErrInput, t.File, row, t.StrLabels[row], cs.names)
	}
	return int32(c), nil
}

// builtFrame is the aligned Frame plus what the outputs need about each row.
type builtFrame struct {
	frame   *fusion.Frame
	classes *classSet
	keys    lake.OutColumn // the entity key of each frame row
	split   []int32        // split of each frame row: an index into splitNames
	// splitNames are the names split indexes (a code no row has may be among
	// them); splits are the names rows have, in report order.
	splitNames []string
	splits     []string
	rejected   rejectedRows
	aligned    int64
	stats      []joinStats
	invalid    []map[string]int64 // per modality: rows rejected by the invalid policy, by reason
	warnings   []string
}

// rejectedRows is rejected/: entities with no usable modality (modality null) and
// modality values rejected by the invalid policy, each with the reason.
type rejectedRows struct {
	keys     lake.OutColumn
	modality lake.OutColumn
	reason   []string
}

// invalidRow is one aligned row whose value of a modality is unusable.
type invalidRow struct {
	row    int
	reason string
}

// buildFrame turns an alignment into a Frame: class indexes, one dense block per
// modality (decoded from the lake straight into place), and splits. Entities with
// no modality present are rejected.
//
// mem, when set, holds a bucket group's spilled values (per modality), which
// replace reading the values from the lake.
func buildFrame[K keyed](ctx context.Context, r *runner, p *Plan, src []scanned[K], al *alignment[K], cs *classSet, stats []*lake.ScanStats, mem []*groupSource) (*builtFrame, error) {
	spec := p.Spec
	n := len(al.keys)
	nMod := len(p.Modalities)
	tables := make([][]*lake.Table, nMod)
	for s := range tables {
		tables[s] = src[s].tables
	}
	// Entities no modality has (keys only the labels know) are rejected before
	// the load: the blocks hold the other rows only, and nothing is moved after
	// (compacting three blocks for 230 such rows in 2M cost 0.1 s). slot maps an
	// aligned entity to its block row; nil when every entity has a modality.
	slot, rows := blockSlots(al.refs[:nMod], n, r.cpu)
	aligned := func(row int) int { // a block row's entity
		if slot == nil {
			return row
		}
		return int(slot.keys[row])
	}
	keyOf := func(row int) string { return fmt.Sprint(al.keys[aligned(row)]) }
	// Once the blocks' destinations are built, the modalities' references and
	// key columns — the largest arrays held until then — are read no more
	// (the label source's references still label the rows): dropped and
	// collected before the blocks are allocated, their pages hold the blocks
	// instead of fresh ones (95 of the 229 MB of blocks at 2M rows, three
	// modalities). A run in bucket groups holds a group's and does not bother.
	var release func()
	if mem == nil {
		release = func() {
			for s := range nMod {
				if s == p.LabelFrom {
					continue
				}
				al.refs[s], al.extra[s], src[s].keys = nil, nil, nil
				for _, t := range src[s].tables {
					t.IntKeys, t.StrKeys = nil, nil
				}
			}
			runtime.GC()
		}
	}
	blocks, invalid, err := r.materialize(ctx, p, tables, al.refs, al.extra, slot, rows, len(cs.names), stats, keyOf, mem, release)
	if err != nil {
		return nil, err
	}
	var rejectedKeys []K
	var rejectedModality, rejectedReason []string
	invalidCounts := make([]map[string]int64, nMod)
	for s, ivs := range invalid {
		invalidCounts[s] = map[string]int64{}
		for _, iv := range ivs {
			invalidCounts[s][iv.reason]++
			rejectedKeys = append(rejectedKeys, al.keys[aligned(iv.row)])
			rejectedModality = append(rejectedModality, p.Modalities[s].Name)
			rejectedReason = append(rejectedReason, iv.reason)
		}
	}

	// Keep the entities that have at least one modality (keep: their aligned
	// indexes), in ranges on every core: counted, then written in place. A row
	// the load turned down in every modality it had is compacted out of the
	// blocks.
	blockRow := func(i int) (row int, any bool) {
		row = i
		if slot != nil {
			row = int(slot.rows[i])
		}
		if row >= 0 {
			for s := range blocks {
				if blocks[s].Present[row] {
					return row, true
				}
			}
		}
		return row, false
	}
	type kept struct {
		at, kept int   // where the range's kept entities go in keep, and how many
		none     []int // aligned entities with no modality
		dropped  int   // rows of the blocks among none
	}
	parts := make([]kept, rangesIn(n))
	inRanges(n, r.cpu, func(pi, lo, hi int) {
		pt := &parts[pi]
		for i := lo; i < hi; i++ {
			row, any := blockRow(i)
			switch {
			case any:
				pt.kept++
			case row >= 0:
				pt.dropped++
				fallthrough
			default:
				pt.none = append(pt.none, i)
			}
		}
	})
	total, dropped := 0, 0 // dropped: rows of the blocks that go
	for pi := range parts {
		pt := &parts[pi]
		pt.at, total, dropped = total, total+pt.kept, dropped+pt.dropped
		for _, i := range pt.none {
			rejectedKeys = append(rejectedKeys, al.keys[i])
			rejectedModality = append(rejectedModality, "")
			rejectedReason = append(rejectedReason, "no modality present")
		}
	}
	keep := make([]int, total)
	inRanges(n, r.cpu, func(pi, lo, hi int) {
		at := parts[pi].at
		for i := lo; i < hi; i++ {
			if _, any := blockRow(i); any {
				keep[at] = i
				at++
			}
		}
	})
	if dropped > 0 {
		kept := keep // the block rows of keep
		if slot != nil {
			kept = make([]int, len(keep))
			for j, i := range keep {
				kept[j] = int(slot.rows[i])
			}
		}
		var g errgroup.Group // blocks are independent
		g.SetLimit(max(r.cpu, 1))
		for s := range blocks {
			g.Go(func() error {
				blocks[s] = compact(blocks[s], kept)
				return nil
			})
		}
		_ = g.Wait()
	}
	f := &fusion.Frame{Rows: len(keep), Classes: len(cs.names), Label: make([]int32, len(keep)), Train: make([]bool, len(keep)), Blocks: blocks,
		KeyHash: make([]uint64, len(keep))}
	bf := &builtFrame{frame: f, classes: cs, split: make([]int32, len(keep)), aligned: int64(n), stats: al.stats, invalid: invalidCounts}
	valid := make([]bool, len(rejectedModality))
	for i, m := range rejectedModality {
		valid[i] = m != ""
	}
	bf.rejected = rejectedRows{keys: keyColumn(spec.Key, rejectedKeys, nil),
		modality: lake.OutColumn{Name: "modality", String: rejectedModality, Valid: valid}, reason: rejectedReason}
	// The key column, and the key hashes and labels in ranges: passes over
	// every kept row, on every core (one after the other they were a tenth of
	// a second of one core at 2M rows).
	L := p.LabelFrom
	labelErrs := make([]error, rangesIn(len(keep))) // per range: its first row's error
	keysDone := make(chan struct{})
	go func() {
		defer close(keysDone)
		bf.keys = keyColumn(spec.Key, al.keys, keep)
	}()
	inRanges(len(keep), r.cpu, func(ri, lo, hi int) {
		for fi, i := range keep[lo:hi] {
			fi += lo
			f.KeyHash[fi] = hashKey(al.keys[i])
			f.Label[fi] = -1
			if L < 0 {
				continue
			}
			if r := al.refs[L][i]; r != noRef {
				c, err := cs.labelOf(src[L].tables[r.table()], r.row())
				if err != nil {
					labelErrs[ri] = err
					return
				}
				f.Label[fi] = c
			}
		}
	})
	<-keysDone
	for _, err := range labelErrs {
		if err != nil {
			return nil, err
		}
	}
	var labelTables []*lake.Table
	var labelRefs []ref
	if L >= 0 {
		labelTables, labelRefs = src[L].tables, al.refs[L]
	}
	if err := assignSplits(spec, bf, labelTables, labelRefs, keep, al.keys, r.holdout, r.cpu); err != nil {
		return nil, err
	}
	return bf, f.Validate()
}

// compact keeps the given rows (increasing) of a block, in place: each run of
// consecutive kept rows moves down in one copy, and nothing is allocated (a copy
// of every block for a few rejected rows was a second frame at the peak).
func compact(b fusion.Block, keep []int) fusion.Block {
	w := b.Width
	for fi := 0; fi < len(keep); {
		i := keep[fi]
		run := 1 // keep[fi : fi+run] are consecutive rows
		for fi+run < len(keep) && keep[fi+run] == i+run {
			run++
		}
		if i != fi {
			copy(b.Values[fi*w:(fi+run)*w], b.Values[i*w:(i+run)*w])
			copy(b.Present[fi:fi+run], b.Present[i:i+run])
		}
		fi += run
	}
	b.Values, b.Present = b.Values[:len(keep)*w], b.Present[:len(keep)]
	return b
}

func keyColumn[K keyed](name string, keys []K, keep []int) lake.OutColumn {
	switch ks := any(keys).(type) {
	case []int64:
		return lake.OutColumn{Name: name, Int64: pickKeys(ks, keep)}
	default:
		return lake.OutColumn{Name: name, String: pickKeys(any(keys).([]string), keep)}
	}
}

// pickKeys is keys[keep[i]] for every i (a copy of keys for a nil keep).
func pickKeys[T any](keys []T, keep []int) []T {
	if keep == nil {
		return slices.Clone(keys)
	}
	out := make([]T, len(keep))
	for i, k := range keep {
		out[i] = keys[k]
	}
	return out
}

// blockLoad is one modality's block being filled.
type blockLoad struct {
	sp                    *SourcePlan
	blk                   fusion.Block
	width, stride, offset int
	dest                  [][]int32 // per file: frame row of each file row, -1 for none
	hits                  []uint16
	bad                   []uint8 // lake.BadWidth, lake.BadNull per row
	serial                bool    // duplicate rows are averaged: one writer at a time
}

// materialize decodes every modality's values from its files straight into dense
// blocks of rows aligned entities. The work is split by row group across all
// modalities, at most CPU tasks at a time: decoding, not fetching, is the cost. A binary score s becomes probabilities
// (1-s, s), and duplicate rows kept under the mean policy are averaged.
func (r *runner) materialize(ctx context.Context, p *Plan, tables [][]*lake.Table, refs [][]ref, extra []map[int][]ref, slot *slots, rows, classes int, stats []*lake.ScanStats, keyOf func(int) string, mem []*groupSource, release func()) ([]fusion.Block, [][]invalidRow, error) {
	loads := make([]*blockLoad, len(p.Modalities))
	var prep errgroup.Group // each a pass over the modality's references
	prep.SetLimit(max(r.cpu, 1))
	for s, sp := range p.Modalities {
		prep.Go(func() (err error) {
			loads[s], err = r.prepareBlock(sp, tables[s], refs[s], extra[s], slot, rows, classes)
			return err
		})
	}
	if err := prep.Wait(); err != nil {
		return nil, nil, err
	}
	// Every destination is built: what only they needed can go (release), and
	// the blocks take its pages.
	if release != nil {
		release()
	}
	for _, ld := range loads {
		ld.blk.Values = bigmem.Make[float32](rows*ld.stride, rows*ld.stride)
	}
	if mem != nil {
		var g errgroup.Group
		g.SetLimit(r.cpu)
		for s, ld := range loads {
			g.Go(func() error { return r.fillFromSpill(ld, mem[s]) })
		}
		if err := g.Wait(); err != nil {
			return nil, nil, err
		}
		return finishLoads(loads, keyOf, r.cpu)
	}
	// Progress is bytes fetched (the key phase's included) against the files' sizes.
	var totalBytes int64
	for _, sp := range p.Sources() {
		totalBytes += sp.Bytes
	}
	fetched := func() int64 {
		var n int64
		for _, st := range stats {
			n += st.BytesRead.Load()
		}
		return min(n, totalBytes)
	}
	// Files open (their footers fetched) up to the I/O bound at a time, and
	// every row group of every file is a task of its own, at most CPU at a time:
	// a file's loop that ran a row group itself when no slot was free (so as to
	// hold the bound) left a slot idle whenever the task it had started
	// finished first, a fifth of the cores at the end of the load.
	type opened struct {
		s      int // the modality
		fi     int
		source *lake.ScatterSource
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cpu)
	files := make(chan opened)
	var opening errgroup.Group
	opening.SetLimit(max(r.spec.Concurrency.IO, 1))
	go func() {
		defer close(files)
		for s, ld := range loads {
			for fi, f := range ld.sp.Files {
				if tables[s][fi].Rows == 0 {
					continue
				}
				if gctx.Err() != nil {
					break // the load has failed or is cancelled
				}
				opening.Go(func() error {
					source, err := r.lake.OpenScatter(gctx, f, stats[s])
					if err != nil {
						return r.loadErr(gctx, ld.sp, err)
					}
					select {
					case files <- opened{s, fi, source}:
					case <-gctx.Done():
					}
					return nil
				})
			}
		}
		if err := opening.Wait(); err != nil {
			g.Go(func() error { return err }) // fails the load, cancels gctx
		}
	}()
	serial := make([]sync.Mutex, len(loads)) // per modality, where duplicates are averaged
	for of := range files {
		ld := loads[of.s]
		sc := &lake.Scatter{Vector: ld.sp.Vector, Scalar: ld.sp.Scalar, Width: ld.width, Stride: ld.stride, Offset: ld.offset,
			Dest: ld.dest[of.fi], Out: ld.blk.Values, Hits: ld.hits}
		if ld.sp.Invalid == "reject" {
			sc.Bad = ld.bad // else lake's error names the file and row
		}
		if ld.sp.Kind == "probs" && !ld.serial {
			// Every row has one source row: checked and divided by its sum
			// as it is stored, not read back from memory by finishRows.
			sc.Finish = ld.finishProbs
		}
		for rg := 0; rg < of.source.RowGroups(); rg++ {
			g.Go(func() error {
				if ld.serial {
					serial[of.s].Lock()
					defer serial[of.s].Unlock()
				}
				if err := of.source.ScatterRowGroup(gctx, rg, sc); err != nil {
					return r.loadErr(gctx, ld.sp, err)
				}
				r.progress("load", fetched(), totalBytes)
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil { // cancelled before some file was opened: it was skipped
		return nil, nil, err
	}
	return finishLoads(loads, keyOf, r.cpu)
}

// finishLoads finishes every block (finish), in ranges of finishRows rows up to
// workers at a time — by block, three blocks on two cores left one idle for a
// third of the step — and returns them with their invalid rows.
func finishLoads(loads []*blockLoad, keyOf func(int) string, workers int) ([]fusion.Block, [][]invalidRow, error) {
	type part struct {
		invalid []invalidRow
		err     error
	}
	parts := make([][]part, len(loads))
	var g errgroup.Group // ranges are independent
	g.SetLimit(max(workers, 1))
	for s, ld := range loads {
		n := len(ld.hits)
		parts[s] = make([]part, rangesIn(n))
		for p := range parts[s] {
			g.Go(func() error {
				lo := p * finishRows
				parts[s][p].invalid, parts[s][p].err = ld.finishRows(lo, min(lo+finishRows, n), keyOf)
				return nil
			})
		}
	}
	_ = g.Wait()
	blocks := make([]fusion.Block, len(loads))
	invalid := make([][]invalidRow, len(loads))
	for s, ld := range loads { // the first block's first error wins
		for _, pt := range parts[s] {
			if pt.err != nil {
				return nil, nil, pt.err
			}
			invalid[s] = append(invalid[s], pt.invalid...)
		}
		if err := ld.finished(invalid[s], keyOf); err != nil {
			return nil, nil, err
		}
		blocks[s] = ld.blk
	}
	return blocks, invalid, nil
}

// finishRows is how many rows of a block finishLoads finishes in one task (and
// inRanges hands each).
const finishRows = 1 << 16

// rangesIn is how many ranges inRanges cuts n rows into: a slice of that
// length holds one result a range.
func rangesIn(n int) int { return (n + finishRows - 1) / finishRows }

// sumInRanges counts over n rows in ranges (inRanges): count adds range
// [lo, hi)'s counts into a width-long slice of its own, and the ranges'
// counts are summed.
func sumInRanges(n, workers, width int, count func(lo, hi int, into []int64)) []int64 {
	parts := make([][]int64, rangesIn(n))
	inRanges(n, workers, func(r, lo, hi int) {
		parts[r] = make([]int64, width)
		count(lo, hi, parts[r])
	})
	total := make([]int64, width)
	for _, part := range parts {
		for i, v := range part {
			total[i] += v
		}
	}
	return total
}

// inRanges calls do for each range [lo, hi) of finishRows rows of n (the r-th),
// on up to workers goroutines, and waits for them: the passes over every
// entity between the load and the fit, which one after another on one core
// were a tenth of a second at 2M rows.
func inRanges(n, workers int, do func(r, lo, hi int)) {
	var g errgroup.Group
	g.SetLimit(max(workers, 1))
	for r := range rangesIn(n) {
		g.Go(func() error {
			do(r, r*finishRows, min((r+1)*finishRows, n))
			return nil
		})
	}
	_ = g.Wait()
}

func (r *runner) loadErr(ctx context.Context, sp *SourcePlan, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return sourceErr(sp.Kind, sp.Name, err)
}

// modalityWidths reads the width of every list-of-features modality from the
// first file that has rows: a block's width is fixed before any row is loaded.
func (r *runner) modalityWidths(ctx context.Context, plan *Plan) error {
	r.plan = plan
	r.widths = make([]int, len(plan.Modalities))
	r.listWidth = make([]int, len(plan.Modalities))
	for s, sp := range plan.Modalities {
		if sp.Kind != "features" || sp.Vector == "" {
			continue
		}
		for fi, rows := range sp.Rows {
			if rows > 0 {
				w, err := r.lake.ListWidth(ctx, sp.Files[fi], sp.Vector)
				if err != nil {
					return sourceErr("modality", sp.Name, err)
				}
				r.listWidth[s] = w
				break
			}
		}
	}
	return nil
}

// blockWidth is the width of a modality's block: the classes for probabilities,
// two for a binary score (1-s, s), the columns or the list's width for features.
func blockWidth(sp *SourcePlan, classes, listWidth int) int {
	switch {
	case sp.Kind == "probs":
		return classes
	case sp.Kind == "score":
		return 2
	case len(sp.Scalar) > 0:
		return len(sp.Scalar)
	}
	return listWidth
}

// prepareBlock sizes one modality's block and maps every file row to its frame row.
func (r *runner) prepareBlock(sp *SourcePlan, tables []*lake.Table, refs []ref, extra map[int][]ref, slot *slots, rows, classes int) (*blockLoad, error) {
	ld := &blockLoad{sp: sp, blk: fusion.Block{Name: sp.Name, Kind: fusion.Features}, serial: extra != nil}
	switch {
	case sp.Kind == "probs":
		ld.blk.Kind, ld.width, ld.stride = fusion.Probs, classes, classes
	case sp.Kind == "score":
		if classes != 2 {
			return nil, fmt.Errorf("jobs: %w: modality %q: a score column needs a binary task, the labels have %d classes", ErrInput, sp.Name, classes)
		}
		ld.blk.Kind, ld.width, ld.stride, ld.offset = fusion.Probs, 1, 2, 1
	case len(sp.Scalar) > 0:
		ld.width, ld.stride = len(sp.Scalar), len(sp.Scalar)
	default:
		ld.width, ld.stride = r.listWidth[r.modalityIndex(sp)], r.listWidth[r.modalityIndex(sp)]
	}
	ld.blk.Width = ld.stride
	r.widths[r.modalityIndex(sp)] = ld.stride
	ld.blk.Present = make([]bool, rows) // Values: by materialize, after every block's dest
	ld.hits = make([]uint16, rows)
	ld.bad = make([]uint8, rows)
	ld.dest = make([][]int32, len(tables))
	for ti, t := range tables {
		ld.dest[ti] = make([]int32, t.Rows)
		for i := range ld.dest[ti] {
			ld.dest[ti][i] = -1
		}
	}
	row := func(i int) int32 { // an aligned entity's block row
		if slot == nil {
			return int32(i)
		}
		return slot.rows[i]
	}
	// Each entity's row is its own dest entry: ranges of them write at once
	// (the three modalities on two cores left one idle for a third of this).
	inRanges(len(refs), r.cpu, func(_, lo, hi int) {
		for i, rf := range refs[lo:hi] {
			if rf != noRef {
				ld.dest[rf.table()][rf.row()] = row(lo + i)
			}
		}
	})
	for i, more := range extra {
		for _, rf := range more {
			ld.dest[rf.table()][rf.row()] = row(i)
		}
	}
	return ld, nil
}

// slots maps aligned entities to block rows when some have no modality.
type slots struct {
	rows []int32 // per aligned entity: its block row, -1 for none
	keys []int32 // per block row: its aligned entity
}

// blockSlots gives the block rows of n aligned entities, those with a
// reference in at least one modality (refs), and their number; nil slots when
// that is every entity. In ranges on up to workers goroutines: counted, then
// written in place.
func blockSlots(refs [][]ref, n, workers int) (*slots, int) {
	has := func(i int) bool {
		for _, rs := range refs {
			if rs[i] != noRef {
				return true
			}
		}
		return false
	}
	ranges := rangesIn(n)
	at := make([]int, ranges+1) // where each range's rows start
	inRanges(n, workers, func(r, lo, hi int) {
		for i := lo; i < hi; i++ {
			if has(i) {
				at[r+1]++
			}
		}
	})
	for r := range ranges {
		at[r+1] += at[r]
	}
	if at[ranges] == n {
		return nil, n
	}
	sl := &slots{rows: make([]int32, n), keys: make([]int32, at[ranges])}
	inRanges(n, workers, func(r, lo, hi int) {
		next := at[r]
		for i := lo; i < hi; i++ {
			sl.rows[i] = -1
			if has(i) {
				sl.rows[i], sl.keys[next] = int32(next), int32(i)
				next++
			}
		}
	})
	return sl, at[ranges]
}

// ProbSumTolerance is how far a probability vector's sum may be from 1 before the
// invalid policy applies (float32 outputs of models sum to 1 within about 1e-6).
const ProbSumTolerance = 1e-3

// finishProbs finishes a probabilities row that is its destination's only
// source row (lake.Scatter.Finish) as finishRows would: a row that passes
// NormaliseProbs32 is divided by its sum and present; finishRows, which skips
// present rows, finds any other's reason.
func (ld *blockLoad) finishProbs(dest int32, row []float32) {
	if _, ok := fusion.NormaliseProbs32(row, ProbSumTolerance); ok {
		ld.blk.Present[dest] = true
	}
}

// finishRows finishes rows [lo, hi): turns hit counts into presence, averages
// duplicates and converts scores, and applies the modality's invalid policy to
// every present row — under reject the modality is absent for that row and the
// row is returned with the reason; under error the first one is an error naming
// the entity.
func (ld *blockLoad) finishRows(lo, hi int, keyOf func(int) string) ([]invalidRow, error) {
	stride := ld.stride
	var invalid []invalidRow
	for i := lo; i < hi; i++ {
		h := ld.hits[i]
		if h == 0 || ld.blk.Present[i] { // no row, or one finished as it was stored (finishProbs)
			continue
		}
		row := ld.blk.Values[i*stride : (i+1)*stride]
		if h > 1 {
			for j := range row {
				row[j] /= float32(h)
			}
		}
		if ld.bad[i] == 0 && ld.sp.Kind == "probs" {
			// The usual row: checked (finite, none negative, summing to 1) and
			// divided by its sum in one call, the unimodal model's division
			// done here while the row is in cache (Block.Normalised). Any
			// other row is looked at again below, for its reason.
			if _, ok := fusion.NormaliseProbs32(row, ProbSumTolerance); ok {
				ld.blk.Present[i] = true
				continue
			}
		}
		// check accepts the probabilities rows NormaliseProbs32 does
		// (TestCheckAcceptsWhatNormaliseProbsDoes): one that reaches it has
		// a reason.
		reason := ld.check(ld.bad[i], row)
		if reason == "" {
			ld.blk.Present[i] = true
			if ld.sp.Kind == "score" {
				row[0] = 1 - row[1]
			}
			continue
		}
		if ld.sp.Invalid == "error" {
			return nil, fmt.Errorf("jobs: %w: modality %q: entity %s: %s (the modality's invalid policy is error; with reject the row would be left out)", ErrInput, ld.sp.Name, keyOf(i), reason)
		}
		clear(row)
		invalid = append(invalid, invalidRow{row: i, reason: reason})
	}
	return invalid, nil
}

// finished completes a block whose every row is finished, with its invalid
// rows: an error if no row is left.
func (ld *blockLoad) finished(invalid []invalidRow, keyOf func(int) string) error {
	if len(invalid) > 0 && !slices.Contains(ld.blk.Present, true) {
		// Not a few bad rows but a table that does not fit the spec (probabilities
		// for another set of classes, say): rejecting it all would hide that.
		return fmt.Errorf("jobs: %w: modality %q: every one of its %d aligned rows is invalid (the first: entity %s: %s)",
			ErrInput, ld.sp.Name, len(invalid), keyOf(invalid[0].row), invalid[0].reason)
	}
	ld.blk.Normalised = ld.sp.Kind == "probs"
	return nil
}

// check returns why a row's values are unusable, or "".
func (ld *blockLoad) check(bad uint8, row []float32) string {
	switch bad {
	case lake.BadWidth:
		return fmt.Sprintf("list of the wrong length (want %d values)", ld.width)
	case lake.BadNull:
		return "null element in the list"
	}
	sum := 0.0
	for _, x := range row {
		v := float64(x)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "NaN or infinite value"
		}
		sum += v
	}
	switch ld.sp.Kind {
	case "score":
		if s := row[1]; s < 0 || s > 1 {
			return "score outside [0, 1]"
		}
	case "probs":
		for _, v := range row {
			if v < 0 {
				return "negative probability"
			}
		}
		if math.Abs(sum-1) > ProbSumTolerance {
			return "probabilities do not sum to 1"
		}
	}
	return ""
}

// assignSplits decides each frame row's split: from the split column, from a
// seeded stratified holdout, or "all". Unlabelled rows are "unlabelled".
//
// cuts, when set, are a holdout's per-class cuts computed over every bucket group
// (holdoutCuts); without them the holdout is drawn over this frame's rows. The
// "all" split is assigned in ranges on up to workers goroutines.
func assignSplits[K keyed](spec *Spec, bf *builtFrame, tables []*lake.Table, refs []ref, keep []int, keys []K, cuts *holdoutCuts, workers int) error {
	f := bf.frame
	bf.splitNames = []string{"unlabelled", "train", "test", "all"}
	const unlabelled, train, test, all = 0, 1, 2, 3
	switch {
	case spec.Split.Column != "":
		// The column's values get codes as they come; consecutive rows mostly
		// share one, so the last is remembered.
		lastName, lastCode := "", int32(-1)
		var labelled []int // labelled rows per code
		for fi, i := range keep {
			if f.Label[fi] < 0 {
				bf.split[fi] = unlabelled
				continue
			}
			r := refs[i]
			if name := tables[r.table()].Split[r.row()]; name != lastName || lastCode < 0 {
				lastName, lastCode = name, bf.splitCode(name)
				for len(labelled) < len(bf.splitNames) {
					labelled = append(labelled, 0)
				}
			}
			bf.split[fi] = lastCode
			labelled[lastCode]++
		}
		inTrain := make([]bool, len(bf.splitNames))
		found := map[string]int{}
		for c, name := range bf.splitNames {
			inTrain[c] = slices.Contains(spec.Split.Train, name)
			if c < len(labelled) && labelled[c] > 0 {
				found[name] = labelled[c]
			}
		}
		for fi, c := range bf.split {
			f.Train[fi] = f.Label[fi] >= 0 && inTrain[c]
		}
		if err := checkSplitValues(spec, found); err != nil {
			return err
		}
	case spec.Split.Holdout != nil && cuts != nil:
		for fi := range keep {
			if f.Label[fi] < 0 {
				bf.split[fi] = unlabelled
				continue
			}
			if cuts.test(f.Label[fi], holdoutDraw(spec.Split.Holdout.Seed, f.KeyHash[fi])) {
				bf.split[fi] = test
			} else {
				bf.split[fi] = train
				f.Train[fi] = true
			}
		}
	case spec.Split.Holdout != nil:
		h := spec.Split.Holdout
		byClass := make([][]int, f.Classes)
		for fi := range keep {
			if f.Label[fi] < 0 {
				bf.split[fi] = unlabelled
				continue
			}
			byClass[f.Label[fi]] = append(byClass[f.Label[fi]], fi)
		}
		for _, rows := range byClass {
			draw := func(fi int) uint64 { return holdoutDraw(h.Seed, hashKey(keys[keep[fi]])) }
			slices.SortFunc(rows, func(a, b int) int { return cmp.Compare(draw(a), draw(b)) })
			nTest := int(math.Round(h.TestFraction * float64(len(rows))))
			for j, fi := range rows {
				if j < nTest {
					bf.split[fi] = test
				} else {
					bf.split[fi] = train
					f.Train[fi] = true
				}
			}
		}
	default:
		inRanges(len(keep), workers, func(_, lo, hi int) {
			for fi := lo; fi < hi; fi++ {
				if f.Label[fi] < 0 {
					bf.split[fi] = unlabelled
					continue
				}
				bf.split[fi] = all
				f.Train[fi] = true
			}
		})
	}
	seen := map[string]bool{}
	for c, n := range bf.splitCounts() {
		if n > 0 {
			seen[bf.splitNames[c]] = true
		}
	}
	bf.splits = orderSplits(seen)
	return nil
}

// splitCode is the code of a split name, added to splitNames if new.
func (bf *builtFrame) splitCode(name string) int32 {
	if c := slices.Index(bf.splitNames, name); c >= 0 {
		return int32(c)
	}
	bf.splitNames = append(bf.splitNames, name)
	return int32(len(bf.splitNames) - 1)
}

// splitCounts is how many rows each split code has.
func (bf *builtFrame) splitCounts() []int64 {
	n := make([]int64, len(bf.splitNames))
	for _, c := range bf.split {
		n[c]++
	}
	return n
}

// splitOf is row i's split name.
func (bf *builtFrame) splitOf(i int) string { return bf.splitNames[bf.split[i]] }

// holdoutDraw orders a class's rows for the holdout: the first
// round(test_fraction × class size) rows by draw are the test split.
func holdoutDraw(seed, keyHash uint64) uint64 {
	return keyhash.Mix(keyHash ^ keyhash.Mix(seed+0x9e3779b97f4a7c15))
}

// checkFrame finds, before any fitting, the data problems that would otherwise
// surface as a failed fit or a meaningless report: a modality with no usable rows
// (an error when it is required, else a warning), and, when fitting, a training
// split with fewer than two classes or a class that is evaluated but never trained on.
func checkFrame(r *runner, p *Plan, bf *builtFrame, fitting bool) error {
	c := newFrameCounts(len(bf.frame.Blocks))
	c.add(bf, r.cpu)
	warnings, err := c.check(r.facts(p), bf.classes.names, fitting)
	bf.warnings = append(bf.warnings, warnings...)
	return err
}

// frameCounts is what checkFrame looks at, summed over bucket groups.
type frameCounts struct {
	aligned      int64
	present      []int64 // per block: rows where the modality is usable
	train, other map[string]int64
}

func newFrameCounts(blocks int) *frameCounts {
	return &frameCounts{present: make([]int64, blocks), train: map[string]int64{}, other: map[string]int64{}}
}

// add counts a frame's rows, in ranges on up to workers goroutines (a run
// held whole waited on this pass alone, one core idle).
func (c *frameCounts) add(bf *builtFrame, workers int) {
	f := bf.frame
	c.aligned += bf.aligned
	// Per class index first: a map operation a class, not a row. The counts:
	// the blocks' rows present, then the training and the other labelled rows
	// per class.
	nb, k := len(f.Blocks), len(bf.classes.names)
	n := sumInRanges(f.Rows, workers, nb+2*k, func(lo, hi int, n []int64) {
		for b, blk := range f.Blocks {
			for _, p := range blk.Present[lo:hi] {
				if p {
					n[b]++
				}
			}
		}
		train, other := n[nb:nb+k], n[nb+k:]
		for i := lo; i < hi; i++ {
			switch y := f.Label[i]; {
			case y < 0:
			case f.Train[i]:
				train[y]++
			default:
				other[y]++
			}
		}
	})
	for b := range nb {
		c.present[b] += n[b]
	}
	train, other := n[nb:nb+k], n[nb+k:]
	for y, name := range bf.classes.names {
		if train[y] > 0 {
			c.train[name] += train[y]
		}
		if other[y] > 0 {
			c.other[name] += other[y]
		}
	}
}

// check returns the warnings and the first error of checkFrame.
func (c *frameCounts) check(facts *runFacts, classes []string, fitting bool) ([]string, error) {
	var warnings []string
	for s, n := range c.present {
		if n > 0 {
			continue
		}
		msg := fmt.Sprintf("modality %q has no usable rows among the %d aligned entities", facts.Modalities[s].Name, c.aligned)
		if facts.Modalities[s].Required {
			return nil, fmt.Errorf("jobs: %w: %s, and it is required", ErrInput, msg)
		}
		warnings = append(warnings, msg+": every strategy that uses it predicts without it")
	}
	if !fitting {
		return warnings, nil
	}
	return warnings, checkClasses(c.train, c.other, classes)
}

// checkSplitValues checks that every split value found (with its row count) is
// declared in split.train or split.evaluate.
func checkSplitValues(spec *Spec, found map[string]int) error {
	var undeclared, all []string
	for _, v := range sortedKeys(found) {
		all = append(all, fmt.Sprintf("%q (%d rows)", v, found[v]))
		if !slices.Contains(spec.Split.Train, v) && !slices.Contains(spec.Split.Evaluate, v) {
			undeclared = append(undeclared, fmt.Sprintf("%q", v))
		}
	}
	if len(undeclared) > 0 {
		return fmt.Errorf("jobs: %w: split column %q: %s in neither split.train %q nor split.evaluate %q (values found: %s); declare them, or fix the data",
			ErrInput, spec.Split.Column, strings.Join(undeclared, ", "), spec.Split.Train, spec.Split.Evaluate, strings.Join(all, ", "))
	}
	return nil
}

// checkClasses checks the labelled rows' classes: at least two among the training
// rows, and none that only evaluation rows have. order lists the classes for
// messages.
func checkClasses(train, other map[string]int64, order []string) error {
	var trained, untrained []string
	for _, c := range order {
		if train[c] > 0 {
			trained = append(trained, c)
		} else if other[c] > 0 {
			untrained = append(untrained, fmt.Sprintf("%s (%d rows)", c, other[c]))
		}
	}
	if len(trained) < 2 {
		return fmt.Errorf("jobs: %w: the training rows hold %d class(es) %v; a classifier needs at least 2: check split.train and the labels", ErrInput, len(trained), trained)
	}
	if len(untrained) > 0 {
		return fmt.Errorf("jobs: %w: classes %s appear in evaluation splits but never in training: no model can predict them; add training rows of them or leave those rows out", ErrInput, strings.Join(untrained, ", "))
	}
	return nil
}

func sumCounts(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// modalityIndex is a modality's place in the spec's order (by name: a shard's
// plans of other buckets hold copies of the sources).
func (r *runner) modalityIndex(sp *SourcePlan) int {
	return slices.IndexFunc(r.plan.Modalities, func(m *SourcePlan) bool { return m.Name == sp.Name })
}
