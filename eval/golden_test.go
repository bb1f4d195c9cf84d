package eval

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

type goldenCase struct {
	Note     string                     `json:"note"`
	NClasses int                        `json:"n_classes"`
	YTrue    []int                      `json:"y_true"`
	YProb    [][]float64                `json:"y_prob"`
	Expected map[string]json.RawMessage `json:"expected"`
}

// goldenFloat decodes a golden value; null is a value scikit-learn leaves
// undefined (NaN).
func goldenFloat(t *testing.T, raw json.RawMessage) float64 {
	t.Helper()
	if string(raw) == "null" {
		return math.NaN()
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// goldenDir holds the values scikit-learn 1.2.1 computes for each case (see its README).
const goldenDir = "testdata/sklearn"

func loadGolden(t *testing.T) map[string]goldenCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files in %s (%v)", goldenDir, err)
	}
	out := map[string]goldenCase{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c goldenCase
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = c
	}
	return out
}

func TestGoldenClassification(t *testing.T) {
	for name, gc := range loadGolden(t) {
		t.Run(name, func(t *testing.T) {
			acc := NewClassification(gc.NClasses)
			for i, y := range gc.YTrue {
				acc.Add(gc.YProb[i], y)
			}
			r := acc.Confusion.Result()
			scalars := map[string]float64{
				"accuracy": r.Accuracy, "balanced_accuracy": r.BalancedAccuracy,
				"precision_macro": r.PrecisionMacro, "recall_macro": r.RecallMacro, "f1_macro": r.F1Macro,
				"precision_micro": r.PrecisionMicro, "recall_micro": r.RecallMicro, "f1_micro": r.F1Micro,
				"precision_weighted": r.PrecisionWeighted, "recall_weighted": r.RecallWeighted, "f1_weighted": r.F1Weighted,
				"mcc": r.MCC, "cohen_kappa": r.CohenKappa, "log_loss": acc.LogLoss.Result(),
			}
			auc, aucW, ap, bound, _ := acc.Ranks()
			if bound != 0 {
				t.Fatalf("%d rows should rank exactly", len(gc.YTrue))
			}
			optional := map[string]float64{
				"roc_auc": auc, "average_precision": ap, "brier": acc.Brier.Result(),
				"roc_auc_ovr_macro": auc, "roc_auc_ovr_weighted": aucW, "top_2_accuracy": acc.Top2.Result(),
			}
			checked := 0
			for metric, got := range optional {
				raw, ok := gc.Expected[metric]
				if !ok {
					continue
				}
				checked++
				if want := goldenFloat(t, raw); differ(got, want, 1e-9) {
					t.Errorf("%s: got %.12g, want %.12g", metric, got, want)
				}
			}
			// Every golden value is checked: the scalars below plus these.
			if len(scalars)+checked+5 != len(gc.Expected) {
				t.Errorf("checked %d of %d golden values", len(scalars)+checked+5, len(gc.Expected))
			}
			for metric, got := range scalars {
				raw, ok := gc.Expected[metric]
				if !ok {
					t.Fatalf("golden file lacks %q", metric)
				}
				if want := goldenFloat(t, raw); differ(got, want, 1e-9) {
					t.Errorf("%s: got %.12g, want %.12g", metric, got, want)
				}
			}
			vectors := map[string][]float64{
				"precision_per_class": r.PrecisionPerClass, "recall_per_class": r.RecallPerClass, "f1_per_class": r.F1PerClass,
			}
			for metric, got := range vectors {
				var raw []json.RawMessage
				if err := json.Unmarshal(gc.Expected[metric], &raw); err != nil {
					t.Fatal(err)
				}
				for i := range raw {
					if want := goldenFloat(t, raw[i]); differ(got[i], want, 1e-9) {
						t.Errorf("%s[%d]: got %.12g, want %.12g", metric, i, got[i], want)
					}
				}
			}
			var support []int64
			var cm [][]int64
			json.Unmarshal(gc.Expected["support_per_class"], &support)
			json.Unmarshal(gc.Expected["confusion_matrix"], &cm)
			for i := range support {
				if support[i] != r.SupportPerClass[i] {
					t.Errorf("support[%d]: got %d want %d", i, r.SupportPerClass[i], support[i])
				}
			}
			rows := acc.Confusion.Rows()
			for i := range cm {
				for j := range cm[i] {
					if cm[i][j] != rows[i][j] {
						t.Errorf("confusion[%d][%d]: got %d want %d", i, j, rows[i][j], cm[i][j])
					}
				}
			}
		})
	}
}

// Merging the accumulators of any partition of the rows gives the one-pass result.
func TestMergeEqualsWhole(t *testing.T) {
	for name, gc := range loadGolden(t) {
		t.Run(name, func(t *testing.T) {
			whole := NewClassification(gc.NClasses)
			parts := []*Classification{NewClassification(gc.NClasses), NewClassification(gc.NClasses), NewClassification(gc.NClasses)}
			for i, y := range gc.YTrue {
				whole.Add(gc.YProb[i], y)
				parts[(i*7+3)%3].Add(gc.YProb[i], y)
			}
			merged := NewClassification(gc.NClasses)
			for _, p := range []*Classification{parts[2], parts[0], parts[1]} {
				if err := merged.Merge(p); err != nil {
					t.Fatal(err)
				}
			}
			a, b := whole.Metrics(), merged.Metrics()
			for i := range a {
				if differ(a[i].Value, b[i].Value, 1e-12) {
					t.Errorf("%v: whole %v, merged %v", a[i].Name, a[i].Value, b[i].Value)
				}
			}
		})
	}
	if err := NewClassification(2).Merge(NewClassification(3)); err == nil {
		t.Error("merging different class counts succeeded")
	}
}
