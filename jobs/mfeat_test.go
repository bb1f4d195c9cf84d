//go:build !mutation

// The mfeat end-to-end runs take most of this package's test time: scripts/
// mutation.sh leaves them out (build tag mutation) so that each mutant of the
// alignment code is judged by the package's fast tests in seconds.

package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/examples"
	"github.com/lakefuse/lakefuse/internal/mfeat"
	"github.com/lakefuse/lakefuse/jobs"
	"github.com/lakefuse/lakefuse/lake"
)

// The demo job on the real six-view data: accuracy on the published split, the same
// committed bytes on a file:// lake and on a real S3 server, and DuckDB reading the
// output to the same numbers.
func TestMfeatEndToEnd(t *testing.T) {
	ctx := context.Background()
	spec, err := jobs.ParseSpec(examples.Mfeat, "examples/mfeat.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fileURL := "file://" + dir
	if err := mfeat.Import(ctx, openLake(t, fileURL), "mfeat"); err != nil {
		t.Fatal(err)
	}
	res, err := jobs.Run(ctx, spec, jobs.Options{Lake: fileURL, RunID: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	acc := map[string]float64{}
	for _, s := range res.Report.Strategies {
		acc[s.Name] = s.Splits["test"].Metrics["accuracy"]
	}
	// scikit-learn gets 0.99 for both with the same models (data/README.md).
	if acc["early"] < 0.99 || acc["late-mean"] < 0.985 {
		t.Errorf("test accuracy: early %.4f (want ≥ 0.99), late-mean %.4f (want ≥ 0.985)", acc["early"], acc["late-mean"])
	}
	if acc["unimodal.fac"] < 0.99 || acc["unimodal.mor"] > 0.75 {
		t.Errorf("unimodal baselines off: fac %.4f, mor %.4f", acc["unimodal.fac"], acc["unimodal.mor"])
	}
	if got := res.Report.Rows; got.Scored != 2000 || got.BySplit["test"] != 400 || got.BySplit["train"] != 1600 {
		t.Errorf("row counts: %+v", got)
	}

	t.Run("duckdb reads the same results", func(t *testing.T) {
		run := filepath.Join(dir, res.Prefix)
		out := duckdb(t,
			fmt.Sprintf(`SELECT strategy, count(*) AS n, avg((pred = label)::INT) AS acc FROM read_parquet('%s/scores/*/*.parquet', hive_partitioning = true) WHERE split = 'test' GROUP BY ALL ORDER BY strategy`, run),
			fmt.Sprintf(`SELECT count(*) AS n FROM read_parquet('%s/scores/*/*.parquet', hive_partitioning = true)`, run),
			fmt.Sprintf(`SELECT strategy, value FROM read_parquet('%s/metrics/*.parquet') WHERE metric = 'accuracy' AND split = 'test' AND class IS NULL ORDER BY strategy`, run),
			// README's cross-run query: every run's scores, told apart by run_id.
			fmt.Sprintf(`SELECT run_id, count(*) AS n FROM read_parquet('%s/runs/*/scores/*/*.parquet', hive_partitioning = true) GROUP BY ALL`, dir),
		)
		if len(out[3]) != 1 || out[3][0]["run_id"] != "e2e" || out[3][0]["n"] != fmt.Sprint(2000*len(spec.Strategies)) {
			t.Errorf("scores by run_id: %v", out[3])
		}
		if len(out[0]) != len(spec.Strategies) {
			t.Fatalf("scores of %d strategies, the spec has %d: %v", len(out[0]), len(spec.Strategies), out[0])
		}
		for _, row := range out[0] {
			name := row["strategy"].(string)
			if row["n"] != "400" || differ(row["acc"].(float64), acc[name], 1e-12) {
				t.Errorf("duckdb %s: n=%v acc=%v, lakefuse acc=%v", name, row["n"], row["acc"], acc[name])
			}
		}
		if want := fmt.Sprint(2000 * len(spec.Strategies)); out[1][0]["n"] != want {
			t.Errorf("duckdb counts %v score rows, want %s", out[1][0]["n"], want)
		}
		for _, row := range out[2] {
			if v := row["value"].(float64); differ(v, acc[row["strategy"].(string)], 1e-12) {
				t.Errorf("metrics table %v", row)
			}
		}
	})

	// Every number a user reads, recomputed outside lakefuse by DuckDB from the
	// written scores: log loss (scikit-learn 1.2's clipping at float64 epsilon and renormalising), the
	// multiclass Brier score, ECE over 15 bins (i/15, (i+1)/15], and probabilities
	// that sum to 1 on every row. Scores are float32: tolerances say so.
	t.Run("duckdb recomputes log loss, Brier and ECE from the scores", func(t *testing.T) {
		run := filepath.Join(dir, res.Prefix)
		out := duckdb(t,
			fmt.Sprintf(`WITH s AS (
  SELECT strategy, label, probs,
         list_transform(probs, p -> least(greatest(p, 2.220446049250313e-16), 1 - 2.220446049250313e-16)) AS clipped,
         list_max(probs) AS top,
         list_position(probs, list_max(probs)) - 1 AS pred_idx
  FROM read_parquet('%s/scores/*/*.parquet', hive_partitioning = true) WHERE split = 'test'),
r AS (
  SELECT strategy, top, (pred_idx = label)::INT AS correct,
         greatest(ceil(top * 15) - 1, 0) AS bin,
         -ln(clipped[label + 1] / list_sum(clipped)) AS nll,
         list_sum(list_transform(list_zip(probs, range(0, len(probs))), x -> (x[1] - (x[2] = label)::INT) ^ 2)) AS brier
  FROM s),
b AS (SELECT strategy, bin, count(*) AS n, avg(correct) AS acc, avg(top) AS conf FROM r GROUP BY ALL)
SELECT r.strategy, avg(nll) AS log_loss, avg(brier) AS brier,
       (SELECT sum(n * abs(acc - conf)) / sum(n) FROM b WHERE b.strategy = r.strategy) AS ece
FROM r GROUP BY r.strategy ORDER BY r.strategy`, run),
			fmt.Sprintf(`SELECT strategy, metric, value FROM read_parquet('%s/metrics/*.parquet') WHERE split = 'test' AND class IS NULL AND metric IN ('log_loss', 'brier', 'ece')`, run),
			fmt.Sprintf(`SELECT count(*) AS bad FROM read_parquet('%s/scores/*/*.parquet') WHERE abs(list_sum(probs) - 1) > 1e-5 OR list_sum(probs) IS NULL`, run),
		)
		lakefuse := map[string]float64{}
		for _, row := range out[1] {
			lakefuse[row["strategy"].(string)+"/"+row["metric"].(string)] = row["value"].(float64)
		}
		if len(out[0]) != len(spec.Strategies) {
			t.Fatalf("duckdb recomputed %d strategies, want %d", len(out[0]), len(spec.Strategies))
		}
		for _, row := range out[0] {
			name := row["strategy"].(string)
			for metric, tol := range map[string]float64{"log_loss": 1e-5, "brier": 1e-5, "ece": 1e-5} {
				want, ok := lakefuse[name+"/"+metric]
				if !ok {
					t.Errorf("%s: no %s in the metrics table", name, metric)
					continue
				}
				if got := row[metric].(float64); differ(got, want, tol) {
					t.Errorf("%s %s: DuckDB from the scores %v, lakefuse %v", name, metric, got, want)
				}
			}
		}
		if bad := out[2][0]["bad"]; bad != "0" {
			t.Errorf("%v scored rows whose probabilities do not sum to 1", bad)
		}
	})

	t.Run("s3 lake commits the same bytes", func(t *testing.T) {
		url := s3URL(t, "mfeat")
		if err := mfeat.Import(ctx, openLake(t, url), "mfeat"); err != nil {
			t.Fatal(err)
		}
		s3res, err := jobs.Run(ctx, spec, jobs.Options{Lake: url, RunID: "e2e"})
		if err != nil {
			t.Fatal(err)
		}
		want := committedFiles(t, openLake(t, fileURL), res.Prefix)
		got := committedFiles(t, openLake(t, url), s3res.Prefix)
		compared := 0
		for path, w := range want {
			if !strings.HasPrefix(path, "scores/") && !strings.HasPrefix(path, "metrics/") && !strings.HasPrefix(path, "models/") {
				continue
			}
			compared++
			if g := got[path]; g.SHA256 != w.SHA256 || g.Rows != w.Rows {
				t.Errorf("%s: s3 %+v, file %+v", path, g, w)
			}
		}
		if compared < 4 || len(got) != len(want) {
			t.Errorf("compared %d files; s3 run has %d, file run %d", compared, len(got), len(want))
		}
		// A committed run is never overwritten.
		if _, err := jobs.Run(ctx, spec, jobs.Options{Lake: url, RunID: "e2e"}); !errors.Is(err, lake.ErrRunCommitted) {
			t.Errorf("rerunning a committed run: got %v, want ErrRunCommitted", err)
		}
	})
}

// With 30 % of each modality's rows removed at random, every strategy still scores
// every entity that has a modality, and the best fused accuracy over all entities
// beats every unimodal baseline's (which falls back to the training prior — the
// majority class — where its modality is missing).
func TestMfeatMissingModalities(t *testing.T) {
	ctx := context.Background()
	spec, err := jobs.ParseSpec(examples.Mfeat, "examples/mfeat.yaml")
	if err != nil {
		t.Fatal(err)
	}
	url := "file://" + t.TempDir()
	if err := mfeat.ImportMissing(ctx, openLake(t, url), "mfeat", 0.3, 1); err != nil {
		t.Fatal(err)
	}
	res, err := jobs.Run(ctx, spec, jobs.Options{Lake: url})
	if err != nil {
		t.Fatal(err)
	}
	rows := res.Report.Rows
	if rows.Aligned != 2000 || rows.Scored+rows.Rejected["no modality present"] != 2000 {
		t.Fatalf("rows %+v", rows)
	}
	bestFused, bestBaseline := 0.0, 0.0
	for _, s := range res.Report.Strategies {
		for _, split := range []string{"train", "test"} {
			if got := s.Splits[split].Rows; got != rows.BySplit[split] {
				t.Errorf("%s scored %d of the %d %s entities", s.Name, got, rows.BySplit[split], split)
			}
		}
		acc := s.Splits["test"].Metrics["accuracy"]
		if s.Baseline {
			bestBaseline = max(bestBaseline, acc)
			if present := s.Splits["test"].Metrics["accuracy_when_present"]; !(present > acc) {
				t.Errorf("%s: accuracy where present %v should exceed the accuracy over all entities %v", s.Name, present, acc)
			}
		} else {
			bestFused = max(bestFused, acc)
		}
	}
	if !(bestFused > bestBaseline) {
		t.Errorf("best fused accuracy %.4f is not above the best unimodal baseline's %.4f", bestFused, bestBaseline)
	}
	t.Logf("best fused %.4f, best baseline over all entities %.4f", bestFused, bestBaseline)
}

// Under a budget of 1 MiB the spill's gathering writers hold a quarter of it
// while a row group of mfeat's 216 pixel averages asks for far more than the
// rest: the row group must take what is left, not wait for the whole budget
// (which it did, for ever). The run completes partitioned, with the answers of
// the run held whole.
func TestMfeatSpillsUnderATinyBudget(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	spec, err := jobs.ParseSpec(examples.Mfeat, "examples/mfeat.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec.Strategies = spec.Strategies[:1] // late-mean
	none, no := 0, false
	spec.Evaluation.Bootstrap, spec.Evaluation.Ablation = &none, &no
	url := "file://" + t.TempDir()
	if err := mfeat.Import(ctx, openLake(t, url), "mfeat"); err != nil {
		t.Fatal(err)
	}
	whole, err := jobs.Run(ctx, spec, jobs.Options{Lake: url, RunID: "whole"})
	if err != nil {
		t.Fatal(err)
	}
	spec.Fit.MaxRows = 2000 // the whole training split, as the run held whole fits on
	tiny, err := jobs.Run(ctx, spec, jobs.Options{Lake: url, RunID: "tiny", Memory: "1MiB", Groups: 2, SpillDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if m := tiny.Report.Memory; m.Path != "partitioned" || m.Groups != 2 {
		t.Fatalf("memory report %+v", m)
	}
	if len(tiny.Report.Strategies) != len(whole.Report.Strategies) {
		t.Fatalf("%d strategies under 1 MiB, %d held whole", len(tiny.Report.Strategies), len(whole.Report.Strategies))
	}
	for i, s := range whole.Report.Strategies {
		got := tiny.Report.Strategies[i]
		if got.Name != s.Name || got.Splits["test"].Metrics["log_loss"] != s.Splits["test"].Metrics["log_loss"] {
			t.Errorf("%s: test log loss %v under 1 MiB, %s %v held whole", got.Name, got.Splits["test"].Metrics["log_loss"], s.Name, s.Splits["test"].Metrics["log_loss"])
		}
	}
}
