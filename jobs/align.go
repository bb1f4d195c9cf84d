package jobs

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

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

// hashKey is a fixed (unseeded) hash, so that every process and every shard puts a
// key in the same bucket.
func hashKey[K keyed](k K) uint64 {
	switch v := any(k).(type) {
	case int64:
		x := uint64(v) // splitmix64 finaliser
		x ^= x >> 30
		x *= 0xbf58476d1ce4e5b9
		x ^= x >> 27
		x *= 0x94d049bb133111eb
		return x ^ x>>31
	case string:
		h := uint64(14695981039346656037) // FNV-1a
		for i := 0; i < len(v); i++ {
			h ^= uint64(v[i])
			h *= 1099511628211
		}
		return h
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
func bucketRows[K keyed](src []scanned[K], buckets int) [][][]ref {
	out := make([][][]ref, len(src)) // [source][bucket]refs
	for s, sc := range src {
		out[s] = make([][]ref, buckets)
		for t, keys := range sc.keys {
			for r, k := range keys {
				b := hashKey(k) % uint64(buckets)
				out[s][b] = append(out[s][b], mkref(t, r))
			}
		}
	}
	return out
}

// alignBuckets joins every bucket (at most workers at a time) and concatenates the
// results in bucket order, which makes the row order deterministic.
func alignBuckets[K keyed](ctx context.Context, src []scanned[K], anchor int, join, dupPolicy string, buckets, workers int) (*alignment[K], error) {
	routed := bucketRows(src, buckets)
	parts := make([]*alignment[K], buckets)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for b := 0; b < buckets; b++ {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			bucketRefs := make([][]ref, len(src))
			for s := range src {
				bucketRefs[s] = routed[s][b]
			}
			a, err := alignBucket(src, bucketRefs, anchor, join, dupPolicy)
			parts[b] = a
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := &alignment[K]{refs: make([][]ref, len(src)), extra: make([]map[int][]ref, len(src)), stats: make([]joinStats, len(src))}
	for _, p := range parts {
		base := len(out.keys)
		out.keys = append(out.keys, p.keys...)
		for s := range src {
			out.refs[s] = append(out.refs[s], p.refs[s]...)
			out.stats[s].Matched += p.stats[s].Matched
			out.stats[s].Duplicates += p.stats[s].Duplicates
			for row, rs := range p.extra[s] {
				if out.extra[s] == nil {
					out.extra[s] = map[int][]ref{}
				}
				out.extra[s][base+row] = rs
			}
		}
	}
	return out, nil
}

// alignBucket is the hash join of one bucket. The key universe is the anchor's keys
// (left), the keys every modality has (inner: sources other than the anchor that are
// not modalities are joined left), or every key of every source (outer).
func alignBucket[K keyed](src []scanned[K], rows [][]ref, anchor int, join, dupPolicy string) (*alignment[K], error) {
	n := len(src)
	index := make([]map[K]ref, n)
	dups := make([]map[K][]ref, n)
	a := &alignment[K]{refs: make([][]ref, n), extra: make([]map[int][]ref, n), stats: make([]joinStats, n)}
	for s, sc := range src {
		index[s] = make(map[K]ref, len(rows[s]))
		for _, r := range rows[s] {
			k := sc.keys[r.table()][r.row()]
			prev, dup := index[s][k]
			if !dup {
				index[s][k] = r
				continue
			}
			a.stats[s].Duplicates++
			switch dupPolicy {
			case "error":
				return nil, fmt.Errorf("jobs: %w: %s: duplicate key %v: file %s row %d and file %s row %d (align.duplicates is error; choose first, last or mean)",
					ErrInput, sc.name, k, sc.tables[prev.table()].File, prev.row(), sc.tables[r.table()].File, r.row())
			case "last":
				index[s][k] = r
			case "mean":
				if dups[s] == nil {
					dups[s] = map[K][]ref{}
				}
				dups[s][k] = append(dups[s][k], r)
			}
		}
	}
	emit := func(k K) {
		row := len(a.keys)
		a.keys = append(a.keys, k)
		for s := range src {
			r, ok := index[s][k]
			if !ok {
				r = noRef
			} else {
				a.stats[s].Matched++
				if more := dups[s][k]; more != nil {
					if a.extra[s] == nil {
						a.extra[s] = map[int][]ref{}
					}
					a.extra[s][row] = more
				}
			}
			a.refs[s] = append(a.refs[s], r)
		}
	}
	keyOf := func(s int, r ref) K { return src[s].keys[r.table()][r.row()] }
	switch join {
	// On left and inner joins each anchor key is emitted once, at the row that the
	// duplicate policy kept; an outer join remembers what it emitted.
	case "left":
		for _, r := range rows[anchor] {
			if k := keyOf(anchor, r); index[anchor][k] == r {
				emit(k)
			}
		}
	case "inner":
		for _, r := range rows[anchor] {
			k := keyOf(anchor, r)
			if index[anchor][k] != r {
				continue
			}
			all := true
			for s := range src {
				if _, ok := index[s][k]; !ok && src[s].isModality() {
					all = false
					break
				}
			}
			if all {
				emit(k)
			}
		}
	case "outer":
		emitted := make(map[K]struct{})
		order := append([]int{anchor}, others(n, anchor)...)
		for _, s := range order {
			for _, r := range rows[s] {
				k := keyOf(s, r)
				if _, done := emitted[k]; !done {
					emitted[k] = struct{}{}
					emit(k)
				}
			}
		}
	}
	return a, nil
}

func (s scanned[K]) isModality() bool { return s.name != "labels" }

func others(n, skip int) []int {
	var out []int
	for i := 0; i < n; i++ {
		if i != skip {
			out = append(out, i)
		}
	}
	return out
}
