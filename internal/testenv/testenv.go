// Package testenv is the one rule for tests that need a tool or a server: where
// it is missing the test skips, except under CI (the CI variable set, as
// .ci/run sets it), where a missing tool is a failure — CI never skips silently.
package testenv

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// InCI reports whether the tests run under CI.
func InCI() bool { return os.Getenv("CI") != "" }

// Missing ends t for a missing tool: a failure under CI, a skip elsewhere.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// S3 returns the test S3 server's lake URL that scripts/test.sh exports
// (LAKEFUSE_TEST_S3), or ends t by Missing.
func S3(t testing.TB) string {
	t.Helper()
	base := os.Getenv("LAKEFUSE_TEST_S3")
	if base == "" {
		Missing(t, "LAKEFUSE_TEST_S3 is not set: run the tests with scripts/test.sh")
	}
	return base
}

// ComparableReport renders a report.json with what may differ between runs of
// the same answers left out — run id, attempt, timings, bytes read, memory, a
// sharded run's shards section and its read-amplification warning — so that
// runs by different paths, group counts or shard counts compare as text.
func ComparableReport(t testing.TB, raw []byte) string {
	t.Helper()
	var rep map[string]any
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("report.json: %v", err)
	}
	for _, k := range []string{"run_id", "attempt", "seconds", "cost", "memory", "shards"} {
		delete(rep, k)
	}
	for _, m := range rep["modalities"].([]any) {
		delete(m.(map[string]any), "bytes_read")
	}
	if w, ok := rep["warnings"].([]any); ok {
		if w = slices.DeleteFunc(w, func(v any) bool { return strings.Contains(v.(string), "times the lake's bytes") }); len(w) == 0 {
			delete(rep, "warnings")
		} else {
			rep["warnings"] = w
		}
	}
	for _, s := range rep["strategies"].([]any) {
		for _, k := range []string{"fit_seconds", "predict_seconds", "scoring_rows_per_second"} {
			delete(s.(map[string]any), k)
		}
	}
	b, _ := json.MarshalIndent(rep, "", " ")
	return string(b)
}
