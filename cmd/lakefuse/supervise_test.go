package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// The supervisor passes exit codes through and turns the Go runtime's crash
// reports (exit 2, which lakefuse's schedulers read as a bad spec) into their own
// codes: a panic or fatal error 70, running out of memory 137 like a kill by the
// OOM killer; standard error is copied through.
func TestSupervise(t *testing.T) {
	for _, c := range []struct {
		script string
		want   int
		text   string
	}{
		{"echo fine >&2; exit 0", 0, "fine"},
		{"echo 'lakefuse: bad spec' >&2; exit 2", 2, "bad spec"},
		{"exit 4", 4, ""},
		{"echo 'panic: runtime error: index out of range' >&2; echo 'goroutine 7 [running]:' >&2; exit 2", exitPanic, "crashed (a bug"},
		{"echo 'fatal error: concurrent map writes' >&2; exit 2", exitPanic, "concurrent map writes"},
		{"echo 'fatal error: runtime: out of memory' >&2; exit 2", exitOOM, "ran out of memory"},
		{"kill -KILL $$", exitOOM, "out-of-memory killer"},
		{"kill -TERM $$", 128 + 15, ""},
		{"echo 'panic: not at the start of a line is fine' | sed 's/^/x /' >&2; exit 2", 2, "x panic"},
	} {
		var stderr bytes.Buffer
		got := supervise(exec.Command("sh", "-c", c.script), &stderr)
		if got != c.want || !strings.Contains(stderr.String(), c.text) {
			t.Errorf("%s: exit %d, want %d; stderr %q", c.script, got, c.want, stderr.String())
		}
	}
}
