package jobs_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/jobs"
	"github.com/lakefuse/lakefuse/lake"
)

// Entities without any modality are rejected before the load and rows the load
// turns down after it: every scored entity keeps its own values, whichever of
// the two removed the rows around it. The lake's 120 labelled entities: every
// fifth only in the labels, every third without modality b; some rows invalid
// in a, in b or in both (rejected: the entity then has no modality left, or
// keeps the other). Held whole and in bucket groups.
func TestRowsWithoutAModalityLeaveTheBlocks(t *testing.T) {
	const n, k = 120, 3
	url := "file://" + t.TempDir()
	l := openLake(t, url)
	ids := make([]int64, n)
	labels := make([]int64, n)
	split := make([]string, n)
	for i := range ids {
		ids[i] = int64(1000 + i)
		labels[i] = int64(i % k)
		split[i] = "train"
		if i%4 == 0 {
			split[i] = "test"
		}
	}
	writeTable(t, l, "ds/labels/part-0.parquet", n, []lake.OutColumn{
		{Name: "entity_id", Int64: ids}, {Name: "label", Int64: labels}, {Name: "split", String: split}})
	// 7, 44: invalid in both; 9: invalid in a, its only modality; 11, 13, 91:
	// invalid in a, kept with b; 22, 119: invalid in b, kept with a.
	badA := map[int]bool{7: true, 9: true, 11: true, 13: true, 44: true, 91: true}
	badB := map[int]bool{7: true, 22: true, 44: true, 119: true}
	want := map[int64][]float64{}    // scored entity → its modalities' normalised rows, then their mean
	rejected := map[int64][]string{} // entity → its rejection reasons ("invalid" for any invalid row)
	for mi, m := range []struct {
		name string
		has  func(int) bool
		bad  map[int]bool
	}{{"a", func(i int) bool { return i%5 != 0 }, badA}, {"b", func(i int) bool { return i%5 != 0 && i%3 != 0 }, badB}} {
		var keys []int64
		var flat []float64
		for i := range n {
			if !m.has(i) {
				continue
			}
			r := make([]float64, k) // different for every entity and modality
			sum := 0.0
			for c := range r {
				r[c] = float64(1 + (i*7+c*3+mi*5)%11)
				if c == int(labels[i]) {
					r[c] += 4
				}
				sum += r[c]
			}
			for c := range r {
				r[c] /= sum
			}
			if m.bad[i] {
				r[1] = -r[1] // a negative probability: invalid
				rejected[ids[i]] = append(rejected[ids[i]], "invalid")
			} else {
				want[ids[i]] = append(want[ids[i]], r...)
			}
			keys = append(keys, ids[i])
			flat = append(flat, r...)
		}
		writeTable(t, l, "ds/modality="+m.name+"/part-0.parquet", len(keys), []lake.OutColumn{
			{Name: "entity_id", Int64: keys}, {Name: "probs", List64: flat, Width: k}})
	}
	// The late mean of the modalities an entity kept.
	for key, rows := range want {
		mean := make([]float64, k)
		for c := range k {
			for j := 0; j < len(rows); j += k {
				mean[c] += rows[j+c]
			}
			mean[c] /= float64(len(rows) / k)
		}
		want[key] = mean
	}
	for i := range n {
		if _, ok := want[ids[i]]; !ok {
			rejected[ids[i]] = append(rejected[ids[i]], "no modality present")
		}
	}
	if len(want) < 60 || len(rejected) < 30 {
		t.Fatalf("fixture: %d scored, %d rejected", len(want), len(rejected))
	}
	spec, err := jobs.ParseSpec([]byte(`
name: slots
dataset: ds
split: {column: split}
modalities:
  - {name: a, probs: probs}
  - {name: b, probs: probs}
strategies:
  - {name: late-mean, type: late-mean}
evaluation: {bootstrap: 0}
`), "spec")
	if err != nil {
		t.Fatal(err)
	}
	for _, groups := range []int{0, 3} {
		t.Run(fmt.Sprintf("groups=%d", groups), func(t *testing.T) {
			res, err := jobs.Run(context.Background(), spec, jobs.Options{Lake: url, RunID: fmt.Sprintf("g%d", groups), Groups: groups, SpillDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			files := committedFiles(t, l, res.Prefix)
			gotRejected := map[int64][]string{}
			scored := 0
			for p, f := range files {
				switch {
				case strings.HasPrefix(p, "scores/"):
					tab, err := l.ScanFile(context.Background(), lake.DataFile{Key: res.Prefix + "/" + p, Size: f.Size},
						lake.ColumnRequest{Key: "entity_id", Vector: "probs"}, nil)
					if err != nil {
						t.Fatal(err)
					}
					for i, key := range tab.IntKeys {
						w, ok := want[key]
						if !ok {
							t.Errorf("entity %d scored, want it rejected", key)
							continue
						}
						scored++
						for c, v := range tab.Values[i*k : (i+1)*k] {
							if math.Abs(v-w[c]) > 1e-6 {
								t.Errorf("entity %d: late-mean %v, want %v", key, tab.Values[i*k:(i+1)*k], w)
								break
							}
						}
					}
				case strings.HasPrefix(p, "rejected/"):
					tab, err := l.ScanFile(context.Background(), lake.DataFile{Key: res.Prefix + "/" + p, Size: f.Size},
						lake.ColumnRequest{Key: "entity_id", Label: "reason"}, nil)
					if err != nil {
						t.Fatal(err)
					}
					for i, key := range tab.IntKeys {
						reason := tab.StrLabels[i]
						if reason != "no modality present" {
							reason = "invalid"
						}
						gotRejected[key] = append(gotRejected[key], reason)
					}
				}
			}
			if scored != len(want) {
				t.Errorf("%d entities scored, want %d", scored, len(want))
			}
			if len(gotRejected) != len(rejected) {
				t.Errorf("%d entities rejected, want %d", len(gotRejected), len(rejected))
			}
			for key, reasons := range rejected {
				got := slices.Sorted(slices.Values(gotRejected[key]))
				if !slices.Equal(got, slices.Sorted(slices.Values(reasons))) {
					t.Errorf("entity %d rejected for %q, want %q", key, got, reasons)
				}
			}
		})
	}
}
