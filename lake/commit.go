package lake

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Version is lakefuse's version, stamped into files and manifests. Release builds
// set it with -ldflags "-X github.com/lakefuse/lakefuse/lake.Version=…".
var Version = "0.1.0-dev"

// The objects of the commit protocol, relative to a run prefix. Their leading
// underscore hides them (and everything under _attempts/) from Spark, Hive,
// Athena and Trino folder reads; a glob such as scores/*/*.parquet never reaches
// them either.
const (
	SuccessMarker = "_SUCCESS"      // the run exists; names the attempt that committed it
	ClaimMarker   = "_COMMIT"       // the attempt that won the right to publish
	ManifestName  = "manifest.json" // every published file with size, rows and checksum
	AttemptsDir   = "_attempts"     // one folder per attempt: its staged files
	// ShardsDir holds a sharded run's per-shard states (JSON objects naming, in
	// an "attempt" field, the attempt whose staged files the shard's are); the
	// commit keeps them, and vacuum keeps the attempts they name.
	ShardsDir = "_shards"
)

// ManifestFile describes one committed file.
type ManifestFile struct {
	Path   string `json:"path"` // relative to the run prefix
	Size   int64  `json:"size"`
	Rows   int64  `json:"rows,omitempty"`
	SHA256 string `json:"sha256"`
	// Attempt is the attempt that staged the file when it is not the one that
	// commits the run (a shard's file, adopted by the attempt that finalizes).
	Attempt string `json:"attempt,omitempty"`
}

// Manifest is manifest.json: every file of the run with its size, rows and
// checksum, plus whatever the job records about itself.
type Manifest struct {
	RunID      string            `json:"run_id"`
	Attempt    string            `json:"attempt"`
	SpecSHA256 string            `json:"spec_sha256"`
	Created    time.Time         `json:"created"`
	Versions   map[string]string `json:"versions"`
	Files      []ManifestFile    `json:"files"`
	Job        any               `json:"job,omitempty"`
}

// marker is the body of _SUCCESS and _COMMIT.
type marker struct {
	RunID   string `json:"run_id,omitempty"`
	Attempt string `json:"attempt"`
}

// PendingCommit is returned when another attempt has claimed the run's commit but
// not finished publishing it (it is publishing now, or it died doing so).
// CompleteCommit finishes it; its kind is Committed.
type PendingCommit struct {
	Prefix  string
	Attempt string
}

func (e *PendingCommit) Error() string {
	return fmt.Sprintf("lake: run %q: attempt %s claimed the commit and has not finished publishing it", e.Prefix, e.Attempt)
}

func (e *PendingCommit) Unwrap() error { return ErrRunCommitted }

// RunStatus is what the markers of a run prefix say.
type RunStatus struct {
	Committed bool   // _SUCCESS exists
	Claimed   bool   // _COMMIT exists
	Attempt   string // the attempt named by _SUCCESS, else by _COMMIT ("" for runs committed before attempts were named)
}

// Status reads a run's markers.
func (l *Lake) Status(ctx context.Context, prefix string) (RunStatus, error) {
	prefix = strings.Trim(prefix, "/")
	var st RunStatus
	for _, name := range []string{SuccessMarker, ClaimMarker} {
		b, err := l.ReadAll(ctx, Join(prefix, name))
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return st, err
		}
		var m marker
		_ = json.Unmarshal(b, &m) // a run committed before markers were JSON names no attempt
		if name == SuccessMarker {
			st.Committed, st.Attempt = true, m.Attempt
			return st, nil // the claim no longer matters
		}
		st.Claimed, st.Attempt = true, m.Attempt
	}
	return st, nil
}

// Attempt writes the files of one attempt at a run. Files are staged under
// <prefix>/_attempts/<id>/ and become the run's only if this attempt wins the
// exclusive claim in Commit and publishes them; so no attempt ever overwrites or
// deletes a file of a committed run, and two attempts racing on one run id leave
// exactly one attempt's files, whole.
type Attempt struct {
	lake   *Lake
	prefix string
	id     string

	mu      sync.Mutex
	files   map[string]ManifestFile
	claimed bool // this attempt holds _COMMIT: its staged files must outlive it
}

// NewAttemptID returns a fresh attempt id: the UTC start time (so that ids sort by
// age) and 32 random bits.
func NewAttemptID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// BeginAttempt starts an attempt at the run under prefix. It returns
// ErrRunCommitted when the run is committed, and a *PendingCommit when another
// attempt claimed the commit but did not finish it.
func (l *Lake) BeginAttempt(ctx context.Context, prefix string) (*Attempt, error) {
	a := &Attempt{lake: l, prefix: strings.Trim(prefix, "/"), id: NewAttemptID(time.Now()), files: map[string]ManifestFile{}}
	if err := a.Check(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// ID is the attempt's id.
func (a *Attempt) ID() string { return a.id }

// Prefix is the run's prefix in the lake.
func (a *Attempt) Prefix() string { return a.prefix }

// stagedName is where a file to be published at rel is staged: under the
// attempt's folder, with a suffix so that no glob of the run's data
// (scores/**/*.parquet, or **/*.parquet over the whole run) matches a staged file.
func stagedName(prefix, attempt, rel string) string {
	return Join(prefix, AttemptsDir, attempt, rel) + StagedSuffix
}

// StagedSuffix ends every staged data file's name.
const StagedSuffix = ".staged"

// Check returns ErrRunCommitted if the run was committed meanwhile, or a
// *PendingCommit if another attempt claimed it: call it before each phase of
// heavy work or writing.
func (a *Attempt) Check(ctx context.Context) error {
	st, err := a.lake.Status(ctx, a.prefix)
	if err != nil {
		return err
	}
	switch {
	case st.Committed:
		return fmt.Errorf("lake: run %q (committed by attempt %s): %w", a.prefix, orUnknown(st.Attempt), ErrRunCommitted)
	case st.Claimed && st.Attempt != a.id:
		return &PendingCommit{Prefix: a.prefix, Attempt: st.Attempt}
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// WriteFile stages one file of the run, to be published at <prefix>/<rel>. write
// produces the bytes (and must produce the same bytes if called again, for a
// retry); rows is recorded in the manifest. If write fails or ctx is cancelled,
// nothing is staged.
func (a *Attempt) WriteFile(ctx context.Context, rel string, rows int64, contentType string, write func(io.Writer) error) error {
	var size int64
	var sum []byte
	err := a.lake.WriteObject(ctx, stagedName(a.prefix, a.id, rel), &WriteOptions{ContentType: contentType}, func(w io.Writer) error {
		h := sha256.New()
		cw := &countingWriter{w: io.MultiWriter(w, h)}
		if err := write(cw); err != nil {
			return err
		}
		size, sum = cw.n, h.Sum(nil)
		return nil
	})
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.files[rel] = ManifestFile{Path: rel, Size: size, Rows: rows, SHA256: hex.EncodeToString(sum)}
	a.mu.Unlock()
	return nil
}

// Adopt adds files that other attempts of the same run staged (each names its
// attempt) to this attempt's manifest: committing publishes them with its own.
// A path already staged or adopted is an error.
func (a *Attempt) Adopt(files []ManifestFile) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range files {
		if f.Attempt == "" || f.Attempt == a.id {
			return fmt.Errorf("lake: run %q: adopting %q: the file names no other attempt", a.prefix, f.Path)
		}
		if _, dup := a.files[f.Path]; dup {
			return fmt.Errorf("lake: run %q: adopting %q: the path is already taken", a.prefix, f.Path)
		}
		a.files[f.Path] = f
	}
	return nil
}

// Keep hands the attempt's staged files over to another (a shard's, to the
// attempt that will finalize the run): Abort no longer removes them.
func (a *Attempt) Keep() {
	a.mu.Lock()
	a.claimed = true
	a.mu.Unlock()
}

// Files returns the files staged so far, sorted by path.
func (a *Attempt) Files() []ManifestFile {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]ManifestFile, 0, len(a.files))
	for _, f := range a.files {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Commit makes the staged files the run: it writes the attempt's complete
// manifest, claims the run exclusively (_COMMIT), publishes the staged files under
// their names, writes manifest.json, and last _SUCCESS (exclusively, naming the
// attempt). Of two attempts racing, one wins; the other gets ErrRunCommitted, or a
// *PendingCommit while the winner is still publishing, and its staged files are
// removed. An attempt whose own claim or marker write succeeded although the
// response was lost finds its id there and carries on.
func (a *Attempt) Commit(ctx context.Context, m Manifest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := a.Check(ctx); err != nil {
		a.Abort()
		return err
	}
	m.Attempt = a.id
	m.Files = a.Files()
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := a.lake.WriteObject(ctx, Join(a.prefix, AttemptsDir, a.id, ManifestName), &WriteOptions{ContentType: "application/json"}, writeBytes(body)); err != nil {
		return err
	}
	claim, _ := json.Marshal(marker{RunID: m.RunID, Attempt: a.id})
	err = a.lake.WriteObject(ctx, Join(a.prefix, ClaimMarker), &WriteOptions{ContentType: "application/json", IfNotExist: true}, writeBytes(claim))
	if errors.Is(err, ErrExists) {
		err = a.Check(ctx) // nil when the claim is ours and only its response was lost
		if err != nil {
			a.Abort()
			return err
		}
	} else if err != nil {
		return err
	}
	a.mu.Lock()
	a.claimed = true
	a.mu.Unlock()
	return a.lake.CompleteCommit(ctx, a.prefix, a.id)
}

// Abort removes the attempt's staged files, best effort, even when ctx is already
// cancelled; a crashed attempt's files are left for `lakefuse vacuum`. Once the
// attempt holds the claim it removes nothing: the next attempt finishes the
// commit from those files.
func (a *Attempt) Abort() {
	a.mu.Lock()
	claimed := a.claimed
	a.mu.Unlock()
	if claimed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = a.lake.deleteAll(ctx, Join(a.prefix, AttemptsDir, a.id)+"/")
}

// CompleteCommit publishes the staged files of the attempt that holds the run's
// claim and commits the run. It is idempotent and safe to run from several
// processes at once: every one copies the same staged bytes to the same names, and
// exactly one _SUCCESS is written, naming attempt. It returns nil when the run is
// committed by attempt, ErrRunCommitted when it is committed by another.
func (l *Lake) CompleteCommit(ctx context.Context, prefix, attempt string) error {
	prefix = strings.Trim(prefix, "/")
	committed := func() (bool, error) {
		st, err := l.Status(ctx, prefix)
		switch {
		case err != nil:
			return false, err
		case st.Committed && st.Attempt != attempt:
			return true, fmt.Errorf("lake: run %q (committed by attempt %s): %w", prefix, orUnknown(st.Attempt), ErrRunCommitted)
		}
		return st.Committed, nil
	}
	if done, err := committed(); done || err != nil {
		return err
	}
	stagedRoot := Join(prefix, AttemptsDir, attempt)
	body, err := l.ReadAll(ctx, Join(stagedRoot, ManifestName))
	if err != nil {
		return fmt.Errorf("lake: run %q: the manifest of attempt %s, which claimed the commit: %w", prefix, attempt, err)
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return fmt.Errorf("lake: run %q: the manifest of attempt %s: %w", prefix, attempt, err)
	}
	keep := map[string]bool{ManifestName: true, ClaimMarker: true, SuccessMarker: true}
	staged := map[string]bool{attempt: true}
	for _, f := range m.Files {
		from := attempt
		if f.Attempt != "" {
			from = f.Attempt
		}
		staged[from] = true
		keep[f.Path] = true
		// Checked before every copy (one HEAD): once the run is committed, nothing
		// of it is written again.
		if ok, err := l.Exists(ctx, Join(prefix, SuccessMarker)); err != nil || ok {
			if err != nil {
				return err
			}
			_, err := committed()
			return err
		}
		if err := l.Copy(ctx, Join(prefix, f.Path), stagedName(prefix, from, f.Path)); err != nil {
			if errors.Is(err, ErrNotFound) {
				if done, cerr := committed(); done || cerr != nil {
					return cerr // another process finished and removed the staging
				}
			}
			return err
		}
	}
	// Anything else outside _attempts/ is debris of an interrupted publish (a
	// temporary file): the run is not committed yet, so it may still be removed.
	objs, err := l.List(ctx, prefix+"/")
	if err != nil {
		return err
	}
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, prefix+"/")
		if keep[rel] || strings.HasPrefix(rel, AttemptsDir+"/") || strings.HasPrefix(rel, ShardsDir+"/") {
			continue
		}
		if err := l.Delete(ctx, o.Key); err != nil {
			return err
		}
	}
	if err := l.WriteObject(ctx, Join(prefix, ManifestName), &WriteOptions{ContentType: "application/json"}, writeBytes(body)); err != nil {
		return err
	}
	success, _ := json.Marshal(marker{RunID: m.RunID, Attempt: attempt})
	err = l.WriteObject(ctx, Join(prefix, SuccessMarker), &WriteOptions{ContentType: "application/json", IfNotExist: true}, writeBytes(append(success, '\n')))
	if errors.Is(err, ErrExists) {
		if _, err := committed(); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	// The staged copies are no longer needed; vacuum removes them if this fails.
	for a := range staged {
		_ = l.deleteAll(ctx, Join(prefix, AttemptsDir, a)+"/")
	}
	return nil
}

// deleteAll removes every object under prefix (and, on a file:// lake, the
// folders left empty: object stores have none to remove).
func (l *Lake) deleteAll(ctx context.Context, prefix string) error {
	objs, err := l.List(ctx, prefix)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := l.Delete(ctx, o.Key); err != nil {
			return err
		}
	}
	if l.dir != "" {
		removeEmptyDirs(filepath.Join(l.dir, filepath.FromSlash(strings.TrimSuffix(prefix, "/"))))
	}
	return nil
}

// removeEmptyDirs removes dir and its subfolders where they are empty, then dir's
// parent if that became empty too (the run's _attempts/ folder).
func removeEmptyDirs(dir string) {
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = os.Remove(dirs[i]) // fails, harmlessly, on a folder that is not empty
	}
	if filepath.Base(filepath.Dir(dir)) == AttemptsDir {
		_ = os.Remove(filepath.Dir(dir))
	}
}

func writeBytes(b []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(b))
		return err
	}
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
