package jobs_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/internal/testenv"
	"github.com/lakefuse/lakefuse/jobs"
)

// chromium returns the headless browser, skipping (failing in CI) without one.
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Missing(t, "chromium is not installed: scripts/install-tools.sh installs it")
	}
	return path
}

// report.html is one self-contained file that a browser renders without errors.
func TestReportRendersInChromium(t *testing.T) {
	dir := t.TempDir()
	url := "file://" + dir
	synthetic{rows: 600, classes: 3, coverage: map[string]float64{"text": 0.9, "image": 0.8, "audio": 0.7}, seed: 4}.write(t, openLake(t, url), "ds")
	spec, err := jobs.ParseSpec([]byte(syntheticSpec), "spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := jobs.Run(context.Background(), spec, jobs.Options{Lake: url, RunID: "html"})
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, res.Prefix, "report.html")
	body, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	// Self-contained: no scripts, nothing loaded from elsewhere.
	if regexp.MustCompile(`(?i)<script|<link|\ssrc=|@import|url\(`).Match(body) {
		t.Error("report.html loads or runs something")
	}
	bin := chromium(t)
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir="+t.TempDir(),
		"--enable-logging=stderr", "--v=0", "--dump-dom", "file://"+page)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	dom := stdout.String()
	for _, want := range []string{"Did fusion help?", "<svg", "reliability of late-mean", "ROC of late-mean", "confusion matrix of", "Robustness to missing modalities"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
	if strings.Contains(stderr.String(), "CONSOLE") || strings.Contains(stderr.String(), "Uncaught") {
		t.Errorf("console errors while rendering:\n%s", stderr.String())
	}
}
