// Command lakefuse runs multimodal fusion jobs on a data lake.
//
//	lakefuse demo                      import the bundled mfeat data into a folder lake and fuse it
//	lakefuse run SPEC                  run a job (SPEC is a file or a lake URL)
//	lakefuse score --models URL SPEC   apply a run's saved models to new (unlabelled) partitions
//	lakefuse finalize RUN_URL          merge a sharded run's shard states and commit it
//	lakefuse bucket --buckets N --to D SPEC   rewrite a dataset into key buckets (Iceberg's transform)
//	lakefuse validate [--lake URL] SPEC  check a spec (with --lake: against the lake, read only)
//	lakefuse plan SPEC                 list files, rows and schemas; check them against the spec
//	lakefuse import --lake URL …       CSV or Parquet files into modality (and labels) tables
//	lakefuse synth --lake URL SCENARIO write a synthetic dataset with its ground truth
//	lakefuse inspect URL               partitions, files, schemas and rows under a lake prefix
//	lakefuse report RUN...             render a run's report.html, or compare runs
//	lakefuse vacuum OUTPUT_URL         list (--apply: delete) files no committed run needs
//
// Exit codes: 0 success; 2 spec or usage; 3 input data; 4 transient infrastructure
// (network, server errors, throttling, timeouts: retry); 5 the run was already
// committed; 6 storage access or configuration (fix access: do not retry); 130
// interrupted.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/lakefuse/lakefuse/internal/errkind"
	"github.com/lakefuse/lakefuse/lake"
)

const (
	exitOK          = 0
	exitSpec        = 2
	exitInput       = 3
	exitTransient   = 4
	exitCommitted   = 5
	exitAccess      = 6
	exitInterrupted = 130
)

const usage = `lakefuse: multimodal fusion jobs on a data lake

usage:
  lakefuse demo [--lake URL] [--missing F]  fuse the bundled six-view digits data (default lake: file:///tmp/lakefuse-demo)
  lakefuse run [--lake URL] [--run-id ID] [--dataset D] [--filter k=v]... [--io-timeout D] [--timeout D] [--memory SIZE] [--spill-dir DIR] [--partition range|bucket] [--shard I/N] SPEC
  lakefuse score --models RUN_URL [--lake URL] [--run-id ID] [--dataset D] [--filter k=v]... [--io-timeout D] [--timeout D] [--memory SIZE] [--spill-dir DIR] [--partition range|bucket] [--shard I/N] SPEC
  lakefuse finalize [--shards N] RUN_URL    merge a sharded run's shard states and commit it (the last shard does this itself)
  lakefuse bucket --buckets N --to DATASET [--lake URL] [--filter k=v]... [--shard I/N] [--spill-dir DIR] SPEC   rewrite the spec's tables into key buckets
  lakefuse validate [--lake URL] SPEC         (with --lake: files, columns and patterns checked against the lake)
  lakefuse plan [--lake URL] SPEC
  lakefuse import --lake URL --dataset D [--modality NAME=FILE]... [--labels FILE] [flags]   CSV or Parquet tables
  lakefuse synth --lake URL [--workers N] SCENARIO.yaml   write a synthetic dataset with known ground truth (scenario.json)
  lakefuse inspect URL
  lakefuse report [--out FILE] RUN_URL...   render one run's report, or compare several runs
  lakefuse vacuum [--older-than D] [--apply] OUTPUT_URL   list (delete) files no committed run needs
  lakefuse version

SPEC is a YAML file or a lake URL (s3://bucket/jobs/nightly.yaml).
Run 'lakefuse COMMAND -h' for a command's flags.
`

func main() {
	if code, ok := maybeSupervise(os.Args[1:]); ok {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitSpec
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "demo":
		err = cmdDemo(ctx, rest, stdout, stderr)
	case "run":
		err = cmdRun(ctx, rest, stdout, stderr)
	case "score":
		err = cmdScore(ctx, rest, stdout, stderr)
	case "bucket":
		err = cmdBucket(ctx, rest, stdout, stderr)
	case "finalize":
		err = cmdFinalize(ctx, rest, stdout, stderr)
	case "validate":
		err = cmdValidate(ctx, rest, stdout)
	case "plan":
		err = cmdPlan(ctx, rest, stdout)
	case "import":
		err = cmdImport(ctx, rest, stdout)
	case "synth":
		err = cmdSynth(ctx, rest, stdout)
	case "inspect":
		err = cmdInspect(ctx, rest, stdout)
	case "report":
		err = cmdReport(ctx, rest, stdout)
	case "vacuum":
		err = cmdVacuum(ctx, rest, stdout)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "lakefuse %s\n", lake.Version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "lakefuse: unknown command %q\n\n%s", cmd, usage)
		return exitSpec
	}
	var help *helpError
	if errors.As(err, &help) {
		fmt.Fprint(stdout, help.usage)
		return exitOK
	}
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	msg := err.Error()
	switch code {
	case exitInterrupted:
		msg = "interrupted: nothing was committed"
	case exitCommitted:
		msg += "\na committed run never changes. The default run id names the spec and the input files, so the same spec on the same data is the same run; to run it again anyway, give a new --run-id (e.g. --run-id 'nightly-{today}')."
	}
	printError(stderr, msg, code)
	return code
}

// errUsage marks a command-line mistake.
var errUsage = errkind.New(errkind.Spec, "usage")

// exitCode maps an error's kind to the exit code a scheduler acts on: the one
// place where kinds become exit codes (README: "Exit codes").
func exitCode(err error) int {
	switch errkind.Of(err) {
	case errkind.Interrupted:
		return exitInterrupted
	case errkind.Committed:
		return exitCommitted
	case errkind.Spec:
		return exitSpec
	case errkind.Input:
		return exitInput
	case errkind.Access:
		return exitAccess
	}
	return exitTransient // transient, and whatever nobody classified: worth a retry
}

// logFormat is how log lines are written: text for people; json (slog's keys)
// for log collectors; gcp, JSON with Cloud Logging's keys (severity, message),
// which is also the default inside a Cloud Run job (CLOUD_RUN_JOB is set), where
// slog's level and msg would all land as DEFAULT severity.
func logFormat() string {
	if f := os.Getenv("LAKEFUSE_LOG_FORMAT"); f != "" {
		return f
	}
	if os.Getenv("CLOUD_RUN_JOB") != "" {
		return "gcp"
	}
	return "text"
}

// newLogger writes structured log lines to stderr in logFormat.
func newLogger(stderr io.Writer) *slog.Logger {
	switch logFormat() {
	case "json":
		return slog.New(slog.NewJSONHandler(stderr, nil))
	case "gcp":
		return slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{ReplaceAttr: gcpAttr}))
	}
	return slog.New(slog.NewTextHandler(stderr, nil))
}

// gcpAttr renames slog's top-level keys to Cloud Logging's: level → severity
// (WARN → WARNING), msg → message.
func gcpAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		sev := a.Value.String()
		if sev == "WARN" {
			sev = "WARNING"
		}
		return slog.String("severity", sev)
	case slog.MessageKey:
		return slog.Attr{Key: "message", Value: a.Value}
	}
	return a
}

// printError writes the final error line: text, or one structured line (with
// the exit code) when the logs are JSON.
func printError(stderr io.Writer, msg string, code int) {
	if f := logFormat(); f != "json" && f != "gcp" {
		fmt.Fprintln(stderr, "lakefuse: "+msg)
		return
	}
	newLogger(stderr).Error(msg, "exit_code", code)
}
