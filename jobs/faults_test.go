package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/internal/errkind"
	"github.com/lakefuse/lakefuse/internal/faultproxy"
	"github.com/lakefuse/lakefuse/jobs"
	"github.com/lakefuse/lakefuse/lake"
)

// End-to-end runs against a real S3 server (versitygw) behind a proxy that injects
// the failures object stores produce: the outputs must not change, a lost response
// must not fail a run that committed, and a stalled request must end in a
// transient error (exit 4), not a hang.

// proxiedS3 returns a fault proxy in front of the test S3 server, and the URL of a
// fresh lake through it.
func proxiedS3(t *testing.T, name string) (*faultproxy.Proxy, string) {
	t.Helper()
	direct := s3URL(t, name)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	p, err := faultproxy.Start(q.Get("endpoint"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	q.Set("endpoint", p.URL())
	u.RawQuery = q.Encode()
	return p, u.String()
}

func syntheticRun(t *testing.T) (*jobs.Spec, synthetic) {
	t.Helper()
	spec, err := jobs.ParseSpec([]byte(syntheticSpec), "synthetic")
	if err != nil {
		t.Fatal(err)
	}
	return spec, synthetic{rows: 3000, classes: 4, coverage: map[string]float64{"text": 0.9, "image": 0.8, "audio": 0.7}, seed: 11}
}

// deterministic is what two runs of one spec on one lake agree on byte for byte:
// everything but the report (timings) and the manifest (times, attempt).
func deterministic(files map[string]lake.ManifestFile) map[string]string {
	out := map[string]string{}
	for p, f := range files {
		if p != "report.json" && p != "report.html" {
			out[p] = f.SHA256
		}
	}
	return out
}

func TestFaultsRandomErrorsAndResets(t *testing.T) {
	spec, data := syntheticRun(t)
	refURL := "file://" + t.TempDir()
	data.write(t, openLake(t, refURL), "ds")
	ref, err := jobs.Run(context.Background(), spec, jobs.Options{Lake: refURL, RunID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	want := deterministic(committedFiles(t, openLake(t, refURL), ref.Prefix))

	p, url := proxiedS3(t, "faults")
	data.write(t, openLake(t, url), "ds")
	p.SetRule(faultproxy.Random(5, 0.08, 0.08))
	res, err := jobs.Run(context.Background(), spec, jobs.Options{Lake: url, RunID: "r"})
	if err != nil {
		t.Fatalf("a run through 8%% 503s and 8%% resets failed: %v", err)
	}
	p.SetRule(nil)
	if p.Count(faultproxy.ServerError) == 0 || p.Count(faultproxy.Reset) == 0 {
		t.Fatalf("the proxy injected %d errors and %d resets: the test proved nothing", p.Count(faultproxy.ServerError), p.Count(faultproxy.Reset))
	}
	got := deterministic(committedFiles(t, openLake(t, url), res.Prefix))
	if len(got) != len(want) {
		t.Fatalf("%d files, want %d", len(got), len(want))
	}
	for path, sum := range want {
		if got[path] != sum {
			t.Errorf("%s differs from the fault-free run", path)
		}
	}
	t.Logf("%d 503s, %d resets injected", p.Count(faultproxy.ServerError), p.Count(faultproxy.Reset))
}

// The server applies the _SUCCESS write but the response never arrives: the
// attempt finds its own id in the marker and succeeds.
func TestFaultsLostSuccessResponse(t *testing.T) {
	spec, data := syntheticRun(t)
	p, url := proxiedS3(t, "lost")
	data.write(t, openLake(t, url), "ds")
	p.SetRule(faultproxy.Once(http.MethodPut, "/_SUCCESS", faultproxy.LoseResponse))
	res, err := jobs.Run(context.Background(), spec, jobs.Options{Lake: url, RunID: "r"})
	if err != nil {
		t.Fatalf("got %v, want success: the marker was written", err)
	}
	if p.Count(faultproxy.LoseResponse) != 1 {
		t.Fatal("the _SUCCESS response was not lost: the test proved nothing")
	}
	st, err := openLake(t, url).Status(context.Background(), res.Prefix)
	if err != nil || !st.Committed || st.Attempt != res.Attempt {
		t.Fatalf("status %+v (%v), want committed by %s", st, err, res.Attempt)
	}
	committedFiles(t, openLake(t, url), res.Prefix)
}

// A GET or a PUT that stalls is cancelled after the I/O timeout, retried, and the
// run then fails as transient (exit 4), naming the operation and the object.
func TestFaultsStalledRequests(t *testing.T) {
	for _, tc := range []struct {
		name, method, part, op string
	}{
		{"get", http.MethodGet, "/modality=image/part-1.parquet", "get"},
		{"put", http.MethodPut, "/scores/", "put"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, data := syntheticRun(t)
			p, url := proxiedS3(t, "stall-"+tc.name)
			data.write(t, openLake(t, url), "ds")
			p.SetRule(faultproxy.Always(tc.method, tc.part, faultproxy.Stall))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang fails the test, not CI
			defer cancel()
			_, err := jobs.Run(ctx, spec, jobs.Options{Lake: url, RunID: "r", IOTimeout: 500 * time.Millisecond})
			if ctx.Err() != nil {
				t.Fatal("the run hung until the test's own deadline")
			}
			if k := errkind.Of(err); k != errkind.Transient {
				t.Fatalf("got %v (kind %v), want a transient error", err, k)
			}
			var se *lake.StorageError
			if !errors.As(err, &se) || se.Op != tc.op || !strings.Contains(se.Key, strings.Trim(tc.part, "/")) || !errors.Is(err, lake.ErrStalled) {
				t.Errorf("error %v does not name the stalled %s of %s", err, tc.op, tc.part)
			}
			if p.Count(faultproxy.Stall) < 2 {
				t.Errorf("%d stalled requests: the stalled request was not retried", p.Count(faultproxy.Stall))
			}
			if ok, _ := openLake(t, url).Exists(context.Background(), "runs/r/_SUCCESS"); ok {
				t.Error("a failed run committed")
			}
		})
	}
}

// Two attempts at one run id, the second started a little later and cancelled
// at a random point: whatever happens, the committed run's files match its
// manifest, and no attempt's files show up in it.
func TestFaultsRacingAttempts(t *testing.T) {
	spec, data := syntheticRun(t)
	url := s3URL(t, "race")
	data.write(t, openLake(t, url), "ds")
	rng := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 4; round++ {
		runID := fmt.Sprintf("race-%d", round)
		var wg sync.WaitGroup
		var errA, errB error
		var resA, resB *jobs.Result
		wg.Add(2)
		go func() {
			defer wg.Done()
			resA, errA = jobs.Run(context.Background(), spec, jobs.Options{Lake: url, RunID: runID})
		}()
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stop := time.AfterFunc(time.Duration(rng.IntN(1500))*time.Millisecond, cancel)
			defer stop.Stop()
			resB, errB = jobs.Run(ctx, spec, jobs.Options{Lake: url, RunID: runID})
		}()
		wg.Wait()
		for name, e := range map[string]error{"first": errA, "second": errB} {
			if e != nil && !errors.Is(e, lake.ErrRunCommitted) && !errors.Is(e, context.Canceled) {
				t.Errorf("round %d: %s attempt: %v", round, name, e)
			}
		}
		l := openLake(t, url)
		st, err := l.Status(context.Background(), "runs/"+runID)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Committed {
			// The first attempt is never cancelled: it commits, or loses to the second.
			t.Fatalf("round %d: no committed run (first: %v, second: %v)", round, errA, errB)
		}
		committedFiles(t, l, "runs/"+runID)
		if resA == nil && resB == nil {
			t.Errorf("round %d: a run was committed but no attempt says it succeeded", round)
		}
		for _, r := range []*jobs.Result{resA, resB} {
			if r != nil && r.Attempt != st.Attempt {
				t.Errorf("round %d: attempt %s succeeded, but the run is %s's", round, r.Attempt, st.Attempt)
			}
		}
	}
}
