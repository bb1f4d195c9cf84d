package jobs

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/lakefuse/lakefuse/eval"
	"github.com/lakefuse/lakefuse/lake"
)

const parquetType = "application/vnd.apache.parquet"

// writeRows writes one frame's row outputs: scores per strategy (when
// writeScores) and rejected rows, as parts numbered by the frame's bucket group
// (0 for a run held whole), so that groups never collide.
func (r *runner) writeRows(ctx context.Context, rw *lake.Attempt, bf *builtFrame, scored []*scoredStrategy, group int, writeScores bool) error {
	f := bf.frame
	k := f.Classes
	part := r.spec.Outputs.PartRows

	// Columns shared by every strategy's scores. Labels and predictions are
	// class indices, written through the classes' values (dictionary-coded).
	classColumn := func(name string, codes []int32, optional bool) lake.OutColumn {
		c := lake.OutColumn{Name: name, Codes: codes, Optional: optional}
		if bf.classes.isInt {
			c.Int64 = bf.classes.ints
		} else {
			c.String = bf.classes.names
		}
		return c
	}
	labels := classColumn("label", f.Label, true)
	// run_id on every row, so that a query over many runs' scores can tell them
	// apart: one dictionary entry that every row's code 0 points to (a few bytes
	// a page in the file).
	runIDs := make([]int32, min(part, f.Rows))
	presence := make([]lake.OutColumn, len(f.Blocks))
	for b, blk := range f.Blocks {
		presence[b] = lake.OutColumn{Name: "present_" + blk.Name, Bool: blk.Present}
	}

	var jobs []writeJob
	for _, s := range scored {
		if !writeScores || (s.baseline && !r.spec.Outputs.BaselineScores) {
			continue
		}
		pred := classColumn("pred", s.classCodes(f.Rows, k), false)
		// A group without rows writes no part; a run without rows writes one empty part.
		for seq, lo := 0, 0; lo < f.Rows || (seq == 0 && f.Rows == 0 && group == 0); seq, lo = seq+1, lo+part {
			hi := min(lo+part, f.Rows)
			cols := []lake.OutColumn{
				sliceColumn(bf.keys, lo, hi), sliceColumn(labels, lo, hi), sliceColumn(pred, lo, hi),
				{Name: "split", String: bf.splitNames, Codes: bf.split[lo:hi]},
				s.probsColumn(lo, hi, k),
			}
			for _, p := range presence {
				cols = append(cols, sliceColumn(p, lo, hi))
			}
			if s.uncertainty != nil {
				cols = append(cols, lake.OutColumn{Name: "uncertainty", Float64: s.uncertainty[lo:hi]})
			}
			cols = append(cols, lake.OutColumn{Name: "run_id", String: []string{r.runID}, Codes: runIDs[:hi-lo]})
			jobs = append(jobs, writeJob{
				rel:    fmt.Sprintf("scores/strategy=%s/part-%05d-%05d.parquet", s.name, group, seq),
				rows:   int64(hi - lo),
				encode: func(w io.Writer) error { return lake.WriteParquet(w, hi-lo, cols) },
			})
		}
	}
	if n := len(bf.rejected.reason); n > 0 {
		rj := bf.rejected
		cols := []lake.OutColumn{rj.keys, rj.modality, {Name: "reason", String: rj.reason}}
		jobs = append(jobs, writeJob{rel: fmt.Sprintf("rejected/part-%05d.parquet", group), rows: int64(n),
			encode: func(w io.Writer) error { return lake.WriteParquet(w, n, cols) }})
	}
	return r.writeAll(ctx, rw, jobs)
}

type writeJob struct {
	rel    string
	rows   int64
	encode func(io.Writer) error
}

// writeAll writes files, at most CPU at a time (encoding is the cost).
func (r *runner) writeAll(ctx context.Context, rw *lake.Attempt, jobs []writeJob) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cpu)
	var done atomic.Int64
	for _, j := range jobs {
		g.Go(func() error {
			if err := rw.WriteFile(gctx, j.rel, j.rows, parquetType, j.encode); err != nil {
				return err
			}
			r.progress("write", done.Add(1), int64(len(jobs)))
			return nil
		})
	}
	return g.Wait()
}

// writeSummary writes what describes the whole run: the long-format metrics
// table, the model files and the reports.
func (r *runner) writeSummary(ctx context.Context, rw *lake.Attempt, models map[string][]byte, rep *eval.Report) error {
	metrics := metricsTable(rep)
	if err := r.writeAll(ctx, rw, []writeJob{{rel: "metrics/part-00000.parquet", rows: int64(len(metrics[0].String)),
		encode: func(w io.Writer) error { return lake.WriteParquet(w, len(metrics[0].String), metrics) }}}); err != nil {
		return err
	}
	for _, name := range sortedKeys(models) {
		body := models[name]
		if err := rw.WriteFile(ctx, "models/"+name+".json", 0, "application/json", func(w io.Writer) error {
			_, err := w.Write(body)
			return err
		}); err != nil {
			return err
		}
	}
	if err := rw.WriteFile(ctx, "report.json", 0, "application/json", rep.WriteJSON); err != nil {
		return err
	}
	return rw.WriteFile(ctx, "report.html", 0, "text/html; charset=utf-8", rep.WriteHTML)
}

// sliceColumn returns rows [lo, hi) of a column.
func sliceColumn(c lake.OutColumn, lo, hi int) lake.OutColumn {
	if c.Codes != nil { // the dictionary is every row's
		c.Codes = c.Codes[lo:hi]
		return c
	}
	out := lake.OutColumn{Name: c.Name, Width: c.Width}
	switch {
	case c.Int64 != nil:
		out.Int64 = c.Int64[lo:hi]
	case c.String != nil:
		out.String = c.String[lo:hi]
	case c.Bool != nil:
		out.Bool = c.Bool[lo:hi]
	case c.Float64 != nil:
		out.Float64 = c.Float64[lo:hi]
	}
	if c.Valid != nil {
		out.Valid = c.Valid[lo:hi]
	}
	return out
}

// metricsTable is the long-format metrics table: one row per run, strategy, split,
// metric and class, with the bootstrap interval where one was computed (headline
// metrics on evaluation splits), the accuracy difference from the best single
// modality and McNemar's p, and each ablation. NaN values (a metric over no rows)
// are null.
func metricsTable(rep *eval.Report) []lake.OutColumn {
	// Non-nil even when empty (an unlabelled run has no metrics): the slices type
	// the columns.
	run, strategy, split, metric, class := []string{}, []string{}, []string{}, []string{}, []string{}
	classValid, value, valueValid := []bool{}, []float64{}, []bool{}
	ciLow, ciHigh, ciValid := []float64{}, []float64{}, []bool{}
	add := func(s, sp, m, c string, v float64, ci *eval.Interval) {
		run, strategy, split, metric = append(run, rep.RunID), append(strategy, s), append(split, sp), append(metric, m)
		class, classValid = append(class, c), append(classValid, c != "")
		finite := !math.IsNaN(v) && !math.IsInf(v, 0)
		value, valueValid = append(value, v), append(valueValid, finite)
		if ci != nil && !math.IsNaN(ci.Low) && !math.IsNaN(ci.High) {
			ciLow, ciHigh, ciValid = append(ciLow, ci.Low), append(ciHigh, ci.High), append(ciValid, true)
		} else {
			ciLow, ciHigh, ciValid = append(ciLow, 0), append(ciHigh, 0), append(ciValid, false)
		}
	}
	for _, s := range rep.Strategies {
		for _, sp := range rep.Splits {
			res, ok := s.Splits[sp]
			if !ok {
				continue
			}
			add(s.Name, sp, "rows", "", float64(res.Rows), nil)
			for _, m := range sortedKeys(res.Metrics) {
				var ci *eval.Interval
				if iv, ok := res.Intervals[m]; ok {
					ci = &iv
				}
				add(s.Name, sp, m, "", res.Metrics[m], ci)
			}
			for _, m := range sortedKeys(res.PerClass) {
				for c, v := range res.PerClass[m] {
					add(s.Name, sp, m, rep.Classes[c], v, nil)
				}
			}
			if c := res.Comparison; c != nil {
				iv := c.Interval
				add(s.Name, sp, "accuracy_difference_vs_best_baseline", "", c.Difference, &iv)
				add(s.Name, sp, "mcnemar_p_vs_best_baseline", "", c.McNemarP, nil)
			}
		}
	}
	for _, a := range rep.Ablation {
		add(a.Strategy, a.Split, "accuracy_without_"+a.Without, "", a.Accuracy, nil)
	}
	return []lake.OutColumn{
		{Name: "run", String: run},
		{Name: "strategy", String: strategy},
		{Name: "split", String: split},
		{Name: "metric", String: metric},
		{Name: "class", String: class, Valid: classValid},
		{Name: "value", Float64: value, Valid: valueValid},
		{Name: "ci_low", Float64: ciLow, Valid: ciValid},
		{Name: "ci_high", Float64: ciHigh, Valid: ciValid},
	}
}
