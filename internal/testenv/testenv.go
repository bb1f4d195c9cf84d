// Package testenv is the one rule for tests that need a tool or a server: where
// it is missing the test skips, except under CI (the CI variable set, as
// .ci/run sets it), where a missing tool is a failure — CI never skips silently.
package testenv

import (
	"fmt"
	"os"
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
