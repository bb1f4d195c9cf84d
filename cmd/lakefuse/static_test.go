package main

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/internal/testenv"
	"github.com/lakefuse/lakefuse/lake"
)

// staticBuilds says whether the tests build the binary as the Dockerfile does —
// CGO_ENABLED=0 and -trimpath, which compiles every dependency (the cloud SDKs)
// a second time in that configuration: 731 s on a cold 2-core machine, where the
// rest of the suite takes minutes. CI does (CI=1, set by .ci/run), and so does
// LAKEFUSE_TEST_STATIC=1; elsewhere the binary is built as the tests are, from
// their build cache, and TestStaticBinary skips (.ci/expected-skips).
func staticBuilds() bool { return testenv.InCI() || os.Getenv("LAKEFUSE_TEST_STATIC") != "" }

// buildBinary builds the binary the Dockerfile builds, with its flags, when
// staticBuilds, else with the tests' own build configuration.
func buildBinary(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the image is linux")
	}
	bin := filepath.Join(t.TempDir(), "lakefuse")
	args := []string{"build", "-ldflags", "-X github.com/lakefuse/lakefuse/lake.Version=v9.9.9-test", "-o", bin, "."}
	env := os.Environ()
	if staticBuilds() {
		args = []string{"build", "-trimpath", "-ldflags", "-s -w -X github.com/lakefuse/lakefuse/lake.Version=v9.9.9-test", "-o", bin, "."}
		env = append(env, "CGO_ENABLED=0", "GOOS=linux")
	}
	cmd := exec.Command("go", args...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func TestStaticBinary(t *testing.T) {
	if !staticBuilds() {
		t.Skip("the static build runs under CI=1 or LAKEFUSE_TEST_STATIC=1: it compiles every dependency again (731 s cold on 2 cores)")
	}
	bin := buildBinary(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader: it would not run on distroless/static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links shared libraries %v", libs)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "lakefuse v9.9.9-test" {
		t.Errorf("--version: %q, %v", out, err)
	}
}

// The built binary runs a job whose spec lives in an S3 lake, with credentials
// from the standard AWS environment only, and never prints them.
func TestBinaryRunsSpecFromS3Lake(t *testing.T) {
	base := testS3(t)
	bin := buildBinary(t)
	bucket, query, _ := strings.Cut(base, "?")
	prefix := fmt.Sprintf("deploy-%d", rand.Int64())
	lakeURL := bucket + "/" + prefix + "?" + query

	// Data through the binary's own import, the spec written into the lake.
	dir := writeCSVs(t)
	for _, args := range [][]string{
		{"import", "--lake", lakeURL, "--dataset", "toy", "--modality", "a", filepath.Join(dir, "a.csv")},
		{"import", "--lake", lakeURL, "--dataset", "toy", "--modality", "b", filepath.Join(dir, "b.csv")},
		{"import", "--lake", lakeURL, "--dataset", "toy", "--labels", filepath.Join(dir, "labels.csv")},
	} {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	l, err := lake.Open(context.Background(), lakeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.WriteAll(context.Background(), "jobs/nightly.yaml", []byte(toySpec)); err != nil {
		t.Fatal(err)
	}
	specURL := bucket + "/" + prefix + "/jobs/nightly.yaml?" + query

	cmd := exec.Command(bin, "run", "--lake", lakeURL, "--run-id", "nightly-${TEST_JOB_ID}", specURL)
	cmd.Env = append(os.Environ(), "TEST_JOB_ID=42", "LAKEFUSE_LOG_FORMAT=json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	if ok, err := l.Exists(context.Background(), "runs/nightly-42/_SUCCESS"); err != nil || !ok {
		t.Errorf("no committed run nightly-42 (%v)\n%s", err, stdout.String())
	}
	logs := stdout.String() + stderr.String()
	for _, secret := range []string{os.Getenv("AWS_SECRET_ACCESS_KEY"), "X-Amz-Signature", "X-Amz-Credential"} {
		if secret != "" && strings.Contains(logs, secret) {
			t.Errorf("the output contains %q", secret)
		}
	}
	if !strings.Contains(stderr.String(), `"msg":"run committed"`) {
		t.Errorf("no structured JSON log lines:\n%s", stderr.String())
	}
}

// testS3 returns the lake URL of the test S3 server's bucket (scripts/test.sh
// starts it); without one the test skips, and under CI fails.
func testS3(t *testing.T) string {
	t.Helper()
	return testenv.S3(t)
}
