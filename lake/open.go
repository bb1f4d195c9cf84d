package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"sort"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob://
	_ "gocloud.dev/blob/fileblob"  // file://
	_ "gocloud.dev/blob/gcsblob"   // gs://
	_ "gocloud.dev/blob/memblob"   // mem://
	_ "gocloud.dev/blob/s3blob"    // s3://, including MinIO-compatible servers
	"gocloud.dev/gcerrors"
)

// Lake is an opened object store (a bucket, optionally under a prefix). Keys used
// with a Lake are slash-separated and relative to that root.
type Lake struct {
	Bucket *blob.Bucket
	url    string // redacted: safe to log
}

// Open opens a lake by URL:
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
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("lake: %w: %q: want a URL such as file:///path or s3://bucket/prefix", ErrBadURL, rawURL)
	}
	q := u.Query()
	switch u.Scheme {
	case "file":
		// The .attrs sidecar files fileblob writes by default would show up in
		// every engine's listing of the lake; the lake needs no blob metadata.
		if !q.Has("metadata") {
			q.Set("metadata", "skip")
		}
		if !q.Has("create_dir") {
			q.Set("create_dir", "true")
		}
		// Temporary files next to their target keep renames on one filesystem.
		if !q.Has("no_tmp_dir") {
			q.Set("no_tmp_dir", "true")
		}
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
		return nil, fmt.Errorf("lake: open %s: %w: %v", Redact(rawURL), ErrBadURL, err)
	}
	return &Lake{Bucket: b, url: Redact(rawURL)}, nil
}

// Redact drops everything from a URL that might be secret: user info and the query
// (signed URLs carry their signature there).
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "<unparseable URL>"
	}
	u.User = nil
	keep := url.Values{}
	for k, v := range u.Query() {
		switch k {
		case "endpoint", "region", "use_path_style", "prefix":
			keep[k] = v
		}
	}
	u.RawQuery = keep.Encode()
	return u.String()
}

// String returns the lake's URL with secrets removed.
func (l *Lake) String() string { return l.url }

// Close releases the bucket.
func (l *Lake) Close() error { return l.Bucket.Close() }

// Object is one stored file.
type Object struct {
	Key  string
	Size int64
}

// List returns every object under prefix, sorted by key.
func (l *Lake) List(ctx context.Context, prefix string) ([]Object, error) {
	it := l.Bucket.List(&blob.ListOptions{Prefix: prefix})
	var out []Object
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("lake: list %q: %w", prefix, err)
		}
		if obj.IsDir {
			continue
		}
		out = append(out, Object{Key: obj.Key, Size: obj.Size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Exists reports whether key exists.
func (l *Lake) Exists(ctx context.Context, key string) (bool, error) {
	ok, err := l.Bucket.Exists(ctx, key)
	if err != nil {
		return false, fmt.Errorf("lake: exists %q: %w", key, err)
	}
	return ok, nil
}

// ReadAll reads a whole (small) object such as a spec or a manifest.
func (l *Lake) ReadAll(ctx context.Context, key string) ([]byte, error) {
	b, err := l.Bucket.ReadAll(ctx, key)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, fmt.Errorf("lake: %q: %w", key, ErrNoData)
		}
		return nil, fmt.Errorf("lake: read %q: %w", key, err)
	}
	return b, nil
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
