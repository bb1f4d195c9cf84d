package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"
)

// Exit codes beyond the error kinds (main.go): a crash is not a spec error.
const (
	// exitPanic: lakefuse itself failed (a Go panic or a runtime fatal error):
	// a bug, logged with its stack. Do not retry; report it.
	exitPanic = 70
	// exitOOM: out of memory — the kernel's OOM killer (SIGKILL, which a shell
	// reports as 128+9) or the Go runtime's own "out of memory". The same code
	// either way, so every engine can treat it alike: do not retry as is; give the
	// container more memory or lakefuse a smaller --memory.
	exitOOM = 137
)

// supervisedEnv marks the child process of a supervised command.
const supervisedEnv = "LAKEFUSE_SUPERVISED"

// supervised lists the commands that run under a supervisor process: the long
// ones a scheduler runs, where a crash must not exit 2 (the Go runtime's exit
// code for a panic, which means "bad spec" to lakefuse's schedulers).
var supervised = map[string]bool{"run": true, "score": true, "bucket": true, "finalize": true, "demo": true}

// maybeSupervise runs lakefuse again as a child process for a supervised command
// and returns its exit code (ok = true), translating crashes; it returns ok =
// false in the child itself and for other commands.
func maybeSupervise(args []string) (int, bool) {
	if len(args) == 0 || !supervised[args[0]] || os.Getenv(supervisedEnv) != "" {
		return 0, false
	}
	// On a terminal a person is watching (and a progress bar redraws its line):
	// no scheduler reads the exit code, so the command runs as it is.
	if term.IsTerminal(int(os.Stderr.Fd())) {
		return 0, false
	}
	self, err := os.Executable()
	if err != nil {
		return 0, false // run unsupervised rather than not at all
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), supervisedEnv+"=1")
	cmd.Stdin, cmd.Stdout = os.Stdin, os.Stdout
	dieWithParent(cmd)
	return supervise(cmd, os.Stderr), true
}

// supervise runs cmd, copying its standard error to stderr while watching it for
// the Go runtime's crash reports, forwards SIGINT and SIGTERM to it, and returns
// its exit code: exitPanic for a panic or a fatal error (the runtime exits 2
// there), exitOOM for a runtime out-of-memory or a kill by SIGKILL, 128+n for
// another signal, the child's own code otherwise.
func supervise(cmd *exec.Cmd, stderr io.Writer) int {
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		io.WriteString(stderr, "lakefuse: "+err.Error()+"\n")
		return exitPanic
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	var crash, oom bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Bytes()
			switch {
			case bytes.HasPrefix(line, []byte("panic: ")), bytes.HasPrefix(line, []byte("fatal error: ")):
				crash = true
				oom = oom || strings.Contains(string(line), "out of memory")
			}
			stderr.Write(append(line, '\n'))
		}
		io.Copy(stderr, pr) // after a line too long to scan: the rest as it comes
	}()
	err := cmd.Wait()
	pw.Close()
	<-done
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case !errors.As(err, &ee):
		io.WriteString(stderr, "lakefuse: "+err.Error()+"\n")
		return exitPanic
	}
	if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
		if st.Signal() == syscall.SIGKILL {
			io.WriteString(stderr, "lakefuse: killed (SIGKILL: most often the out-of-memory killer): give the container more memory or lakefuse a smaller --memory\n")
			return exitOOM
		}
		return 128 + int(st.Signal())
	}
	code := ee.ExitCode()
	if crash && code == 2 {
		if oom {
			io.WriteString(stderr, "lakefuse: the Go runtime ran out of memory: give the container more memory or lakefuse a smaller --memory\n")
			return exitOOM
		}
		io.WriteString(stderr, "lakefuse: crashed (a bug: the stack is above)\n")
		return exitPanic
	}
	return code
}
