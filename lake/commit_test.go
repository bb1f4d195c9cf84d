package lake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/internal/errkind"
	"github.com/lakefuse/lakefuse/internal/testenv"
)

// The commit protocol's conformance suite, run on every backend users run on:
// mem://, file:// and a real S3 server (versitygw, started by scripts/test.sh).

type backend struct{ name, url string }

func commitBackends(t *testing.T) []backend {
	t.Helper()
	out := []backend{{"mem", "mem://"}, {"file", "file://" + t.TempDir()}}
	base := os.Getenv("LAKEFUSE_TEST_S3")
	switch {
	case base != "":
		bucket, query, _ := strings.Cut(base, "?")
		out = append(out, backend{"s3", fmt.Sprintf("%s/commit-%d?%s", bucket, rand.Int64(), query)})
	case testenv.InCI():
		t.Fatal("LAKEFUSE_TEST_S3 is not set: run the tests with scripts/test.sh")
	default:
		t.Log("no S3 server (run scripts/test.sh): testing mem:// and file:// only")
	}
	return out
}

// errCrash is what every request of a "dead" process gets; its kind is not
// transient, so nothing retries it.
var errCrash = errkind.E(errkind.Access, errors.New("the process died"))

// recorder records every mutating request (put, copy, delete) in order and can
// kill the process at the n-th one: that request and every later one fail, as
// if the process had died just before sending it.
type recorder struct {
	mu     sync.Mutex
	writes []string
	killAt int // index of the mutating request that dies; -1 never
	dead   bool
}

func (r *recorder) intercept(op, key string, do func() error) error {
	r.mu.Lock()
	if r.dead {
		r.mu.Unlock()
		return errCrash
	}
	if op == "put" || op == "copy" || op == "delete" {
		if len(r.writes) == r.killAt {
			r.dead = true
			r.mu.Unlock()
			return errCrash
		}
		r.writes = append(r.writes, op+" "+key)
	}
	r.mu.Unlock()
	return do()
}

// opener gives each simulated process its own view (and fault injection) of one
// backend's bucket: separate Opens of mem:// would be separate buckets.
type opener struct{ base *Lake }

func newOpener(t *testing.T, url string) opener {
	t.Helper()
	l, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return opener{base: l}
}

func (o opener) with(intercept func(op, key string, do func() error) error) *Lake {
	return o.base.withOptions(&Options{Intercept: intercept})
}

// content is what one attempt writes: two data files and a report.
func content(tag string) map[string]string {
	return map[string]string{
		"scores/strategy=a/part-00000-00000.parquet": "scores of " + tag,
		"rejected/part-00000.parquet":                "rejected rows of " + tag,
		"metrics/part-00000.parquet":                 "metrics of " + tag,
		"report.json":                                `{"by":"` + tag + `"}`,
	}
}

// stageAndCommit writes content(tag) as one attempt and commits it.
func stageAndCommit(ctx context.Context, a *Attempt, tag string) error {
	files := content(tag)
	for _, rel := range sortedRel(files) {
		body := files[rel]
		if err := a.WriteFile(ctx, rel, 1, "", func(w io.Writer) error { _, err := io.WriteString(w, body); return err }); err != nil {
			return err
		}
	}
	return a.Commit(ctx, Manifest{RunID: "r"})
}

func sortedRel(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// checkRun asserts the run is either absent (no _SUCCESS) or whole: manifest.json
// names every published file with its checksum, and nothing outside _attempts/ but
// those files and the markers exists. It returns the committed files' contents.
func checkRun(t *testing.T, l *Lake, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	st, err := l.Status(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Committed {
		return nil
	}
	b, err := l.ReadAll(ctx, Join(prefix, ManifestName))
	if err != nil {
		t.Fatalf("_SUCCESS without a readable manifest: %v", err)
	}
	m := parseManifest(t, b)
	if !slices.IsSortedFunc(m.Files, func(a, b ManifestFile) int { return strings.Compare(a.Path, b.Path) }) {
		t.Errorf("manifest files are not sorted by path: %v", m.Files)
	}
	if m.Attempt != st.Attempt {
		t.Errorf("_SUCCESS names attempt %s, the manifest %s", st.Attempt, m.Attempt)
	}
	got := map[string]string{}
	allowed := map[string]bool{ManifestName: true, SuccessMarker: true, ClaimMarker: true}
	for _, f := range m.Files {
		body, err := l.ReadAll(ctx, Join(prefix, f.Path))
		if err != nil {
			t.Fatalf("committed file %s: %v", f.Path, err)
		}
		sum := sha256.Sum256(body)
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(body)) != f.Size {
			t.Errorf("committed file %s does not match its manifest entry", f.Path)
		}
		got[f.Path] = string(body)
		allowed[f.Path] = true
	}
	objs, err := l.List(ctx, prefix+"/")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, prefix+"/")
		if !allowed[rel] && !strings.HasPrefix(rel, AttemptsDir+"/") {
			t.Errorf("stray object %s in a committed run", rel)
		}
		if !allowed[rel] && strings.HasSuffix(rel, ".parquet") {
			t.Errorf("%s: a **/*.parquet glob of the committed run would read it", rel)
		}
	}
	return got
}

func parseManifest(t *testing.T, b []byte) Manifest {
	t.Helper()
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCommitWritesManifestBeforeSuccess(t *testing.T) {
	for _, be := range commitBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			open := newOpener(t, be.url)
			rec := &recorder{killAt: -1}
			l := open.with(rec.intercept)
			a, err := l.BeginAttempt(ctx, "runs/r")
			if err != nil {
				t.Fatal(err)
			}
			if err := stageAndCommit(ctx, a, "A"); err != nil {
				t.Fatal(err)
			}
			if got := checkRun(t, l, "runs/r"); !mapsEqual(got, content("A")) {
				t.Fatalf("committed %v, want %v", got, content("A"))
			}
			idx := func(w string) int { return slices.Index(rec.writes, w) }
			manifest, success, claim := idx("put runs/r/manifest.json"), idx("put runs/r/_SUCCESS"), idx("put runs/r/_COMMIT")
			if manifest < 0 || success < 0 || claim < 0 {
				t.Fatalf("writes %q lack the manifest, claim or marker", rec.writes)
			}
			if !(claim < manifest && manifest < success) {
				t.Errorf("order: claim %d, manifest %d, _SUCCESS %d; want claim < manifest < _SUCCESS", claim, manifest, success)
			}
			for i, w := range rec.writes {
				staged := strings.Contains(w, "runs/r/"+AttemptsDir+"/")
				switch {
				case i < claim && !strings.HasPrefix(w, "put ") || i < claim && !staged:
					t.Errorf("before the claim, %q: want only staged puts", w)
				case i > success && !(strings.HasPrefix(w, "delete ") && staged):
					t.Errorf("after _SUCCESS, %q: want only deletes of staged files", w)
				}
			}
			if st, _ := l.Status(ctx, "runs/r"); st.Attempt != a.ID() {
				t.Errorf("_SUCCESS names %q, want %q", st.Attempt, a.ID())
			}
			left, _ := l.List(ctx, Join("runs/r", AttemptsDir)+"/")
			if len(left) != 0 {
				t.Errorf("the committed attempt's staged files were left: %v", left)
			}
			if dir, ok := strings.CutPrefix(be.url, "file://"); ok {
				if _, err := os.Stat(filepath.Join(dir, "runs/r", AttemptsDir)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("the empty staging folders were left on file:// (%v)", err)
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A crash before any mutating request of a commit leaves no run or a whole one,
// and a later attempt always ends with a whole run: its own, or the crashed
// attempt's when that one had claimed the commit.
func TestCommitCrashAtEveryPoint(t *testing.T) {
	for _, be := range commitBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			open := newOpener(t, be.url)
			clean := &recorder{killAt: -1}
			a, err := open.with(clean.intercept).BeginAttempt(ctx, "count/r")
			if err != nil {
				t.Fatal(err)
			}
			if err := stageAndCommit(ctx, a, "A"); err != nil {
				t.Fatal(err)
			}
			points := len(clean.writes)
			success := slices.Index(clean.writes, "put count/r/_SUCCESS")
			for kill := 0; kill <= points; kill++ {
				prefix := fmt.Sprintf("crash%d/r", kill)
				rec := &recorder{killAt: kill}
				dying := open.with(rec.intercept)
				a, err := dying.BeginAttempt(ctx, prefix)
				if err != nil {
					t.Fatal(err)
				}
				err = stageAndCommit(ctx, a, "A")
				if kill <= success && !errors.Is(err, errCrash) {
					t.Fatalf("kill at %d of %d: got %v, want the crash", kill, points, err)
				}
				if kill > success && err != nil {
					t.Fatalf("kill at %d, after _SUCCESS (%d): got %v, want success (cleaning up is best effort)", kill, success, err)
				}
				l := open.with(nil)
				before := checkRun(t, l, prefix)
				if before != nil && !mapsEqual(before, content("A")) {
					t.Fatalf("kill at %d: committed %v", kill, before)
				}
				// A rerun: finish a claimed commit, or do the work again.
				b, err := l.BeginAttempt(ctx, prefix)
				var pending *PendingCommit
				switch {
				case errors.As(err, &pending):
					if pending.Attempt != a.ID() {
						t.Fatalf("pending attempt %s, want %s", pending.Attempt, a.ID())
					}
					if err := l.CompleteCommit(ctx, prefix, pending.Attempt); err != nil {
						t.Fatalf("kill at %d: completing: %v", kill, err)
					}
				case errors.Is(err, ErrRunCommitted):
					if before == nil {
						t.Fatalf("kill at %d: ErrRunCommitted for a run that is not committed", kill)
					}
				case err != nil:
					t.Fatal(err)
				default:
					if before != nil {
						t.Fatalf("kill at %d: a new attempt began on a committed run", kill)
					}
					if err := stageAndCommit(ctx, b, "B"); err != nil {
						t.Fatalf("kill at %d: rerun: %v", kill, err)
					}
				}
				after := checkRun(t, l, prefix)
				if after == nil {
					t.Fatalf("kill at %d: no run after the rerun", kill)
				}
				if before != nil && !mapsEqual(after, before) {
					t.Errorf("kill at %d: the rerun changed a committed run", kill)
				}
				if !mapsEqual(after, content("A")) && !mapsEqual(after, content("B")) {
					t.Errorf("kill at %d: committed a mix of attempts: %v", kill, after)
				}
			}
		})
	}
}

// Of two attempts racing on one run, exactly one attempt's files are committed;
// the loser gets ErrRunCommitted and its staged files are removed, and a loser
// that keeps writing (until it is killed) never changes the committed run.
func TestCommitRace(t *testing.T) {
	for _, be := range commitBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			open := newOpener(t, be.url)
			l := open.with(nil)
			a, err := l.BeginAttempt(ctx, "race/r")
			if err != nil {
				t.Fatal(err)
			}
			b, err := l.BeginAttempt(ctx, "race/r")
			if err != nil {
				t.Fatal(err)
			}
			// B stages first, A commits first.
			if err := b.WriteFile(ctx, "report.json", 0, "", func(w io.Writer) error { _, err := io.WriteString(w, "early B"); return err }); err != nil {
				t.Fatal(err)
			}
			if err := stageAndCommit(ctx, a, "A"); err != nil {
				t.Fatal(err)
			}
			if err := stageAndCommit(ctx, b, "B"); !errors.Is(err, ErrRunCommitted) {
				t.Fatalf("loser: got %v, want ErrRunCommitted", err)
			}
			if err := b.Check(ctx); !errors.Is(err, ErrRunCommitted) || !strings.Contains(err.Error(), "committed by attempt "+a.ID()) {
				t.Errorf("the loser's check names the winner: %v", err)
			}
			if got := checkRun(t, l, "race/r"); !mapsEqual(got, content("A")) {
				t.Fatalf("committed %v, want A's files", got)
			}
			if left, _ := l.List(ctx, Join("race/r", AttemptsDir, b.ID())+"/"); len(left) != 0 {
				t.Errorf("the loser left %d staged files", len(left))
			}
			// A third attempt started before the commit writes until it is killed
			// at a random point: the committed run does not change.
			for kill := 0; kill < 6; kill++ {
				rec := &recorder{killAt: kill}
				c := &Attempt{lake: open.with(rec.intercept), prefix: "race/r", id: NewAttemptID(time.Now()), files: map[string]ManifestFile{}}
				err := stageAndCommit(ctx, c, "C")
				if err == nil {
					t.Fatal("a late attempt committed over a committed run")
				}
				if got := checkRun(t, l, "race/r"); !mapsEqual(got, content("A")) {
					t.Fatalf("kill at %d: the committed run changed: %v", kill, got)
				}
			}
		})
	}
}

// An attempt that claims the commit and dies before publishing blocks nobody:
// the next attempt to commit is told, and finishing the claimed commit publishes
// the claimer's files.
func TestCommitPendingIsCompleted(t *testing.T) {
	for _, be := range commitBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			open := newOpener(t, be.url)
			var claimed bool
			rec := &recorder{killAt: -1}
			dying := open.with(func(op, key string, do func() error) error {
				if claimed && op != "get" && op != "head" && op != "list" {
					return errCrash
				}
				err := rec.intercept(op, key, do)
				claimed = claimed || (op == "put" && strings.HasSuffix(key, ClaimMarker))
				return err
			})
			a, err := dying.BeginAttempt(ctx, "pending/r")
			if err != nil {
				t.Fatal(err)
			}
			if err := stageAndCommit(ctx, a, "A"); !errors.Is(err, errCrash) {
				t.Fatalf("got %v, want the crash after the claim", err)
			}
			l := open.with(nil)
			b := &Attempt{lake: l, prefix: "pending/r", id: NewAttemptID(time.Now()), files: map[string]ManifestFile{}}
			err = stageAndCommit(ctx, b, "B")
			var pending *PendingCommit
			if !errors.As(err, &pending) || pending.Attempt != a.ID() {
				t.Fatalf("got %v, want PendingCommit naming %s", err, a.ID())
			}
			if errkind.Of(err) != errkind.Committed {
				t.Errorf("kind %v, want committed", errkind.Of(err))
			}
			if err := l.CompleteCommit(ctx, "pending/r", pending.Attempt); err != nil {
				t.Fatal(err)
			}
			if got := checkRun(t, l, "pending/r"); !mapsEqual(got, content("A")) {
				t.Fatalf("committed %v, want the claimer's files", got)
			}
			if err := l.CompleteCommit(ctx, "pending/r", b.ID()); !errors.Is(err, ErrRunCommitted) {
				t.Errorf("completing for another attempt: got %v, want ErrRunCommitted", err)
			}
		})
	}
}

// The claim and the marker are written once even when the server applies a
// write and its response is lost: the retry finds the attempt's own name there.
func TestCommitLostResponse(t *testing.T) {
	for _, be := range commitBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			open := newOpener(t, be.url)
			lost := map[string]bool{}
			var mu sync.Mutex
			l := open.with(func(op, key string, do func() error) error {
				err := do()
				mu.Lock()
				defer mu.Unlock()
				if err == nil && op == "put" && (strings.HasSuffix(key, ClaimMarker) || strings.HasSuffix(key, SuccessMarker)) && !lost[key] {
					lost[key] = true
					return errkind.E(errkind.Transient, errors.New("connection reset by peer (after the server applied the write)"))
				}
				return err
			})
			a, err := l.BeginAttempt(ctx, "lost/r")
			if err != nil {
				t.Fatal(err)
			}
			if err := stageAndCommit(ctx, a, "A"); err != nil {
				t.Fatalf("commit with lost responses: %v", err)
			}
			if len(lost) != 2 {
				t.Fatalf("lost %d responses, want 2 (claim and marker)", len(lost))
			}
			if got := checkRun(t, l, "lost/r"); !mapsEqual(got, content("A")) {
				t.Fatalf("committed %v", got)
			}
		})
	}
}

func TestVacuum(t *testing.T) {
	for _, be := range commitBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			open := newOpener(t, be.url)
			l := open.with(nil)
			// A committed run with a loser's staged file left behind.
			win, _ := l.BeginAttempt(ctx, "out/done")
			lose, _ := l.BeginAttempt(ctx, "out/done")
			if err := lose.WriteFile(ctx, "report.json", 0, "", func(w io.Writer) error { _, err := io.WriteString(w, "loser"); return err }); err != nil {
				t.Fatal(err)
			}
			if err := stageAndCommit(ctx, win, "A"); err != nil {
				t.Fatal(err)
			}
			// A run whose only attempt crashed while staging.
			crashed, _ := l.BeginAttempt(ctx, "out/crashed")
			if err := crashed.WriteFile(ctx, "report.json", 0, "", func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }); err != nil {
				t.Fatal(err)
			}
			// A run whose commit was claimed and not finished.
			claimer := open.with(func(op, key string, do func() error) error {
				if op == "copy" {
					return errCrash
				}
				return do()
			})
			pend, _ := claimer.BeginAttempt(ctx, "out/pending")
			if err := stageAndCommit(ctx, pend, "P"); !errors.Is(err, errCrash) {
				t.Fatalf("got %v, want a crash while publishing", err)
			}

			young, err := l.Vacuum(ctx, "out", time.Hour, time.Now(), false)
			if err != nil {
				t.Fatal(err)
			}
			if len(young.Items) != 0 {
				t.Errorf("--older-than 1h listed files written just now: %v", young.Items)
			}
			res, err := l.Vacuum(ctx, "out", 0, time.Now().Add(time.Minute), true)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, it := range res.Items {
				keys = append(keys, it.Key)
			}
			want := []string{
				stagedName("out/crashed", crashed.ID(), "report.json"),
				stagedName("out/done", lose.ID(), "report.json"),
			}
			if !slices.Equal(keys, want) {
				t.Errorf("vacuum removed %q, want %q", keys, want)
			}
			if !slices.Equal(res.Pending, []string{"out/pending"}) || res.Runs != 3 {
				t.Errorf("pending %v of %d runs, want [out/pending] of 3", res.Pending, res.Runs)
			}
			if got := checkRun(t, l, "out/done"); !mapsEqual(got, content("A")) {
				t.Errorf("vacuum changed a committed run: %v", got)
			}
			if err := l.CompleteCommit(ctx, "out/pending", pend.ID()); err != nil {
				t.Fatalf("vacuum removed what the pending commit needs: %v", err)
			}
		})
	}
}

// Exclusive creation, which the claim and the marker rely on: of many writers
// racing for one key, exactly one succeeds and the others get ErrExists.
func TestCreateIsExclusive(t *testing.T) {
	for _, be := range commitBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			open := newOpener(t, be.url)
			var wg sync.WaitGroup
			errs := make([]error, 8)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = open.with(nil).WriteObject(ctx, "x/marker", &WriteOptions{IfNotExist: true}, writeBytes([]byte(fmt.Sprint(i))))
				}()
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, ErrExists):
					t.Errorf("a losing writer got %v, want ErrExists", err)
				}
			}
			if won != 1 {
				t.Errorf("%d writers won, want 1", won)
			}
		})
	}
}

// An attempt whose publishing fails (not a crash: an error it sees) and then
// aborts keeps its staged files, since it holds the claim: the next attempt
// finishes its commit.
func TestAbortAfterClaimKeepsStaging(t *testing.T) {
	for _, be := range commitBackends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			open := newOpener(t, be.url)
			failing := open.with(func(op, key string, do func() error) error {
				if op == "copy" {
					return errkind.E(errkind.Access, errors.New("access denied"))
				}
				return do()
			})
			a, err := failing.BeginAttempt(ctx, "abort/r")
			if err != nil {
				t.Fatal(err)
			}
			if err := stageAndCommit(ctx, a, "A"); err == nil {
				t.Fatal("publishing failed, yet the commit succeeded")
			}
			a.Abort()
			l := open.with(nil)
			_, err = l.BeginAttempt(ctx, "abort/r")
			var pending *PendingCommit
			if !errors.As(err, &pending) {
				t.Fatalf("got %v, want a pending commit", err)
			}
			if err := l.CompleteCommit(ctx, "abort/r", pending.Attempt); err != nil {
				t.Fatalf("finishing the claimed commit: %v", err)
			}
			if got := checkRun(t, l, "abort/r"); !mapsEqual(got, content("A")) {
				t.Fatalf("committed %v", got)
			}
		})
	}
}
