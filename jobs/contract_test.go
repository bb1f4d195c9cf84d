package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/lakefuse/lakefuse/internal/errkind"
	"github.com/lakefuse/lakefuse/jobs"
	"github.com/lakefuse/lakefuse/lake"
)

// The data contract: unusable values are rejected (or are errors, by policy) with
// counts that reconcile; data problems visible from labels and splits are input
// errors found before fitting; spec mistakes found in the data are spec errors.

// invalidRows is one modality file of 4-class probabilities in which entities
// 0, 3, 6, … carry the listed problems (and the rest are good).
var invalidRows = []struct {
	key    int64
	probs  []float64
	reason string
}{
	{0, []float64{math.NaN(), 0.5, 0.25, 0.25}, "NaN or infinite value"},
	{3, []float64{math.Inf(1), 0, 0, 0}, "NaN or infinite value"},
	{6, []float64{-0.5, 0.5, 0.5, 0.5}, "negative probability"},
	{9, []float64{0, 0, 0, 0}, "probabilities do not sum to 1"},
	{12, []float64{0.1, 0.1, 0.1, 0.2}, "probabilities do not sum to 1"},
	{15, []float64{0.5, 0.5}, "list of the wrong length (want 4 values)"},
}

func writeInvalid(t *testing.T, l *lake.Lake) {
	t.Helper()
	var keys []int64
	var flat []float64
	var offsets []int
	for _, r := range invalidRows {
		keys = append(keys, r.key)
		offsets = append(offsets, len(flat))
		flat = append(flat, r.probs...)
	}
	writeRaggedProbs(t, l, "ds/modality=text/part-2.parquet", keys, flat, offsets)
}

func TestInvalidValuesAreRejected(t *testing.T) {
	data := synthetic{rows: 400, classes: 4, coverage: map[string]float64{"text": 0.9, "image": 0.8, "audio": 0.7}, seed: 4}
	url := "file://" + t.TempDir()
	l := openLake(t, url)
	data.write(t, l, "ds")
	// The invalid rows come last, so under duplicates: last they replace any good
	// text row of the same entity.
	writeInvalid(t, l)
	spec, err := jobs.ParseSpec([]byte(syntheticSpec+"align: {duplicates: last}\n"), "spec")
	if err != nil {
		t.Fatal(err)
	}
	res, err := jobs.Run(context.Background(), spec, jobs.Options{Lake: url, RunID: "r"})
	if err != nil {
		t.Fatalf("invalid values under the reject policy: %v", err)
	}
	want := map[string]int64{}
	for _, r := range invalidRows {
		want[r.reason]++
	}
	var text = res.Report.Modalities[0]
	if text.Name != "text" {
		t.Fatalf("modality order: %s", text.Name)
	}
	if len(text.Invalid) != len(want) {
		t.Errorf("invalid counts %v, want %v", text.Invalid, want)
	}
	for reason, n := range want {
		if text.Invalid[reason] != n {
			t.Errorf("invalid %q: %d, want %d", reason, text.Invalid[reason], n)
		}
	}
	if len(res.Report.Warnings) == 0 || !strings.Contains(strings.Join(res.Report.Warnings, "\n"), `modality "text": 6 entities`) {
		t.Errorf("warnings %q do not mention the rejected rows", res.Report.Warnings)
	}
	// rejected/ lists each with its modality and reason, as DuckDB reads it.
	dir := strings.TrimPrefix(url, "file://")
	rows := duckdb(t, `SELECT entity_id, modality, reason FROM read_parquet('`+dir+`/runs/r/rejected/*.parquet') WHERE modality = 'text' ORDER BY entity_id`)[0]
	if len(rows) != len(invalidRows) {
		t.Fatalf("rejected/ has %d text rows, want %d: %v", len(rows), len(invalidRows), rows)
	}
	for i, r := range invalidRows {
		if rows[i]["reason"] != r.reason || toInt(rows[i]["entity_id"]) != r.key {
			t.Errorf("rejected row %d: %v, want %d %q", i, rows[i], r.key, r.reason)
		}
	}
	// Every scored row's probabilities sum to 1: nothing invalid leaked into a score.
	sums := duckdb(t, `SELECT count(*) AS bad FROM read_parquet('`+dir+`/runs/r/scores/*/*.parquet') WHERE abs(list_sum(probs) - 1) > 1e-5 OR list_sum(probs) IS NULL`)[0]
	if toInt(sums[0]["bad"]) != 0 {
		t.Errorf("%v scored rows whose probabilities do not sum to 1", sums[0]["bad"])
	}

	// The same data under invalid: error stops the run, naming the entity.
	strict, err := jobs.ParseSpec([]byte(strings.Replace(syntheticSpec, "{name: text, probs: probs}", "{name: text, probs: probs, invalid: error}", 1)+"align: {duplicates: last}\n"), "spec")
	if err != nil {
		t.Fatal(err)
	}
	_, err = jobs.Run(context.Background(), strict, jobs.Options{Lake: url, RunID: "strict"})
	if !errors.Is(err, jobs.ErrInput) || !strings.Contains(err.Error(), `"text"`) || !strings.Contains(err.Error(), "part-2.parquet") {
		t.Fatalf("under invalid: error: got %v", err)
	}
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case int64:
		return x
	case string:
		var n int64
		for _, c := range x {
			n = n*10 + int64(c-'0')
		}
		return n
	}
	return -1
}

func TestDataContractErrors(t *testing.T) {
	data := synthetic{rows: 200, classes: 4, coverage: map[string]float64{"text": 0.9, "image": 0.8, "audio": 0.7}, seed: 2}
	tests := []struct {
		name   string
		spec   string
		mutate func(t *testing.T, l *lake.Lake)
		kind   errkind.Kind
		text   []string
		plan   bool // found by the plan, from footers and labels alone
	}{
		{
			name: "undeclared split value",
			mutate: func(t *testing.T, l *lake.Lake) {
				writeLabels(t, l, 200, func(i int) (int64, string) {
					s := []string{"train", "train", "test", "validaton"}[i%4]
					return int64(i % 4), s
				})
			},
			kind: errkind.Input, text: []string{`"validaton"`, "split.evaluate", `"train" (100 rows)`}, plan: true,
		},
		{
			name: "one class in training",
			mutate: func(t *testing.T, l *lake.Lake) {
				writeLabels(t, l, 200, func(i int) (int64, string) {
					if i%2 == 0 {
						return 1, "train"
					}
					return int64(i / 2 % 4), "test"
				})
			},
			kind: errkind.Input, text: []string{"1 class(es) [1]", "at least 2"}, plan: true,
		},
		{
			name: "class seen only in evaluation",
			mutate: func(t *testing.T, l *lake.Lake) {
				writeLabels(t, l, 200, func(i int) (int64, string) {
					if i%4 == 3 {
						return 3, "test"
					}
					return int64(i % 3), []string{"train", "test"}[i%2]
				})
			},
			kind: errkind.Input, text: []string{"classes 3 (50 rows)", "never in training"}, plan: true,
		},
		{
			name: "probabilities for other classes than the labels'",
			mutate: func(t *testing.T, l *lake.Lake) {
				writeLabels(t, l, 200, func(i int) (int64, string) { return int64(i % 2), []string{"train", "test"}[i/2%2] })
			},
			kind: errkind.Input, text: []string{"every one of its", "list of the wrong length (want 2 values)"},
		},
		{
			name: "required modality with no usable rows",
			spec: strings.Replace(syntheticSpec, "{name: audio, probs: probs}", "{name: audio, probs: probs, required: true}", 1),
			mutate: func(t *testing.T, l *lake.Lake) {
				writeTable(t, l, "ds/modality=audio/part-0.parquet", 0, []lake.OutColumn{{Name: "entity_id", Int64: []int64{}}, {Name: "probs", List64: []float64{}, Width: 4}})
				writeTable(t, l, "ds/modality=audio/part-1.parquet", 0, []lake.OutColumn{{Name: "entity_id", Int64: []int64{}}, {Name: "probs", List64: []float64{}, Width: 4}})
			},
			kind: errkind.Input, text: []string{`modality "audio" has no usable rows`, "required"},
		},
		{
			name: "feature pattern matching a string column",
			spec: strings.Replace(syntheticSpec, "{name: audio, probs: probs}", "{name: audio, features: {columns: \"^(probs|tag)$\"}}", 1),
			mutate: func(t *testing.T, l *lake.Lake) {
				for _, part := range []string{"part-0", "part-1"} {
					writeTable(t, l, "ds/modality=audio/"+part+".parquet", 1, []lake.OutColumn{{Name: "entity_id", Int64: []int64{3}}, {Name: "tag", String: []string{"x"}}})
				}
			},
			kind: errkind.Spec, text: []string{`matches column "tag"`, "must be numeric"}, plan: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url, l, spec := mutatedLake(t, data, tc.mutate, tc.spec)
			var fitted atomic.Bool // Progress is called from several goroutines
			_, err := jobs.Run(context.Background(), spec, jobs.Options{Lake: url, Progress: func(stage string, _, _ int64) {
				if stage == "fit" {
					fitted.Store(true)
				}
			}})
			if k := errkind.Of(err); k != tc.kind {
				t.Fatalf("got %v (kind %v), want kind %v", err, k, tc.kind)
			}
			for _, s := range tc.text {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if fitted.Load() {
				t.Error("the problem was found only after fitting")
			}
			if _, perr := jobs.MakePlan(context.Background(), l, spec); tc.plan && errkind.Of(perr) != tc.kind {
				t.Errorf("lakefuse plan: got %v, want kind %v", perr, tc.kind)
			}
		})
	}
	// Without required, a modality with no rows is a warning, and the run goes on.
	url := "file://" + t.TempDir()
	l := openLake(t, url)
	data.write(t, l, "ds")
	writeTable(t, l, "ds/modality=audio/part-0.parquet", 0, []lake.OutColumn{{Name: "entity_id", Int64: []int64{}}, {Name: "probs", List64: []float64{}, Width: 4}})
	writeTable(t, l, "ds/modality=audio/part-1.parquet", 0, []lake.OutColumn{{Name: "entity_id", Int64: []int64{}}, {Name: "probs", List64: []float64{}, Width: 4}})
	res := runSpec(t, url, syntheticSpec)
	if !slices.ContainsFunc(res.Report.Warnings, func(w string) bool { return strings.Contains(w, `modality "audio" has no usable rows`) }) {
		t.Errorf("warnings %q", res.Report.Warnings)
	}
}

// writeLabels replaces the synthetic labels table: entity i*3 gets label(i).
func writeLabels(t *testing.T, l *lake.Lake, n int, label func(i int) (int64, string)) {
	t.Helper()
	ids := make([]int64, n)
	labels := make([]int64, n)
	split := make([]string, n)
	for i := range ids {
		ids[i] = int64(i * 3)
		labels[i], split[i] = label(i)
	}
	writeTable(t, l, "ds/labels/part-0.parquet", n, []lake.OutColumn{
		{Name: "entity_id", Int64: ids}, {Name: "label", Int64: labels}, {Name: "split", String: split}})
}

// writeRaggedProbs writes entity_id and a probs list column whose rows may have
// different lengths: row i is flat[offsets[i]:offsets[i+1]].
func writeRaggedProbs(t *testing.T, l *lake.Lake, key string, keys []int64, flat []float64, offsets []int) {
	t.Helper()
	type row struct {
		EntityID int64     `parquet:"entity_id"`
		Probs    []float64 `parquet:"probs,list"`
	}
	rows := make([]row, len(keys))
	for i := range keys {
		end := len(flat)
		if i+1 < len(offsets) {
			end = offsets[i+1]
		}
		rows[i] = row{EntityID: keys[i], Probs: flat[offsets[i]:end]}
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteAll(context.Background(), key, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}
