// Command crashcampaign kills lakefuse runs at random moments and checks the
// commit protocol's invariants after each kill and after each rerun:
//
//   - no _SUCCESS without a complete manifest (every file it names holds the bytes
//     it describes);
//   - nothing an engine would read in a committed run that the manifest does not
//     name (a stray part file, a temporary file);
//   - a rerun of a killed run commits the same files as an uninterrupted run, its
//     scores the same rows, labels and probabilities bit for bit (every file but
//     the metrics, models and report, which name their run id, byte for byte);
//   - lakefuse vacuum removes the debris of killed attempts and nothing else.
//
// With -shards N, every run is N shard processes started at once (--shard i/N),
// one of which, chosen at random, is killed; the others finish, then the killed
// shard is rerun, as a batch engine retries a failed task: it must exit 0 and the
// run must be whole, its scores byte-identical to an uninterrupted sharded run's.
//
// scripts/crash-campaign.sh builds lakefuse and runs this on file:// and on
// versitygw; it prints tried / held counts per invariant.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lakefuse/lakefuse/lake"
)

const spec = `name: campaign
dataset: ds
output: runs
split: {column: split}
modalities:
  - {name: text, probs: probs}
  - {name: image, probs: probs}
  - {name: audio, probs: probs}
strategies:
  - {name: late-mean, type: late-mean}
  - {name: late-product, type: late-product}
  - {name: stacking, type: stacking}
evaluation: {bootstrap: 200}
outputs: {part_rows: 20000}
`

type counts struct{ tried, held int }

func main() {
	bin := flag.String("lakefuse", "bin/lakefuse", "the lakefuse binary")
	lakeURL := flag.String("lake", "", "lake URL to run on (file:// or s3://)")
	n := flag.Int("n", 50, "runs to kill")
	rows := flag.Int("rows", 60000, "entities in the generated lake")
	seed := flag.Uint64("seed", 1, "seed of the data and of the kill times")
	shards := flag.Int("shards", 1, "shard processes per run (>1: a sharded run, one shard killed)")
	flag.Parse()
	if *lakeURL == "" {
		fmt.Fprintln(os.Stderr, "crashcampaign: -lake is required")
		os.Exit(2)
	}
	ctx := context.Background()
	l, err := lake.Open(ctx, *lakeURL)
	check(err)
	defer l.Close()
	check(writeLake(ctx, l, *rows, *seed))
	dir, err := os.MkdirTemp("", "crashcampaign")
	check(err)
	defer os.RemoveAll(dir)
	specPath := filepath.Join(dir, "spec.yaml")
	check(os.WriteFile(specPath, []byte(spec), 0o644))

	// shard runs shard i of a run (the whole run when not sharded).
	shard := func(runID string, i int) *exec.Cmd {
		args := []string{"run", "--lake", *lakeURL, "--run-id", runID}
		if *shards > 1 {
			args = append(args, "--shard", fmt.Sprintf("%d/%d", i, *shards))
		}
		cmd := exec.Command(*bin, append(args, specPath)...)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		return cmd
	}
	// The reference: every shard at once, as in the trials, so that the kill
	// times span one run.
	start := time.Now()
	var refCmds []*exec.Cmd
	for i := 0; i < *shards; i++ {
		cmd := shard("ref", i)
		check(cmd.Start())
		refCmds = append(refCmds, cmd)
	}
	for _, cmd := range refCmds {
		if err := cmd.Wait(); err != nil {
			fmt.Fprintf(os.Stderr, "crashcampaign: reference run: %v\n", err)
			os.Exit(1)
		}
	}
	dur := time.Since(start)
	ref, problems := verify(ctx, l, "runs/ref")
	if len(problems) > 0 {
		fmt.Fprintln(os.Stderr, "crashcampaign: the reference run is not whole:", problems)
		os.Exit(1)
	}
	what := "runs"
	if *shards > 1 {
		what = fmt.Sprintf("runs of %d shards (one shard each)", *shards)
	}
	fmt.Printf("campaign on %s: reference run %.1f s, %d files; killing %d %s at uniform random moments in [0, %.1f s]\n",
		l, dur.Seconds(), len(ref), *n, what, 1.3*dur.Seconds())

	rng := rand.New(rand.NewPCG(*seed, 99))
	inv := map[string]*counts{}
	for _, name := range []string{"killed run: no _SUCCESS, or a whole run", "killed run: no stray file in a committed run",
		"rerun: exit 0 (or 5 after a kill past the commit)", "rerun: whole run, no stray file", "rerun: same files, the uninterrupted run's scores",
		"vacuum: committed runs unchanged"} {
		inv[name] = &counts{}
	}
	held := func(name string, ok bool, detail string) {
		c := inv[name]
		c.tried++
		if ok {
			c.held++
		} else {
			fmt.Printf("  FAILED %s: %s\n", name, detail)
		}
	}
	var killedBefore, killedAfter, killedPending int
	var victimMidway, victimDone int // sharded: the killed shard had not / had written its state
	for i := 0; i < *n; i++ {
		runID := fmt.Sprintf("crash-%03d", i)
		prefix := "runs/" + runID
		// Every shard at once; one of them is killed at a random moment.
		victim := rng.IntN(*shards)
		var cmds []*exec.Cmd
		for j := 0; j < *shards; j++ {
			cmd := shard(runID, j)
			check(cmd.Start())
			cmds = append(cmds, cmd)
		}
		wait := time.Duration(rng.Float64() * 1.3 * float64(dur))
		done := make(chan error, 1)
		go func() { done <- cmds[victim].Wait() }()
		select {
		case <-done: // finished before the kill
		case <-time.After(wait):
			_ = cmds[victim].Process.Signal(syscall.SIGKILL)
			<-done
		}
		if *shards > 1 {
			if ok, err := l.Exists(ctx, fmt.Sprintf("%s/%s/%05d.json", prefix, lake.ShardsDir, victim)); err == nil && ok {
				victimDone++
			} else {
				victimMidway++
			}
		}
		for j, cmd := range cmds {
			if j != victim {
				_ = cmd.Wait()
			}
		}
		st, err := l.Status(ctx, prefix)
		check(err)
		switch {
		case st.Committed:
			killedAfter++
			_, p := verify(ctx, l, prefix)
			held("killed run: no _SUCCESS, or a whole run", len(p) == 0, strings.Join(p, "; "))
			held("killed run: no stray file in a committed run", !hasStray(p), strings.Join(p, "; "))
		case st.Claimed:
			killedPending++
		default:
			killedBefore++
		}
		if !st.Committed {
			held("killed run: no _SUCCESS, or a whole run", true, "")
		}

		rerun := shard(runID, victim)
		err = rerun.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			check(err)
		}
		// A shard whose part is in the committed run exits 0 on a rerun.
		held("rerun: exit 0 (or 5 after a kill past the commit)", code == 0 || (code == 5 && st.Committed && *shards == 1), fmt.Sprintf("%s: exit %d", runID, code))
		got, p := verify(ctx, l, prefix)
		held("rerun: whole run, no stray file", len(p) == 0, strings.Join(p, "; "))
		// Scores (all but run_id, decoded) and rejected rows byte for byte. The
		// metrics table, models and report name their run, so only their
		// presence is compared.
		same := len(got) == len(ref)
		for path, sum := range ref {
			sum2, ok := got[path]
			if !ok || (strings.HasPrefix(path, "scores/") || strings.HasPrefix(path, "rejected/")) && sum2 != sum {
				same = false
			}
		}
		held("rerun: same files, the uninterrupted run's scores", same, runID)
	}

	// vacuum removes the killed attempts' staged files and leaves every committed
	// run as it was.
	before := map[string]map[string]string{}
	objs, err := l.List(ctx, "runs/")
	check(err)
	for _, o := range objs {
		run := strings.SplitN(strings.TrimPrefix(o.Key, "runs/"), "/", 2)[0]
		if before[run] == nil {
			before[run], _ = verify(ctx, l, "runs/"+run)
		}
	}
	out, err := exec.Command(*bin, "vacuum", "--older-than", "0s", "--apply", strings.Replace(*lakeURL, "?", "/runs?", 1)+suffixIfNoQuery(*lakeURL)).CombinedOutput()
	if err != nil {
		fmt.Printf("  FAILED vacuum: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for run, files := range before {
		after, p := verify(ctx, l, "runs/"+run)
		same := len(p) == 0 && len(after) == len(files)
		for path, sum := range files {
			if after[path] != sum {
				same = false
			}
		}
		held("vacuum: committed runs unchanged", same, run)
	}
	left, err := l.List(ctx, "runs/")
	check(err)
	staged := 0
	for _, o := range left {
		if strings.Contains(o.Key, "/"+lake.AttemptsDir+"/") {
			staged++
		}
	}

	fmt.Printf("kills: %d before any commit, %d while publishing a claimed commit, %d after the commit (or run finished first)\n", killedBefore, killedPending, killedAfter)
	if *shards > 1 {
		fmt.Printf("killed shards: %d before writing their state (mid-way), %d after it (finalizing, or done)\n", victimMidway, victimDone)
	}
	fmt.Printf("vacuum: %s; staged files left afterwards: %d\n", lines[len(lines)-1], staged)
	fmt.Println("invariant | tried | held")
	failed := false
	for _, name := range []string{"killed run: no _SUCCESS, or a whole run", "killed run: no stray file in a committed run",
		"rerun: exit 0 (or 5 after a kill past the commit)", "rerun: whole run, no stray file", "rerun: same files, the uninterrupted run's scores",
		"vacuum: committed runs unchanged"} {
		c := inv[name]
		fmt.Printf("%s | %d | %d\n", name, c.tried, c.held)
		failed = failed || c.held != c.tried
	}
	if failed || staged > 0 {
		os.Exit(1)
	}
}

func suffixIfNoQuery(u string) string {
	if strings.Contains(u, "?") {
		return ""
	}
	return "/runs"
}

// verify checks that a committed run is whole and returns its deterministic files
// (all but the report) with their checksums, and the problems found.
func verify(ctx context.Context, l *lake.Lake, prefix string) (map[string]string, []string) {
	var problems []string
	st, err := l.Status(ctx, prefix)
	if err != nil || !st.Committed {
		return nil, []string{fmt.Sprintf("%s: not committed (%v)", prefix, err)}
	}
	b, err := l.ReadAll(ctx, prefix+"/manifest.json")
	if err != nil {
		return nil, []string{fmt.Sprintf("%s: _SUCCESS without a manifest: %v", prefix, err)}
	}
	var m lake.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, []string{fmt.Sprintf("%s: manifest: %v", prefix, err)}
	}
	files := map[string]string{}
	named := map[string]bool{}
	for _, f := range m.Files {
		named[f.Path] = true
		body, err := l.ReadAll(ctx, prefix+"/"+f.Path)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s: %v", prefix, f.Path, err))
			continue
		}
		sum := sha256.Sum256(body)
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(body)) != f.Size {
			problems = append(problems, fmt.Sprintf("%s: %s does not match the manifest", prefix, f.Path))
		}
		switch {
		case strings.HasPrefix(f.Path, "report."):
		case strings.HasPrefix(f.Path, "scores/"):
			// Scores name their run (run_id): compare what they say.
			sum, err := scoresSum(ctx, l, lake.DataFile{Key: prefix + "/" + f.Path, Size: f.Size})
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %s: %v", prefix, f.Path, err))
			}
			files[f.Path] = sum
		default:
			files[f.Path] = f.SHA256
		}
	}
	objs, err := l.List(ctx, prefix+"/")
	if err != nil {
		return nil, []string{err.Error()}
	}
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, prefix+"/")
		if !named[rel] && rel != lake.ManifestName && !strings.HasPrefix(rel, "_") {
			problems = append(problems, fmt.Sprintf("stray %s", o.Key))
		}
	}
	return files, problems
}

func hasStray(problems []string) bool {
	for _, p := range problems {
		if strings.HasPrefix(p, "stray ") {
			return true
		}
	}
	return false
}

// writeLake writes labels and three modalities of 10-class probabilities, each
// covering about 90 % of the entities, each in two files.
func writeLake(ctx context.Context, l *lake.Lake, n int, seed uint64) error {
	const classes = 10
	rng := rand.New(rand.NewPCG(seed, 7))
	ids := make([]int64, n)
	labels := make([]int64, n)
	split := make([]string, n)
	for i := range ids {
		ids[i] = int64(i)*7 + 3
		labels[i] = int64(rng.IntN(classes))
		split[i] = "train"
		if i%4 == 0 {
			split[i] = "test"
		}
	}
	if err := writeParquet(ctx, l, "ds/labels/part-0.parquet", n, []lake.OutColumn{
		{Name: "entity_id", Int64: ids}, {Name: "label", Int64: labels}, {Name: "split", String: split}}); err != nil {
		return err
	}
	for m, name := range []string{"text", "image", "audio"} {
		var keys []int64
		var probs []float64
		for i := range ids {
			if rng.Float64() >= 0.9 {
				continue
			}
			keys = append(keys, ids[i])
			row := make([]float64, classes)
			sum := 0.0
			for c := range row {
				row[c] = math.Exp(rng.NormFloat64())
				if int64(c) == labels[i] {
					row[c] *= 2 + float64(m)
				}
				sum += row[c]
			}
			for c := range row {
				probs = append(probs, row[c]/sum)
			}
		}
		half := len(keys) / 2
		for part, lo := range []int{0, half} {
			hi := []int{half, len(keys)}[part]
			if err := writeParquet(ctx, l, fmt.Sprintf("ds/modality=%s/part-%d.parquet", name, part), hi-lo, []lake.OutColumn{
				{Name: "entity_id", Int64: keys[lo:hi]}, {Name: "probs", List64: probs[lo*classes : hi*classes], Width: classes}}); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeParquet(ctx context.Context, l *lake.Lake, key string, rows int, cols []lake.OutColumn) error {
	return l.WriteObject(ctx, key, nil, func(w io.Writer) error { return lake.WriteParquet(w, rows, cols) })
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashcampaign:", err)
		os.Exit(1)
	}
}

// scoresSum hashes what a scores file says, every column but run_id: keys,
// labels, splits and probabilities, bit for bit.
func scoresSum(ctx context.Context, l *lake.Lake, f lake.DataFile) (string, error) {
	t, err := l.ScanFile(ctx, f, lake.ColumnRequest{Key: "entity_id", Label: "label", Split: "split", Vector: "probs"}, nil)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for i := 0; i < t.Rows; i++ {
		fmt.Fprintf(h, "%d %d %s;", t.IntKeys[i], t.IntLabels[i], t.Split[i])
	}
	for _, v := range t.Values {
		fmt.Fprintf(h, "%x;", math.Float64bits(v))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
