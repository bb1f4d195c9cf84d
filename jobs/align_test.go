package jobs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lakefuse/lakefuse/lake"
)

func source[K keyed](name string, files ...[]K) scanned[K] {
	s := scanned[K]{name: name}
	for i, keys := range files {
		s.tables = append(s.tables, &lake.Table{File: name + "/part-" + string(rune('0'+i)), Rows: len(keys)})
		s.keys = append(s.keys, keys)
	}
	return s
}

// present renders an alignment as key → which sources joined it, by row ("t:r").
func render[K keyed](a *alignment[K]) ([]K, [][]string) {
	out := make([][]string, len(a.keys))
	for i := range a.keys {
		for s := range a.refs {
			r := a.refs[s][i]
			if r == noRef {
				out[i] = append(out[i], "-")
			} else {
				out[i] = append(out[i], string(rune('0'+r.table()))+":"+string(rune('0'+r.row())))
			}
		}
	}
	return a.keys, out
}

func TestAlignJoins(t *testing.T) {
	// labels is the anchor (index 2); a and b are modalities.
	src := []scanned[int64]{
		source("a", []int64{1, 2}, []int64{5}),
		source("b", []int64{2, 3, 1}),
		source("labels", []int64{1, 2, 3, 4}),
	}
	tests := []struct {
		join     string
		wantKeys []int64
		wantRefs [][]string
	}{
		{"left", []int64{1, 2, 3, 4}, [][]string{{"0:0", "0:2", "0:0"}, {"0:1", "0:0", "0:1"}, {"-", "0:1", "0:2"}, {"-", "-", "0:3"}}},
		{"inner", []int64{1, 2}, [][]string{{"0:0", "0:2", "0:0"}, {"0:1", "0:0", "0:1"}}},
		// outer: the anchor's keys in its order, then the keys only other sources have.
		{"outer", []int64{1, 2, 3, 4, 5}, [][]string{{"0:0", "0:2", "0:0"}, {"0:1", "0:0", "0:1"}, {"-", "0:1", "0:2"}, {"-", "-", "0:3"}, {"1:0", "-", "-"}}},
	}
	for _, tc := range tests {
		t.Run(tc.join, func(t *testing.T) {
			for _, buckets := range []int{1, 3, 64} {
				a, err := alignBuckets(context.Background(), src, 2, tc.join, "error", buckets, 2)
				if err != nil {
					t.Fatal(err)
				}
				keys, refs := render(a)
				if diff := cmp.Diff(tc.wantKeys, keys); diff != "" {
					t.Errorf("buckets=%d keys: %s", buckets, diff)
				}
				if diff := cmp.Diff(tc.wantRefs, refs); diff != "" {
					t.Errorf("buckets=%d refs: %s", buckets, diff)
				}
			}
		})
	}
}

func TestAlignDuplicatePolicies(t *testing.T) {
	src := []scanned[string]{
		source("a", []string{"x", "y"}, []string{"x"}),
		source("labels", []string{"x", "y"}),
	}
	tests := []struct {
		policy string
		want   [][]string
		extra  int
	}{
		{"first", [][]string{{"0:0", "0:0"}, {"0:1", "0:1"}}, 0},
		{"last", [][]string{{"1:0", "0:0"}, {"0:1", "0:1"}}, 0},
		{"mean", [][]string{{"0:0", "0:0"}, {"0:1", "0:1"}}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.policy, func(t *testing.T) {
			a, err := alignBuckets(context.Background(), src, 1, "left", tc.policy, 4, 2)
			if err != nil {
				t.Fatal(err)
			}
			_, refs := render(a)
			if diff := cmp.Diff(tc.want, refs); diff != "" {
				t.Error(diff)
			}
			if len(a.extra[0]) != tc.extra || a.stats[0].Duplicates != 1 {
				t.Errorf("extra rows %v, duplicates %d", a.extra[0], a.stats[0].Duplicates)
			}
			if tc.extra > 0 && cmp.Diff([]ref{mkref(1, 0)}, a.extra[0][0]) != "" {
				t.Errorf("mean keeps the duplicate to average: %v", a.extra[0])
			}
		})
	}
	_, err := alignBuckets(context.Background(), src, 1, "left", "error", 4, 2)
	if !errors.Is(err, ErrInput) {
		t.Errorf("error policy: got %v", err)
	}
}

// A duplicate in the anchor emits its key once, and the positions compact.
func TestAlignAnchorDuplicates(t *testing.T) {
	src := []scanned[int64]{
		source("a", []int64{7, 8}),
		source("labels", []int64{7, 7, 8}),
	}
	a, err := alignBuckets(context.Background(), src, 1, "left", "last", 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	keys, refs := render(a)
	if diff := cmp.Diff([]int64{7, 8}, keys); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff([][]string{{"0:0", "0:1"}, {"0:1", "0:2"}}, refs); diff != "" {
		t.Error(diff)
	}
}

func TestHashKeyIsFixed(t *testing.T) {
	// Every process and every shard must put a key in the same bucket, so the hash
	// is a fixed function: pin a few values.
	tests := []struct {
		got, want uint64
	}{
		{hashKey[int64](0), 0},
		{hashKey(""), 14695981039346656037},
		{hashKey("a"), 0xaf63dc4c8601ec8c},
	}
	for i, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("case %d: hash %#x, want %#x", i, tc.got, tc.want)
		}
	}
}

// The merge of sorted sources is the hashed join's result, field for field: random
// sorted sources split into files (some empty), left and inner, integer and
// string keys, a labels table that is not the anchor, several workers.
func TestAlignSortedIsHashed(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	split := func(keys []int64) [][]int64 {
		var files [][]int64
		for len(keys) > 0 || len(files) < 2 {
			n := min(len(keys), rng.IntN(len(keys)+1))
			files = append(files, keys[:n])
			keys = keys[n:]
		}
		return files
	}
	sortedSubset := func(universe, pct int) []int64 {
		var out []int64
		for k := range universe {
			if rng.IntN(100) < pct {
				out = append(out, int64(3*k+1))
			}
		}
		return out
	}
	asStrings := func(s scanned[int64]) scanned[string] {
		out := scanned[string]{name: s.name, tables: s.tables}
		for _, keys := range s.keys {
			ks := make([]string, len(keys))
			for i, k := range keys {
				ks[i] = fmt.Sprintf("k%09d", k)
			}
			out.keys = append(out.keys, ks)
		}
		return out
	}
	for trial := range 40 {
		universe := 1 + rng.IntN(300_000)
		if trial%4 != 0 {
			universe = 1 + rng.IntN(500)
		}
		files := split
		if trial%3 == 1 { // one file a source: a left join's keys are the anchor's own
			files = func(keys []int64) [][]int64 { return [][]int64{keys} }
		}
		src := []scanned[int64]{
			source("a", files(sortedSubset(universe, 90))...),
			source("labels", files(sortedSubset(universe, 100))...),
			source("b", files(sortedSubset(universe, 60))...),
		}
		anchor := rng.IntN(len(src))
		for _, join := range []string{"left", "inner"} {
			workers := 1 + rng.IntN(3)
			name := fmt.Sprintf("trial %d %s anchor %d workers %d", trial, join, anchor, workers)
			if a := alignSorted(src, anchor, join, workers); a == nil {
				t.Fatalf("%s: sorted sources not merged", name)
			} else {
				want, err := alignHashed(context.Background(), src, anchor, join, "error", 7, 2)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(want, a) {
					t.Fatalf("%s: %s", name, cmp.Diff(want, a, cmp.AllowUnexported(alignment[int64]{})))
				}
			}
			if trial%4 == 0 {
				continue
			}
			ssrc := []scanned[string]{asStrings(src[0]), asStrings(src[1]), asStrings(src[2])}
			got := alignSorted(ssrc, anchor, join, workers)
			want, err := alignHashed(context.Background(), ssrc, anchor, join, "error", 5, 2)
			if err != nil || got == nil {
				t.Fatalf("%s strings: %v, merged %v", name, err, got != nil)
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("%s strings: %s", name, cmp.Diff(want, got, cmp.AllowUnexported(alignment[string]{})))
			}
		}
	}
}

// Unsorted sources, a duplicate key, and an outer join are left to the hashed join.
func TestAlignSortedDeclines(t *testing.T) {
	sorted := source("labels", []int64{1, 2}, []int64{3})
	for name, src := range map[string][]scanned[int64]{
		"unsorted file":       {source("a", []int64{2, 1}), sorted},
		"files out of order":  {source("a", []int64{3}, []int64{1, 2}), sorted},
		"duplicate key":       {source("a", []int64{1, 2}, []int64{2}), sorted},
		"duplicate in anchor": {source("a", []int64{1}), source("labels", []int64{1, 1})},
	} {
		if alignSorted(src, 1, "left", 2) != nil {
			t.Errorf("%s: merged", name)
		}
	}
	if alignSorted([]scanned[int64]{source("a", []int64{1}), sorted}, 1, "outer", 2) != nil {
		t.Error("outer join: merged")
	}
}
