package jobs_test

import (
	"bytes"
	"context"
	"fmt"
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
	for _, want := range []string{"accuracy difference from the best single modality", "Ablation: each modality removed in turn"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}

	// At 1,400 px the page does not scroll sideways: a wrapper page (ours, with a
	// script; the report has none) lays it out in a 1,400 px frame and reports its
	// scroll width, client width and charts.
	wrapper := filepath.Join(filepath.Dir(page), "wrapper.html")
	os.WriteFile(wrapper, []byte(`<!doctype html><html><body style="margin:0">
<iframe id="f" src="report.html" style="width:1400px;height:900px;border:0"></iframe>
<script>document.getElementById("f").onload = function () {
  var d = this.contentDocument.documentElement, p = document.createElement("pre");
  p.textContent = "layout " + d.scrollWidth + " " + d.clientWidth + " " + this.contentDocument.querySelectorAll("svg").length;
  document.body.appendChild(p);
};</script></body></html>`), 0o644)
	cmd = exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=5000", "--window-size=1420,1000", "--dump-dom", "file://"+wrapper)
	stdout.Reset()
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	var scroll, client, charts int
	dump := stdout.String() // the script's own text holds "layout " too: the figures come last
	if _, err := fmt.Sscanf(dump[max(strings.LastIndex(dump, "layout "), 0):], "layout %d %d %d", &scroll, &client, &charts); err != nil {
		t.Fatalf("no layout figures in the wrapper's DOM: %v\n%s", err, stdout.String())
	}
	t.Logf("at 1,400 px: scroll width %d, client width %d, %d charts", scroll, client, charts)
	if scroll > client || client < 1300 {
		t.Errorf("at 1,400 px the page is %d px wide in a %d px view: it scrolls sideways", scroll, client)
	}
	if charts < 8 {
		t.Errorf("%d charts on the page, want the forest plot, the accuracy chart, reliability diagrams, ROC curves and confusion matrices", charts)
	}
}
