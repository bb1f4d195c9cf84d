package jobs

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lakefuse/lakefuse/internal/bucket"
	"github.com/lakefuse/lakefuse/internal/keyhash"
	"github.com/lakefuse/lakefuse/internal/spill"
	"github.com/lakefuse/lakefuse/lake"
)

// The partitioned path's first stage: one streaming pass over the lake, a row
// group at a time, routes every row of every source to bucket group
// bucket(key) mod G (Iceberg's bucket transform) in a bucket file on local disk.
// What is spilled is what the load stage would see — the key, the label and
// split, and the modality's values as the scatter decodes them with the row's
// presence and Bad code — so the invalid policy rejects the same rows for the
// same reasons on either path.
//
// A bucket file's columns: origin, key; for the label source, label, label
// validity and split; for a modality, state (stateHit | Bad code) and values. A
// row's origin is its place among its source's rows, files in the plan's order
// (the rows of the files before it, plus its row in its file): an int32 where
// the source has fewer than 2^31 rows, 4 bytes a row instead of 8 (of 57 a row
// of ten probabilities), else an int64.

// stateHit marks a row whose vector is not null: the modality has a value there.
const stateHit = 0x80

// spilled is a lake routed to bucket groups on local disk.
type spilled struct {
	dir    *spill.Dir
	groups int
	// sampled says that each source has a file more, at group index groups: a
	// copy of its rows whose sample key is at most sampleMax, from every group —
	// the rows the fit sample is drawn from first (sampleFileMax).
	sampled   bool
	sampleMax uint64
	buckets   int        // the dataset's buckets, which sample keys are over (0: none)
	paths     [][]string // per source, per group (and the sample file)
	intKeys   bool
	width     []int     // per source: values per row (0 for the labels table)
	fileStart [][]int64 // per source, per file: the origin of its first row
	origin32  []bool    // per source: origins spilled as int32
	rows      [][]int64 // per source, per group (and the sample file): rows spilled
	bytes     int64
	// ranges, when set, makes the groups key ranges read straight from the
	// lake (ranges.go): no bucket files, paths and rows are nil.
	ranges *keyRanges
	// keysOnly reads keys, labels and splits but no values: every keyed row
	// has a valid placeholder vector (onePass's estimate of the fit sample).
	keysOnly bool
	// scratch pools routeRowGroup's arrays while the lake is spilled (nil after:
	// a row group of wide rows has arrays of a hundred MB and more, which must
	// not outlive the spill into the passes that follow).
	scratch *sync.Pool
}

// minSampleGroups is the fewest bucket groups for which the spill also writes
// the sample file: it holds about one group's rows more, which saves the fit
// sample's pass reading the other groups only when there are many.
const minSampleGroups = 8

// sampleFileMax is the largest sample key of the rows the spill copies to the
// sample file when the lake is spilled into groups bucket groups: about a
// group's share of the keys. The fit sample takes the rows of smallest sample
// key, so when the sample file holds enough training rows, the sample is drawn
// from it alone, read as one more group, instead of from every group's file
// (runPartitioned). Sample keys are key hashes, or on a dataset of buckets
// buckets, a bucket's number in the top 16 bits (sampleKey).
func sampleFileMax(groups, buckets int) uint64 {
	if buckets > 0 {
		return uint64(buckets)<<48/uint64(groups) - 1
	}
	return math.MaxUint64 / uint64(groups)
}

// gatherBytes is how many bytes each of a spill's bucket files gathers
// before writing a batch (spill.Writer.Gather): a quarter of the budget shared
// among them, at most 256 KiB, none under 4 KiB. A row group reaches a file as
// its share of the row group's rows: with hundreds of groups, a few hundred
// rows, and at 50M entities under 512 MiB a quarter of a million batches, whose
// fixed costs (writing and reading each, putting them in order) grew with the
// square of N.
func gatherBytes(budget int64, files int) int {
	n := min(budget/4/int64(max(files, 1)), 256<<10)
	if n < 4<<10 {
		return 0
	}
	return int(n)
}

// spillLake routes every row of every source to its bucket group's file, of
// groups; with sample set (and at least minSampleGroups groups), it also
// copies the rows of the smallest sample keys to a sample file per source.
func (r *runner) spillLake(ctx context.Context, plan *Plan, stats []*lake.ScanStats, groups int, sample bool) (_ *spilled, err error) {
	sources := plan.Sources()
	sd, err := r.newSpilled(plan, groups)
	if err != nil {
		return nil, err
	}
	files := groups
	if sample && groups >= minSampleGroups {
		sd.sampled, sd.sampleMax, sd.buckets = true, sampleFileMax(groups, plan.Buckets), plan.Buckets
		files++
	}
	defer func() { sd.scratch = nil }()
	var need, totalRows int64
	for si, sp := range sources {
		rows := sp.TotalRows()
		totalRows += rows
		need += rows * (8 + 24 + 1 + int64(sd.width[si])*4) * int64(files) / int64(groups)
	}
	sd.dir, err = spill.NewDir(r.spillDir, need)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	defer func() {
		if err != nil {
			sd.dir.Remove()
		}
	}()
	writers := make([][]*spill.Writer, len(sources))
	locks := make([][]sync.Mutex, len(sources))
	closeAll := func() error {
		var first error
		for si := range writers {
			for g, w := range writers[si] {
				if w == nil {
					continue
				}
				if err := w.Close(); err != nil && first == nil {
					first = fmt.Errorf("jobs: %w", err)
				}
				sd.bytes += w.Bytes()
				writers[si][g] = nil
			}
		}
		return first
	}
	defer closeAll()
	// The gathering writers hold their share of the budget for the whole spill;
	// a row group may ask for the rest at most, or it would wait for them.
	gather := gatherBytes(r.budget.Bytes, len(sources)*files)
	held := int64(gather) * int64(len(sources)*files)
	if held > 0 {
		if err := r.budget.Acquire(ctx, held); err != nil {
			return nil, err
		}
		defer r.budget.Release(held)
	}
	sd.rows = make([][]int64, len(sources))
	for si := range sources {
		sd.rows[si] = make([]int64, files)
		writers[si] = make([]*spill.Writer, files)
		locks[si] = make([]sync.Mutex, files)
		sd.paths[si] = make([]string, files)
		for g := range writers[si] {
			name := fmt.Sprintf("source-%d-group-%05d.arrow", si, g)
			if g == sd.groups {
				name = fmt.Sprintf("source-%d-sample.arrow", si)
			}
			sd.paths[si][g] = sd.dir.File(name)
			if writers[si][g], err = spill.Create(sd.paths[si][g]); err != nil {
				return nil, fmt.Errorf("jobs: %w", err)
			}
			writers[si][g].Gather(gather)
		}
	}

	var done, spilledBytes, lastLog atomic.Int64
	lastLog.Store(time.Now().UnixNano())
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cpu)
	for si, sp := range sources {
		for fi, f := range sp.Files {
			if sp.Rows[fi] == 0 {
				continue
			}
			g.Go(func() error {
				src, err := r.lake.OpenScatter(gctx, f, stats[si])
				if err != nil {
					return r.loadErr(gctx, sp, err)
				}
				for rg := 0; rg < src.RowGroups(); rg++ {
					task := func() error {
						rows := src.RowGroupRows(rg)
						// The row group in flight: its column chunk and pages, its
						// values as float64, a group's float32 copy (about 20 bytes
						// a value), twice over for the collector's headroom: wide
						// rows spill one row group at a time under a small budget.
						mem := min(2*int64(rows)*(int64(sd.width[si])*20+128), r.budget.Bytes-held)
						if err := r.budget.Acquire(gctx, mem); err != nil {
							return err
						}
						defer r.budget.Release(mem)
						var werr error
						emit := func(grp int, b *spill.Batch) bool {
							locks[si][grp].Lock()
							before := writers[si][grp].Bytes()
							err := writers[si][grp].Write(b)
							sd.rows[si][grp] += int64(b.Rows)
							spilledBytes.Add(writers[si][grp].Bytes() - before)
							locks[si][grp].Unlock()
							if err != nil {
								werr = fmt.Errorf("jobs: %w", err)
							}
							return err == nil
						}
						if err := r.routeRowGroup(gctx, sd, sp, si, fi, src, rg, math.MaxUint64, emit); err != nil {
							return r.loadErr(gctx, sp, err)
						}
						if werr != nil {
							return werr
						}
						r.progress("spill", done.Add(int64(rows)), totalRows)
						if now := time.Now().UnixNano(); now-lastLog.Load() > int64(5*time.Second) && lastLog.Swap(now) != now {
							r.log.Info("spilling", "rows", done.Load(), "of", totalRows, "bytes", spill.FormatSize(spilledBytes.Load()))
						}
						return nil
					}
					if rg < src.RowGroups()-1 && g.TryGo(task) {
						continue
					}
					if err := task(); err != nil {
						return err
					}
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := closeAll(); err != nil {
		return nil, err
	}
	r.log.Info("spilled", "groups", sd.groups, "rows", totalRows, "bytes", spill.FormatSize(sd.bytes), "dir", sd.dir.Path)
	return sd, nil
}

// newSpilled is the layout of the lake's sources in groups groups, with
// nothing read yet: the key type, each source's values per row and row origins.
func (r *runner) newSpilled(plan *Plan, groups int) (*spilled, error) {
	sources := plan.Sources()
	sd := &spilled{groups: groups, paths: make([][]string, len(sources)), width: make([]int, len(sources)),
		scratch: &sync.Pool{New: func() any { return new(routeScratch) }}}
	var firstKey *bool
	for si, sp := range sources {
		for fi, f := range sp.Files {
			str := sp.stringKey[fi]
			if firstKey == nil {
				firstKey = &str
			} else if str != *firstKey {
				return nil, fmt.Errorf("jobs: %w: %s %q: file %s: key column %q has a different type (integer vs string) from the first file's", ErrInput, sp.Kind, sp.Name, f.Key, plan.Spec.Key)
			}
		}
		if si < len(plan.Modalities) {
			switch {
			case sp.Kind == "probs":
				sd.width[si] = r.classes
			case sp.Kind == "score":
				sd.width[si] = 1
			case len(sp.Scalar) > 0:
				sd.width[si] = len(sp.Scalar)
			default:
				sd.width[si] = r.listWidth[si]
			}
		}
		rows := sp.TotalRows()
		starts := make([]int64, len(sp.Files))
		for fi := 1; fi < len(starts); fi++ {
			starts[fi] = starts[fi-1] + sp.Rows[fi-1]
		}
		sd.fileStart = append(sd.fileStart, starts)
		sd.origin32 = append(sd.origin32, rows <= math.MaxInt32)
	}
	sd.intKeys = firstKey == nil || !*firstKey
	return sd, nil
}

// rangeLake lays the lake out in key ranges (kr) read straight from it: the
// spill directory holds only what a holdout's pass writes.
func (r *runner) rangeLake(plan *Plan, kr *keyRanges) (*spilled, error) {
	sd, err := r.newSpilled(plan, kr.groups())
	if err != nil {
		return nil, err
	}
	sd.ranges, sd.paths = kr, nil
	var need int64
	if r.spec.Split.Holdout != nil && plan.Labels != nil {
		need = 16 * plan.Labels.TotalRows()
	}
	if sd.dir, err = spill.NewDir(r.spillDir, need); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return sd, nil
}

// routeRowGroup reads one row group of a source and hands emit one batch per
// bucket group that gets rows, in file order; it stops when emit returns false.
// The values are scattered straight into group order, so a group's values are a
// slice of the row group's, not a copy. Below math.MaxUint64, maxKey drops
// the rows whose sample key is larger before their values are scattered (a
// pass reading key ranges for the fit sample).
func (r *runner) routeRowGroup(ctx context.Context, sd *spilled, sp *SourcePlan, si, fi int, src *lake.ScatterSource, rg int, maxKey uint64, emit func(int, *spill.Batch) bool) error {
	t, err := src.ScanRowGroup(ctx, rg, sp.Request)
	if err != nil {
		return err
	}
	n := t.Rows
	scratch := sd.scratch.Get().(*routeScratch)
	defer sd.scratch.Put(scratch)
	group := grow(&scratch.group, n)
	// Rows of group g are [start[g], start[g+1]) in group order; dropped rows
	// (maxKey) are put in a group of their own, after the others.
	start := make([]int, sd.groups+2)
	if sd.ranges != nil {
		if err := sd.ranges.route(t, sp.keyRanges[fi][rg], group, start); err != nil {
			return fmt.Errorf("jobs: %w: %s %q: file %s: row group %d: %w (run with --partition bucket to read it anyway)", ErrInput, sp.Kind, sp.Name, sp.Files[fi].Key, rg, err)
		}
	}
	for i := 0; i < n && sd.ranges == nil; i++ {
		var h int32
		if sd.intKeys {
			h = bucket.Long(t.IntKeys[i])
		} else {
			h = bucket.String(t.StrKeys[i])
		}
		group[i] = int32(bucket.Of(h, sd.groups))
		start[group[i]+1]++
		if sp.fileBucket != nil && bucket.Of(h, r.plan.Buckets) != sp.fileBucket[fi] {
			return fmt.Errorf("jobs: %w: %s %q: file %s is in folder %s=%d, but its key %s is in bucket %d of %d by Iceberg's transform: the table was bucketed with another bucket count or another hash",
				ErrInput, sp.Kind, sp.Name, sp.Files[fi].Key, lake.BucketPartition(sp.Request.Key), sp.fileBucket[fi], keyText(t, i), bucket.Of(h, r.plan.Buckets), r.plan.Buckets)
		}
	}
	// The sample file's rows are picked by place, not in group order: its index
	// is free for the dropped rows.
	dropped := sd.groups
	if maxKey != math.MaxUint64 {
		for i := 0; i < n; i++ {
			if sampleKeyOf(t, i, sd.intKeys, sd.buckets) > maxKey {
				start[group[i]+1]--
				group[i] = int32(dropped)
				start[dropped+1]++
			}
		}
	}
	for g := 0; g <= dropped; g++ {
		start[g+1] += start[g]
	}
	// Each file row's place in group order (dest) and the file rows in that order
	// (order): group g's rows are order[start[g]:start[g+1]], in file order.
	dest := grow(&scratch.dest, n)
	order := grow(&scratch.order, n)
	next := grow(&scratch.next, dropped+1)
	copy(next, start[:dropped+1])
	for i, g := range group {
		dest[i] = int32(next[g])
		order[next[g]] = i
		next[g]++
	}
	w := sd.width[si]
	var vals []float32
	var state []uint8
	if sp.Kind != "labels" {
		vals = grow(&scratch.vals, n*w)
		state = grow(&scratch.state, n) // the Bad codes, then stateHit
		if sd.keysOnly {
			// The rows kept come first in group order.
			fillPlaceholders(vals[:start[dropped]*w], state[:start[dropped]], w, sp.Kind)
		} else if err := scatterRows(ctx, src, rg, sp, w, dest, group, int32(dropped), start[dropped] < n, vals, state, scratch); err != nil {
			return err
		}
	}
	// The columns in group order; a group's batch is a slice of each.
	first := sd.fileStart[si][fi] + src.FirstRow(rg)
	var origin []int64
	var origin32 []int32
	if sd.origin32[si] {
		origin32 = grow(&scratch.origin32, n)
		for j, i := range order {
			origin32[j] = int32(first + int64(i))
		}
	} else {
		origin = grow(&scratch.origin, n)
		for j, i := range order {
			origin[j] = first + int64(i)
		}
	}
	var intKeys, intLabels []int64
	var strKeys []string
	if sd.intKeys {
		intKeys = gather(&scratch.keys, t.IntKeys, order)
	} else {
		strKeys = pick(t.StrKeys, order, 1)
	}
	var valid []uint8
	if sp.Request.Label != "" {
		if t.IntLabels != nil {
			intLabels = gather(&scratch.labels, t.IntLabels, order)
		}
		valid = grow(&scratch.valid, n)
		for j, i := range order {
			if t.LabelValid == nil || t.LabelValid[i] {
				valid[j] = 1
			}
		}
	}
	// batch is the rows at group-order places [lo, hi) — views of the arrays —
	// or, when at is set, at the places at (a copy of them).
	batch := func(lo, hi int, at []int) *spill.Batch {
		var idx []int // the rows' places in file order, for the columns kept so
		if at == nil {
			idx = order[lo:hi]
		} else {
			idx = make([]int, len(at))
			for j, p := range at {
				idx[j] = order[p]
			}
		}
		b := &spill.Batch{Rows: len(idx)}
		add := func(c spill.Column) { b.Cols = append(b.Cols, c) }
		if sd.origin32[si] {
			add(spill.Column{Kind: spill.Int32s, I32: rowsAt(origin32, lo, hi, at, 1)})
		} else {
			add(spill.Column{Kind: spill.Int64s, I64: rowsAt(origin, lo, hi, at, 1)})
		}
		if sd.intKeys {
			add(spill.Column{Kind: spill.Int64s, I64: rowsAt(intKeys, lo, hi, at, 1)})
		} else {
			add(spill.Column{Kind: spill.Strings, Str: rowsAt(strKeys, lo, hi, at, 1)})
		}
		if sp.Request.Label != "" {
			if t.IntLabels != nil {
				add(spill.Column{Kind: spill.Int64s, I64: rowsAt(intLabels, lo, hi, at, 1)})
			} else {
				add(spill.Column{Kind: spill.Strings, Str: pick(t.StrLabels, idx, 1)})
			}
			add(spill.Column{Kind: spill.Bytes, Width: 1, U8: rowsAt(valid, lo, hi, at, 1)})
			if sp.Request.Split != "" {
				add(spill.Column{Kind: spill.Strings, Str: pick(t.Split, idx, 1)})
			}
		}
		if sp.Kind != "labels" {
			add(spill.Column{Kind: spill.Bytes, Width: 1, U8: rowsAt(state, lo, hi, at, 1)})
			// The values as the frame holds them (float32, as the scatter rounds
			// them on either path), a slice of the row group's.
			add(spill.Column{Kind: spill.Float32s, Width: w, F32: rowsAt(vals, lo, hi, at, w)})
		}
		return b
	}
	for g := 0; g < sd.groups; g++ {
		lo, hi := start[g], start[g+1]
		if lo == hi || (r.ownedOnly && !r.layout().OwnsGroup(g, r.opts.Shard.Index)) {
			continue
		}
		if !emit(g, batch(lo, hi, nil)) {
			return nil
		}
	}
	// The sample file's rows of the row group, in file order, as one batch: a
	// batch of each group's few (~5 rows at 50M entities, 156 groups) made the
	// file 250,000 batches long.
	if sd.sampled {
		var at []int
		for i := 0; i < n; i++ {
			if sampleKeyOf(t, i, sd.intKeys, sd.buckets) <= sd.sampleMax {
				at = append(at, int(dest[i]))
			}
		}
		if len(at) > 0 && !emit(sd.groups, batch(0, 0, at)) {
			return nil
		}
	}
	return nil
}

// scatterRows decodes a row group's values into vals in group order (dest),
// their Bad codes and presence into state; with some rows dropped (group
// dropped), their values are not decoded into place.
func scatterRows(ctx context.Context, src *lake.ScatterSource, rg int, sp *SourcePlan, w int, dest, group []int32, dropped int32, anyDropped bool, vals []float32, state []uint8, scratch *routeScratch) error {
	hits := grow(&scratch.hits, len(dest))
	scatterTo := dest
	if anyDropped {
		scatterTo = grow(&scratch.scatter, len(dest))
		for i, d := range dest {
			scatterTo[i] = d
			if group[i] == dropped {
				scatterTo[i] = -1
			}
		}
	}
	sc := &lake.Scatter{Vector: sp.Vector, Scalar: sp.Scalar, Width: w, Stride: w, Dest: scatterTo, Out: vals, Hits: hits, Bad: state, Local: true}
	if err := src.ScatterRowGroup(ctx, rg, sc); err != nil {
		return err
	}
	for i, h := range hits {
		if h > 0 {
			state[i] |= stateHit
		}
	}
	return nil
}

// fillPlaceholders gives every row a valid vector of w values of its kind and
// marks it present: what a pass that reads keys only (spilled.keysOnly) sees.
func fillPlaceholders(vals []float32, state []uint8, w int, kind string) {
	fill := float32(1 / float64(w))
	if kind == "score" {
		fill = 0.5
	}
	for i := range vals {
		vals[i] = fill
	}
	for i := range state {
		state[i] = stateHit
	}
}

// rowsAt is s's rows [lo, hi) of w values (a view), or when at is set, its
// rows at (a copy).
func rowsAt[T any](s []T, lo, hi int, at []int, w int) []T {
	if at == nil {
		return s[lo*w : hi*w]
	}
	return pick(s, at, w)
}

// routeScratch is routeRowGroup's per-row-group arrays, reused from one row
// group to the next: the batches it emits are written before it returns, so
// nothing outlives the call. Allocated afresh, they were tens of MB a row group
// that the collector dropped and the runtime, under the budget's memory limit,
// returned to the kernel, so that each row group faulted in fresh pages.
type routeScratch struct {
	group, dest, scatter []int32
	order, next          []int
	vals                 []float32
	hits                 []uint16
	state, valid         []uint8
	origin, keys, labels []int64
	origin32             []int32
}

// grow sets *s to n zeroed elements, reusing its array when large enough.
func grow[T any](s *[]T, n int) []T {
	if cap(*s) < n {
		*s = make([]T, n)
	}
	*s = (*s)[:n]
	clear(*s)
	return *s
}

// gather sets *dst to src's values at idx, in idx's order, reusing its array.
func gather[T any](dst *[]T, src []T, idx []int) []T {
	out := grow(dst, len(idx))
	for j, i := range idx {
		out[j] = src[i]
	}
	return out
}

// groupSource is one source's rows of one bucket group, read back from its
// bucket file in lake order (file, then row).
type groupSource struct {
	table     *lake.Table
	origin    []int64 // each row's origin (see the bucket file's columns)
	fileStart []int64 // the origin of each file's first row
	state     []uint8
	width     int
	f32       []float32
}

// load reads source si's rows of bucket group g (the sample file, for g ==
// sd.groups when sd.sampled).
//
// Only the rows whose key's sample key (over the dataset's buckets) is at most
// maxKey are kept (all of them for math.MaxUint64): every row of a key is kept
// or none, so the rows a group keeps align and load as they would among all the
// group's rows.
func (sd *spilled) load(si, g int, sp *SourcePlan, maxKey uint64, buckets int) (*groupSource, error) {
	name := fmt.Sprintf("%s (bucket group %d of the spilled lake)", sp.Name, g)
	if sd.sampled && g == sd.groups {
		name = fmt.Sprintf("%s (the spilled lake's sample file)", sp.Name)
	}
	rows := -1
	if sd.rows != nil {
		rows = int(sd.rows[si][g])
	}
	ld := sd.newGroupLoad(si, sp, name, maxKey, buckets, rows)
	if err := spill.ReadFile(sd.paths[si][g], ld.add); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return ld.finish(), nil
}

// groupLoad collects one source's rows of a group, batch by batch, into a
// groupSource.
type groupLoad struct {
	gs      *groupSource
	sp      *SourcePlan
	intKeys bool
	maxKey  uint64
	buckets int
	valid   []uint8
	runs    []run
}

// newGroupLoad starts source si's rows of a group, named name in messages;
// rows, when known (not -1), sizes the arrays once for a load of every row.
func (sd *spilled) newGroupLoad(si int, sp *SourcePlan, name string, maxKey uint64, buckets, rows int) *groupLoad {
	gs := &groupSource{table: &lake.Table{File: name}, width: sd.width[si], fileStart: sd.fileStart[si]}
	t := gs.table
	if sd.intKeys {
		t.IntKeys = []int64{}
	} else {
		t.StrKeys = []string{}
	}
	if maxKey == math.MaxUint64 && rows >= 0 { // every row: sized once, not grown batch by batch
		gs.origin = make([]int64, 0, rows)
		if sd.intKeys {
			t.IntKeys = make([]int64, 0, rows)
		} else {
			t.StrKeys = make([]string, 0, rows)
		}
		if sp.Kind != "labels" {
			gs.state, gs.f32 = make([]uint8, 0, rows), make([]float32, 0, rows*gs.width)
		}
	}
	return &groupLoad{gs: gs, sp: sp, intKeys: sd.intKeys, maxKey: maxKey, buckets: buckets}
}

// add appends a batch of the source's rows (a bucket file's, or a row group's
// share routed to the group), copying what it keeps.
func (ld *groupLoad) add(b *spill.Batch) error {
	gs, t, sp := ld.gs, ld.gs.table, ld.sp
	if ld.maxKey != math.MaxUint64 {
		b = keepSample(b, ld.intKeys, ld.maxKey, ld.buckets)
	}
	if b.Rows == 0 {
		return nil
	}
	c := b.Cols
	from := len(gs.origin)
	if c[0].Kind == spill.Int32s {
		for _, o := range c[0].I32 {
			gs.origin = append(gs.origin, int64(o))
		}
	} else {
		gs.origin = append(gs.origin, c[0].I64...)
	}
	ld.runs = appendRuns(ld.runs, gs.origin, from)
	if ld.intKeys {
		t.IntKeys = append(t.IntKeys, c[1].I64...)
	} else {
		t.StrKeys = appendClones(t.StrKeys, c[1].Str)
	}
	c = c[2:]
	if sp.Request.Label != "" {
		if c[0].Kind == spill.Int64s {
			t.IntLabels = append(orEmptySlice(t.IntLabels), c[0].I64...)
		} else {
			t.StrLabels = appendClones(orEmptySlice(t.StrLabels), c[0].Str)
		}
		ld.valid = append(ld.valid, c[1].U8...)
		c = c[2:]
		if sp.Request.Split != "" {
			t.Split = appendClones(t.Split, c[0].Str)
			c = c[1:]
		}
	}
	if sp.Kind != "labels" {
		gs.state = append(gs.state, c[0].U8...)
		gs.f32 = append(gs.f32, c[1].F32...)
	}
	return nil
}

// finish returns the group's rows, in lake order.
func (ld *groupLoad) finish() *groupSource {
	gs, t := ld.gs, ld.gs.table
	t.Rows = len(gs.origin)
	if ld.sp.Request.Label != "" && slices.Contains(ld.valid, 0) {
		t.LabelValid = make([]bool, len(ld.valid))
		for i, v := range ld.valid {
			t.LabelValid[i] = v == 1
		}
	}
	// A row group's rows reach a group's file in file order, but row groups
	// routed at once reach it in the order they finish, and the writer gathers
	// several into one batch (a group of key ranges reads row groups in key
	// order, not lake order). Put the rows in lake order, so that duplicate keys
	// resolve (first, last, mean) as when the lake is read whole, outputs are
	// reproducible, and a sorted lake's keys stay sorted for the merge join.
	if idx := mergeRuns(gs.origin, ld.runs); idx != nil {
		gs.reorder(idx)
	}
	return gs
}

// run is rows from..to-1 of a group's source, in increasing origin.
type run struct{ from, to int }

// appendRuns extends runs, the maximal runs of increasing origin among
// origin[:from], over the rows from on.
func appendRuns(runs []run, origin []int64, from int) []run {
	start := from
	if n := len(runs); n > 0 && from < len(origin) && origin[from] > origin[from-1] {
		start, runs = runs[n-1].from, runs[:n-1]
	}
	for i := from + 1; i < len(origin); i++ {
		if origin[i] < origin[i-1] {
			runs = append(runs, run{start, i})
			start = i
		}
	}
	if start < len(origin) {
		runs = append(runs, run{start, len(origin)})
	}
	return runs
}

// mergeRuns is the order of the rows of runs by origin (origins are distinct),
// nil when they are in order already. Rows reach a run a row group's share at a
// time, so runs interleave in long stretches: the merge moves a stretch at a
// time, finding its end by binary search, not a row at a time.
func mergeRuns(origin []int64, runs []run) []int {
	if len(runs) <= 1 {
		return nil
	}
	h := &runHeap{origin: origin, runs: slices.Clone(runs)}
	heap.Init(h)
	idx := make([]int, 0, len(origin))
	for h.Len() > 0 {
		top := h.runs[0]
		end := top.to
		if h.Len() > 1 {
			next := origin[h.runs[1].from]
			if h.Len() > 2 {
				next = min(next, origin[h.runs[2].from])
			}
			end = top.from + sort.Search(top.to-top.from, func(i int) bool { return origin[top.from+i] > next })
		}
		for i := top.from; i < end; i++ {
			idx = append(idx, i)
		}
		if end == top.to {
			heap.Pop(h)
		} else {
			h.runs[0].from = end
			heap.Fix(h, 0)
		}
	}
	return idx
}

// runHeap is runs by the origin of their first row, least first.
type runHeap struct {
	origin []int64
	runs   []run
}

func (h *runHeap) Len() int           { return len(h.runs) }
func (h *runHeap) Less(i, j int) bool { return h.origin[h.runs[i].from] < h.origin[h.runs[j].from] }
func (h *runHeap) Swap(i, j int)      { h.runs[i], h.runs[j] = h.runs[j], h.runs[i] }
func (h *runHeap) Push(x any)         { h.runs = append(h.runs, x.(run)) }
func (h *runHeap) Pop() any {
	r := h.runs[len(h.runs)-1]
	h.runs = h.runs[:len(h.runs)-1]
	return r
}

// sampleKeyOf is the sample key of row i's key in t (over buckets buckets).
func sampleKeyOf(t *lake.Table, i int, intKeys bool, buckets int) uint64 {
	if intKeys {
		h := keyhash.Int(t.IntKeys[i])
		if buckets > 0 {
			h = sampleKey(h, bucket.Of(bucket.Long(t.IntKeys[i]), buckets), buckets)
		}
		return h
	}
	h := keyhash.String(t.StrKeys[i])
	if buckets > 0 {
		h = sampleKey(h, bucket.Of(bucket.String(t.StrKeys[i]), buckets), buckets)
	}
	return h
}

// keepSample returns a batch of the rows whose key (column 1) has a sample key
// at most maxKey.
func keepSample(b *spill.Batch, intKeys bool, maxKey uint64, buckets int) *spill.Batch {
	var sel []int
	t := &lake.Table{}
	if intKeys {
		t.IntKeys = b.Cols[1].I64
	} else {
		t.StrKeys = b.Cols[1].Str
	}
	for i := 0; i < b.Rows; i++ {
		if sampleKeyOf(t, i, intKeys, buckets) <= maxKey {
			sel = append(sel, i)
		}
	}
	out := &spill.Batch{Rows: len(sel), Cols: make([]spill.Column, len(b.Cols))}
	for j, c := range b.Cols {
		w := c.Width
		out.Cols[j] = spill.Column{Kind: c.Kind, Width: c.Width}
		switch c.Kind {
		case spill.Int64s:
			out.Cols[j].I64 = pick(c.I64, sel, 1)
		case spill.Int32s:
			out.Cols[j].I32 = pick(c.I32, sel, 1)
		case spill.Strings:
			out.Cols[j].Str = pick(c.Str, sel, 1)
		case spill.Bytes:
			out.Cols[j].U8 = pick(c.U8, sel, w)
		case spill.Float32s:
			out.Cols[j].F32 = pick(c.F32, sel, w)
		case spill.Float64s:
			out.Cols[j].F64 = pick(c.F64, sel, w)
		}
	}
	return out
}

// reorder puts the rows in the order idx lists them.
func (gs *groupSource) reorder(idx []int) {
	t := gs.table
	gs.origin = pick(gs.origin, idx, 1)
	if t.IntKeys != nil {
		t.IntKeys = pick(t.IntKeys, idx, 1)
	} else {
		t.StrKeys = pick(t.StrKeys, idx, 1)
	}
	if t.IntLabels != nil {
		t.IntLabels = pick(t.IntLabels, idx, 1)
	}
	if t.StrLabels != nil {
		t.StrLabels = pick(t.StrLabels, idx, 1)
	}
	if t.LabelValid != nil {
		t.LabelValid = pick(t.LabelValid, idx, 1)
	}
	if t.Split != nil {
		t.Split = pick(t.Split, idx, 1)
	}
	if gs.state != nil {
		gs.state = pick(gs.state, idx, 1)
	}
	if gs.f32 != nil {
		gs.f32 = pick(gs.f32, idx, gs.width)
	}
}

// appendClones appends copies of strings that live in a bucket reader's buffers.
func appendClones(dst, src []string) []string {
	for _, s := range src {
		dst = append(dst, strings.Clone(s))
	}
	return dst
}

func orEmptySlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// fillFromSpill adds a group's spilled values into a modality's block, as a
// lake.Scatter would from the files: dest maps each spilled row to its frame row.
func (r *runner) fillFromSpill(ld *blockLoad, gs *groupSource) error {
	dest := ld.dest[0]
	w := gs.width
	if w != ld.width {
		return fmt.Errorf("jobs: modality %q: %d values per spilled row, the block wants %d", ld.sp.Name, w, ld.width)
	}
	for row, d := range dest {
		if d < 0 || gs.state[row]&stateHit == 0 {
			continue
		}
		base := int(d)*ld.stride + ld.offset
		out := ld.blk.Values[base : base+w]
		for j, v := range gs.f32[row*w : (row+1)*w] {
			out[j] += v
		}
		ld.hits[d]++
		if bad := gs.state[row] &^ stateHit; bad != 0 {
			if ld.sp.Invalid != "reject" {
				// What the lake's scatter says on the path that reads the files.
				fi, at := gs.place(row)
				why := "a list of the wrong length"
				if bad == lake.BadNull {
					why = "a null list element"
				}
				col := ld.sp.Vector
				return sourceErr(ld.sp.Kind, ld.sp.Name, fmt.Errorf("lake: file %s: column %q: %w: row %d has %s (want %d values)",
					ld.sp.Files[fi].Key, col, lake.ErrBadValue, at, why, ld.width))
			}
			ld.bad[d] = bad
		}
	}
	return nil
}

// place is row's file (an index into the source's files) and its row there.
func (gs *groupSource) place(row int) (file int, at int64) {
	o := gs.origin[row]
	file = sort.Search(len(gs.fileStart), func(f int) bool { return gs.fileStart[f] > o }) - 1
	return file, o - gs.fileStart[file]
}

// keyText is row i's key, for messages.
func keyText(t *lake.Table, i int) string {
	if t.IntKeys != nil {
		return strconv.FormatInt(t.IntKeys[i], 10)
	}
	return strconv.Quote(t.StrKeys[i])
}
