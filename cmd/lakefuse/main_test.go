package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func lakefuse(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errw bytes.Buffer
	code := run(context.Background(), args, &out, &errw)
	return code, out.String(), errw.String()
}

// writeCSVLake imports a tiny two-modality dataset (writeCSVs) through the CLI.
func writeCSVLake(t *testing.T) (lakeURL, dir string) {
	t.Helper()
	dir = writeCSVs(t)
	lakeURL = "file://" + filepath.Join(dir, "lake")
	for _, args := range [][]string{
		{"import", "--lake", lakeURL, "--dataset", "toy", "--modality", "a", filepath.Join(dir, "a.csv")},
		{"import", "--lake", lakeURL, "--dataset", "toy", "--modality", "b", filepath.Join(dir, "b.csv")},
		{"import", "--lake", lakeURL, "--dataset", "toy", "--labels", filepath.Join(dir, "labels.csv")},
	} {
		if code, _, stderr := lakefuse(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	return lakeURL, dir
}

// writeCSVs writes a.csv, b.csv (covering 3 in 4 entities) and labels.csv into a
// new folder.
func writeCSVs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var a, b, labels strings.Builder
	a.WriteString("entity_id,x0,x1\n")
	b.WriteString("entity_id,p0,p1\n")
	labels.WriteString("entity_id,label,split\n")
	for i := 0; i < 120; i++ {
		cls := i % 2
		split := "train"
		if i%5 == 0 {
			split = "test"
		}
		fmt.Fprintf(&a, "%d,%g,%g\n", i, float64(cls)*2+float64(i%7)/7, float64(i%3))
		if i%4 != 0 { // b covers 3 in 4 entities
			fmt.Fprintf(&b, "%d,%g,%g\n", i, 0.3+0.4*float64(cls), float64(i%5)/5)
		}
		fmt.Fprintf(&labels, "%d,%s,%s\n", i, []string{"cat", "dog"}[cls], split)
	}
	for name, body := range map[string]string{"a.csv": a.String(), "b.csv": b.String(), "labels.csv": labels.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const toySpec = `name: toy
dataset: toy
split: {column: split}
modalities:
  - name: a
    features: {columns: "^x"}
  - name: b
    features: {columns: "^p"}
strategies:
  - {name: late, type: late-mean}
  - {name: early, type: early}
`

func TestCommands(t *testing.T) {
	lakeURL, dir := writeCSVLake(t)
	spec := filepath.Join(dir, "toy.yaml")
	os.WriteFile(spec, []byte(toySpec), 0o644)

	code, out, _ := lakefuse(t, "inspect", lakeURL)
	if code != 0 || !strings.Contains(out, "toy/modality=b") || !strings.Contains(out, "90") {
		t.Errorf("inspect: exit %d\n%s", code, out)
	}
	code, out, stderr := lakefuse(t, "plan", "--lake", lakeURL, spec)
	if code != 0 || !strings.Contains(out, "2 numeric (x0…x1)") {
		t.Errorf("plan: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = lakefuse(t, "run", "--lake", lakeURL, "--run-id", "cli", spec)
	if code != 0 || !strings.Contains(out, "run cli: 120 entities scored") || !strings.Contains(out, "unimodal.b") {
		t.Fatalf("run: exit %d\n%s%s", code, out, stderr)
	}
	if !strings.Contains(stderr, "stage=scan") {
		t.Errorf("no structured progress on a non-terminal: %s", stderr)
	}
	// The spec can live in the lake too.
	os.WriteFile(filepath.Join(dir, "lake", "toy.yaml"), []byte(toySpec), 0o644)
	code, out, stderr = lakefuse(t, "run", "--lake", lakeURL, "--run-id", "from-lake", lakeURL+"/toy.yaml")
	if code != 0 {
		t.Errorf("spec from a lake URL: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, _ := lakefuse(t, "run", "--lake", lakeURL, "--run-id", "cli", spec); code != exitCommitted {
		t.Errorf("rerunning a committed run: exit %d, want %d", code, exitCommitted)
	}
}

func TestExitCodes(t *testing.T) {
	lakeURL, dir := writeCSVLake(t)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	tests := []struct {
		name string
		args []string
		want int
		text string
	}{
		{"no command", nil, exitSpec, "usage"},
		{"unknown command", []string{"frobnicate"}, exitSpec, "unknown command"},
		{"version", []string{"version"}, exitOK, ""},
		{"valid spec", []string{"validate", write("ok.yaml", toySpec)}, exitOK, ""},
		{"misspelt field", []string{"validate", write("typo.yaml", strings.Replace(toySpec, "strategies:", "strategy:", 1))}, exitSpec, `unknown field "strategy"`},
		{"missing modality", []string{"run", "--lake", lakeURL, write("missing.yaml", strings.Replace(toySpec, "name: b", "name: c", 1))}, exitInput, `modality "c"`},
		{"unreachable lake scheme", []string{"plan", "--lake", "nope://x", write("ok2.yaml", toySpec)}, exitSpec, "bad lake URL"},
		{"missing spec", []string{"run", filepath.Join(dir, "nope.yaml")}, exitSpec, "nope.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := lakefuse(t, tc.args...)
			if code != tc.want || !strings.Contains(out+stderr, tc.text) {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.want, out, stderr)
			}
		})
	}
}

func TestInterruptedRunExits130(t *testing.T) {
	lakeURL, dir := writeCSVLake(t)
	spec := filepath.Join(dir, "toy.yaml")
	os.WriteFile(spec, []byte(toySpec), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as if SIGINT arrived before the first stage finished
	var out, errw bytes.Buffer
	if code := run(ctx, []string{"run", "--lake", lakeURL, "--run-id", "sigint", spec}, &out, &errw); code != exitInterrupted {
		t.Fatalf("exit %d, want %d\n%s", code, exitInterrupted, errw.String())
	}
	if !strings.Contains(errw.String(), "nothing was committed") {
		t.Errorf("stderr: %s", errw.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "lake", "runs", "sigint", "_SUCCESS")); !os.IsNotExist(err) {
		t.Errorf("_SUCCESS after an interrupted run: %v", err)
	}
}

func TestFitAndScoreCommands(t *testing.T) {
	lakeURL, dir := writeCSVLake(t)
	spec := filepath.Join(dir, "fit.yaml")
	os.WriteFile(spec, []byte(toySpec+"mode: fit\n"), 0o644)
	if code, out, stderr := lakefuse(t, "run", "--lake", lakeURL, "--run-id", "fit", spec); code != 0 {
		t.Fatalf("fit: exit %d\n%s%s", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "lake", "runs", "fit", "models", "early.json")); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := lakefuse(t, "score", "--lake", lakeURL, "--models", lakeURL+"/runs/fit", "--run-id", "scored", spec)
	if code != 0 || !strings.Contains(out, "run scored: 120 entities scored") {
		t.Fatalf("score: exit %d\n%s%s", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "lake", "runs", "scored", "scores", "strategy=early")); err != nil {
		t.Errorf("no scores: %v", err)
	}
	if code, _, stderr := lakefuse(t, "score", "--lake", lakeURL, spec); code != exitSpec || !strings.Contains(stderr, "--models") {
		t.Errorf("score without --models: exit %d: %s", code, stderr)
	}
}

func TestReportCommand(t *testing.T) {
	lakeURL, dir := writeCSVLake(t)
	spec := filepath.Join(dir, "toy.yaml")
	os.WriteFile(spec, []byte(toySpec), 0o644)
	for _, id := range []string{"day1", "day2"} {
		if code, out, stderr := lakefuse(t, "run", "--lake", lakeURL, "--run-id", id, spec); code != 0 {
			t.Fatalf("run %s: exit %d\n%s%s", id, code, out, stderr)
		}
	}
	code, out, stderr := lakefuse(t, "report", lakeURL+"/runs/day1")
	if code != 0 || !strings.Contains(out, "Did fusion help?") || !strings.Contains(out, "<svg") {
		t.Errorf("one run: exit %d, %d bytes\n%s", code, len(out), stderr)
	}
	page := filepath.Join(dir, "compare.html")
	code, _, stderr = lakefuse(t, "report", "--out", page, lakeURL+"/runs/day1", lakeURL+"/runs/day2")
	body, _ := os.ReadFile(page)
	if code != 0 || !strings.Contains(string(body), "Accuracy across 2 runs") || !strings.Contains(string(body), "day2") {
		t.Errorf("two runs: exit %d\n%s", code, stderr)
	}
	// A URL that names no run is a usage mistake (exit 2), with a hint, and
	// leaves nothing behind; so is a folder without report.json.
	if code, _, stderr := lakefuse(t, "report", lakeURL+"/runs/nope"); code != exitSpec || !strings.Contains(stderr, "no run at") {
		t.Errorf("a missing run: exit %d, want %d\n%s", code, exitSpec, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "lake", "runs", "nope")); !os.IsNotExist(err) {
		t.Errorf("report created the missing run's folder: %v", err)
	}
	if code, _, stderr := lakefuse(t, "report", lakeURL+"/runs"); code != exitSpec || !strings.Contains(stderr, "no report.json") {
		t.Errorf("a folder that is not a run: exit %d\n%s", code, stderr)
	}
	// Flags after the positional arguments.
	page2 := filepath.Join(dir, "after.html")
	if code, _, stderr := lakefuse(t, "report", lakeURL+"/runs/day1", "--out", page2); code != 0 {
		t.Errorf("report RUN --out FILE: exit %d\n%s", code, stderr)
	} else if _, err := os.Stat(page2); err != nil {
		t.Errorf("report RUN --out FILE wrote nothing: %v", err)
	}
}

// Every subcommand's -h shows its flags and arguments and exits 0; read-only
// commands never create the folder they are pointed at.
func TestHelpAndReadOnly(t *testing.T) {
	for _, cmd := range []string{"demo", "run", "score", "bucket", "finalize", "validate", "plan", "import", "synth", "inspect", "report", "vacuum"} {
		code, out, stderr := lakefuse(t, cmd, "-h")
		if code != 0 || !strings.Contains(out+stderr, "usage: lakefuse "+cmd) || strings.Contains(out+stderr, "help requested") {
			t.Errorf("%s -h: exit %d\n%s%s", cmd, code, out, stderr)
		}
	}
	if code, out, stderr := lakefuse(t, "validate", "-h"); code != 0 || !strings.Contains(out+stderr, "ARGS: one SPEC") {
		t.Errorf("validate -h does not name its argument: %s%s", out, stderr)
	}
	dir := t.TempDir()
	for _, args := range [][]string{{"inspect", "file://" + dir + "/nothing"}, {"vacuum", "file://" + dir + "/nothing/runs"}} {
		lakefuse(t, args...)
		if _, err := os.Stat(filepath.Join(dir, "nothing")); !os.IsNotExist(err) {
			t.Errorf("%s created the folder: %v", args[0], err)
		}
	}
}

func TestExpandPlaceholders(t *testing.T) {
	t.Setenv("AWS_BATCH_JOB_ID", "abc-123")
	now := time.Date(2026, 11, 27, 1, 30, 0, 0, time.UTC)
	tests := []struct{ in, want string }{
		{"nightly-${AWS_BATCH_JOB_ID}", "nightly-abc-123"},
		{"{yesterday}", "2026-11-26"},
		{"run-{today}", "run-2026-11-27"},
		{"plain", "plain"},
	}
	for _, tc := range tests {
		if got := expand(tc.in, now); got != tc.want {
			t.Errorf("expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// A child of an AWS Batch array job: every shard names the parent's run.
	t.Setenv("AWS_BATCH_JOB_ID", "abc-123:7")
	t.Setenv("AWS_BATCH_JOB_ARRAY_INDEX", "7")
	if got := expand("nightly-${AWS_BATCH_JOB_ID}", now); got != "nightly-abc-123" {
		t.Errorf("an array child's run id: %q", got)
	}
}

// The exit-code taxonomy, row by row, for what can go wrong before any data is
// read and for data problems: 2 spec or usage, 3 input data.
func TestExitCodesSpecAndData(t *testing.T) {
	lakeURL, dir := writeCSVLake(t)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	spec := write("toy.yaml", toySpec)
	oneClass := filepath.Join(dir, "one-class.csv")
	var b strings.Builder
	b.WriteString("entity_id,label,split\n")
	for i := 0; i < 120; i++ {
		split, label := "train", "cat"
		if i%5 == 0 {
			split, label = "test", []string{"cat", "dog"}[i%2]
		}
		fmt.Fprintf(&b, "%d,%s,%s\n", i, label, split)
	}
	os.WriteFile(oneClass, []byte(b.String()), 0o644)
	oneClassLake := "file://" + filepath.Join(dir, "lake2")
	for _, args := range [][]string{
		{"import", "--lake", oneClassLake, "--dataset", "toy", "--modality", "a", filepath.Join(dir, "a.csv")},
		{"import", "--lake", oneClassLake, "--dataset", "toy", "--modality", "b", filepath.Join(dir, "b.csv")},
		{"import", "--lake", oneClassLake, "--dataset", "toy", "--labels", oneClass},
	} {
		if code, _, stderr := lakefuse(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	tests := []struct {
		name string
		args []string
		want int
		text string
	}{
		{"run id with ..", []string{"run", "--lake", lakeURL, "--run-id", "../escape", spec}, exitSpec, `run id "../escape"`},
		{"run id with /", []string{"run", "--lake", lakeURL, "--run-id", "a/b", spec}, exitSpec, "bad name"},
		{"run id .", []string{"run", "--lake", lakeURL, "--run-id", ".", spec}, exitSpec, "bad name"},
		{"run id with a space", []string{"run", "--lake", lakeURL, "--run-id", "has space", spec}, exitSpec, "bad name"},
		{"output escaping the lake", []string{"validate", write("o1.yaml", toySpec+"output: ../../x\n")}, exitSpec, "output"},
		{"absolute output", []string{"validate", write("o2.yaml", toySpec+"output: /etc/x\n")}, exitSpec, "output"},
		{"output .", []string{"validate", write("o3.yaml", toySpec+"output: .\n")}, exitSpec, "output"},
		{"dataset escaping the lake", []string{"validate", write("d1.yaml", strings.Replace(toySpec, "dataset: toy", "dataset: ../toy", 1))}, exitSpec, "dataset"},
		{"bad partition filter", []string{"run", "--lake", lakeURL, "--filter", "date=../x", spec}, exitSpec, "partition"},
		{"import without a table kind", []string{"import", "--lake", lakeURL, "--dataset", "toy", filepath.Join(dir, "a.csv")}, exitSpec, "--modality NAME=FILE"},
		{"import of a missing file", []string{"import", "--lake", lakeURL, "--dataset", "toy", "--modality", "z", filepath.Join(dir, "nope.csv")}, exitSpec, "nope.csv"},
		{"unknown invalid policy", []string{"validate", write("inv.yaml", strings.Replace(toySpec, `columns: "^x"}`, `columns: "^x"}`+"\n    invalid: drop", 1))}, exitSpec, "invalid"},
		{"report of a run that does not exist", []string{"report", lakeURL + "/runs/none"}, exitSpec, "no run at"},
		{"one class in training", []string{"run", "--lake", oneClassLake, "--run-id", "oc", spec}, exitInput, "at least 2"},
		{"run timeout", []string{"run", "--lake", lakeURL, "--run-id", "slow", "--timeout", "1ns", spec}, exitTransient, "exceeded --timeout"},
		{"bad --memory", []string{"run", "--lake", lakeURL, "--run-id", "m", "--memory", "lots", spec}, exitSpec, `--memory: bad size "lots"`},
		{"bad resources.memory", []string{"validate", write("mem.yaml", toySpec+"resources: {memory: 12 parsecs}\n")}, exitSpec, "resources.memory"},
		{"negative fit.max_rows", []string{"validate", write("fit.yaml", toySpec+"fit: {max_rows: -3}\n")}, exitSpec, "fit.max_rows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := lakefuse(t, tc.args...)
			if code != tc.want || !strings.Contains(out+stderr, tc.text) {
				t.Errorf("exit %d (want %d), want text %q\nstdout: %s\nstderr: %s", code, tc.want, tc.text, out, stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "escape")); err == nil {
		t.Error("a run id escaped the output folder")
	}
}

// Storage problems, against the real S3 server: 6 for access and configuration
// (fix access, do not retry), 4 for transient ones (retry), 2 for a missing spec.
func TestExitCodesStorage(t *testing.T) {
	base := testS3(t)
	_, dir := writeCSVLake(t)
	spec := filepath.Join(dir, "toy.yaml")
	os.WriteFile(spec, []byte(toySpec), 0o644)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	with := func(bucket string, set func(q url.Values)) string {
		c := *u
		c.Host = bucket
		q := c.Query()
		if set != nil {
			set(q)
		}
		c.RawQuery = q.Encode()
		return c.String()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want int
		text string
	}{
		{"missing bucket", nil, []string{"inspect", with("no-such-bucket", nil)}, exitAccess, "NoSuchBucket"},
		{"wrong secret", map[string]string{"AWS_SECRET_ACCESS_KEY": "not-the-secret"}, []string{"inspect", with(u.Host, nil)}, exitAccess, "SignatureDoesNotMatch"},
		{"unknown access key", map[string]string{"AWS_ACCESS_KEY_ID": "nobody"}, []string{"inspect", with(u.Host, nil)}, exitAccess, "storage access"},
		{"no credentials", map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_EC2_METADATA_DISABLED": "true", "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"), "AWS_CONFIG_FILE": filepath.Join(dir, "none")},
			[]string{"inspect", with(u.Host, nil)}, exitAccess, "credentials"},
		{"endpoint refusing connections", nil, []string{"inspect", with(u.Host, func(q url.Values) { q.Set("endpoint", closed) })}, exitTransient, "connection refused"},
		{"spec URL naming a folder", nil, []string{"validate", with(u.Host, nil)}, exitSpec, "names a folder"},
		{"missing spec object", nil, []string{"run", strings.Replace(with(u.Host, nil), "?", "/jobs/nope.yaml?", 1)}, exitSpec, "no such object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, out, stderr := lakefuse(t, tc.args...)
			if code != tc.want || !strings.Contains(out+stderr, tc.text) {
				t.Errorf("exit %d (want %d), want text %q\nstdout: %s\nstderr: %s", code, tc.want, tc.text, out, stderr)
			}
			if strings.Contains(stderr, "not-the-secret") || strings.Contains(stderr, os.Getenv("AWS_SECRET_ACCESS_KEY")) && os.Getenv("AWS_SECRET_ACCESS_KEY") != "" {
				t.Error("a secret was printed")
			}
		})
	}
}

// A budget below the run's estimate takes the partitioned path: bucket files in
// --spill-dir (removed afterwards), progress per bucket group, the answer of a
// run held whole. A --spill-dir that cannot be used is a configuration error.
func TestSpilledRun(t *testing.T) {
	lakeURL, dir := writeCSVLake(t)
	spec := filepath.Join(dir, "toy.yaml")
	os.WriteFile(spec, []byte(toySpec+"fit: {max_rows: 100000}\n"), 0o644)
	code, whole, stderr := lakefuse(t, "run", "--lake", lakeURL, "--run-id", "whole", spec)
	if code != 0 || !strings.Contains(stderr, "path=in-memory") {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	spillDir := t.TempDir()
	code, out, stderr := lakefuse(t, "run", "--lake", lakeURL, "--run-id", "spilled", "--memory", "16KiB", "--spill-dir", spillDir, spec)
	if code != 0 || !strings.Contains(stderr, "path=partitioned") || !strings.Contains(stderr, "stage=spill") || !strings.Contains(stderr, `msg="bucket group done"`) {
		t.Fatalf("spilled run: exit %d\n%s", code, stderr)
	}
	if left, _ := os.ReadDir(spillDir); len(left) != 0 {
		t.Errorf("the run left %v in --spill-dir", left)
	}
	// The printed summary, run id and the memory line aside, is the same.
	trim := func(s string) string {
		var keep []string
		for _, line := range strings.Split(s, "\n") {
			if !strings.Contains(line, "whole") && !strings.Contains(line, "spilled") {
				keep = append(keep, line)
			}
		}
		return strings.Join(keep, "\n")
	}
	if trim(out) != trim(whole) {
		t.Errorf("spilled run printed\n%s\nthe run held whole\n%s", out, whole)
	}
	code, _, stderr = lakefuse(t, "run", "--lake", lakeURL, "--run-id", "nowhere", "--memory", "16KiB", "--spill-dir", filepath.Join(dir, "no", "such", "dir"), spec)
	if code != exitSpec || !strings.Contains(stderr, "--spill-dir") {
		t.Errorf("a missing --spill-dir: exit %d, want %d\n%s", code, exitSpec, stderr)
	}
}

// lakefuse bucket, then a run of two shards over the copy: the first says it
// waits, the last commits; finalize and a shard's rerun see the run committed.
func TestBucketAndShardCommands(t *testing.T) {
	lakeURL, dir := writeCSVLake(t)
	spec := filepath.Join(dir, "toy.yaml")
	os.WriteFile(spec, []byte(toySpec), 0o644)
	if code, _, stderr := lakefuse(t, "bucket", "--lake", lakeURL, "--to", "toy_b", spec); code != exitSpec {
		t.Fatalf("bucket without --buckets: exit %d\n%s", code, stderr)
	}
	code, out, stderr := lakefuse(t, "bucket", "--lake", lakeURL, "--buckets", "4", "--to", "toy_b", spec)
	if code != 0 || !strings.Contains(out, "4 buckets of entity_id") {
		t.Fatalf("bucket: exit %d\n%s\n%s", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "lake", "toy_b", "modality=a", "entity_id_bucket=3")); err != nil {
		t.Fatal(err)
	}
	bspec := filepath.Join(dir, "toy_b.yaml")
	os.WriteFile(bspec, []byte(strings.Replace(toySpec, "dataset: toy\n", "dataset: toy_b\n", 1)), 0o644)
	code, whole, stderr := lakefuse(t, "run", "--lake", lakeURL, "--run-id", "whole", bspec)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	code, out, stderr = lakefuse(t, "run", "--lake", lakeURL, "--run-id", "sharded", "--shard", "1/2", "--spill-dir", t.TempDir(), bspec)
	if code != 0 || !strings.Contains(out, "shard 1/2: done; run sharded waits for 1 more") {
		t.Fatalf("shard 1/2: exit %d\n%s\n%s", code, out, stderr)
	}
	code, out, stderr = lakefuse(t, "run", "--lake", lakeURL, "--run-id", "sharded", "--shard", "0/2", "--spill-dir", t.TempDir(), bspec)
	if code != 0 || !strings.Contains(out, "the last to finish") || !strings.Contains(stderr, "shard=0/2") {
		t.Fatalf("shard 0/2: exit %d\n%s\n%s", code, out, stderr)
	}
	// The printed metrics are the single process's.
	metrics := func(s string) string { return s[strings.Index(s, "metrics on"):strings.Index(s, "outputs:")] }
	if metrics(out) != metrics(whole) {
		t.Errorf("sharded run printed\n%s\nthe single process\n%s", out, whole)
	}
	if code, _, stderr := lakefuse(t, "finalize", lakeURL+"/runs/sharded"); code != exitCommitted {
		t.Errorf("finalize of a committed run: exit %d\n%s", code, stderr)
	}
	if code, out, _ := lakefuse(t, "run", "--lake", lakeURL, "--run-id", "sharded", "--shard", "1/2", bspec); code != 0 || !strings.Contains(out, "is committed, with this shard's rows") {
		t.Errorf("a shard rerun after the commit: exit %d\n%s", code, out)
	}
	// A shard index from the engine without a count.
	t.Setenv("JOB_COMPLETION_INDEX", "1")
	if code, _, stderr := lakefuse(t, "run", "--lake", lakeURL, "--run-id", "nocount", bspec); code != exitSpec || !strings.Contains(stderr, "LAKEFUSE_SHARDS") {
		t.Errorf("an index without a count: exit %d\n%s", code, stderr)
	}
}

// import: several tables in one call, CSV or Parquet, rows per table printed; a
// file without the key column is refused unless --row-number-key numbers it.
func TestImportTables(t *testing.T) {
	dir := writeCSVs(t)
	lakeURL := "file://" + filepath.Join(dir, "lake")
	code, out, stderr := lakefuse(t, "import", "--lake", lakeURL, "--dataset", "toy",
		"--modality", "a="+filepath.Join(dir, "a.csv"), "--modality", "b="+filepath.Join(dir, "b.csv"), "--labels", filepath.Join(dir, "labels.csv"))
	if code != 0 || !strings.Contains(out, "wrote 120 rows to "+lakeURL+"/toy/modality=a/part-00000.parquet") ||
		!strings.Contains(out, "wrote 90 rows to") || !strings.Contains(out, "/toy/labels/part-00000.parquet") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	// The Parquet file just written, imported into another dataset as it is.
	pq := filepath.Join(dir, "lake", "toy", "modality=a", "part-00000.parquet")
	if code, out, stderr := lakefuse(t, "import", "--lake", lakeURL, "--dataset", "copy", "--modality", "a="+pq); code != 0 || !strings.Contains(out, "wrote 120 rows") {
		t.Errorf("Parquet import: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := lakefuse(t, "import", "--lake", lakeURL, "--dataset", "copy", "--key", "id", "--modality", "a="+pq); code != exitSpec || !strings.Contains(stderr, `no key column "id"`) {
		t.Errorf("Parquet without the key: exit %d\n%s", code, stderr)
	}
	// A CSV keyed by another column: refused without --key, numbered with --row-number-key.
	noKey := filepath.Join(dir, "nokey.csv")
	os.WriteFile(noKey, []byte("user,x\nu1,1\nu2,2\n"), 0o644)
	if code, _, stderr := lakefuse(t, "import", "--lake", lakeURL, "--dataset", "k", "--modality", "x="+noKey); code != exitSpec || !strings.Contains(stderr, "--row-number-key") {
		t.Errorf("CSV without entity_id: exit %d\n%s", code, stderr)
	}
	if code, out, stderr := lakefuse(t, "import", "--lake", lakeURL, "--dataset", "k", "--key", "user", "--modality", "x="+noKey); code != 0 || !strings.Contains(out, "wrote 2 rows") {
		t.Errorf("--key user: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := lakefuse(t, "import", "--lake", lakeURL, "--dataset", "k2", "--row-number-key", "--modality", "x="+noKey); code != 0 {
		t.Errorf("--row-number-key: exit %d\n%s", code, stderr)
	}
	dup := filepath.Join(dir, "dup.csv")
	os.WriteFile(dup, []byte("entity_id,x,x\n1,1,2\n"), 0o644)
	if code, _, stderr := lakefuse(t, "import", "--lake", lakeURL, "--dataset", "d", "--modality", "x="+dup); code == 0 || !strings.Contains(stderr, "twice") {
		t.Errorf("duplicate header names: exit %d\n%s", code, stderr)
	}
}

// validate --lake checks the spec against the lake: a pattern that matches one
// column is reported as a likely typo; a modality without files is an input error.
func TestValidateAgainstLake(t *testing.T) {
	lakeURL, dir := writeCSVLake(t)
	typo := filepath.Join(dir, "typo.yaml")
	os.WriteFile(typo, []byte(strings.Replace(toySpec, `columns: "^x"`, `columns: "^x0"`, 1)), 0o644)
	code, out, stderr := lakefuse(t, "validate", "--lake", lakeURL, typo)
	if code != 0 || !strings.Contains(out, `modality "a": features.columns matches one column only (x0)`) || !strings.Contains(out, "checked against") {
		t.Errorf("exit %d\n%s%s", code, out, stderr)
	}
	missing := filepath.Join(dir, "missing.yaml")
	os.WriteFile(missing, []byte(strings.Replace(toySpec, "  - name: b\n", "  - {name: c, probs: probs}\n  - name: b\n", 1)), 0o644)
	if code, _, stderr := lakefuse(t, "validate", "--lake", lakeURL, missing); code != exitInput || !strings.Contains(stderr, `modality "c": no parquet files`) {
		t.Errorf("a modality without files: exit %d\n%s", code, stderr)
	}
	if code, out, _ := lakefuse(t, "validate", filepath.Join(dir, "typo.yaml")); code != 0 || strings.Contains(out, "warning") {
		t.Errorf("without --lake the lake is not read: exit %d\n%s", code, out)
	}
}

// On Cloud Run (CLOUD_RUN_JOB set) or with LAKEFUSE_LOG_FORMAT=gcp, log lines and
// the final error line are JSON with Cloud Logging's keys, so a failure shows as
// ERROR there, with its exit code.
func TestGCPLogFormat(t *testing.T) {
	lakeURL, dir := writeCSVLake(t)
	spec := filepath.Join(dir, "toy.yaml")
	os.WriteFile(spec, []byte(toySpec), 0o644)
	t.Setenv("CLOUD_RUN_JOB", "nightly")
	code, _, stderr := lakefuse(t, "run", "--lake", lakeURL, "--run-id", "gcp", spec)
	if code != 0 || !strings.Contains(stderr, `"severity":"INFO"`) || !strings.Contains(stderr, `"message":"run committed"`) || strings.Contains(stderr, `"level"`) {
		t.Errorf("exit %d, log lines:\n%s", code, stderr)
	}
	code, _, stderr = lakefuse(t, "run", "--lake", lakeURL, "--run-id", "gcp", spec)
	if code != exitCommitted || !strings.Contains(stderr, `"severity":"ERROR"`) || !strings.Contains(stderr, `"exit_code":5`) {
		t.Errorf("a committed run: exit %d, final line:\n%s", code, stderr)
	}
	t.Setenv("LAKEFUSE_LOG_FORMAT", "text")
	if code, _, stderr := lakefuse(t, "run", "--lake", lakeURL, "--run-id", "gcp", spec); code != exitCommitted || !strings.HasPrefix(strings.TrimSpace(stderr[strings.LastIndex(stderr, "lakefuse:"):]), "lakefuse: ") {
		t.Errorf("LAKEFUSE_LOG_FORMAT wins over the detection: %s", stderr)
	}
}

// {today} and {yesterday} come from LAKEFUSE_SCHEDULED_TIME in LAKEFUSE_TIMEZONE:
// a run scheduled for 23:30 UTC on the 27th is the 28th in Tokyo, and a retry
// hours later expands the same way.
func TestScheduledTime(t *testing.T) {
	t.Setenv("LAKEFUSE_SCHEDULED_TIME", "2026-11-27T23:30:00Z")
	t.Setenv("LAKEFUSE_TIMEZONE", "Asia/Tokyo")
	d, err := datesFrom()
	if err != nil {
		t.Fatal(err)
	}
	if got := expand("nightly-{today}/{yesterday}", d.Time); got != "nightly-2026-11-28/2026-11-27" {
		t.Errorf("expanded %q", got)
	}
	t.Setenv("LAKEFUSE_TIMEZONE", "")
	d, _ = datesFrom()
	if got := expand("{today}", d.Time); got != "2026-11-27" {
		t.Errorf("UTC by default: %q", got)
	}
	t.Setenv("LAKEFUSE_SCHEDULED_TIME", "yesterday at two")
	if _, err := datesFrom(); err == nil {
		t.Error("a scheduled time that is not RFC 3339 was accepted")
	}
	t.Setenv("LAKEFUSE_SCHEDULED_TIME", "")
	// A Kubernetes CronJob's Job name: nightly-29929140 is 2026-11-27T03:00Z in
	// minutes since the epoch; LAKEFUSE_SCHEDULED_TIME, when set, wins.
	t.Setenv("LAKEFUSE_CRONJOB_JOB_NAME", "lakefuse-nightly-29929140")
	d, err = datesFrom()
	if err != nil || expand("{yesterday}", d.Time) != "2026-11-26" || d.Source != "LAKEFUSE_CRONJOB_JOB_NAME" {
		t.Errorf("a CronJob's Job name: %+v (%v), want the 27th at 03:00 UTC", d, err)
	}
	for _, name := range []string{"manual-run", "manual-7", "nightly-99999999999"} { // by hand; 1970; the future
		t.Setenv("LAKEFUSE_CRONJOB_JOB_NAME", name)
		if d, _ := datesFrom(); time.Since(d.Time) > time.Minute || d.Source != "start" {
			t.Errorf("Job name %q: %+v, want now", name, d)
		}
	}
	lakeURL, dir := writeCSVLake(t)
	spec := filepath.Join(dir, "toy.yaml")
	os.WriteFile(spec, []byte(toySpec), 0o644)
	// The run id's date and the manifest come from the CronJob's schedule, in
	// the schedule's zone (03:00 UTC is noon in Tokyo, the same day).
	t.Setenv("LAKEFUSE_CRONJOB_JOB_NAME", "lakefuse-nightly-29929140")
	t.Setenv("LAKEFUSE_TIMEZONE", "Asia/Tokyo")
	if code, _, stderr := lakefuse(t, "run", "--lake", lakeURL, "--run-id", "nightly-{today}", spec); code != 0 {
		t.Fatalf("a CronJob's run: exit %d\n%s", code, stderr)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "lake", "runs", "nightly-2026-11-27", "manifest.json"))
	if err != nil || !strings.Contains(string(raw), `"dates_from": {`) || !strings.Contains(string(raw), `"time": "2026-11-27T12:00:00+09:00"`) ||
		!strings.Contains(string(raw), `"source": "LAKEFUSE_CRONJOB_JOB_NAME"`) {
		t.Errorf("the manifest does not record the CronJob's scheduled time (%v):\n%s", err, raw)
	}
	t.Setenv("LAKEFUSE_CRONJOB_JOB_NAME", "")
	t.Setenv("LAKEFUSE_TIMEZONE", "")
	t.Setenv("LAKEFUSE_SCHEDULED_TIME", "yesterday at two")
	if code, _, stderr := lakefuse(t, "run", "--lake", lakeURL, "--run-id", "x-{today}", spec); code != exitSpec || !strings.Contains(stderr, "LAKEFUSE_SCHEDULED_TIME") {
		t.Errorf("a bad scheduled time: exit %d\n%s", code, stderr)
	}
	t.Setenv("LAKEFUSE_SCHEDULED_TIME", "2026-11-27T23:30:00Z")
	t.Setenv("LAKEFUSE_TIMEZONE", "Mars/Olympus")
	if code, _, stderr := lakefuse(t, "run", "--lake", lakeURL, "--run-id", "x-{today}", spec); code != exitSpec || !strings.Contains(stderr, "LAKEFUSE_TIMEZONE") {
		t.Errorf("a bad time zone: exit %d\n%s", code, stderr)
	}
}
