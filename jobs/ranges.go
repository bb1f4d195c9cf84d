package jobs

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/lakefuse/lakefuse/internal/spill"
	"github.com/lakefuse/lakefuse/lake"
)

// Groups of key ranges: the partitioned path without the spill.
//
// A lake written in key order (DuckDB's COPY of an ordered query, Spark's
// sortWithinPartitions, any job that appends entities as they come) says so in
// its footers: each row group's statistics bound its keys, and the row groups
// of a source cover disjoint ranges. Groups are then key ranges, cut where the
// footers put equal shares of the rows, and a group is read straight from the
// lake — the row groups its range overlaps, the rows outside it set aside for
// the groups they belong to — instead of being routed to bucket files on local
// disk first and read back. Everything after the read is the bucket path's:
// the same routing of a row group's rows to groups (by range, not by hash), the
// same batches put back in lake order, the same frames, passes and merges, so
// the answers are the same (tested: jobs/partition_test.go, every fixture in
// both layouts).
//
// Each pass over the groups reads the lake again (pass 1's fit sample, pass 2,
// a holdout's pass), where the bucket path writes the lake once to local disk
// and reads its files back: more decoding, no local writes. At 50M entities
// under 512 MiB the spill wrote 8.8 GB through the page cache, and its time
// per entity grew 1.3-1.4x from 10M to 50M; see docs/decisions.md.

// Partition layouts (Options.Partition).
const (
	partitionAuto   = ""       // key ranges where the footers allow, else buckets
	PartitionRange  = "range"  // key ranges (the footers must bound every row group's keys)
	PartitionBucket = "bucket" // spill to bucket files
)

// keyRanges is the layout of groups of key ranges and the read state of each
// source: group g holds the keys k with bound[g-1] <= k < bound[g].
type keyRanges struct {
	intKeys   bool
	intBounds []int64
	strBounds []string
	order     [][]rangeRowGroup // per source: its row groups by least key
	cursors   []*rangeCursor    // per source
}

// rangeRowGroup is a row group of a source, with the groups of its least and
// greatest key by its statistics.
type rangeRowGroup struct {
	file, rg    int
	rows        int64
	first, last int
}

// rangeCursor is where a pass over the groups has got in one source: the row
// groups before next are read, and pending holds the rows read for groups not
// built yet (the part of a row group past its first group's range).
type rangeCursor struct {
	next    int
	built   int // the last group built (-1: none yet)
	pending map[int][]*spill.Batch
	src     *lake.ScatterSource // the file last opened, and its index
	file    int
}

func (c *rangeCursor) reset() {
	c.next, c.built, c.pending, c.src, c.file = 0, -1, map[int][]*spill.Batch{}, nil, -1
}

// groups is the number of groups: one more than the bounds.
func (kr *keyRanges) groups() int {
	if kr.intKeys {
		return len(kr.intBounds) + 1
	}
	return len(kr.strBounds) + 1
}

// groupOf is the group of key k among bounds (the bounds at most k).
func groupOf[K cmp.Ordered](bounds []K, k K) int {
	return sort.Search(len(bounds), func(i int) bool { return bounds[i] > k })
}

// partitionRanges is the layout of key ranges for a partitioned run, or nil
// for bucket files: Options.Partition decides, and by default key ranges are
// taken where the footers allow them. A sharded run and a bucketed dataset
// keep bucket files (a shard owns bucket groups).
func (r *runner) partitionRanges(plan *Plan) (*keyRanges, error) {
	mode := r.opts.Partition
	switch mode {
	case partitionAuto, PartitionRange, PartitionBucket:
	default:
		return nil, fmt.Errorf("jobs: %w: partition %q: want %q or %q (or empty: the footers decide)", ErrSpec, mode, PartitionRange, PartitionBucket)
	}
	if mode == PartitionBucket {
		return nil, nil
	}
	why := ""
	var kr *keyRanges
	switch {
	case r.opts.Shard != nil:
		why = "a sharded run partitions by bucket"
	case plan.Buckets > 0:
		why = "the dataset is bucketed"
	default:
		kr, why = planRanges(plan, r.groups, mode == PartitionRange)
	}
	if kr != nil {
		r.log.Info("groups are key ranges read from the lake", "groups", kr.groups())
		return kr, nil
	}
	if mode == PartitionRange {
		return nil, fmt.Errorf("jobs: %w: partition %q: %s", ErrSpec, mode, why)
	}
	r.log.Info("groups are bucket files spilled to local disk", "why not key ranges", why)
	return nil, nil
}

// planRanges lays the lake out in about groups key ranges, or says why it
// cannot: a row group without key statistics, or (unless forced) row groups
// whose ranges overlap so much that reading a group would hold more than a
// group's rows of other groups.
func planRanges(plan *Plan, groups int, force bool) (*keyRanges, string) {
	sources := plan.Sources()
	kr := &keyRanges{order: make([][]rangeRowGroup, len(sources)), cursors: make([]*rangeCursor, len(sources))}
	var stringKeys, intKeys bool
	type span struct {
		lo, hi int64
		slo    string // a string row group's least key
		rows   int64
	}
	var spans []span
	var total int64
	for si, sp := range sources {
		for fi, ranges := range sp.keyRanges {
			if sp.Rows[fi] == 0 {
				continue
			}
			if sp.stringKey[fi] {
				stringKeys = true
			} else {
				intKeys = true
			}
			for rg, r := range ranges {
				if r.Rows == 0 {
					continue
				}
				if !r.OK {
					return nil, fmt.Sprintf("%s %q: file %s: row group %d has no usable statistics of key column %q", sp.Kind, sp.Name, sp.Files[fi].Key, rg, sp.Request.Key)
				}
				kr.order[si] = append(kr.order[si], rangeRowGroup{file: fi, rg: rg, rows: r.Rows})
				spans = append(spans, span{r.MinInt, r.MaxInt, r.MinStr, r.Rows})
				total += r.Rows
			}
		}
		if len(sp.keyRanges) != len(sp.Files) {
			return nil, fmt.Sprintf("%s %q: no footer statistics", sp.Kind, sp.Name)
		}
	}
	if stringKeys && intKeys {
		return nil, "integer and string keys" // the spill reports it
	}
	kr.intKeys = !stringKeys
	if len(spans) == 0 || groups < 1 {
		return nil, "no rows"
	}
	// Bounds where the footers put equal shares of the rows: an integer row
	// group's rows taken as spread evenly over its range, a string row group's
	// as all at its least key.
	if kr.intKeys {
		lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
		for _, s := range spans {
			lo, hi = min(lo, s.lo), max(hi, s.hi)
		}
		below := func(x int64) float64 { // rows with keys below x
			var n float64
			for _, s := range spans {
				switch {
				case x <= s.lo:
				case x > s.hi:
					n += float64(s.rows)
				default:
					n += float64(s.rows) * (float64(x) - float64(s.lo)) / (float64(s.hi) - float64(s.lo) + 1)
				}
			}
			return n
		}
		for k := 1; k < groups; k++ {
			want := float64(total) * float64(k) / float64(groups)
			// The least x in (lo, hi] with at least want rows below it.
			a, b := lo+1, hi
			for a < b {
				m := a + int64(uint64(b-a)/2) // no overflow: b-a as unsigned
				if below(m) >= want {
					b = m
				} else {
					a = m + 1
				}
			}
			if a > lo && a <= hi && below(a) >= want && (len(kr.intBounds) == 0 || a > kr.intBounds[len(kr.intBounds)-1]) {
				kr.intBounds = append(kr.intBounds, a)
			}
		}
	} else {
		byMin := slices.Clone(spans)
		slices.SortFunc(byMin, func(a, b span) int { return strings.Compare(a.slo, b.slo) })
		var below int64 // rows of the row groups whose least key is below byMin[j]'s
		for j, k := 0, 1; j < len(byMin) && k < groups; {
			if j > 0 && below*int64(groups) >= total*int64(k) {
				kr.strBounds = append(kr.strBounds, byMin[j].slo)
				for below*int64(groups) >= total*int64(k) {
					k++
				}
			}
			for x := byMin[j].slo; j < len(byMin) && byMin[j].slo == x; j++ {
				below += byMin[j].rows
			}
		}
	}
	// Each row group's first and last group; the rows held for later groups
	// while a group is read are at most those of the row groups read before it
	// that reach past it.
	reach := make([]int64, kr.groups()+1) // rows read by group g's build and held past it: difference array
	for si, sp := range sources {
		for i := range kr.order[si] {
			o := &kr.order[si][i]
			r := sp.keyRanges[o.file][o.rg]
			if kr.intKeys {
				o.first, o.last = groupOf(kr.intBounds, r.MinInt), groupOf(kr.intBounds, r.MaxInt)
			} else {
				o.first, o.last = groupOf(kr.strBounds, r.MinStr), groupOf(kr.strBounds, r.MaxStr)
			}
			if o.last > o.first {
				reach[o.first] += o.rows
				reach[o.last] -= o.rows
			}
		}
		slices.SortStableFunc(kr.order[si], func(a, b rangeRowGroup) int { return cmp.Compare(a.first, b.first) })
		kr.cursors[si] = &rangeCursor{}
		kr.cursors[si].reset()
	}
	if !force {
		var held int64
		share := total / int64(kr.groups())
		for g := 0; g < kr.groups(); g++ {
			if held += reach[g]; held > share {
				return nil, fmt.Sprintf("the row groups' key ranges overlap: reading key range %d of %d would hold %d rows of the ranges after it (a range has about %d)", g+1, kr.groups(), held, share)
			}
		}
	}
	return kr, ""
}

// route sets each row's group by its key, and counts each group's rows into
// start[g+1]; a key outside the range the row group's statistics give (kr) is
// an error, as the group it belongs to may have been built already.
func (kr *keyRanges) route(t *lake.Table, r lake.KeyRange, group []int32, start []int) error {
	if kr.intKeys {
		return routeKeys(t.IntKeys, r.MinInt, r.MaxInt, kr.intBounds, group, start)
	}
	return routeKeys(t.StrKeys, r.MinStr, r.MaxStr, kr.strBounds, group, start)
}

// routeKeys is route for keys of one type, which the statistics say lie in
// [lo, hi]: a row group within one range needs no search.
func routeKeys[K cmp.Ordered](keys []K, lo, hi K, bounds []K, group []int32, start []int) error {
	first, last := groupOf(bounds, lo), groupOf(bounds, hi)
	for i, k := range keys {
		if k < lo || k > hi {
			return fmt.Errorf("row %d has key %#v, outside [%#v, %#v], the range the footer's statistics give its row group", i, k, lo, hi)
		}
		g := first
		if last > first {
			g = groupOf(bounds, k)
		}
		group[i] = int32(g)
		start[g+1]++
	}
	return nil
}

// loadRange reads source si's rows of key range g from the lake: the rows set
// aside for it while earlier ranges were read, then the row groups whose
// least key is in it (or in a range skipped), setting aside their rows of the
// ranges after it. Groups are read in increasing order within a pass; asking
// for a range not after the last one read starts a new pass.
func (r *runner) loadRange(ctx context.Context, sd *spilled, si, g int, sp *SourcePlan, maxKey uint64, stats *lake.ScanStats) (*groupSource, error) {
	kr := sd.ranges
	c := kr.cursors[si]
	if g <= c.built {
		c.reset()
	}
	name := fmt.Sprintf("%s (key range %d of %d)", sp.Name, g+1, kr.groups())
	ld := sd.newGroupLoad(si, sp, name, maxKey, 0, -1)
	for h, bs := range c.pending {
		if h < g { // a range skipped
			delete(c.pending, h)
			continue
		}
		if h == g {
			for _, b := range bs {
				if err := ld.add(b); err != nil {
					return nil, err
				}
			}
			delete(c.pending, h)
		}
	}
	order := kr.order[si]
	for ; c.next < len(order) && order[c.next].first <= g; c.next++ {
		o := order[c.next]
		if c.src == nil || c.file != o.file {
			src, err := r.lake.OpenScatter(ctx, sp.Files[o.file], stats)
			if err != nil {
				return nil, r.loadErr(ctx, sp, err)
			}
			c.src, c.file = src, o.file
		}
		// The row group in flight, as the spill reserves it.
		mem := min(2*o.rows*(int64(sd.width[si])*20+128), r.budget.Bytes)
		if err := r.budget.Acquire(ctx, mem); err != nil {
			return nil, err
		}
		var aerr error
		err := r.routeRowGroup(ctx, sd, sp, si, o.file, c.src, o.rg, maxKey, func(h int, b *spill.Batch) bool {
			switch {
			case h == g:
				aerr = ld.add(b)
			case h > g:
				c.pending[h] = append(c.pending[h], cloneBatch(b))
			}
			return aerr == nil
		})
		r.budget.Release(mem)
		if err != nil {
			return nil, r.loadErr(ctx, sp, err)
		}
		if aerr != nil {
			return nil, aerr
		}
	}
	c.built = g
	return ld.finish(), nil
}

// cloneBatch copies a batch whose columns are views of a row group's scratch
// arrays (routeRowGroup's), to be kept past the call.
func cloneBatch(b *spill.Batch) *spill.Batch {
	out := &spill.Batch{Rows: b.Rows, Cols: make([]spill.Column, len(b.Cols))}
	for j, c := range b.Cols {
		out.Cols[j] = spill.Column{Kind: c.Kind, Width: c.Width,
			I64: slices.Clone(c.I64), I32: slices.Clone(c.I32), U8: slices.Clone(c.U8),
			F32: slices.Clone(c.F32), F64: slices.Clone(c.F64)}
		if c.Str != nil {
			out.Cols[j].Str = make([]string, len(c.Str))
			for i, s := range c.Str {
				out.Cols[j].Str[i] = strings.Clone(s)
			}
		}
	}
	return out
}
