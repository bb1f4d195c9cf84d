package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lakefuse/lakefuse/internal/mfeat"
	"github.com/lakefuse/lakefuse/internal/testenv"
	"github.com/lakefuse/lakefuse/lake"
)

// shardSpec is a lighter mfeat job (three views, fits with out-of-fold
// predictions, bootstrap intervals, views missing at random) so that many shard
// processes fit on the test machine at once.
const shardSpec = `name: mfeat-sharded
dataset: mfeat
output: runs
key: entity_id
label: {column: label, from: labels}
split: {column: split, train: [train]}
align: {join: left, duplicates: error}
modalities:
  - {name: fou, features: {columns: "^f[0-9]+$"}}
  - {name: mor, features: {columns: "^f[0-9]+$"}}
  - {name: zer, features: {columns: "^f[0-9]+$"}}
strategies:
  - {name: late-mean, type: late-mean}
  - {name: stacking, type: stacking}
  - {name: evidential, type: evidential}
evaluation: {bootstrap: 100}
`

// Shard processes of the built binary, run at once against the S3 server, take
// their identity from --shard and from each batch engine's variables; one is
// killed mid-way (SIGKILL, no state left) and rerun, as an engine retries a
// task. 3 and 8 shards commit the single process's report figures and score
// rows, bit for bit.
func TestShardProcessesOnS3(t *testing.T) {
	base := testS3(t)
	bin := buildBinary(t)
	bucket, query, _ := strings.Cut(base, "?")
	lakeURL := fmt.Sprintf("%s/shards-%d?%s", bucket, rand.Int64(), query)
	ctx := context.Background()
	l, err := lake.Open(ctx, lakeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := mfeat.ImportMissing(ctx, l, "mfeat", 0.15, 3); err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(t.TempDir(), "sharded.yaml")
	os.WriteFile(spec, []byte(shardSpec), 0o644)
	if out, err := exec.Command(bin, "run", "--lake", lakeURL, "--run-id", "whole", spec).CombinedOutput(); err != nil {
		t.Fatalf("single process: %v\n%s", err, out)
	}
	want := committedAnswers(t, l, "runs/whole")

	// How each shard learns who it is, round robin.
	identity := func(i, count int) (args, env []string) {
		switch i % 4 {
		case 0:
			return []string{"--shard", fmt.Sprintf("%d/%d", i, count)}, nil
		case 1:
			return nil, []string{fmt.Sprintf("AWS_BATCH_JOB_ARRAY_INDEX=%d", i), fmt.Sprintf("LAKEFUSE_SHARDS=%d", count)}
		case 2:
			return nil, []string{fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i), fmt.Sprintf("LAKEFUSE_SHARDS=%d", count)}
		}
		return nil, []string{fmt.Sprintf("CLOUD_RUN_TASK_INDEX=%d", i), fmt.Sprintf("CLOUD_RUN_TASK_COUNT=%d", count)}
	}
	start := func(runID string, i, count int, killAfterSpill bool) (*exec.Cmd, func() (string, error)) {
		args, env := identity(i, count)
		cmd := exec.Command(bin, append(append([]string{"run", "--lake", lakeURL, "--run-id", runID, "--spill-dir", t.TempDir()}, args...), spec)...)
		cmd.Env = append(append(os.Environ(), "LAKEFUSE_LOG_FORMAT=json"), env...)
		var stdout strings.Builder
		cmd.Stdout = &stdout
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var log strings.Builder
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(stderr)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
				if killAfterSpill && strings.Contains(sc.Text(), `"stage":"spill"`) {
					cmd.Process.Kill()
				}
			}
		}()
		return cmd, func() (string, error) {
			<-done
			err := cmd.Wait()
			return stdout.String() + log.String(), err
		}
	}
	for _, count := range []int{3, 8} {
		runID := fmt.Sprintf("shards-%d", count)
		var wg sync.WaitGroup
		outs := make([]string, count)
		errs := make([]error, count)
		for i := range count {
			_, wait := start(runID, i, count, count == 3 && i == 1)
			wg.Add(1)
			go func() { defer wg.Done(); outs[i], errs[i] = wait() }()
		}
		wg.Wait()
		for i := range count {
			killed := count == 3 && i == 1
			if (errs[i] != nil) != killed {
				t.Fatalf("%d shards: shard %d: %v\n%s", count, i, errs[i], outs[i])
			}
		}
		if count == 3 {
			// Killed after the spill, before its state: the run waits for it.
			if ok, _ := l.Exists(ctx, "runs/"+runID+"/_shards/00001.json"); ok {
				t.Fatal("the killed shard left a state: it was not killed mid-way")
			}
			if ok, _ := l.Exists(ctx, "runs/"+runID+"/_SUCCESS"); ok {
				t.Fatal("committed without shard 1")
			}
			_, wait := start(runID, 1, count, false)
			out, err := wait()
			if err != nil || !strings.Contains(out, "the last to finish") {
				t.Fatalf("shard 1 rerun: %v\n%s", err, out)
			}
		}
		// The manifest records each shard and where it learned its index.
		raw, err := l.ReadAll(ctx, "runs/"+runID+"/manifest.json")
		if err != nil {
			t.Fatal(err)
		}
		for _, src := range []string{`"source": "--shard"`, `"source": "AWS_BATCH_JOB_ARRAY_INDEX and LAKEFUSE_SHARDS"`,
			`"source": "JOB_COMPLETION_INDEX and LAKEFUSE_SHARDS"`} {
			if !strings.Contains(string(raw), src) {
				t.Errorf("%d shards: the manifest does not record %s", count, src)
			}
		}
		if count == 8 && !strings.Contains(string(raw), `"source": "CLOUD_RUN_TASK_INDEX and CLOUD_RUN_TASK_COUNT"`) {
			t.Errorf("the manifest does not record the Cloud Run shards' source")
		}
		got := committedAnswers(t, l, "runs/"+runID)
		for _, part := range []string{"report", "scores"} {
			if got[part] != want[part] {
				t.Errorf("%d shards: %s differ from the single process's", count, part)
			}
		}
		finalized := 0
		for _, out := range outs {
			finalized += strings.Count(out, "the last to finish")
		}
		if count == 8 && finalized != 1 {
			t.Errorf("%d shards: %d said they finalized the run", count, finalized)
		}
	}
}

// committedAnswers is what a committed run answered, with timings, sizes and
// ids left out and score rows sorted.
func committedAnswers(t *testing.T, l *lake.Lake, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	raw, err := l.ReadAll(ctx, prefix+"/report.json")
	if err != nil {
		t.Fatal(err)
	}
	report := testenv.ComparableReport(t, raw)
	var m lake.Manifest
	raw, err = l.ReadAll(ctx, prefix+"/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw, &m)
	var rows []string
	for _, f := range m.Files {
		if !strings.HasPrefix(f.Path, "scores/") {
			continue
		}
		tab, err := l.ScanFile(ctx, lake.DataFile{Key: prefix + "/" + f.Path, Size: f.Size}, lake.ColumnRequest{Key: "entity_id", Label: "pred", Vector: "probs"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < tab.Rows; i++ {
			bits := make([]string, tab.Width)
			for j, v := range tab.Values[i*tab.Width : (i+1)*tab.Width] {
				bits[j] = fmt.Sprintf("%x", math.Float64bits(v))
			}
			rows = append(rows, fmt.Sprintf("%s %d %d %s", strings.Split(f.Path, "/")[1], tab.IntKeys[i], tab.IntLabels[i], strings.Join(bits, ",")))
		}
	}
	slices.Sort(rows)
	if len(rows) == 0 {
		t.Fatalf("%s: no score rows", prefix)
	}
	return map[string]string{"report": report, "scores": strings.Join(rows, "\n")}
}
