package main

import (
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressReporter shows a job's progress: a bar per stage on a terminal, and
// otherwise a structured log line per stage step (at most one per second), which is
// what a batch engine's log collector wants.
type progressReporter struct {
	mu       sync.Mutex
	tty      bool
	out      io.Writer
	log      *slog.Logger
	stage    string
	bar      *progressbar.ProgressBar
	lastLine time.Time
}

func newProgress(stderr io.Writer, log *slog.Logger) *progressReporter {
	tty := false
	if f, ok := stderr.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progressReporter{tty: tty, out: stderr, log: log}
}

// update is jobs.Options.Progress.
func (p *progressReporter) update(stage string, done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty {
		if stage != p.stage || done == total || time.Since(p.lastLine) > time.Second {
			p.log.Info("progress", "stage", stage, "done", done, "total", total)
			p.lastLine = time.Now()
		}
		p.stage = stage
		return
	}
	if stage != p.stage {
		if p.bar != nil {
			_ = p.bar.Finish()
			io.WriteString(p.out, "\n")
		}
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(p.out),
			progressbar.OptionSetDescription(stage),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100 * time.Millisecond),
			progressbar.OptionShowCount(),
		}
		if stage == "load" {
			opts = append(opts, progressbar.OptionShowBytes(true))
		}
		p.bar = progressbar.NewOptions64(total, opts...)
		p.stage = stage
	}
	_ = p.bar.Set64(done)
}

// finish closes the last bar.
func (p *progressReporter) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.bar != nil {
		_ = p.bar.Finish()
		io.WriteString(p.out, "\n")
		p.bar = nil
	}
}
