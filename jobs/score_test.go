package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/jobs"
	"github.com/lakefuse/lakefuse/lake"
)

// writeDated writes a three-class dataset over date partitions: f1 (numeric
// columns x0…x4), f2 (an embedding list of 4) and p (probabilities), each missing
// from some entities. Labels exist for the dates in labelled.
func writeDated(t *testing.T, l *lake.Lake, dates map[string][2]int, labelled map[string]bool) {
	t.Helper()
	for date, span := range dates {
		rng := rand.New(rand.NewPCG(uint64(span[0]), 3))
		var ids, labels []int64
		var split []string
		var f1ids, f2ids, pids []int64
		x := make([][]float64, 5)
		var emb, probs []float64
		for i := span[0]; i < span[1]; i++ {
			y := int64(rng.IntN(3))
			ids, labels = append(ids, int64(i)), append(labels, y)
			split = append(split, map[bool]string{true: "train", false: "test"}[date == "d1" && i%5 != 0])
			if rng.Float64() < 0.85 {
				f1ids = append(f1ids, int64(i))
				for j := range x {
					v := rng.NormFloat64()
					if int64(j%3) == y {
						v += 1.2
					}
					x[j] = append(x[j], v)
				}
			}
			if rng.Float64() < 0.8 {
				f2ids = append(f2ids, int64(i))
				for j := 0; j < 4; j++ {
					v := rng.NormFloat64()
					if int64(j) == y {
						v += 1
					}
					emb = append(emb, v)
				}
			}
			if rng.Float64() < 0.7 {
				pids = append(pids, int64(i))
				row := []float64{rng.Float64(), rng.Float64(), rng.Float64()}
				row[y] += 0.8
				s := row[0] + row[1] + row[2]
				probs = append(probs, row[0]/s, row[1]/s, row[2]/s)
			}
		}
		part := "date=" + date
		if labelled[date] {
			writeTable(t, l, "ds/labels/"+part+"/part-0.parquet", len(ids), []lake.OutColumn{
				{Name: "entity_id", Int64: ids}, {Name: "label", Int64: labels}, {Name: "split", String: split}})
		}
		cols := []lake.OutColumn{{Name: "entity_id", Int64: f1ids}}
		for j := range x {
			cols = append(cols, lake.OutColumn{Name: fmt.Sprintf("x%d", j), Float64: x[j]})
		}
		writeTable(t, l, "ds/modality=f1/"+part+"/part-0.parquet", len(f1ids), cols)
		writeTable(t, l, "ds/modality=f2/"+part+"/part-0.parquet", len(f2ids), []lake.OutColumn{
			{Name: "entity_id", Int64: f2ids}, {Name: "emb", List64: emb, Width: 4}})
		writeTable(t, l, "ds/modality=p/"+part+"/part-0.parquet", len(pids), []lake.OutColumn{
			{Name: "entity_id", Int64: pids}, {Name: "probs", List64: probs, Width: 3}})
	}
}

const datedSpec = `
name: dated
dataset: ds
split: {column: split}
modalities:
  - name: f1
    features: {columns: "^x"}
  - {name: f2, features: {column: emb}}
  - {name: p, probs: probs}
strategies:
  - {name: mean, type: late-mean}
  - {name: weighted, type: late-weighted}
  - {name: product-t, type: late-product, calibration: temperature}
  - {name: vote, type: vote, tie_rule: mean}
  - {name: rank, type: rank-average}
  - {name: stacking, type: stacking}
  - {name: early, type: early}
  - {name: early-l2, type: early, normalize: l2, block_weights: {f1: 2}}
  - {name: hybrid, type: hybrid, groups: [[f1, f2]]}
  - {name: evidential, type: evidential}
`

// readScores reads a run's scores of one strategy: entity → probabilities.
func readScores(t *testing.T, l *lake.Lake, prefix, strategy string) map[int64][]float64 {
	t.Helper()
	ctx := context.Background()
	objs, err := l.List(ctx, prefix+"/scores/strategy="+strategy+"/")
	if err != nil || len(objs) == 0 {
		t.Fatalf("no scores for %s under %s (%v)", strategy, prefix, err)
	}
	out := map[int64][]float64{}
	for _, o := range objs {
		tab, err := l.ScanFile(ctx, lake.DataFile{Key: o.Key, Size: o.Size}, lake.ColumnRequest{Key: "entity_id", Vector: "probs"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range tab.IntKeys {
			out[k] = tab.Values[i*tab.Width : (i+1)*tab.Width]
		}
	}
	return out
}

func TestFitThenScoreReproducesRun(t *testing.T) {
	ctx := context.Background()
	url := "file://" + t.TempDir()
	l := openLake(t, url)
	writeDated(t, l, map[string][2]int{"d1": {0, 600}, "d2": {600, 800}, "d3": {800, 900}}, map[string]bool{"d1": true, "d2": true})

	runSpec, err := jobs.ParseSpec([]byte(datedSpec+"filters: {date: d1}\n"), "run.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// One run over d1 and d2 (the filter is lifted to both below).
	runSpec.Filters = nil
	run, err := jobs.Run(ctx, runSpec, jobs.Options{Lake: url, RunID: "whole"})
	if err != nil {
		t.Fatal(err)
	}
	fitSpec, _ := jobs.ParseSpec([]byte(datedSpec+"mode: fit\nfilters: {date: d1}\n"), "fit.yaml")
	fit, err := jobs.Run(ctx, fitSpec, jobs.Options{Lake: url, RunID: "fit"})
	if err != nil {
		t.Fatal(err)
	}
	if objs, _ := l.List(ctx, fit.Prefix+"/scores/"); len(objs) != 0 {
		t.Errorf("fit mode wrote %d score files", len(objs))
	}
	scoreSpec, _ := jobs.ParseSpec([]byte(datedSpec+"filters: {date: d2}\n"), "score.yaml")
	scored, err := jobs.Score(ctx, scoreSpec, jobs.Options{Lake: url, RunID: "score-d2"}, url+"/"+fit.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	if rows := scored.Report.Rows; rows.Aligned != 200 || rows.Scored+rows.Rejected["no modality present"] != 200 {
		t.Errorf("d2 rows %+v, want 200 aligned, each scored or rejected", rows)
	}
	for _, st := range []string{"mean", "weighted", "product-t", "vote", "rank", "stacking", "early", "early-l2", "hybrid", "evidential"} {
		want := readScores(t, l, run.Prefix, st)
		got := readScores(t, l, scored.Prefix, st)
		for k, g := range got {
			w, ok := want[k]
			if !ok || fmt.Sprint(w) != fmt.Sprint(g) {
				t.Fatalf("%s: entity %d: run scored %v, fit+score %v", st, k, w, g)
			}
		}
	}
	// The fit and the run trained on the same rows: same fingerprint.
	var a, b jobs.ModelFile
	for prefix, dst := range map[string]*jobs.ModelFile{run.Prefix: &a, fit.Prefix: &b} {
		raw, err := l.ReadAll(ctx, prefix+"/models/stacking.json")
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(raw, dst)
	}
	if a.Training.Fingerprint == "" || a.Training.Fingerprint != b.Training.Fingerprint || a.Training.Rows != b.Training.Rows {
		t.Errorf("training fingerprints: run %+v, fit %+v", a.Training, b.Training)
	}

	t.Run("unlabelled partition", func(t *testing.T) {
		s, _ := jobs.ParseSpec([]byte(datedSpec+"filters: {date: d3}\nalign: {join: outer}\n"), "score.yaml")
		res, err := jobs.Score(ctx, s, jobs.Options{Lake: url, RunID: "score-d3"}, url+"/"+fit.Prefix+"/models/early.json")
		if err != nil {
			t.Fatal(err)
		}
		if res.Report.Rows.Scored < 95 || res.Report.Rows.BySplit["unlabelled"] != res.Report.Rows.Scored {
			t.Errorf("rows %+v", res.Report.Rows)
		}
		if got := readScores(t, l, res.Prefix, "early"); len(got) != int(res.Report.Rows.Scored) {
			t.Errorf("%d score rows", len(got))
		}
	})

	t.Run("feature schema mismatch", func(t *testing.T) {
		bad := strings.Replace(datedSpec, `columns: "^x"`, `columns: "^x[0-3]"`, 1)
		s, _ := jobs.ParseSpec([]byte(bad+"filters: {date: d2}\n"), "bad.yaml")
		_, err := jobs.Score(ctx, s, jobs.Options{Lake: url, RunID: "bad"}, url+"/"+fit.Prefix)
		if !errors.Is(err, jobs.ErrInput) || !strings.Contains(err.Error(), `modality "f1"`) || !strings.Contains(err.Error(), "width 5") {
			t.Errorf("got %v", err)
		}
	})
}
