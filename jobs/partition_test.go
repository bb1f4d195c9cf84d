package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/lakefuse/lakefuse/internal/testenv"
	"github.com/lakefuse/lakefuse/jobs"
	"github.com/lakefuse/lakefuse/lake"
)

// The partitioned path (spill to bucket files, then bucket groups one at a time)
// gives the answers of the run held whole: the report's figures bit for bit,
// the same models, and the same score and rejected rows as sets, for any number
// of bucket groups. The lake has what changes answers when rows are regrouped:
// duplicate keys averaged (mean), invalid values rejected, modalities missing
// for some entities, float64 and float32 vectors, files of many row groups, and
// learned strategies with out-of-fold fits, bootstrap intervals and ablations.
func TestPartitionedRunsGiveTheSameAnswers(t *testing.T) {
	url := "file://" + t.TempDir()
	l := openLake(t, url)
	data := synthetic{rows: 600, classes: 4, coverage: map[string]float64{"text": 0.9, "image": 0.8, "audio": 0.7}, seed: 11}
	data.write(t, l, "ds")
	writeInvalid(t, l) // text: a float64 file with NaN, negative, short and unnormalised rows
	writeEmbeddings(t, l, "ds/modality=emb/part-0.parquet", 0, 600, 5, 37)
	writeEmbeddings(t, l, "ds/modality=emb/part-1.parquet", 500, 700, 5, 41) // 100 keys again: averaged

	spec := syntheticSpec + `  - {name: stacking, type: stacking}
  - {name: weighted, type: late-weighted}
  - {name: evidential, type: evidential}
  - {name: hybrid, type: hybrid, groups: [[text, emb]]}
evaluation: {bootstrap: 40}
align: {duplicates: mean}
`
	spec = strings.Replace(spec, "  - {name: audio, probs: probs}\n", "  - {name: audio, probs: probs}\n  - {name: emb, features: {column: emb}}\n", 1)
	// Also with a fit sample small enough that pass 1 reads back only the keys
	// that can still enter it, and without bootstrap replicates (the run held
	// whole then evaluates before it chooses the baseline).
	// Into 17 groups the spill also writes the sample file (about a 17th of the
	// keys): with 20 rows to fit, the sample is drawn from it alone; with 50,
	// or all of them, the file holds too few and pass 1 reads every group.
	for _, c := range []struct {
		sample     string
		fromSample bool
	}{{"", false}, {"fit: {max_rows: 50}\n", false}, {"fit: {max_rows: 20}\n", true}} {
		t.Run(fmt.Sprintf("sample=%q", c.sample), func(t *testing.T) {
			checkParity(t, l, url, spec+c.sample, strings.Map(digitsOnly, c.sample), c.sample != "", c.fromSample)
		})
	}
	t.Run("bootstrap=0", func(t *testing.T) {
		checkParity(t, l, url, strings.Replace(spec, "evaluation: {bootstrap: 40}", "evaluation: {bootstrap: 0}", 1), "nobootstrap", false, false)
	})
}

func digitsOnly(r rune) rune {
	if r >= '0' && r <= '9' {
		return r
	}
	return -1
}

// checkParity runs spec held whole and in 1, 3 and 17 bucket groups, and
// compares their answers; fromSample says whether the 17 groups' fit sample
// comes from the spill's sample file alone (pass 1 reads one file a source,
// not 17).
func checkParity(t *testing.T, l *lake.Lake, url, spec, tag string, sampled, fromSample bool) {
	ctx := context.Background()
	s, err := jobs.ParseSpec([]byte(spec), "parity.yaml")
	if err != nil {
		t.Fatal(err)
	}
	whole, err := jobs.Run(ctx, s, jobs.Options{Lake: url, RunID: "whole-" + tag})
	if err != nil {
		t.Fatal(err)
	}
	if whole.Report.Memory.Path != "in-memory" || whole.Report.Rows.Rejected["no modality present"] == 0 && len(whole.Report.Modalities[0].Invalid) == 0 {
		t.Fatalf("the fixture does not exercise what it should: %+v", whole.Report.Rows)
	}
	if whole.Report.Modalities[3].Duplicates != 100 {
		t.Fatalf("emb duplicates %d, want 100", whole.Report.Modalities[3].Duplicates)
	}
	if (whole.Report.Fit != nil) != sampled {
		t.Fatalf("fit sample %+v", whole.Report.Fit)
	}
	want := runAnswers(t, l, whole, "entity_id")
	if want["rejected"] == "" || want["models"] == "" {
		t.Fatal("no rejected rows or no models: the fixture does not exercise them")
	}
	for _, partition := range []string{jobs.PartitionBucket, jobs.PartitionRange} {
		for _, groups := range []int{1, 3, 17} {
			spillDir := t.TempDir()
			var gathered atomic.Int64 // the groups pass 1 read, as its progress counts them
			res, err := jobs.Run(ctx, s, jobs.Options{Lake: url, RunID: fmt.Sprintf("groups-%d-%s-%s", groups, partition, tag), Groups: groups, SpillDir: spillDir,
				Partition: partition,
				Progress: func(stage string, _, total int64) {
					if stage == "gather" {
						gathered.Store(total)
					}
				}})
			if err != nil {
				t.Fatalf("%s, %d groups: %v", partition, groups, err)
			}
			m := res.Report.Memory
			// Key ranges are cut where the footers put equal shares of rows:
			// as many as asked for, or fewer where row groups are few.
			if partition == jobs.PartitionRange {
				if m.Path != "partitioned" || m.Groups < 1 || m.Groups > groups || m.SpilledBytes != 0 || m.Layout != "key ranges" {
					t.Errorf("%s, %d groups: memory report %+v", partition, groups, m)
				}
			} else if m.Path != "partitioned" || m.Groups != groups || m.SpilledBytes <= 0 || m.Layout != "bucket files" {
				t.Errorf("%s, %d groups: memory report %+v", partition, groups, m)
			}
			// Only the bucket files have a sample file.
			sampleFile := fromSample && groups == 17 && partition == jobs.PartitionBucket
			if want := map[bool]int64{true: 1, false: int64(m.Groups)}[sampleFile]; gathered.Load() != want {
				t.Errorf("%s, %d groups: pass 1 read %d groups, want %d", partition, groups, gathered.Load(), want)
			}
			if left, _ := os.ReadDir(spillDir); len(left) != 0 {
				t.Errorf("%s, %d groups: the run left %v in the spill directory", partition, groups, left)
			}
			got := runAnswers(t, l, res, "entity_id")
			for _, part := range []string{"report", "models", "scores", "rejected"} {
				if got[part] != want[part] {
					t.Errorf("%s, %d groups: %s differ from the run held whole:\n%s", partition, groups, part, firstDifference(got[part], want[part]))
					if dir := os.Getenv("PARITY_DUMP"); dir != "" {
						os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s-%d.txt", part, partition, groups)), []byte(got[part]), 0o644)
						os.WriteFile(filepath.Join(dir, part+"-whole.txt"), []byte(want[part]), 0o644)
					}
				}
			}
		}
	}
}

// writeEmbeddings writes a list<float> feature column for keys 3·[from, to) in
// row groups of groupRows rows, null for every 37th key: features that carry the label (3·i's label is
// not known here, so the signal is the key's residue, which the labels'
// generator does not use: the features are noise the fits must cope with).
func writeEmbeddings(t *testing.T, l *lake.Lake, key string, from, to, width, groupRows int) {
	t.Helper()
	type row struct {
		EntityID int64     `parquet:"entity_id"`
		Emb      []float32 `parquet:"emb,list,optional"`
	}
	rng := rand.New(rand.NewPCG(uint64(from), uint64(to)))
	var rows []row
	for i := from; i < to; i++ {
		v := make([]float32, width)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		if i%37 == 5 {
			v = nil // a null vector: the modality is absent for that entity
		}
		rows = append(rows, row{EntityID: int64(i * 3), Emb: v})
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows, parquet.MaxRowsPerRowGroup(int64(groupRows))); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteAll(context.Background(), key, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// runAnswers renders what a run answered, with everything that may differ
// between paths (timings, sizes, paths, run ids) left out and rows sorted:
// report, models, scores and rejected rows.
func runAnswers(t *testing.T, l *lake.Lake, res *jobs.Result, key string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	raw, err := l.ReadAll(ctx, res.Prefix+"/report.json")
	if err != nil {
		t.Fatal(err)
	}
	out["report"] = testenv.ComparableReport(t, raw)

	files := committedFiles(t, l, res.Prefix)
	var paths []string
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var models, scores, rejected []string
	for _, p := range paths {
		switch {
		case strings.HasPrefix(p, "models/"):
			raw, err := l.ReadAll(ctx, res.Prefix+"/"+p)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			delete(m["training"].(map[string]any), "run_id")
			b, _ := json.Marshal(m)
			models = append(models, p+" "+string(b))
		case strings.HasPrefix(p, "scores/"):
			strategy := strings.Split(p, "/")[1]
			tab, err := l.ScanFile(ctx, lake.DataFile{Key: res.Prefix + "/" + p, Size: files[p].Size},
				lake.ColumnRequest{Key: key, Label: "pred", Split: "split", Vector: "probs"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < tab.Rows; i++ {
				bits := make([]string, tab.Width)
				for j, v := range tab.Values[i*tab.Width : (i+1)*tab.Width] {
					bits[j] = fmt.Sprintf("%x", math.Float64bits(v))
				}
				scores = append(scores, fmt.Sprintf("%s %s %s %s %s", strategy, cell(tab.IntKeys, tab.StrKeys, i), cell(tab.IntLabels, tab.StrLabels, i), tab.Split[i], strings.Join(bits, ",")))
			}
		case strings.HasPrefix(p, "rejected/"):
			tab, err := l.ScanFile(ctx, lake.DataFile{Key: res.Prefix + "/" + p, Size: files[p].Size},
				lake.ColumnRequest{Key: key, Label: "reason"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < tab.Rows; i++ {
				rejected = append(rejected, fmt.Sprintf("%s %s", cell(tab.IntKeys, tab.StrKeys, i), tab.StrLabels[i]))
			}
		}
	}
	for _, rows := range [][]string{scores, rejected} {
		slices.Sort(rows)
	}
	out["models"] = strings.Join(models, "\n")
	out["scores"] = strings.Join(scores, "\n")
	out["rejected"] = strings.Join(rejected, "\n")
	if len(scores) == 0 {
		t.Fatalf("run %s: no score rows", res.RunID)
	}
	return out
}

// cell renders row i of whichever of two columns is set.
func cell(ints []int64, strs []string, i int) string {
	if ints != nil {
		return fmt.Sprint(ints[i])
	}
	return strs[i]
}

// The same with string keys and labels (some null), binary score columns,
// numeric scalar feature columns, an outer join (unlabelled rows), duplicates
// resolved by keeping the first, and no split column.
func TestPartitionedStringKeysScoresAndScalars(t *testing.T) {
	ctx := context.Background()
	url := "file://" + t.TempDir()
	l := openLake(t, url)
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 300
	keys := make([]string, n)
	labels := make([]string, n)
	valid := make([]bool, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%03d", i)
		labels[i], valid[i] = []string{"no", "yes"}[rng.IntN(2)], i%29 != 0
	}
	writeTable(t, l, "bin/labels/part-0.parquet", n-20, []lake.OutColumn{{Name: "id", String: keys[:n-20]}, {Name: "y", String: labels[:n-20], Valid: valid[:n-20]}})
	score := func(from, to int) []lake.OutColumn {
		var ids []string
		var s []float64
		for i := from; i < to; i++ {
			p := 0.3 + 0.4*rng.Float64()
			if labels[i] == "yes" {
				p += 0.15
			}
			ids, s = append(ids, keys[i]), append(s, p)
		}
		return []lake.OutColumn{{Name: "id", String: ids}, {Name: "s", Float64: s}}
	}
	writeTable(t, l, "bin/modality=m1/part-0.parquet", 200, score(0, 200))
	writeTable(t, l, "bin/modality=m1/part-1.parquet", 120, score(180, 300)) // 20 keys twice: the first is kept
	var ids []string
	cols := make([][]float64, 3)
	for i := 50; i < n; i++ {
		ids = append(ids, keys[i])
		for j := range cols {
			v := rng.NormFloat64()
			if labels[i] == "yes" && j == 0 {
				v += 1
			}
			cols[j] = append(cols[j], v)
		}
	}
	writeTable(t, l, "bin/modality=m2/part-0.parquet", len(ids), []lake.OutColumn{{Name: "id", String: ids},
		{Name: "f0", Float64: cols[0]}, {Name: "f1", Float64: cols[1]}, {Name: "f2", Float64: cols[2]}})
	s, err := jobs.ParseSpec([]byte(`
name: bin
dataset: bin
key: id
label: {column: y}
align: {join: outer, duplicates: first}
modalities:
  - {name: m1, score: s}
  - {name: m2, features: {columns: "^f"}}
strategies:
  - {name: late, type: late-mean}
  - {name: early, type: early}
  - {name: stacking, type: stacking}
evaluation: {bootstrap: 30}
`), "bin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	whole, err := jobs.Run(ctx, s, jobs.Options{Lake: url, RunID: "whole"})
	if err != nil {
		t.Fatal(err)
	}
	if r := whole.Report.Rows; r.BySplit["unlabelled"] == 0 || whole.Report.Modalities[0].Duplicates != 20 {
		t.Fatalf("the fixture does not exercise what it should: %+v %+v", r, whole.Report.Modalities[0])
	}
	want := runAnswers(t, l, whole, "id")
	for _, partition := range []string{jobs.PartitionBucket, jobs.PartitionRange} {
		for _, groups := range []int{2, 7} {
			res, err := jobs.Run(ctx, s, jobs.Options{Lake: url, RunID: fmt.Sprintf("groups-%d-%s", groups, partition), Groups: groups, SpillDir: t.TempDir(), Partition: partition})
			if err != nil {
				t.Fatalf("%s, %d groups: %v", partition, groups, err)
			}
			got := runAnswers(t, l, res, "id")
			for _, part := range []string{"report", "models", "scores", "rejected"} {
				if got[part] != want[part] {
					t.Errorf("%s, %d groups: %s differ from the run held whole:\n%s", partition, groups, part, firstDifference(got[part], want[part]))
				}
			}
		}
	}
}

// firstDifference shows the first line at which two renderings differ.
func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < min(len(g), len(w)); i++ {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got  %s\n want %s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(g), len(w))
}

// A stratified holdout drawn over every bucket group puts the same rows in the
// test split as one drawn over the run held whole (per class, the
// round(fraction × size) smallest draws), so the answers are the same.
func TestPartitionedHoldout(t *testing.T) {
	ctx := context.Background()
	url := "file://" + t.TempDir()
	l := openLake(t, url)
	synthetic{rows: 1500, classes: 5, coverage: map[string]float64{"text": 0.95, "image": 0.9, "audio": 0.8}, seed: 21}.write(t, l, "ds")
	s, err := jobs.ParseSpec([]byte(`
name: holdout
dataset: ds
split: {holdout: {test_fraction: 0.3, seed: 4}}
modalities:
  - {name: text, probs: probs}
  - {name: image, probs: probs}
  - {name: audio, probs: probs}
strategies:
  - {name: mean, type: late-mean}
  - {name: stacking, type: stacking}
evaluation: {bootstrap: 20}
`), "holdout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	whole, err := jobs.Run(ctx, s, jobs.Options{Lake: url, RunID: "whole"})
	if err != nil {
		t.Fatal(err)
	}
	if got := whole.Report.Rows.BySplit; got["test"] < 440 || got["test"] > 460 {
		t.Fatalf("split sizes %v, want about 450 test rows", got)
	}
	want := runAnswers(t, l, whole, "entity_id")
	for _, partition := range []string{jobs.PartitionBucket, jobs.PartitionRange} {
		for _, groups := range []int{4, 11} {
			var holdoutDone int64 // the holdout pass runs on the calling goroutine
			res, err := jobs.Run(ctx, s, jobs.Options{Lake: url, RunID: fmt.Sprintf("groups-%d-%s", groups, partition), Groups: groups, SpillDir: t.TempDir(), Partition: partition,
				Progress: func(stage string, done, total int64) {
					if stage == "holdout" && done == total {
						holdoutDone = done
					}
				}})
			if err != nil {
				t.Fatalf("%s, %d groups: %v", partition, groups, err)
			}
			if got := holdoutDone; got != int64(res.Report.Memory.Groups) || res.Report.Memory.Groups < 2 {
				t.Errorf("%s, %d groups: holdout progress ended at %d of %d groups", partition, groups, got, res.Report.Memory.Groups)
			}
			if _, ok := res.Report.Seconds["holdout"]; !ok {
				t.Errorf("%s, %d groups: no holdout pass (stages %v)", partition, groups, res.Report.Seconds)
			}
			got := runAnswers(t, l, res, "entity_id")
			for _, part := range []string{"report", "models", "scores"} {
				if got[part] != want[part] {
					t.Errorf("%s, %d groups: %s differ from the run held whole:\n%s", partition, groups, part, firstDifference(got[part], want[part]))
				}
			}
		}
	}
}

// Scoring with saved models on the partitioned path: the same report (the best
// baseline chosen as eval chooses it for a run held whole) and score rows.
func TestPartitionedScore(t *testing.T) {
	ctx := context.Background()
	url := "file://" + t.TempDir()
	l := openLake(t, url)
	synthetic{rows: 500, classes: 3, coverage: map[string]float64{"text": 0.9, "image": 0.85, "audio": 0.7}, seed: 31}.write(t, l, "ds")
	synthetic{rows: 700, classes: 3, coverage: map[string]float64{"text": 0.8, "image": 0.9, "audio": 0.75}, seed: 32}.write(t, l, "new")
	fitSpec, err := jobs.ParseSpec([]byte(syntheticSpec+"  - {name: stacking, type: stacking}\n"), "fit.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fit, err := jobs.Run(ctx, fitSpec, jobs.Options{Lake: url, RunID: "fit"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := jobs.ParseSpec([]byte(strings.Replace(syntheticSpec, "dataset: ds", "dataset: new", 1)+"evaluation: {bootstrap: 25}\n"), "score.yaml")
	if err != nil {
		t.Fatal(err)
	}
	whole, err := jobs.Score(ctx, s, jobs.Options{Lake: url, RunID: "whole"}, url+"/"+fit.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	if whole.Report.BestBaseline == "" || whole.Report.ChosenOn != "train" {
		t.Fatalf("best baseline %q chosen on %q", whole.Report.BestBaseline, whole.Report.ChosenOn)
	}
	want := runAnswers(t, l, whole, "entity_id")
	for _, partition := range []string{jobs.PartitionBucket, jobs.PartitionRange} {
		for _, groups := range []int{3, 8} {
			res, err := jobs.Score(ctx, s, jobs.Options{Lake: url, RunID: fmt.Sprintf("groups-%d-%s", groups, partition), Groups: groups, SpillDir: t.TempDir(), Partition: partition}, url+"/"+fit.Prefix)
			if err != nil {
				t.Fatalf("%s, %d groups: %v", partition, groups, err)
			}
			if res.Report.Memory.Path != "partitioned" {
				t.Fatalf("%s, %d groups: path %q", partition, groups, res.Report.Memory.Path)
			}
			got := runAnswers(t, l, res, "entity_id")
			for _, part := range []string{"report", "scores"} {
				if got[part] != want[part] {
					t.Errorf("%s, %d groups: %s differ from the run held whole:\n%s", partition, groups, part, firstDifference(got[part], want[part]))
				}
			}
		}
	}
}

// Under invalid: error, a bad row read back from a bucket file fails the run with
// an input error naming the modality and either the file and row (a list of the
// wrong length, as the lake's reader says it) or the entity (a bad value, as the
// load stage says it), whichever bucket group meets its bad row first.
func TestPartitionedInvalidIsAnError(t *testing.T) {
	url := "file://" + t.TempDir()
	l := openLake(t, url)
	synthetic{rows: 300, classes: 4, coverage: map[string]float64{"text": 0.9, "image": 0.8, "audio": 0.7}, seed: 4}.write(t, l, "ds")
	writeInvalid(t, l)
	strict, err := jobs.ParseSpec([]byte(strings.Replace(syntheticSpec, "{name: text, probs: probs}", "{name: text, probs: probs, invalid: error}", 1)+"align: {duplicates: last}\n"), "spec")
	if err != nil {
		t.Fatal(err)
	}
	spillDir := t.TempDir()
	_, err = jobs.Run(context.Background(), strict, jobs.Options{Lake: url, RunID: "strict", Groups: 3, SpillDir: spillDir})
	if !errors.Is(err, jobs.ErrInput) || !strings.Contains(err.Error(), `"text"`) ||
		!strings.Contains(err.Error(), "part-2.parquet: column \"probs\"") && !strings.Contains(err.Error(), "entity ") {
		t.Fatalf("under invalid: error: got %v", err)
	}
	if left, _ := os.ReadDir(spillDir); len(left) != 0 {
		t.Errorf("a failed run left %v in the spill directory", left)
	}
}

// An interrupted partitioned run commits nothing, leaves no bucket file behind,
// and the rerun commits the files an uninterrupted one does, byte for byte.
func TestInterruptedPartitionedRun(t *testing.T) {
	spec, err := jobs.ParseSpec([]byte(syntheticSpec+"  - {name: stacking, type: stacking}\n"), "synthetic")
	if err != nil {
		t.Fatal(err)
	}
	data := synthetic{rows: 2000, classes: 4, coverage: map[string]float64{"text": 0.9, "image": 0.8, "audio": 0.7}, seed: 1}
	refURL := "file://" + t.TempDir()
	data.write(t, openLake(t, refURL), "ds")
	var mu sync.Mutex
	last := map[string][2]int64{}
	ref, err := jobs.Run(context.Background(), spec, jobs.Options{Lake: refURL, RunID: "r", Groups: 5, SpillDir: t.TempDir(),
		Progress: func(stage string, done, total int64) {
			mu.Lock()
			defer mu.Unlock()
			if done > last[stage][0] {
				last[stage] = [2]int64{done, total}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	// Every stage of the partitioned path reports its progress to the end: rows
	// spilled (the labels' 2,000 and the modalities'), then groups.
	for stage, least := range map[string]int64{"spill": 2000, "gather": 5, "groups": 5} {
		if got := last[stage]; got[0] != got[1] || got[1] < least || (stage != "spill" && got[1] != least) {
			t.Errorf("stage %s: progress ended at %d of %d", stage, got[0], got[1])
		}
	}
	want := committedFiles(t, openLake(t, refURL), ref.Prefix)
	for _, stage := range []string{"spill", "gather", "groups"} {
		t.Run(stage, func(t *testing.T) {
			url := "file://" + t.TempDir()
			data.write(t, openLake(t, url), "ds")
			spillDir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := jobs.Run(ctx, spec, jobs.Options{Lake: url, RunID: "r", Groups: 5, SpillDir: spillDir, Progress: func(s string, done, total int64) {
				if s == stage && done >= 1 {
					cancel()
				}
			}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
			if left, _ := os.ReadDir(spillDir); len(left) != 0 {
				t.Errorf("the interrupted run left %v in the spill directory", left)
			}
			l := openLake(t, url)
			if ok, _ := l.Exists(context.Background(), ref.Prefix+"/_SUCCESS"); ok {
				t.Fatal("an interrupted run left _SUCCESS")
			}
			again, err := jobs.Run(context.Background(), spec, jobs.Options{Lake: url, RunID: "r", Groups: 5, SpillDir: spillDir})
			if err != nil {
				t.Fatalf("rerun: %v", err)
			}
			got := committedFiles(t, l, again.Prefix)
			if len(got) != len(want) {
				t.Errorf("%d files committed, want %d", len(got), len(want))
			}
			for path, w := range want {
				if path != "report.json" && path != "report.html" && got[path].SHA256 != w.SHA256 {
					t.Errorf("%s differs from the uninterrupted run", path)
				}
			}
		})
	}
}

// Scoring data whose labels are strings with models fitted on integer labels is
// an input error on both paths, with the same words.
func TestPartitionedScoreLabelType(t *testing.T) {
	ctx := context.Background()
	url := "file://" + t.TempDir()
	l := openLake(t, url)
	synthetic{rows: 200, classes: 3, coverage: map[string]float64{"text": 0.9, "image": 0.85, "audio": 0.7}, seed: 41}.write(t, l, "ds")
	fitSpec, err := jobs.ParseSpec([]byte(syntheticSpec), "fit.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fit, err := jobs.Run(ctx, fitSpec, jobs.Options{Lake: url, RunID: "fit"})
	if err != nil {
		t.Fatal(err)
	}
	// The same modalities; labels as the strings "0", "1", "2".
	tab, err := l.ScanFile(ctx, lake.DataFile{Key: "ds/labels/part-0.parquet", Size: size(t, l, "ds/labels/part-0.parquet")},
		lake.ColumnRequest{Key: "entity_id", Label: "label", Split: "split"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, tab.Rows)
	for i, v := range tab.IntLabels {
		names[i] = fmt.Sprint(v)
	}
	writeTable(t, l, "str/labels/part-0.parquet", tab.Rows, []lake.OutColumn{
		{Name: "entity_id", Int64: tab.IntKeys}, {Name: "label", String: names}, {Name: "split", String: tab.Split}})
	copyModalities(t, l, "ds", "str")
	s, err := jobs.ParseSpec([]byte(strings.Replace(syntheticSpec, "dataset: ds", "dataset: str", 1)), "score.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, groups := range []int{0, 3} {
		_, err := jobs.Score(ctx, s, jobs.Options{Lake: url, RunID: fmt.Sprint("score-", groups), Groups: groups, SpillDir: t.TempDir()}, url+"/"+fit.Prefix)
		if !errors.Is(err, jobs.ErrInput) || !strings.Contains(err.Error(), "holds string labels, the model's are integer") {
			t.Errorf("%d groups: %v", groups, err)
		}
	}
}

// A lake read in key ranges whose models learn nothing but the class prior
// (probabilities, fixed late rules) is read once: its keys give the fit sample
// the models are made from, and the one full pass predicts with them and
// gathers the true sample. Without null vectors the keys' sample is the true
// one and the pass stands; with null vectors among the sample's rows (entities
// whose only modality is null, rejected) the class prior differs and the groups
// are read again. A fit sample small against the lake is looked for below a
// guessed bound, and the keys are read again when it reaches past it (few
// training rows). Every case gives the answers of the run held whole, and of
// the bucket files.
func TestOnePassOverKeyRanges(t *testing.T) {
	for _, c := range []struct {
		nulls      bool
		sample     string
		trainEvery int // every trainEvery-th entity is a training row, the rest test rows
		keyPasses  int64
		learned    bool // a strategy that learns from the values: no one pass
	}{
		{false, "", 1, 1, false},
		{true, "", 1, 1, false},
		{false, "fit: {max_rows: 20}\n", 1, 1, false},
		{false, "fit: {max_rows: 20}\n", 10, 2, false},
		// Learned weights: the sample is gathered with its values, first
		// below the guessed bound, and past it read again.
		{true, "fit: {max_rows: 20}\n", 1, 1, true},
		{false, "fit: {max_rows: 20}\n", 10, 2, true},
	} {
		t.Run(fmt.Sprintf("nulls=%v,sample=%q,train=1/%d,learned=%v", c.nulls, c.sample, c.trainEvery, c.learned), func(t *testing.T) {
			ctx := context.Background()
			url := "file://" + t.TempDir()
			l := openLake(t, url)
			rng := rand.New(rand.NewPCG(8, 9))
			const n, k = 300, 4
			keys, labels, split := make([]int64, n), make([]int64, n), make([]string, n)
			for i := range keys {
				keys[i], labels[i], split[i] = int64(i*2), int64(rng.IntN(k)), "test"
				if (c.trainEvery == 1 && i%3 != 0) || (c.trainEvery > 1 && i%c.trainEvery == 0) {
					split[i] = "train"
				}
			}
			writeTable(t, l, "ds/labels/part-0.parquet", n, []lake.OutColumn{{Name: "entity_id", Int64: keys}, {Name: "label", Int64: labels}, {Name: "split", String: split}})
			probs := func(to int, null func(i int) bool) []lake.OutColumn {
				vals := make([]float64, 0, to*k)
				valid := make([]bool, to)
				for i := 0; i < to; i++ {
					row := make([]float64, k)
					sum := 0.0
					for c := range row {
						row[c] = rng.Float64()
						if int64(c) == labels[i] {
							row[c] += 0.8
						}
						sum += row[c]
					}
					for c := range row {
						row[c] /= sum
					}
					vals = append(vals, row...)
					valid[i] = null == nil || !null(i)
				}
				return []lake.OutColumn{{Name: "entity_id", Int64: keys[:to]}, {Name: "probs", List64: vals, Width: k, Valid: valid, Optional: true}}
			}
			// Entities 200.. have modality a only; with nulls, a few training
			// ones have a null there and are rejected.
			writeTable(t, l, "ds/modality=a/part-0.parquet", n, probs(n, func(i int) bool { return c.nulls && i >= 200 && i%7 == 1 }))
			writeTable(t, l, "ds/modality=b/part-0.parquet", 200, probs(200, nil))
			s, err := jobs.ParseSpec([]byte(`
name: onepass
dataset: ds
split: {column: split}
modalities:
  - {name: a, probs: probs}
  - {name: b, probs: probs}
strategies:
  - {name: mean, type: late-mean}
  - {name: max, type: late-max}
  - {name: vote, type: vote}
`+map[bool]string{true: "  - {name: weighted, type: late-weighted}\n"}[c.learned]+`evaluation: {bootstrap: 30}
`+c.sample), "onepass.yaml")
			if err != nil {
				t.Fatal(err)
			}
			whole, err := jobs.Run(ctx, s, jobs.Options{Lake: url, RunID: "whole"})
			if err != nil {
				t.Fatal(err)
			}
			if got := whole.Report.Rows.Rejected["no modality present"]; (got > 0) != c.nulls {
				t.Fatalf("the fixture does not exercise what it should: %d rows rejected", got)
			}
			want := runAnswers(t, l, whole, "entity_id")
			for _, partition := range []string{jobs.PartitionBucket, jobs.PartitionRange} {
				for _, groups := range []int{3, 7} {
					var passes, gathers atomic.Int64 // passes over the groups that predict, and that gather
					res, err := jobs.Run(ctx, s, jobs.Options{Lake: url, RunID: fmt.Sprintf("groups-%d-%s", groups, partition), Groups: groups, SpillDir: t.TempDir(), Partition: partition,
						Progress: func(stage string, done, _ int64) {
							if stage == "groups" && done == 1 {
								passes.Add(1)
							}
							if stage == "gather" && done == 1 {
								gathers.Add(1)
							}
						}})
					if err != nil {
						t.Fatalf("%s, %d groups: %v", partition, groups, err)
					}
					_, keysFirst := res.Report.Seconds["gather_keys"]
					range_ := partition == jobs.PartitionRange
					wantPasses := map[bool]int64{false: 1, true: 2}[c.nulls && range_ && !c.learned]
					wantGathers := map[bool]int64{false: 1, true: c.keyPasses}[range_]
					if keysFirst != (range_ && !c.learned) || passes.Load() != wantPasses || gathers.Load() != wantGathers {
						t.Errorf("%s, %d groups: keys read first %v, %d passes over the groups (want %d), %d over the keys or for the sample (want %d)",
							partition, groups, keysFirst, passes.Load(), wantPasses, gathers.Load(), wantGathers)
					}
					got := runAnswers(t, l, res, "entity_id")
					for _, part := range []string{"report", "models", "scores", "rejected"} {
						if got[part] != want[part] {
							t.Errorf("%s, %d groups: %s differ from the run held whole:\n%s", partition, groups, part, firstDifference(got[part], want[part]))
						}
					}
				}
			}
		})
	}
}
