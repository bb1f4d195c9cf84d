package jobs

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/lakefuse/lakefuse/internal/bigmem"
	"github.com/lakefuse/lakefuse/internal/keyhash"

	"github.com/lakefuse/lakefuse/lake"
)

// ref points at one scanned row: table index in the high 32 bits, row in the low.
type ref int64

const noRef ref = -1

func mkref(table, row int) ref { return ref(int64(table)<<32 | int64(row)) }
func (r ref) table() int       { return int(r >> 32) }
func (r ref) row() int         { return int(r & 0xffffffff) }

// keyed is a key type lakefuse joins on.
type keyed interface{ ~int64 | ~string }

// hashKey is the fixed hash of a key (internal/keyhash), so that every process and
// every shard puts a key in the same bucket.
func hashKey[K keyed](k K) uint64 {
	switch v := any(k).(type) {
	case int64:
		return keyhash.Int(v)
	case string:
		return keyhash.String(v)
	}
	panic("unreachable")
}

// scanned is one source's tables and their keys as K.
type scanned[K keyed] struct {
	name   string
	tables []*lake.Table
	keys   [][]K // per table
}

// alignment is the join result: one row per aligned entity.
type alignment[K keyed] struct {
	keys  []K
	refs  [][]ref         // per source: the row joined to each entity, noRef when absent
	extra []map[int][]ref // per source: further rows averaged in (duplicates: mean)
	stats []joinStats     // per source
}

type joinStats struct {
	Matched    int64 // aligned entities that have this source
	Duplicates int64 // rows folded into another row with the same key
}

// bucketRows routes every row of every source to bucket hash(key) mod B, keeping
// file and row order within a bucket.
func bucketRows[K keyed](src []scanned[K], buckets, workers int) [][][]ref {
	out := make([][][]ref, len(src)) // [source][bucket]refs
	var g errgroup.Group
	g.SetLimit(workers)
	for s, sc := range src {
		g.Go(func() error {
			// Two passes: count, then fill slices of the exact size.
			bucketOf := bigmem.Make[uint32](0, int(sc.rows()))
			counts := make([]int, buckets)
			for _, keys := range sc.keys {
				for _, k := range keys {
					b := uint32(hashKey(k) % uint64(buckets))
					bucketOf = append(bucketOf, b)
					counts[b]++
				}
			}
			out[s] = make([][]ref, buckets)
			for b, n := range counts {
				out[s][b] = make([]ref, 0, n)
			}
			i := 0
			for t, keys := range sc.keys {
				for r := range keys {
					b := bucketOf[i]
					out[s][b] = append(out[s][b], mkref(t, r))
					i++
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	return out
}

// rows counts the source's rows.
func (s scanned[K]) rows() int64 {
	var n int64
	for _, k := range s.keys {
		n += int64(len(k))
	}
	return n
}

func (s scanned[K]) isModality() bool { return s.name != "labels" }

// alignBuckets joins every bucket by key, at most workers buckets at a time.
//
// The key universe is the anchor's keys (left), the anchor's keys that every
// modality has (inner: a labels table that is not the anchor is joined left), or
// every key of every source (outer). A row's position in the result is the position
// of the source row that emitted it — the anchor's file and row order, then for an
// outer join the other sources' in turn — so the result does not depend on the
// number of buckets, and modality vectors are later read in that order, which is
// sequential when the tables share the anchor's order, as they usually do.
//
// Buckets write straight into result arrays at those positions (the positions of
// different buckets are disjoint), and each worker reuses its hash maps from bucket
// to bucket: the join allocates little beyond its result. Sources whose keys are
// already in order are merged instead (alignSorted), with the same result.
func alignBuckets[K keyed](ctx context.Context, src []scanned[K], anchor int, join, dupPolicy string, buckets, workers int) (*alignment[K], error) {
	if a := alignSorted(src, anchor, join, workers); a != nil {
		return a, nil
	}
	return alignHashed(ctx, src, anchor, join, dupPolicy, buckets, workers)
}

// alignHashed is alignBuckets by hashing: every bucket's sources indexed by key.
func alignHashed[K keyed](ctx context.Context, src []scanned[K], anchor int, join, dupPolicy string, buckets, workers int) (*alignment[K], error) {
	n := len(src)
	routed := bucketRows(src, buckets, workers)
	emitters := []int{anchor}
	if join == "outer" {
		emitters = append(emitters, others(n, anchor)...)
	}
	base := make([][]int64, n) // base[s][t]: position of table t's first row; nil if s never emits
	var span int64
	for _, s := range emitters {
		base[s] = make([]int64, len(src[s].keys))
		for t, keys := range src[s].keys {
			base[s][t] = span
			span += int64(len(keys))
		}
	}
	a := &alignment[K]{keys: make([]K, span), refs: make([][]ref, n), extra: make([]map[int][]ref, n), stats: make([]joinStats, n)}
	if _, isInt := any(a.keys).([]int64); isInt {
		a.keys = any(bigmem.Make[int64](int(span), int(span))).([]K)
	}
	for s := range a.refs {
		a.refs[s] = bigmem.Make[ref](int(span), int(span))
	}
	filled := make([]bool, span)

	var (
		next    atomic.Int64
		mu      sync.Mutex // guards a.extra and a.stats
		outer   = join == "outer"
		g, gctx = errgroup.WithContext(ctx)
	)
	for w := 0; w < max(workers, 1); w++ {
		g.Go(func() error {
			index := make([]refIndex[K], n)
			var emitted map[K]struct{}
			if outer {
				emitted = map[K]struct{}{}
			}
			for {
				b := int(next.Add(1) - 1)
				if b >= buckets {
					return nil
				}
				if err := gctx.Err(); err != nil {
					return err
				}
				stats := make([]joinStats, n)
				dups := make([]map[K][]ref, n)
				// Build one hash index per source.
				for s, sc := range src {
					x := &index[s]
					x.reset(len(routed[s][b]))
					for _, r := range routed[s][b] {
						k := sc.keys[r.table()][r.row()]
						i := x.slot(k)
						prev := x.refs[i]
						if prev == noRef {
							x.keys[i], x.refs[i] = k, r
							continue
						}
						stats[s].Duplicates++
						switch dupPolicy {
						case "error":
							return fmt.Errorf("jobs: %w: %s: duplicate key %v: file %s row %d and file %s row %d (align.duplicates is error; choose first, last or mean)",
								ErrInput, sc.name, k, sc.tables[prev.table()].File, prev.row(), sc.tables[r.table()].File, r.row())
						case "last":
							x.refs[i] = r
						case "mean":
							if dups[s] == nil {
								dups[s] = map[K][]ref{}
							}
							dups[s][k] = append(dups[s][k], r)
						}
					}
				}
				var extra []map[int][]ref
				emit := func(k K, from int, r ref) {
					pos := base[from][r.table()] + int64(r.row())
					a.keys[pos] = k
					filled[pos] = true
					for s := range src {
						rs, ok := index[s].get(k)
						if !ok {
							a.refs[s][pos] = noRef
							continue
						}
						a.refs[s][pos] = rs
						stats[s].Matched++
						if more := dups[s][k]; more != nil {
							if extra == nil {
								extra = make([]map[int][]ref, n)
							}
							if extra[s] == nil {
								extra[s] = map[int][]ref{}
							}
							extra[s][int(pos)] = more
						}
					}
				}
				// Each anchor key is emitted once, at the row the duplicate policy kept.
				switch join {
				case "left", "inner":
					for _, r := range routed[anchor][b] {
						k := src[anchor].keys[r.table()][r.row()]
						if kept, _ := index[anchor].get(k); kept != r {
							continue
						}
						if join == "inner" && !inAllModalities(src, index, k) {
							continue
						}
						emit(k, anchor, r)
					}
				case "outer":
					clear(emitted)
					for _, s := range emitters {
						for _, r := range routed[s][b] {
							k := src[s].keys[r.table()][r.row()]
							if _, done := emitted[k]; !done {
								if kept, _ := index[s].get(k); kept != r {
									continue
								}
								emitted[k] = struct{}{}
								emit(k, s, r)
							}
						}
					}
				}
				mu.Lock()
				for s := range stats {
					a.stats[s].Matched += stats[s].Matched
					a.stats[s].Duplicates += stats[s].Duplicates
					if extra == nil {
						continue
					}
					for pos, rs := range extra[s] {
						if a.extra[s] == nil {
							a.extra[s] = map[int][]ref{}
						}
						a.extra[s][pos] = rs
					}
				}
				mu.Unlock()
			}
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	a.compact(filled)
	return a, nil
}

func inAllModalities[K keyed](src []scanned[K], index []refIndex[K], k K) bool {
	for s := range src {
		if _, ok := index[s].get(k); !ok && src[s].isModality() {
			return false
		}
	}
	return true
}

// compact drops the positions that no row was emitted at (duplicates, rows an inner
// join dropped, keys an outer join had already emitted), keeping the order. A left
// join without duplicates has none and costs nothing here.
func (a *alignment[K]) compact(filled []bool) {
	j := 0
	moved := map[int]int{}
	for i, ok := range filled {
		if !ok {
			continue
		}
		if i != j {
			a.keys[j] = a.keys[i]
			for s := range a.refs {
				a.refs[s][j] = a.refs[s][i]
			}
			moved[i] = j
		}
		j++
	}
	a.keys = a.keys[:j]
	for s := range a.refs {
		a.refs[s] = a.refs[s][:j]
	}
	for s, ex := range a.extra {
		if len(moved) == 0 || ex == nil {
			continue
		}
		re := make(map[int][]ref, len(ex))
		for pos, rs := range ex {
			if to, ok := moved[pos]; ok {
				pos = to
			}
			re[pos] = rs
		}
		a.extra[s] = re
	}
}

func others(n, skip int) []int {
	var out []int
	for i := 0; i < n; i++ {
		if i != skip {
			out = append(out, i)
		}
	}
	return out
}

// alignSorted is the join when every source's keys, file after file, strictly
// increase — as a lake written in key order (by DuckDB, Spark's sortWithinPartitions,
// or any job that writes entities in order) has them: a merge of the sorted
// sequences instead of hashing every key into buckets. It returns exactly what
// alignHashed does for those inputs (a left or inner join; strictly increasing
// means no duplicates, so the policy has nothing to decide), and nil, at the cost
// of one pass over the keys, when a source is not sorted or the join is outer
// (whose order, the anchor's keys and then the others', a merge does not keep).
func alignSorted[K keyed](src []scanned[K], anchor int, join string, workers int) *alignment[K] {
	if join != "left" && join != "inner" {
		return nil
	}
	// Each source checked on its own goroutine (up to workers): four sources'
	// passes one after another kept a core idle at 2M rows.
	sorted := make([]bool, len(src))
	var check errgroup.Group
	check.SetLimit(max(workers, 1))
	for s, sc := range src {
		check.Go(func() error {
			sorted[s] = sc.strictlyIncreasing()
			return nil
		})
	}
	_ = check.Wait()
	if slices.Contains(sorted, false) {
		return nil
	}
	n := len(src)
	anchorKeys := src[anchor].keys
	span := int(src[anchor].rows())
	a := &alignment[K]{refs: make([][]ref, n), extra: make([]map[int][]ref, n), stats: make([]joinStats, n)}
	// A left join keeps every anchor row in order: from one file, its keys
	// are the aligned keys, not copied (16 MB of fresh pages at 2M rows).
	copyKeys := join != "left" || len(anchorKeys) != 1
	switch _, isInt := any(a.keys).([]int64); {
	case !copyKeys:
		a.keys = anchorKeys[0][:span:span]
	case isInt:
		a.keys = any(bigmem.Make[int64](span, span)).([]K)
	default:
		a.keys = make([]K, span)
	}
	for s := range a.refs {
		a.refs[s] = bigmem.Make[ref](span, span)
	}
	var filled []bool // inner: the anchor rows every modality has
	if join == "inner" {
		filled = make([]bool, span)
	}
	// The anchor's rows split in contiguous chunks, four per worker (two halves
	// on two cores finished apart: 50 ms of one core waiting at 2M rows); each
	// finds every other source's first candidate row by binary search and
	// merges on.
	chunks := max(1, min(4*workers, span/(64<<10)))
	matched := make([][]int64, chunks)
	var wg sync.WaitGroup
	for c := range chunks {
		lo, hi := span*c/chunks, span*(c+1)/chunks
		matched[c] = make([]int64, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			cur := make([]cursor[K], n)
			for s := range src {
				if s != anchor && hi > lo {
					cur[s] = src[s].seek(src[anchor].at(lo))
				}
			}
			at := src[anchor].cursorAt(lo)
			for pos := lo; pos < hi; pos++ {
				k := anchorKeys[at.t][at.r]
				if copyKeys {
					a.keys[pos] = k
				}
				all := true
				for s := range src {
					r := mkref(at.t, at.r)
					if s != anchor {
						r = src[s].advanceTo(&cur[s], k)
					}
					a.refs[s][pos] = r
					if r == noRef && src[s].isModality() {
						all = false
					}
				}
				if filled != nil {
					filled[pos] = all
				}
				if filled == nil || all { // an inner join counts only the rows it keeps
					for s := range src {
						if a.refs[s][pos] != noRef {
							matched[c][s]++
						}
					}
				}
				src[anchor].step(&at)
			}
		}()
	}
	wg.Wait()
	for c := range matched {
		for s, m := range matched[c] {
			a.stats[s].Matched += m
		}
	}
	if filled != nil {
		a.compact(filled)
	}
	return a
}

// cursor is a position in a source's keys: table t, row r (r == len when past
// the table's end; t == len(keys) when past the last).
type cursor[K keyed] struct{ t, r int }

// strictlyIncreasing reports whether the source's keys, file after file, strictly
// increase.
func (s scanned[K]) strictlyIncreasing() bool {
	var prev K
	first := true
	for _, keys := range s.keys {
		for _, k := range keys {
			if !first && k <= prev {
				return false
			}
			prev, first = k, false
		}
	}
	return true
}

// cursorAt is the cursor at the source's i-th row over all its files.
func (s scanned[K]) cursorAt(i int) cursor[K] {
	for t, keys := range s.keys {
		if i < len(keys) {
			return cursor[K]{t, i}
		}
		i -= len(keys)
	}
	return cursor[K]{len(s.keys), 0}
}

// at is the source's i-th key over all its files.
func (s scanned[K]) at(i int) K {
	c := s.cursorAt(i)
	return s.keys[c.t][c.r]
}

// seek is the cursor at the source's first key ≥ k (its keys strictly increase).
func (s scanned[K]) seek(k K) cursor[K] {
	for t, keys := range s.keys {
		if len(keys) == 0 || keys[len(keys)-1] < k {
			continue
		}
		lo, hi := 0, len(keys)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if keys[m] < k {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return cursor[K]{t, lo}
	}
	return cursor[K]{len(s.keys), 0}
}

// step moves c to the next row.
func (s scanned[K]) step(c *cursor[K]) {
	c.r++
	for c.t < len(s.keys) && c.r >= len(s.keys[c.t]) {
		c.t, c.r = c.t+1, 0
	}
}

// advanceTo moves c past the keys below k and returns the row holding k, or
// noRef; the keys and every k asked for increase.
func (s scanned[K]) advanceTo(c *cursor[K], k K) ref {
	for c.t < len(s.keys) {
		keys := s.keys[c.t]
		for c.r < len(keys) && keys[c.r] < k {
			c.r++
		}
		if c.r < len(keys) {
			if keys[c.r] == k {
				return mkref(c.t, c.r)
			}
			return noRef
		}
		c.t, c.r = c.t+1, 0
	}
	return noRef
}
