package lake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// Version is lakefuse's version, stamped into files and manifests. Release builds
// set it with -ldflags "-X github.com/lakefuse/lakefuse/lake.Version=…".
var Version = "0.1.0-dev"

// SuccessMarker is the object whose presence makes a run exist.
const SuccessMarker = "_SUCCESS"

// ManifestFile describes one committed file.
type ManifestFile struct {
	Path   string `json:"path"` // relative to the run prefix
	Size   int64  `json:"size"`
	Rows   int64  `json:"rows,omitempty"`
	SHA256 string `json:"sha256"`
}

// Manifest is manifest.json: every file of the run with its size, rows and
// checksum, plus whatever the job records about itself.
type Manifest struct {
	RunID      string            `json:"run_id"`
	SpecSHA256 string            `json:"spec_sha256"`
	Created    time.Time         `json:"created"`
	Versions   map[string]string `json:"versions"`
	Files      []ManifestFile    `json:"files"`
	Job        any               `json:"job,omitempty"`
}

// RunWriter writes the files of one run under a prefix that no other run shares,
// recording each in the manifest. Nothing it writes is visible as a run until
// Commit writes _SUCCESS.
type RunWriter struct {
	lake   *Lake
	prefix string

	mu    sync.Mutex
	files map[string]ManifestFile
}

// NewRunWriter prepares to write a run under prefix. It returns ErrRunCommitted
// when the prefix already holds a committed run. Files left by an interrupted
// attempt are overwritten by the new attempt (part names are deterministic).
func (l *Lake) NewRunWriter(ctx context.Context, prefix string) (*RunWriter, error) {
	prefix = strings.Trim(prefix, "/")
	ok, err := l.Exists(ctx, Join(prefix, SuccessMarker))
	if err != nil {
		return nil, err
	}
	if ok {
		return nil, fmt.Errorf("lake: run %q: %w", prefix, ErrRunCommitted)
	}
	return &RunWriter{lake: l, prefix: prefix, files: map[string]ManifestFile{}}, nil
}

// Prefix is the run's prefix in the lake.
func (rw *RunWriter) Prefix() string { return rw.prefix }

// WriteFile streams one file to <prefix>/<rel>. write produces the bytes; rows is
// recorded in the manifest. If write fails or ctx is cancelled, the object is not
// created.
func (rw *RunWriter) WriteFile(ctx context.Context, rel string, rows int64, contentType string, write func(io.Writer) error) error {
	key := Join(rw.prefix, rel)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bw, err := rw.lake.Bucket.NewWriter(wctx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("lake: write %q: %w", key, err)
	}
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(bw, h)}
	if err := write(cw); err != nil {
		cancel() // aborts the upload: the object never appears
		_ = bw.Close()
		return err
	}
	if err := bw.Close(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("lake: write %q: %w", key, err)
	}
	rw.mu.Lock()
	rw.files[rel] = ManifestFile{Path: rel, Size: cw.n, Rows: rows, SHA256: hex.EncodeToString(h.Sum(nil))}
	rw.mu.Unlock()
	return nil
}

// Files returns the files written so far, sorted by path.
func (rw *RunWriter) Files() []ManifestFile {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	out := make([]ManifestFile, 0, len(rw.files))
	for _, f := range rw.files {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Commit writes manifest.json and then _SUCCESS, the latter conditionally
// (IfNotExist): of two attempts racing to commit the same run, exactly one wins and
// the other gets ErrRunCommitted.
func (rw *RunWriter) Commit(ctx context.Context, m Manifest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.Files = rw.Files()
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := rw.lake.Bucket.WriteAll(ctx, Join(rw.prefix, "manifest.json"), body, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("lake: write manifest: %w", err)
	}
	marker := []byte(m.RunID + "\n")
	err = rw.lake.Bucket.WriteAll(ctx, Join(rw.prefix, SuccessMarker), marker, &blob.WriterOptions{IfNotExist: true, ContentType: "text/plain"})
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return fmt.Errorf("lake: run %q: %w", rw.prefix, ErrRunCommitted)
	}
	if err != nil {
		return fmt.Errorf("lake: commit %q: %w", rw.prefix, err)
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
