package synth_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/jobs"
	"github.com/lakefuse/lakefuse/lake"
	"github.com/lakefuse/lakefuse/synth"
)

const scenario = `
name: t
seed: 11
entities: 30000
classes: 3
splits: {train: 0.5, test: 0.5}
latent: 6
modalities:
  - {name: a, kind: probs, separation: 1.6, missing: 0.25, duplicates: 0.02, invalid: 0.01}
  - {name: b, kind: probs, separation: 1.2}
  - {name: zero, kind: probs, separation: 0}
  - {name: e, kind: embedding, dim: 16, separation: 1.8, correlation: 0.4}
`

const job = `
name: t
dataset: t
label: {column: label, from: labels}
split: {column: split, train: [train]}
align: {join: left, duplicates: first}
modalities:
  - {name: a, probs: probs}
  - {name: b, probs: probs}
  - {name: zero, probs: probs}
  - {name: e, features: {column: embedding}}
strategies:
  - {name: product-ab, type: late-product, modalities: [a, b]}
  - {name: weighted, type: late-weighted}
evaluation: {bootstrap: 400, ablation: false, out_of_fold: false}
`

func write(t *testing.T, yaml string, mutate func(*synth.Scenario)) (string, *synth.File) {
	t.Helper()
	sc, err := synth.Parse([]byte(yaml), "test")
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(sc)
	}
	dir := t.TempDir()
	l, err := lake.Open(context.Background(), "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f, err := synth.Write(context.Background(), l, sc, 3)
	if err != nil {
		t.Fatal(err)
	}
	return dir, f
}

// The generator against its own truth, through a real run: the written counts
// come back in the report's reconciliation; a probs modality is its own Bayes
// posterior, so its accuracy where present estimates its Bayes rate, and the
// product of two conditionally independent calibrated modalities (uniform
// priors, no missingness in b: the Bayes rule for a and b) estimates theirs —
// both inside the run's 95 % bootstrap interval (with these seeds; a 5 %
// chance each for another); a modality with no information gets no weight.
func TestGeneratorAgainstItsTruth(t *testing.T) {
	dir, f := write(t, scenario, nil)
	res := runJob(t, dir, job)
	rep := res.Report
	if rep.Rows.Aligned != f.Written.Entities {
		t.Errorf("aligned %d entities, wrote %d", rep.Rows.Aligned, f.Written.Entities)
	}
	for i, m := range rep.Modalities {
		w := f.Written.Modalities[i]
		invalid := int64(0)
		for _, n := range m.Invalid {
			invalid += n
		}
		if m.RowsRead != w.Rows || m.Duplicates != w.Duplicates || m.Matched != f.Written.Entities-w.Missing || invalid != w.Invalid {
			t.Errorf("%s: read %d, duplicates %d, matched %d, invalid %d; wrote %d rows, %d duplicates, %d missing, %d invalid",
				m.Name, m.RowsRead, m.Duplicates, m.Matched, invalid, w.Rows, w.Duplicates, w.Missing, w.Invalid)
		}
	}
	a := f.Written.Modalities[0]
	if a.Missing == 0 || a.Duplicates == 0 || a.Invalid == 0 {
		t.Fatalf("modality a: %+v; the scenario asks for missing rows, duplicates and invalid values", a)
	}
	if r := float64(a.Missing) / float64(f.Written.Entities); math.Abs(r-0.25) > 0.01 {
		t.Errorf("modality a misses %.4f of the entities, the scenario says 0.25", r)
	}
	byName := map[string]int{}
	for i, s := range rep.Strategies {
		byName[s.Name] = i
	}
	test := func(name string) (float64, float64, float64) {
		sp := rep.Strategies[byName[name]].Splits["test"]
		iv := sp.Intervals["accuracy"]
		return sp.Metrics["accuracy"], iv.Low, iv.High
	}
	// b: never missing, so its accuracy over every test row is its Bayes rate's estimate.
	truthB := f.Truth.Modalities[1]
	if acc, lo, hi := test("unimodal.b"); truthB.Accuracy < lo || truthB.Accuracy > hi {
		t.Errorf("unimodal.b: test accuracy %.4f [%.4f, %.4f], Bayes %.4f ± %.4f", acc, lo, hi, truthB.Accuracy, truthB.StdErr)
	}
	if zero := f.Truth.Modalities[2]; math.Abs(zero.Accuracy-f.Truth.MaxPrior) > 4*zero.StdErr {
		t.Errorf("a modality without information: Bayes %.4f, the most frequent class %.4f", zero.Accuracy, f.Truth.MaxPrior)
	}
	// The Bayes rule for {a, b} with a missing at random is the product of the
	// present ones' posteriors over the prior: late-product with uniform priors.
	// The truth for it is computed from a scenario without e and zero.
	_, f2 := write(t, scenario, func(sc *synth.Scenario) {
		sc.Modalities = sc.Modalities[:2]
		sc.Entities = 1
	})
	accB, loB, hiB := test("unimodal.b")
	accP, loP, hiP := test("product-ab")
	t.Logf("unimodal.b %.4f [%.4f, %.4f], Bayes %.4f; late-product(a, b) %.4f [%.4f, %.4f], Bayes %.4f", accB, loB, hiB, truthB.Accuracy, accP, loP, hiP, f2.Truth.FusedMissing.Accuracy)
	if acc, lo, hi := test("product-ab"); f2.Truth.FusedMissing.Accuracy < lo || f2.Truth.FusedMissing.Accuracy > hi {
		t.Errorf("late-product of a and b: %.4f [%.4f, %.4f], their fused Bayes rate %.4f ± %.4f", acc, lo, hi, f2.Truth.FusedMissing.Accuracy, f2.Truth.FusedMissing.StdErr)
	}
	// The fused Bayes rate bounds what any strategy can do (up to sampling error).
	if acc, _, _ := test("weighted"); acc > f.Truth.FusedMissing.Accuracy+4*f.Truth.FusedMissing.StdErr+0.01 {
		t.Errorf("late-weighted %.4f beats the Bayes rate %.4f", acc, f.Truth.FusedMissing.Accuracy)
	}
	body, err := os.ReadFile(filepath.Join(dir, "runs", "r", "models", "weighted.json"))
	if err != nil {
		t.Fatal(err)
	}
	var model struct {
		Strategy struct {
			Params struct {
				Blocks  []string  `json:"blocks"`
				Weights []float64 `json:"weights"`
			} `json:"params"`
		} `json:"strategy"`
	}
	if err := json.Unmarshal(body, &model); err != nil {
		t.Fatal(err)
	}
	p := model.Strategy.Params
	for i, b := range p.Blocks {
		if b == "zero" && p.Weights[i] > 0.01 {
			t.Errorf("late-weighted gives the uninformative modality weight %v (%v)", p.Weights[i], p.Weights)
		}
	}
}

// The data depend on the scenario only: another worker count, or files of
// another size, give the same rows (and, for the same file size, the same bytes).
func TestDeterministic(t *testing.T) {
	small := strings.Replace(scenario, "entities: 30000", "entities: 5000", 1)
	d1, f1 := write(t, small, nil)
	d2, _ := write(t, small, func(sc *synth.Scenario) { sc.RowsPer = 1 << 18 })
	d3, f3 := write(t, small, func(sc *synth.Scenario) { sc.RowsPer = 1024 })
	for _, rel := range []string{"t/labels/part-00000.parquet", "t/modality=e/part-00000.parquet", "t/modality=a/part-00000.parquet", "t/scenario.json"} {
		b1, err1 := os.ReadFile(filepath.Join(d1, rel))
		b2, err2 := os.ReadFile(filepath.Join(d2, rel))
		if err1 != nil || err2 != nil || string(b1) != string(b2) {
			t.Errorf("%s differs between two writes (%v, %v)", rel, err1, err2)
		}
	}
	if f3.Written.Files != 5 {
		t.Fatalf("1,024 rows per file: %d files, want 5", f3.Written.Files)
	}
	if f1.Written.Modalities[0] != f3.Written.Modalities[0] || f1.Truth.FusedMissing != f3.Truth.FusedMissing {
		t.Errorf("counts or truth depend on the file size: %+v / %+v", f1.Written.Modalities[0], f3.Written.Modalities[0])
	}
	// Same rows: the embedding values, file after file, agree.
	l1, _ := lake.Open(context.Background(), "file://"+d1)
	l3, _ := lake.Open(context.Background(), "file://"+d3)
	defer l1.Close()
	defer l3.Close()
	v1, v3 := embeddings(t, l1), embeddings(t, l3)
	if len(v1) != len(v3) {
		t.Fatalf("%d values against %d", len(v1), len(v3))
	}
	for i := range v1 {
		if v1[i] != v3[i] {
			t.Fatalf("value %d: %v against %v", i, v1[i], v3[i])
		}
	}
}

func embeddings(t *testing.T, l *lake.Lake) []float64 {
	t.Helper()
	ds, err := l.DiscoverDataset(context.Background(), "t", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, f := range ds.Modalities["e"] {
		tab, err := l.ScanFile(context.Background(), f, lake.ColumnRequest{Key: "entity_id", Vector: "embedding"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tab.Values...)
	}
	return out
}

// A scenario with every mistake lists them all, as a spec error.
func TestScenarioErrors(t *testing.T) {
	_, err := synth.Parse([]byte(`
name: bad
entities: 0
classes: 1
splits: {train: 0.5}
modalities:
  - {name: x, kind: score}
  - {name: x, kind: embedding, dim: 2, correlation: 1}
`), "bad.yaml")
	if !errors.Is(err, synth.ErrScenario) {
		t.Fatalf("%v: want ErrScenario", err)
	}
	for _, want := range []string{"entities 0", "classes 1", "splits sum to 0.5", "kind score needs two classes", "the name appears twice", "dim 2", "correlation 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v: does not say %q", err, want)
		}
	}
	if _, err := synth.Parse([]byte("name: x\nentitys: 3\n"), "typo.yaml"); err == nil || !strings.Contains(err.Error(), "entitys") {
		t.Errorf("a misspelt field: %v", err)
	}
}

// A sweep is one scenario per value, each with its dataset name and its point;
// a parameter that does not exist, or a value out of range, is a scenario error.
func TestSweep(t *testing.T) {
	sc, err := synth.Parse([]byte(scenario+"sweep: {parameter: modalities.a.missing, values: [0, 0.5]}\n"), "sweep")
	if err != nil {
		t.Fatal(err)
	}
	pts := sc.Points()
	if len(pts) != 2 || pts[0].Dataset != "t-0" || pts[1].Dataset != "t-1" || pts[1].Modalities[0].Missing != 0.5 || sc.Modalities[0].Missing != 0.25 {
		t.Fatalf("points %+v", pts)
	}
	for _, bad := range []string{"modalities.a.colour", "modalities.nope.missing", "entities"} {
		if _, err := synth.Parse([]byte(scenario+"sweep: {parameter: "+bad+", values: [0.1]}\n"), "bad"); !errors.Is(err, synth.ErrScenario) {
			t.Errorf("parameter %s: %v", bad, err)
		}
	}
	if _, err := synth.Parse([]byte(scenario+"sweep: {parameter: modalities.a.missing, values: [0.5, 1.5]}\n"), "bad"); err == nil || !strings.Contains(err.Error(), "1.5") {
		t.Errorf("a value out of range: %v", err)
	}
	l, err := lake.Open(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := synth.Write(context.Background(), l, sc, 1); !errors.Is(err, synth.ErrScenario) {
		t.Errorf("writing a whole sweep as one dataset: %v", err)
	}
}

// A bucketed scenario is the same data in <key>_bucket=<b> folders that a run
// reads as a bucketed dataset (it checks every row's key against its folder):
// the same report figures as the unbucketed copy, for int and string keys.
func TestBucketed(t *testing.T) {
	small := strings.Replace(scenario, "entities: 30000", "entities: 4000", 1)
	for _, keyType := range []string{"int", "string"} {
		var acc []float64
		for _, buckets := range []int{0, 8} {
			dir, _ := write(t, small, func(sc *synth.Scenario) {
				sc.Buckets = buckets
				sc.Key.Type = keyType
				sc.Key.Order = "shuffled"
			})
			if buckets > 0 {
				if _, err := os.Stat(filepath.Join(dir, "t", "modality=e", "entity_id_bucket=3", "part-00000.parquet")); err != nil {
					t.Fatalf("no bucket folder: %v", err)
				}
			}
			spec, err := jobs.ParseSpec([]byte(job), "job")
			if err != nil {
				t.Fatal(err)
			}
			res, err := jobs.Run(context.Background(), spec, jobs.Options{Lake: "file://" + dir, RunID: "r", Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatalf("%s keys, %d buckets: %v", keyType, buckets, err)
			}
			for _, s := range res.Report.Strategies {
				acc = append(acc, s.Splits["test"].Metrics["accuracy"], s.Splits["test"].Metrics["log_loss"])
			}
		}
		half := len(acc) / 2
		for i := 0; i < half; i++ {
			if acc[i] != acc[half+i] {
				t.Errorf("%s keys: figure %d is %v unbucketed, %v bucketed", keyType, i, acc[i], acc[half+i])
			}
		}
	}
}

// Partitions decide the split (train on two days, test on the third), a source
// misses half the last day, and a modality drifts on the test day: files land in
// date=… folders; the counts come back; a probs modality, whose posterior was
// made before the drift, scores the training rule's rate on the drifted split
// (inside the run's interval), which the Bayes rule that knows the drift beats.
func TestPartitionsAndDrift(t *testing.T) {
	const sc = `
name: t
seed: 5
entities: 24000
classes: 3
splits: {train: 0.5, test: 0.5}
partitions: {column: date, values: [d1, d2, d3], splits: {d1: train, d2: train, d3: test}}
modalities:
  - {name: a, kind: probs, separation: 1.8, drift: 1.5, missing_by_partition: {d3: 0.5}}
  - {name: b, kind: probs, separation: 1.2}
`
	dir, f := write(t, sc, nil)
	if _, err := os.Stat(filepath.Join(dir, "t", "modality=a", "date=d3", "part-00000.parquet")); err != nil {
		t.Fatal(err)
	}
	if f.Truth.Drift == nil || len(f.Truth.Drift.Splits) != 1 || f.Truth.Drift.Splits[0] != "test" {
		t.Fatalf("drift truth %+v", f.Truth.Drift)
	}
	if got, want := float64(f.Written.Modalities[0].Missing)/float64(f.Written.Entities), 0.5/3; math.Abs(got-want) > 0.01 {
		t.Errorf("a misses %.4f of the entities; half of one day in three is %.4f", got, want)
	}
	if f.Written.BySplit["test"] < 7500 || f.Written.BySplit["test"] > 8500 {
		t.Errorf("test holds %d of 24,000 entities; one day in three is about 8,000", f.Written.BySplit["test"])
	}
	res := runJob(t, dir, `
name: t
dataset: t
label: {column: label, from: labels}
split: {column: split, train: [train]}
modalities:
  - {name: a, probs: probs}
  - {name: b, probs: probs}
strategies: [{name: product, type: late-product}]
evaluation: {bootstrap: 400, ablation: false, out_of_fold: false}
`)
	rep := res.Report
	if rep.Modalities[0].Matched != f.Written.Entities-f.Written.Modalities[0].Missing {
		t.Errorf("a matched %d entities, %d were written", rep.Modalities[0].Matched, f.Written.Entities-f.Written.Modalities[0].Missing)
	}
	gt := rep.Truth
	if gt == nil || gt.Drift == nil {
		t.Fatal("no drift truth in the report")
	}
	sp := rep.Strategies[1].Splits["test"] // unimodal.a
	if rep.Strategies[1].Name != "unimodal.a" {
		t.Fatalf("strategy 1 is %s", rep.Strategies[1].Name)
	}
	acc := sp.Metrics["accuracy_when_present"]
	rule, oracle := gt.Drift.ModalitiesTrainRule[0], gt.Drift.Modalities[0]
	// The interval of the accuracy where present is not computed; use the
	// binomial one of its rows.
	n := sp.Metrics["rows_when_present"]
	se := math.Sqrt(rule.Accuracy * (1 - rule.Accuracy) / n)
	t.Logf("unimodal.a on the drifted day: %.4f (%v rows); training rule %.4f, Bayes knowing the drift %.4f, before the drift %.4f", acc, n, rule.Accuracy, oracle.Accuracy, gt.Modalities[0].Accuracy)
	if math.Abs(acc-rule.Accuracy) > 2.5*se+2*rule.StdErr {
		t.Errorf("unimodal.a on the drifted split: %.4f, the training rule's Bayes rate %.4f ± %.4f", acc, rule.Accuracy, se)
	}
	if !(oracle.Accuracy > rule.Accuracy+0.02 && gt.Modalities[0].Accuracy > rule.Accuracy+0.02) {
		t.Errorf("drift costs nothing: rule %.4f, knowing the drift %.4f, before it %.4f", rule.Accuracy, oracle.Accuracy, gt.Modalities[0].Accuracy)
	}
}

// Informativeness given as a Bayes accuracy: the separation found for it yields
// that accuracy in scenario.json's truth, whatever the class count and priors.
func TestAccuracyTarget(t *testing.T) {
	_, f := write(t, `
name: t
entities: 10
classes: 5
priors: [5, 2, 1, 1, 1]
modalities:
  - {name: a, kind: probs, accuracy: 0.8}
  - {name: b, kind: embedding, dim: 12, accuracy: 0.65, noise: 3}
`, nil)
	for i, want := range []float64{0.8, 0.65} {
		r := f.Truth.Modalities[i]
		if math.Abs(r.Accuracy-want) > 0.006 {
			t.Errorf("%s: Bayes accuracy %.4f ± %.4f, the scenario asks %.2f (separation %.4f)", r.Name, r.Accuracy, r.StdErr, want, f.Scenario.Modalities[i].Separation)
		}
	}
	if _, err := synth.Parse([]byte("name: x\nentities: 5\nclasses: 2\nmodalities: [{name: a, kind: probs, accuracy: 0.4}]\n"), "x"); err == nil || !strings.Contains(err.Error(), "accuracy 0.4") {
		t.Errorf("an accuracy below the majority share: %v", err)
	}
}

// Label noise and the score kind: a fifth of the labels flipped, and a binary
// score that is its modality's posterior, whose accuracy against the written
// labels falls in the run's interval around the Bayes rate against them, with
// string keys in shuffled order.
func TestLabelNoiseAndScore(t *testing.T) {
	dir, f := write(t, `
name: t
seed: 3
entities: 20000
classes: 2
priors: [0.7, 0.3]
key: {type: string, order: shuffled}
splits: {train: 0.5, test: 0.5}
label_noise: 0.2
modalities:
  - {name: s, kind: score, separation: 1.5}
  - {name: c, kind: columns, dim: 10, separation: 1}
`, nil)
	if r := float64(f.Written.LabelsFlipped) / 20000; math.Abs(r-0.2) > 0.01 {
		t.Errorf("%.4f of the labels flipped; the scenario says 0.2", r)
	}
	res := runJob(t, dir, `
name: t
dataset: t
label: {column: label, from: labels}
split: {column: split, train: [train]}
modalities:
  - {name: s, score: score}
  - {name: c, features: {columns: "^f[0-9]+$"}}
strategies: [{name: mean, type: late-mean}]
evaluation: {bootstrap: 400, ablation: false, out_of_fold: false}
`)
	for _, s := range res.Report.Strategies {
		if s.Name != "unimodal.s" {
			continue
		}
		sp := s.Splits["test"]
		want := f.Truth.Modalities[0].VsLabels
		acc, iv := sp.Metrics["accuracy"], sp.Intervals["accuracy"]
		t.Logf("unimodal.s against noisy labels: %.4f [%.4f, %.4f]; Bayes against the labels %.4f (against the classes %.4f)", acc, iv.Low, iv.High, want, f.Truth.Modalities[0].Accuracy)
		if want < iv.Low || want > iv.High {
			t.Errorf("unimodal.s: %.4f [%.4f, %.4f], Bayes against the written labels %.4f", acc, iv.Low, iv.High, want)
		}
		return
	}
	t.Fatal("no unimodal.s in the report")
}

// runJob runs a spec (YAML) on the file lake in dir as run "r".
func runJob(t *testing.T, dir, spec string) *jobs.Result {
	t.Helper()
	s, err := jobs.ParseSpec([]byte(spec), "job")
	if err != nil {
		t.Fatal(err)
	}
	res, err := jobs.Run(context.Background(), s, jobs.Options{Lake: "file://" + dir, RunID: "r", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}
