package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/eval"
	"github.com/lakefuse/lakefuse/jobs"
	"github.com/lakefuse/lakefuse/lake"
	"github.com/lakefuse/lakefuse/shard"
)

// shardedSpec is the parity lake's job: duplicates averaged, invalid values,
// missing modalities, float32 and float64 vectors, learned strategies with
// out-of-fold fits, bootstrap intervals and ablations.
func shardedLake(t *testing.T) (string, *lake.Lake, string) {
	t.Helper()
	url := "file://" + t.TempDir()
	l := openLake(t, url)
	data := synthetic{rows: 600, classes: 4, coverage: map[string]float64{"text": 0.9, "image": 0.8, "audio": 0.7}, seed: 11}
	data.write(t, l, "ds")
	writeInvalid(t, l)
	writeEmbeddings(t, l, "ds/modality=emb/part-0.parquet", 0, 600, 5, 37)
	writeEmbeddings(t, l, "ds/modality=emb/part-1.parquet", 500, 700, 5, 41)
	spec := syntheticSpec + `  - {name: stacking, type: stacking}
  - {name: weighted, type: late-weighted}
  - {name: evidential, type: evidential}
evaluation: {bootstrap: 40}
align: {duplicates: mean}
`
	spec = strings.Replace(spec, "  - {name: audio, probs: probs}\n", "  - {name: audio, probs: probs}\n  - {name: emb, features: {column: emb}}\n", 1)
	return url, l, spec
}

// runShards runs every shard of a sharded run, one after another in the given
// order, and returns the result of the one that finalized.
func runShards(t *testing.T, s *jobs.Spec, url, runID string, order []int, opts jobs.Options) *jobs.Result {
	t.Helper()
	var final *jobs.Result
	for n, i := range order {
		o := opts
		o.Lake, o.RunID, o.SpillDir = url, runID, t.TempDir()
		o.Shard = &shard.Identity{Index: i, Count: len(order), Source: "test"}
		res, err := jobs.Run(context.Background(), s, o)
		if err != nil {
			t.Fatalf("shard %d/%d: %v", i, len(order), err)
		}
		last := n == len(order)-1
		if res.Shard == nil || res.Shard.Finalized != last || (res.Report != nil) != last || (!last && res.Shard.Waiting != len(order)-n-1) {
			t.Fatalf("shard %d/%d (%d-th to finish): %+v", i, len(order), n+1, res.Shard)
		}
		if last {
			final = res
		}
	}
	return final
}

// 1, 3 and 8 shards give the single process's answers: the report's figures
// bit for bit, the same models, the same score and rejected rows; every
// shard's files are committed under one manifest. Without bootstrap replicates
// too, where a process evaluates before it chooses the baseline.
func TestShardedRunsGiveTheSameAnswers(t *testing.T) {
	url, l, spec := shardedLake(t)
	variants := map[string][2]string{ // name: the spec's line, replaced by
		"column":      {"", ""},
		"holdout":     {"split: {column: split}\n", "split: {holdout: {test_fraction: 0.3, seed: 5}}\n"},
		"nobootstrap": {"evaluation: {bootstrap: 40}", "evaluation: {bootstrap: 0}"},
	}
	for _, tag := range []string{"column", "holdout", "nobootstrap"} {
		t.Run(tag, func(t *testing.T) {
			text := spec
			if v := variants[tag]; v[0] != "" {
				if !strings.Contains(text, v[0]) {
					t.Fatalf("the spec has no %q to replace", v[0])
				}
				text = strings.Replace(text, v[0], v[1], 1)
			}
			s, err := jobs.ParseSpec([]byte(text), "sharded.yaml")
			if err != nil {
				t.Fatal(err)
			}
			whole, err := jobs.Run(context.Background(), s, jobs.Options{Lake: url, RunID: "whole-" + tag})
			if err != nil {
				t.Fatal(err)
			}
			want := runAnswers(t, l, whole, "entity_id")
			var oneShard *eval.Report
			for _, count := range []int{1, 3, 8} {
				order := make([]int, count)
				for i := range order {
					order[i] = (i*5 + 2) % count // not in index order
				}
				if count == 8 {
					order = []int{2, 7, 0, 5, 1, 3, 6, 4}
				}
				res := runShards(t, s, url, fmt.Sprintf("shards-%d-%s", count, tag), order, jobs.Options{})
				got := runAnswers(t, l, res, "entity_id")
				for _, part := range []string{"report", "models", "scores", "rejected"} {
					if got[part] != want[part] {
						t.Errorf("%d shards: %s differ from the single process's:\n%s", count, part, firstDifference(got[part], want[part]))
					}
				}
				sr := res.Report.Shards
				if sr == nil || sr.Count != count || sr.Buckets != count || len(sr.Shards) != count {
					t.Fatalf("%d shards: shards report %+v", count, sr)
				}
				var rows int64
				for _, s := range sr.Shards {
					rows += s.RowsScored
				}
				if rows != res.Report.Rows.Scored || rows != whole.Report.Rows.Scored {
					t.Errorf("%d shards scored %d rows between them; the run reports %d, the single process %d", count, rows, res.Report.Rows.Scored, whole.Report.Rows.Scored)
				}
				// Every shard reads the whole lake: the reads grow with the count,
				// and the report says so.
				if count == 1 {
					oneShard = res.Report
				}
				ratio := float64(bytesRead(res.Report)) / float64(bytesRead(oneShard))
				if ratio < float64(count)*0.95 || ratio > float64(count)*1.05 || sr.ReadAmplification < 0.95*float64(count)*oneShard.Shards.ReadAmplification {
					t.Errorf("%d shards read %.2f times what one shard reads; read amplification %.2f (one shard: %.2f)", count, ratio, sr.ReadAmplification, oneShard.Shards.ReadAmplification)
				}
				if warned := strings.Contains(strings.Join(res.Report.Warnings, "\n"), "times the lake's bytes"); warned != (count > 1) {
					t.Errorf("%d shards: read amplification %.2f, warned %v", count, sr.ReadAmplification, warned)
				}
				if html, err := l.ReadAll(context.Background(), res.Prefix+"/report.html"); err != nil || !strings.Contains(string(html), fmt.Sprintf("%d shards over %d key buckets", count, count)) {
					t.Errorf("%d shards: report.html does not show the shards (%v)", count, err)
				}
				// Nothing staged is left once the run is committed.
				if objs, err := l.List(context.Background(), res.Prefix+"/_attempts/"); err != nil || len(objs) != 0 {
					t.Errorf("%d shards: %d staged objects left (%v)", count, len(objs), err)
				}
			}
		})
	}
}

func bytesRead(rep *eval.Report) int64 {
	var n int64
	for _, b := range rep.Cost.BytesRead {
		n += b
	}
	return n
}

// Shards run at once, as an engine starts them: one finalizes, the others
// finish or find the lock taken, and the run equals the single process's.
func TestConcurrentShards(t *testing.T) {
	url, l, spec := shardedLake(t)
	s, err := jobs.ParseSpec([]byte(spec), "sharded.yaml")
	if err != nil {
		t.Fatal(err)
	}
	whole, err := jobs.Run(context.Background(), s, jobs.Options{Lake: url, RunID: "whole"})
	if err != nil {
		t.Fatal(err)
	}
	const count = 4
	results := make([]*jobs.Result, count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	for i := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = jobs.Run(context.Background(), s, jobs.Options{Lake: url, RunID: "concurrent", SpillDir: t.TempDir(),
				Shard: &shard.Identity{Index: i, Count: count}})
		}()
	}
	wg.Wait()
	var final *jobs.Result
	for i, res := range results {
		if errs[i] != nil {
			t.Fatalf("shard %d: %v", i, errs[i])
		}
		if res.Report != nil {
			if final != nil {
				t.Fatalf("shards %d and another both report a finalized run", i)
			}
			final = res
		}
	}
	if final == nil {
		t.Fatal("no shard finalized the run")
	}
	if got, want := runAnswers(t, l, final, "entity_id"), runAnswers(t, l, whole, "entity_id"); got["report"] != want["report"] || got["scores"] != want["scores"] {
		t.Errorf("concurrent shards differ from the single process:\n%s", firstDifference(got["report"]+got["scores"], want["report"]+want["scores"]))
	}
}

// A shard's retry is idempotent; an interrupted shard leaves no state and its
// rerun takes over; a finalize that died holding the lock is completed by any
// shard's retry; a committed run's shards report it committed.
func TestShardRetriesAndCrashedFinalize(t *testing.T) {
	url, l, spec := shardedLake(t)
	s, err := jobs.ParseSpec([]byte(spec), "sharded.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const count, runID = 3, "retries"
	prefix := "runs/" + runID
	opts := func(i int) jobs.Options {
		return jobs.Options{Lake: url, RunID: runID, SpillDir: t.TempDir(), Shard: &shard.Identity{Index: i, Count: count}}
	}
	// Shard 1, interrupted while it writes its groups: no state, nothing committed.
	cctx, cancel := context.WithCancel(ctx)
	o := opts(1)
	o.Progress = func(stage string, done, total int64) {
		if stage == "groups" {
			cancel()
		}
	}
	if _, err := jobs.Run(cctx, s, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted shard: %v", err)
	}
	if st, err := shard.Get(ctx, l, prefix, 1); err != nil || st != nil {
		t.Fatalf("the interrupted shard left a state (%v)", err)
	}
	for _, i := range []int{0, 1} {
		if res, err := jobs.Run(ctx, s, opts(i)); err != nil || res.Shard.Waiting != count-1-i {
			t.Fatalf("shard %d: %+v, %v", i, res, err)
		}
	}
	// Shard 0 again: its state stands, it does nothing but look.
	before, _ := shard.Get(ctx, l, prefix, 0)
	if res, err := jobs.Run(ctx, s, opts(0)); err != nil || res.Shard.Waiting != 1 || res.Report != nil {
		t.Fatalf("shard 0 retried: %+v, %v", res, err)
	}
	if after, _ := shard.Get(ctx, l, prefix, 0); after.Attempt != before.Attempt {
		t.Fatal("the retry replaced shard 0's state")
	}
	// A finalizer that took the lock and died: the last shard finds the lock
	// taken and leaves the run to it.
	if took, err := shard.Lock(ctx, l, prefix, "dead finalizer"); err != nil || !took {
		t.Fatal(took, err)
	}
	res, err := jobs.Run(ctx, s, opts(2))
	if err != nil || res.Report != nil || !res.Shard.Finalized {
		t.Fatalf("shard 2 with the lock taken: %+v, %v", res, err)
	}
	if st, _ := l.Status(ctx, prefix); st.Committed {
		t.Fatal("committed without a finalize")
	}
	// The engine retries a shard (or a person runs lakefuse finalize): the run is committed.
	res, err = jobs.Run(ctx, s, opts(1))
	if err != nil || res.Report == nil || !res.Shard.Finalized {
		t.Fatalf("shard 1 retried after the finalizer died: %+v, %v", res, err)
	}
	committedFiles(t, l, prefix)
	// Once committed, every shard's retry says so and succeeds; lakefuse finalize refuses.
	for i := range count {
		if res, err := jobs.Run(ctx, s, opts(i)); err != nil || !res.Completed {
			t.Fatalf("shard %d after the commit: %+v, %v", i, res, err)
		}
	}
	if _, err := jobs.Finalize(ctx, url+"/"+prefix, 0, jobs.Options{}); !errors.Is(err, lake.ErrRunCommitted) {
		t.Fatalf("finalize of a committed run: %v", err)
	}
}

// lakefuse finalize commits a run whose shards all finished, says which shards
// are missing otherwise, and shards of different counts never merge.
func TestFinalizeByHand(t *testing.T) {
	url, l, spec := shardedLake(t)
	s, err := jobs.ParseSpec([]byte(spec), "sharded.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	run := func(runID string, i, count int) {
		t.Helper()
		if _, err := jobs.Run(ctx, s, jobs.Options{Lake: url, RunID: runID, SpillDir: t.TempDir(), Shard: &shard.Identity{Index: i, Count: count}}); err != nil {
			t.Fatalf("%s: shard %d/%d: %v", runID, i, count, err)
		}
	}
	run("by-hand", 1, 2)
	_, err = jobs.Finalize(ctx, url+"/runs/by-hand", 2, jobs.Options{})
	if !errors.Is(err, jobs.ErrInput) || !strings.Contains(err.Error(), "[0]") {
		t.Fatalf("finalize with shard 0 missing: %v", err)
	}
	if ok, err := l.Exists(ctx, "runs/by-hand/_SUCCESS"); err != nil || ok {
		t.Fatalf("committed with a shard missing (%v)", err)
	}
	// Shard 0 of another count under the same run id: the states do not belong together.
	run("by-hand", 0, 3)
	if _, err := jobs.Finalize(ctx, url+"/runs/by-hand", 2, jobs.Options{}); !errors.Is(err, jobs.ErrShardMismatch) {
		t.Fatalf("finalize of shards of different counts: %v", err)
	}
	// A damaged evaluation object is refused, not merged.
	run("damaged", 0, 2)
	st, err := shard.Get(ctx, l, "runs/damaged", 0)
	if err != nil || st == nil {
		t.Fatal(st, err)
	}
	if err := l.WriteAll(ctx, "runs/damaged/"+st.Eval.Path, []byte("not an evaluation")); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Run(ctx, s, jobs.Options{Lake: url, RunID: "damaged", SpillDir: t.TempDir(), Shard: &shard.Identity{Index: 1, Count: 2}}); err == nil || !strings.Contains(err.Error(), "does not match its state") {
		t.Errorf("finalize over a damaged evaluation: %v", err)
	}
	run("by-hand-2", 0, 2)
	if err := l.Delete(ctx, "runs/by-hand-2/_shards/_finalize"); err != nil && !errors.Is(err, lake.ErrNotFound) {
		t.Fatal(err)
	}
	run("by-hand-2", 1, 2) // finalizes
	if _, err := jobs.Finalize(ctx, url+"/runs/by-hand-2", 0, jobs.Options{}); !errors.Is(err, lake.ErrRunCommitted) {
		t.Fatalf("finalize after the last shard finalized: %v", err)
	}
}

// A sharded score run (saved models, no fit) equals the single process's.
func TestShardedScore(t *testing.T) {
	url, l, spec := shardedLake(t)
	s, err := jobs.ParseSpec([]byte(spec), "sharded.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fit, err := jobs.Run(ctx, s, jobs.Options{Lake: url, RunID: "fit"})
	if err != nil {
		t.Fatal(err)
	}
	models := url + "/" + fit.Prefix
	whole, err := jobs.Score(ctx, s, jobs.Options{Lake: url, RunID: "score-whole"}, models)
	if err != nil {
		t.Fatal(err)
	}
	var final *jobs.Result
	for _, i := range []int{2, 0, 1} {
		res, err := jobs.Score(ctx, s, jobs.Options{Lake: url, RunID: "score-sharded", SpillDir: t.TempDir(), Shard: &shard.Identity{Index: i, Count: 3}}, models)
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		final = res
	}
	if final.Report == nil {
		t.Fatal("the last shard did not finalize")
	}
	got, want := runAnswers(t, l, final, "entity_id"), runAnswers(t, l, whole, "entity_id")
	for _, part := range []string{"report", "scores", "rejected"} {
		if got[part] != want[part] {
			t.Errorf("sharded score: %s differ:\n%s", part, firstDifference(got[part], want[part]))
		}
	}
}

// Vacuum, run while a sharded run waits for its last shard, keeps the finished
// shards' states and staged files: the run still commits whole.
func TestVacuumKeepsFinishedShards(t *testing.T) {
	url, l, spec := shardedLake(t)
	s, err := jobs.ParseSpec([]byte(spec), "sharded.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	opts := func(i int) jobs.Options {
		return jobs.Options{Lake: url, RunID: "vacuumed", SpillDir: t.TempDir(), Shard: &shard.Identity{Index: i, Count: 2}}
	}
	if _, err := jobs.Run(ctx, s, opts(0)); err != nil {
		t.Fatal(err)
	}
	res, err := l.Vacuum(ctx, "runs", 0, time.Now().Add(time.Hour), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range res.Items {
		t.Errorf("vacuum removed %s (%s)", it.Key, it.Reason)
	}
	final, err := jobs.Run(ctx, s, opts(1))
	if err != nil || final.Report == nil {
		t.Fatalf("%+v, %v", final, err)
	}
	if files := committedFiles(t, l, final.Prefix); len(files) < 5 {
		t.Errorf("the committed run has %d files", len(files))
	}
}

// lakefuse bucket's copy of a dataset (itself run as 2 shards) gives the same
// answers as the original; a sharded score run over it reads each bucket's
// files once in all (no read amplification), a sharded fit run the whole lake
// per shard; a file in the wrong bucket folder is refused, naming it.
func TestBucketedDataset(t *testing.T) {
	url, l, spec := shardedLake(t)
	ctx := context.Background()
	s, err := jobs.ParseSpec([]byte(spec), "sharded.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	var read []int
	for i := range 2 {
		res, err := jobs.Bucket(ctx, s, jobs.Options{Lake: url, Shard: &shard.Identity{Index: i, Count: 2}}, 6, "ds_b")
		if err != nil {
			t.Fatal(err)
		}
		rows += res.Rows
		read = append(read, res.FilesRead)
	}
	// The two shards of the rewrite split the input files between them.
	inputs, err := l.List(ctx, "ds/")
	if err != nil {
		t.Fatal(err)
	}
	if read[0] == 0 || read[1] == 0 || read[0]+read[1] != len(inputs) {
		t.Errorf("the bucket shards rewrote %v of the %d input files", read, len(inputs))
	}
	if rows == 0 {
		t.Fatal("nothing bucketed")
	}
	sb, err := jobs.ParseSpec([]byte(strings.Replace(spec, "dataset: ds\n", "dataset: ds_b\n", 1)), "bucketed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// What differs between the two datasets: their name, their spec's hash and
	// their file counts.
	hashes := regexp.MustCompile(`"spec_sha256":"[0-9a-f]+"|"files": [0-9]+`)
	same := func(what string, got, want map[string]string) {
		t.Helper()
		for _, part := range []string{"report", "models", "scores", "rejected"} {
			g := hashes.ReplaceAllString(strings.ReplaceAll(got[part], `"ds_b"`, `"ds"`), "")
			if w := hashes.ReplaceAllString(want[part], ""); g != w {
				t.Errorf("%s: %s differ:\n%s", what, part, firstDifference(g, w))
			}
		}
	}
	fit, err := jobs.Run(ctx, s, jobs.Options{Lake: url, RunID: "original"})
	if err != nil {
		t.Fatal(err)
	}
	want := runAnswers(t, l, fit, "entity_id")
	res, err := jobs.Run(ctx, sb, jobs.Options{Lake: url, RunID: "bucketed-whole"})
	if err != nil {
		t.Fatal(err)
	}
	same("the bucketed copy", runAnswers(t, l, res, "entity_id"), want)
	res = runShards(t, sb, url, "bucketed-run", []int{1, 0, 2}, jobs.Options{})
	same("3 shards over the bucketed copy", runAnswers(t, l, res, "entity_id"), want)
	if a := res.Report.Shards.ReadAmplification; a < 2.5 || res.Report.Shards.Buckets != 6 {
		t.Errorf("fit shards over 6 buckets: read amplification %.2f, buckets %d", a, res.Report.Shards.Buckets)
	}

	// With a fit cap the sample takes the first buckets whole: a single process
	// held whole, one partitioned, and 3 shards fit on the same rows, and the
	// shards read the first buckets of the others', not the whole lake.
	capped := strings.Replace(spec, "dataset: ds\n", "dataset: ds_b\n", 1) + "fit: {max_rows: 60}\n"
	sc, err := jobs.ParseSpec([]byte(capped), "capped.yaml")
	if err != nil {
		t.Fatal(err)
	}
	inMemory, err := jobs.Run(ctx, sc, jobs.Options{Lake: url, RunID: "capped-whole"})
	if err != nil {
		t.Fatal(err)
	}
	if f := inMemory.Report.Fit; f == nil || f.Rows != 60 {
		t.Fatalf("fit sample %+v", f)
	}
	wantCapped := runAnswers(t, l, inMemory, "entity_id")
	partitioned, err := jobs.Run(ctx, sc, jobs.Options{Lake: url, RunID: "capped-groups", Groups: 4, SpillDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	equal := func(what string, got map[string]string) {
		t.Helper()
		for _, part := range []string{"report", "models", "scores", "rejected"} {
			if got[part] != wantCapped[part] {
				t.Errorf("%s: %s differ:\n%s", what, part, firstDifference(got[part], wantCapped[part]))
			}
		}
	}
	equal("a capped fit, partitioned", runAnswers(t, l, partitioned, "entity_id"))
	res = runShards(t, sc, url, "capped-shards", []int{2, 1, 0}, jobs.Options{})
	equal("a capped fit, 3 shards", runAnswers(t, l, res, "entity_id"))
	t.Logf("3 capped fit shards: read amplification %.2f", res.Report.Shards.ReadAmplification)
	if a := res.Report.Shards.ReadAmplification; a > 2 {
		t.Errorf("3 shards fitting on 60 rows read %.2f times the lake", a)
	}

	// More shards than buckets: refused before any row is read.
	if _, err := jobs.Run(ctx, sb, jobs.Options{Lake: url, RunID: "too-many", Shard: &shard.Identity{Index: 0, Count: 7}}); !errors.Is(err, jobs.ErrSpec) {
		t.Errorf("7 shards over 6 buckets: %v", err)
	}
	if _, err := jobs.Run(ctx, sb, jobs.Options{Lake: url, RunID: "as-many", SpillDir: t.TempDir(), Shard: &shard.Identity{Index: 5, Count: 6}}); err != nil {
		t.Errorf("6 shards over 6 buckets: %v", err)
	}

	// Scoring: each shard reads its own buckets only.
	models := url + "/" + fit.Prefix
	scoreWhole, err := jobs.Score(ctx, sb, jobs.Options{Lake: url, RunID: "score-whole"}, models)
	if err != nil {
		t.Fatal(err)
	}
	oneShard, err := jobs.Score(ctx, sb, jobs.Options{Lake: url, RunID: "score-one-shard", SpillDir: t.TempDir(), Shard: &shard.Identity{Index: 0, Count: 1}}, models)
	if err != nil {
		t.Fatal(err)
	}
	var final *jobs.Result
	for _, i := range []int{2, 0, 1} {
		if final, err = jobs.Score(ctx, sb, jobs.Options{Lake: url, RunID: "score-sharded", SpillDir: t.TempDir(), Shard: &shard.Identity{Index: i, Count: 3}}, models); err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
	}
	got, wantScore := runAnswers(t, l, final, "entity_id"), runAnswers(t, l, scoreWhole, "entity_id")
	for _, part := range []string{"report", "scores", "rejected"} {
		if got[part] != wantScore[part] {
			t.Errorf("sharded score over buckets: %s differ:\n%s", part, firstDifference(got[part], wantScore[part]))
		}
	}
	one := oneShard.Report.Shards.ReadAmplification
	if ratio := float64(bytesRead(final.Report)) / float64(bytesRead(oneShard.Report)); ratio > 1.1 || final.Report.Shards.ReadAmplification > 1.1*one {
		t.Errorf("3 score shards read %.2f times what one reads (read amplification %.2f, one shard's %.2f)", ratio, final.Report.Shards.ReadAmplification, one)
	}

	// A file moved into another bucket's folder.
	objs, err := l.List(ctx, "ds_b/modality=image/entity_id_bucket=1/")
	if err != nil || len(objs) == 0 {
		t.Fatal(objs, err)
	}
	b, _ := l.ReadAll(ctx, objs[0].Key)
	if err := l.WriteAll(ctx, "ds_b/modality=image/entity_id_bucket=2/part-99999.parquet", b); err != nil {
		t.Fatal(err)
	}
	_, err = jobs.Run(ctx, sb, jobs.Options{Lake: url, RunID: "misplaced", Groups: 2, SpillDir: t.TempDir()})
	if !errors.Is(err, jobs.ErrInput) || !strings.Contains(err.Error(), "part-99999.parquet") || !strings.Contains(err.Error(), "entity_id_bucket=2") {
		t.Errorf("a misplaced file: %v", err)
	}
}

// The bucket count's limits: 1 (a copy) to 65,536; the copy is refused over
// the dataset itself.
func TestBucketCountLimits(t *testing.T) {
	url, _, spec := shardedLake(t)
	s, err := jobs.ParseSpec([]byte(spec), "sharded.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, n := range []int{0, -1, jobs.MaxBuckets + 1} {
		if _, err := jobs.Bucket(ctx, s, jobs.Options{Lake: url}, n, "ds_x"); !errors.Is(err, jobs.ErrSpec) {
			t.Errorf("%d buckets: %v", n, err)
		}
	}
	if _, err := jobs.Bucket(ctx, s, jobs.Options{Lake: url}, 4, "ds"); !errors.Is(err, jobs.ErrSpec) {
		t.Errorf("bucketing a dataset onto itself: %v", err)
	}
	res, err := jobs.Bucket(ctx, s, jobs.Options{Lake: url}, 1, "ds_1")
	if err != nil || res.Rows == 0 || res.FilesWritten != res.FilesRead {
		t.Fatalf("1 bucket: %+v, %v", res, err)
	}
	// A second rewrite with another count into the same dataset is refused.
	if _, err := jobs.Bucket(ctx, s, jobs.Options{Lake: url}, 2, "ds_1"); !errors.Is(err, jobs.ErrSpec) {
		t.Errorf("rebucketing ds_1 with another count: %v", err)
	}
}
