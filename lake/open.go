package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob://
	_ "gocloud.dev/blob/fileblob"  // file://
	_ "gocloud.dev/blob/gcsblob"   // gs://
	_ "gocloud.dev/blob/memblob"   // mem://
	_ "gocloud.dev/blob/s3blob"    // s3://, including MinIO-compatible servers
	"gocloud.dev/gcerrors"
)

// Lake is an opened object store (a bucket, optionally under a prefix). Keys used
// with a Lake are slash-separated and relative to that root. Every request goes
// through one place (do) that bounds it in time, retries transient failures and
// classifies what fails.
type Lake struct {
	bucket *blob.Bucket
	url    string // redacted: safe to log
	dir    string // the folder of a file:// lake, for atomic local operations; else ""
	opts   Options
}

// Open opens a lake by URL with the default Options:
//
//	file:///data/lake            a local folder (created if missing)
//	mem://                       an in-memory bucket (tests)
//	s3://bucket/prefix?region=…  AWS S3; for MinIO and other S3-compatible servers add
//	                             endpoint=http://host:9000&use_path_style=true
//	gs://bucket/prefix           Google Cloud Storage
//	azblob://container/prefix    Azure Blob Storage
//
// A path after the bucket name becomes the lake's prefix. Credentials come from each
// cloud's standard chain (AWS_* environment, instance or task role, workload
// identity); they never appear in the URL.
func Open(ctx context.Context, rawURL string) (*Lake, error) {
	return OpenWith(ctx, rawURL, nil)
}

// OpenWith is Open with options; nil means the defaults.
func OpenWith(ctx context.Context, rawURL string, opts *Options) (*Lake, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("lake: %w: %q: want a URL such as file:///path or s3://bucket/prefix", ErrBadURL, Redact(rawURL))
	}
	q := u.Query()
	dir := ""
	switch u.Scheme {
	case "file":
		// The .attrs sidecar files fileblob writes by default would show up in
		// every engine's listing of the lake; the lake needs no blob metadata.
		if !q.Has("metadata") {
			q.Set("metadata", "skip")
		}
		if opts != nil && opts.ReadOnly {
			if _, err := os.Stat(u.Path); err != nil {
				return nil, fmt.Errorf("lake: %w: %s: %v", ErrNoLake, Redact(rawURL), err)
			}
		} else if !q.Has("create_dir") {
			q.Set("create_dir", "true")
		}
		// Temporary files next to their target keep renames on one filesystem.
		if !q.Has("no_tmp_dir") {
			q.Set("no_tmp_dir", "true")
		}
		dir = u.Path
	case "mem":
	default:
		if p := strings.Trim(u.Path, "/"); p != "" {
			q.Set("prefix", p+"/")
			u.Path = ""
		}
	}
	u.RawQuery = q.Encode()
	b, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		// Library errors may quote the URL, secrets and all.
		return nil, fmt.Errorf("lake: open %s: %w: %s", Redact(rawURL), ErrBadURL, RedactText(err.Error(), rawURL))
	}
	return &Lake{bucket: b, url: Redact(rawURL), dir: dir, opts: opts.withDefaults()}, nil
}

// Redact drops everything from a URL that might be secret: user info, the
// fragment, and every query parameter off the allow-list (signed URLs carry their
// signature there).
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "<unparseable URL>"
	}
	u.User = nil
	u.Fragment, u.RawFragment = "", "" // nothing a lake URL needs; a token can hide there
	keep := url.Values{}
	for k, v := range u.Query() {
		if safeParams[k] {
			keep[k] = v
		}
	}
	u.RawQuery = keep.Encode()
	return u.String()
}

// safeParams are the URL query parameters that messages may show: everything else
// (signatures, tokens, keys, parameters nobody has heard of) is dropped.
var safeParams = map[string]bool{
	"endpoint": true, "region": true, "use_path_style": true, "prefix": true, "disable_https": true,
	"request_checksum_calculation": true, "response_checksum_validation": true, "awssdk": true,
	"metadata": true, "create_dir": true, "no_tmp_dir": true, "dualstack": true, "fips": true,
	"accelerate": true, "protocol": true, "domain": true, "localemu": true, "anonymous": true,
	"storage_account": true, "cdn": true, // azblob: the account name, not a secret
}

// RedactText removes from a message (for example a library's error text) every
// secret that rawURL carries: its password and the values of query parameters
// that are not on the allow-list, as written and as URL-escaped.
func RedactText(msg, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "<message withheld: it quotes an unparseable URL>"
	}
	var secrets []string
	if p, ok := u.User.Password(); ok {
		secrets = append(secrets, p)
	}
	if u.User != nil {
		secrets = append(secrets, u.User.Username())
	}
	for k, vs := range u.Query() {
		if safeParams[k] {
			continue
		}
		secrets = append(secrets, vs...)
	}
	for _, s := range secrets {
		if len(s) < 3 {
			continue // too short to search for without mangling the message
		}
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			msg = strings.ReplaceAll(msg, form, "REDACTED")
		}
	}
	return msg
}

// String returns the lake's URL with secrets removed.
func (l *Lake) String() string { return l.url }

// Close releases the bucket.
func (l *Lake) Close() error { return l.bucket.Close() }

// Object is one stored file.
type Object struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// listRestarts is how many times List starts a listing again when an object it
// was listing vanished under it, waiting a millisecond more each time.
const listRestarts = 20

// List returns every object under prefix, sorted by key.
//
// A folder lake lists a directory, then stats each entry: an object renamed or
// removed in between (another process's upload finishing its temporary file, a
// shard committing) fails the listing with NotFound. That is a race, not an
// answer, so the listing starts again (a shard of a concurrent run on a shared
// folder saw it in about one run in twenty).
func (l *Lake) List(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	err := l.do(ctx, "list", prefix, func(ctx context.Context, progress func()) error {
		for restarts := 0; ; restarts++ {
			err := l.listOnce(ctx, prefix, progress, &out)
			if err == nil || gcerrors.Code(err) != gcerrors.NotFound || restarts == listRestarts {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(restarts) * time.Millisecond):
			}
		}
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// listOnce lists prefix into *out, from the start.
func (l *Lake) listOnce(ctx context.Context, prefix string, progress func(), out *[]Object) error {
	*out = (*out)[:0]
	it := l.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		progress()
		if !obj.IsDir {
			*out = append(*out, Object{Key: obj.Key, Size: obj.Size, ModTime: obj.ModTime})
		}
	}
}

// Exists reports whether key exists.
func (l *Lake) Exists(ctx context.Context, key string) (bool, error) {
	var ok bool
	err := l.do(ctx, "head", key, func(ctx context.Context, _ func()) error {
		var err error
		ok, err = l.bucket.Exists(ctx, key)
		return err
	})
	return ok, err
}

// ReadAll reads a whole (small) object such as a spec or a manifest. A missing
// object is ErrNotFound.
func (l *Lake) ReadAll(ctx context.Context, key string) ([]byte, error) {
	var b []byte
	err := l.do(ctx, "get", key, func(ctx context.Context, progress func()) error {
		r, err := l.bucket.NewReader(ctx, key, nil)
		if err != nil {
			return err
		}
		defer r.Close()
		b, err = io.ReadAll(&progressReader{r: r, progress: progress})
		return err
	})
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("lake: %q: %w", key, ErrNotFound)
	}
	return b, err
}

// WriteOptions tune WriteObject.
type WriteOptions struct {
	ContentType string
	// IfNotExist makes the write fail with ErrExists when the object exists: of
	// several writers, exactly one succeeds.
	IfNotExist bool
}

// WriteObject writes key with the bytes write produces. If write fails or ctx is
// cancelled, the upload is aborted and the object is not created (or keeps its old
// content). A transient failure retries the whole object, calling write again: it
// must produce the same bytes each time.
func (l *Lake) WriteObject(ctx context.Context, key string, opts *WriteOptions, write func(io.Writer) error) error {
	var o WriteOptions
	if opts != nil {
		o = *opts
	}
	if o.IfNotExist && l.dir != "" {
		// fileblob's IfNotExist is a check then a rename: two processes can both
		// pass the check. A hard link is created exclusively by the kernel.
		return l.do(ctx, "put", key, func(ctx context.Context, progress func()) error {
			return l.createLocal(ctx, key, write, progress)
		})
	}
	var writeErr error
	err := l.do(ctx, "put", key, func(ctx context.Context, progress func()) error {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		bw, err := l.bucket.NewWriter(wctx, key, &blob.WriterOptions{ContentType: o.ContentType, IfNotExist: o.IfNotExist})
		if err != nil {
			return err
		}
		if err := write(&progressWriter{w: bw, progress: progress}); err != nil {
			cancel() // aborts the upload: the object never appears
			_ = bw.Close()
			if ctx.Err() == nil {
				writeErr = err
				return nil
			}
			return err
		}
		return bw.Close()
	})
	if writeErr != nil {
		return writeErr
	}
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return fmt.Errorf("lake: %q: %w", key, ErrExists)
	}
	return err
}

// createLocal creates key in a file:// lake exclusively: the bytes go to a hidden
// temporary file that is hard-linked to its name (which fails if the name exists)
// and then removed.
func (l *Lake) createLocal(ctx context.Context, key string, write func(io.Writer) error, progress func()) error {
	dst := filepath.Join(l.dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "._lakefuse-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = write(&progressWriter{w: tmp, progress: progress})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), dst); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("lake: %q: %w", key, ErrExists)
		}
		return err
	}
	return nil
}

// Copy copies src to dst within the lake: a server-side copy on object stores, a
// hard link (no bytes moved) on a file:// lake.
func (l *Lake) Copy(ctx context.Context, dst, src string) error {
	return l.do(ctx, "copy", src+" -> "+dst, func(ctx context.Context, _ func()) error {
		if l.dir != "" {
			d, s := filepath.Join(l.dir, filepath.FromSlash(dst)), filepath.Join(l.dir, filepath.FromSlash(src))
			if err := os.MkdirAll(filepath.Dir(d), 0o755); err != nil {
				return err
			}
			if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			err := os.Link(s, d)
			if err == nil {
				return nil
			}
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%w: %v", ErrNotFound, err)
			}
			// Hard links may be refused (some filesystems): copy the bytes.
		}
		err := l.bucket.Copy(ctx, dst, src, nil)
		if gcerrors.Code(err) == gcerrors.NotFound {
			return fmt.Errorf("%w: %v", ErrNotFound, err)
		}
		return err
	})
}

// Delete removes key; a key that does not exist is not an error.
func (l *Lake) Delete(ctx context.Context, key string) error {
	err := l.do(ctx, "delete", key, func(ctx context.Context, _ func()) error { return l.bucket.Delete(ctx, key) })
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil
	}
	return err
}

// Join joins key parts with slashes, ignoring empty parts.
func Join(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p = strings.Trim(p, "/"); p != "" {
			keep = append(keep, p)
		}
	}
	return path.Join(keep...)
}

// WriteAll writes a small object from memory (a spec, a marker, a test fixture).
func (l *Lake) WriteAll(ctx context.Context, key string, b []byte) error {
	return l.WriteObject(ctx, key, nil, writeBytes(b))
}

// OpenRun opens the lake that holds a run's folder, given the folder's URL
// (…/<output>/<run_id>): the lake is rooted at the folder's parent, and prefix
// is the run id, so that the commit protocol works on the run as on any other.
func OpenRun(ctx context.Context, runURL string, opts *Options) (l *Lake, prefix string, err error) {
	u, err := url.Parse(runURL)
	if err != nil || u.Scheme == "" {
		return nil, "", fmt.Errorf("lake: %w: %q: want the URL of a run's folder, such as s3://bucket/runs/<run id>", ErrBadURL, Redact(runURL))
	}
	p := strings.TrimRight(u.Path, "/")
	i := strings.LastIndex(p, "/")
	if i < 0 || p[i+1:] == "" || (u.Scheme != "file" && u.Scheme != "mem" && i == 0 && u.Host == "") {
		return nil, "", fmt.Errorf("lake: %w: %q: want the URL of a run's folder, such as s3://bucket/runs/<run id>", ErrBadURL, Redact(runURL))
	}
	prefix = p[i+1:]
	u.Path = p[:i]
	if u.Path == "" && u.Scheme == "file" {
		u.Path = "/"
	}
	l, err = OpenWith(ctx, u.String(), opts)
	return l, prefix, err
}

// KeyURL is the URL of key (an object or a folder) in a lake at lakeURL (as
// String gives it): the key joined onto the URL's path, the query kept, so that
// file:///tmp/lake and runs/x give file:///tmp/lake/runs/x (a path join would
// give file:/tmp/…) and s3://b/p?region=r gives s3://b/p/runs/x?region=r.
func KeyURL(lakeURL, key string) string {
	u, err := url.Parse(lakeURL)
	if err != nil {
		return lakeURL + "/" + key
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + strings.TrimPrefix(key, "/")
	if u.Scheme == "file" && u.Host == "" {
		// url.URL.String drops the empty authority of file:///path.
		q := ""
		if u.RawQuery != "" {
			q = "?" + u.RawQuery
		}
		return "file://" + u.Path + q
	}
	return u.String()
}
