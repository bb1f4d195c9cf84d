package jobs_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/internal/keyhash"
	"github.com/lakefuse/lakefuse/jobs"
	"github.com/lakefuse/lakefuse/lake"
)

// fit.max_rows: the fits see exactly the training rows with the smallest key
// hashes, so a capped run fits the same models, bit for bit, as a run whose
// training split holds only those rows; the report says what was left out.
func TestFitMaxRowsIsAKeyHashSample(t *testing.T) {
	ctx := context.Background()
	url := "file://" + t.TempDir()
	l := openLake(t, url)
	data := synthetic{rows: 400, classes: 3, coverage: map[string]float64{"text": 1, "image": 0.8, "audio": 0.7}, seed: 3} // no entity rejected
	data.write(t, l, "ds")
	const limit = 120
	spec := syntheticSpec + "fit: {max_rows: 120}\nstrategies:\n  - {name: stacking, type: stacking}\n  - {name: weighted, type: late-weighted}\n"
	spec = strings.Replace(spec, "strategies:\n  - {name: late-mean, type: late-mean}\n  - {name: early, type: early}\n", "", 1)
	capped, err := jobs.ParseSpec([]byte(spec), "capped.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := jobs.Run(ctx, capped, jobs.Options{Lake: url, RunID: "capped"})
	if err != nil {
		t.Fatal(err)
	}
	if f := a.Report.Fit; f == nil || f.Rows != limit || f.Of != 300 || f.Source != "fit.max_rows" {
		t.Fatalf("report's fit sample %+v", a.Report.Fit)
	}
	if !slices.ContainsFunc(a.Report.Warnings, func(w string) bool { return strings.Contains(w, "120 of the 300 training rows") }) {
		t.Errorf("warnings %v", a.Report.Warnings)
	}
	page, err := l.ReadAll(ctx, a.Prefix+"/report.html")
	if err != nil || !strings.Contains(string(page), "Fitted on 120 of 300 training rows (fit.max_rows)") || !strings.Contains(string(page), "in-memory path, estimated") {
		t.Errorf("report.html does not state the sample and the memory path (%v)", err)
	}

	// The same lake with only the sampled rows left in the training split.
	var train []int64
	for i := 0; i < data.rows; i++ {
		if i%4 != 0 {
			train = append(train, int64(i*3))
		}
	}
	slices.SortFunc(train, func(x, y int64) int {
		hx, hy := keyhash.Int(x), keyhash.Int(y)
		switch {
		case hx < hy:
			return -1
		case hx > hy:
			return 1
		}
		return 0
	})
	sampled := map[int64]bool{}
	for _, k := range train[:limit] {
		sampled[k] = true
	}
	tab, err := l.ScanFile(ctx, lake.DataFile{Key: "ds/labels/part-0.parquet", Size: size(t, l, "ds/labels/part-0.parquet")},
		lake.ColumnRequest{Key: "entity_id", Label: "label", Split: "split"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	split := append([]string(nil), tab.Split...)
	for i, k := range tab.IntKeys {
		if split[i] == "train" && !sampled[k] {
			split[i] = "spare"
		}
	}
	writeTable(t, l, "ds2/labels/part-0.parquet", tab.Rows, []lake.OutColumn{
		{Name: "entity_id", Int64: tab.IntKeys}, {Name: "label", Int64: tab.IntLabels}, {Name: "split", String: split}})
	copyModalities(t, l, "ds", "ds2")
	sub := strings.Replace(spec, "fit: {max_rows: 120}\n", "", 1)
	sub = strings.Replace(sub, "dataset: ds\nsplit: {column: split}", "dataset: ds2\nsplit: {column: split, evaluate: [test, spare]}", 1)
	subSpec, err := jobs.ParseSpec([]byte(sub), "sub.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := jobs.Run(ctx, subSpec, jobs.Options{Lake: url, RunID: "sub"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Report.Fit != nil {
		t.Errorf("an uncapped run reports a sample: %+v", b.Report.Fit)
	}
	for _, name := range []string{"stacking", "weighted"} {
		var ma, mb jobs.ModelFile
		for prefix, dst := range map[string]*jobs.ModelFile{a.Prefix: &ma, b.Prefix: &mb} {
			raw, err := l.ReadAll(ctx, prefix+"/models/"+name+".json")
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, dst); err != nil {
				t.Fatal(err)
			}
		}
		if ma.Training.Rows != limit || ma.Training.Fingerprint != mb.Training.Fingerprint {
			t.Errorf("%s: trained on %+v and %+v", name, ma.Training, mb.Training)
		}
		pa, _ := json.Marshal(ma.Strategy)
		pb, _ := json.Marshal(mb.Strategy)
		ua, _ := json.Marshal(ma.Unimodal)
		ub, _ := json.Marshal(mb.Unimodal)
		if string(pa) != string(pb) || string(ua) != string(ub) {
			t.Errorf("%s: the capped run's models differ from the ones fitted on the sample alone", name)
		}
	}
}

func size(t *testing.T, l *lake.Lake, key string) int64 {
	t.Helper()
	objs, err := l.List(context.Background(), key)
	if err != nil || len(objs) != 1 {
		t.Fatalf("list %s: %v %v", key, objs, err)
	}
	return objs[0].Size
}

// A fit sample so small that a class has fewer training rows than folds: the
// out-of-fold predictions use fewer stratified folds, and the report says so.
func TestFewerFoldsForASmallClass(t *testing.T) {
	ctx := context.Background()
	url := "file://" + t.TempDir()
	l := openLake(t, url)
	data := synthetic{rows: 600, classes: 4, coverage: map[string]float64{"text": 1, "image": 1, "audio": 1}, seed: 11}
	data.write(t, l, "ds")
	writeEmbeddings(t, l, "ds/modality=emb/part-0.parquet", 0, 600, 5, 100)
	spec := syntheticSpec + "  - {name: stacking, type: stacking}\nfit: {max_rows: 12}\n"
	spec = strings.Replace(spec, "  - {name: audio, probs: probs}\n", "  - {name: audio, probs: probs}\n  - {name: emb, features: {column: emb}}\n", 1)
	s, err := jobs.ParseSpec([]byte(spec), "small.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := jobs.Run(ctx, s, jobs.Options{Lake: url, RunID: "small"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(res.Report.Warnings, func(w string) bool {
		return strings.Contains(w, `modality "emb": out-of-fold predictions`) && strings.Contains(w, "stratified folds instead of 5")
	}) {
		t.Errorf("no warning about fewer folds: %v", res.Report.Warnings)
	}
}
