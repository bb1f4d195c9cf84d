package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/lakefuse/lakefuse/internal/spill"
	"github.com/lakefuse/lakefuse/lake"
)

// BucketResult is what Bucket wrote.
type BucketResult struct {
	Lake, From, To string
	Buckets        int
	FilesRead      int // input files this process rewrote
	FilesWritten   int
	Rows           int64
	BytesWritten   int64
}

// Bucket rewrites the spec's dataset — the modality tables the spec names and
// the labels table — into dataset to, bucketed by the key as Iceberg, Spark,
// Trino and Athena bucket tables: <to>/modality=<m>/[other partitions/]
// <key>_bucket=<b>/part-<file>.parquet with b Iceberg's bucket[buckets] of the
// key, every column kept. Sharded runs over the copy then read only their own
// buckets' files when they can (score runs without a holdout).
//
// It is a map-only job: with opts.Shard, shard i rewrites the input files whose
// index (in a listing order every shard shares) is i mod count, so the batch
// engine's array tasks split it. Every output is written whole, and a rerun
// writes the same bytes to the same names; write into a fresh dataset name, since
// files of an older input that no longer exist are not removed.
func Bucket(ctx context.Context, spec *Spec, opts Options, buckets int, to string) (*BucketResult, error) {
	if buckets < 1 || buckets > MaxBuckets {
		return nil, fmt.Errorf("jobs: %w: --buckets %d: want 1 to 65536 (the bucket count of the rewritten tables; at least the shard count of the runs that will read them)", ErrSpec, buckets)
	}
	if err := lake.CheckName("dataset", to); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	if to == spec.Dataset {
		return nil, fmt.Errorf("jobs: %w: --to %q is the dataset itself: write the bucketed copy under another name", ErrSpec, to)
	}
	url, err := LakeURL(spec, opts.Lake)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l, err := lake.OpenWith(ctx, url, &lake.Options{IOTimeout: opts.IOTimeout, Logger: log})
	if err != nil {
		return nil, err
	}
	defer l.Close()
	marker := Bucketing{Key: spec.Key, Buckets: buckets, Transform: "iceberg bucket", From: spec.Dataset}
	body, _ := json.MarshalIndent(marker, "", "  ")
	if old, err := l.ReadAll(ctx, lake.Join(to, BucketingFile)); err == nil {
		var have Bucketing
		if json.Unmarshal(old, &have) != nil || have.Key != marker.Key || have.Buckets != buckets {
			return nil, fmt.Errorf("jobs: %w: dataset %q is already bucketed otherwise (%s); choose another --to", ErrSpec, to, old)
		}
	} else if !errors.Is(err, lake.ErrNotFound) {
		return nil, err
	}
	ds, err := l.DiscoverDataset(ctx, spec.Dataset, spec.Filters)
	if err != nil {
		return nil, sourceErr("dataset", spec.Dataset, err)
	}
	var files []lake.DataFile
	for _, m := range spec.Modalities {
		if len(ds.Modalities[m.Name]) == 0 {
			return nil, fmt.Errorf("jobs: %w: modality %q: no parquet files under %s/modality=%s/", ErrInput, m.Name, lake.Join(l.String(), spec.Dataset), m.Name)
		}
		files = append(files, ds.Modalities[m.Name]...)
	}
	files = append(files, ds.Labels...)
	for _, f := range files {
		if _, ok, _ := lake.FileBucket(f, spec.Key); ok {
			return nil, fmt.Errorf("jobs: %w: file %s is bucketed already (a %s= folder)", ErrInput, f.Key, lake.BucketPartition(spec.Key))
		}
	}
	// Each input's outputs are encoded into local scratch files first: memory
	// stays at the writers' page buffers whatever the input's size.
	var need int64
	for i, f := range files {
		if opts.Shard == nil || i%opts.Shard.Count == opts.Shard.Index {
			need = max(need, f.Size)
		}
	}
	dir, err := spill.NewDir(opts.SpillDir, need*int64(max(spec.Concurrency.CPU, runtime.GOMAXPROCS(0))))
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	defer dir.Remove()
	var seq atomic.Int64
	scratch := func(int) (*os.File, error) {
		return os.Create(dir.File(fmt.Sprintf("bucket-%d.parquet", seq.Add(1))))
	}
	res := &BucketResult{Lake: l.String(), From: spec.Dataset, To: to, Buckets: buckets}
	var written, rows, size atomic.Int64
	var done atomic.Int64
	cpu := spec.Concurrency.CPU
	if cpu <= 0 {
		cpu = runtime.GOMAXPROCS(0)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cpu)
	mine := 0
	for i, f := range files {
		if opts.Shard != nil && i%opts.Shard.Count != opts.Shard.Index {
			continue
		}
		mine++
		g.Go(func() error {
			out, err := l.Rebucket(gctx, f, spec.Key, buckets, func(b int) string { return lake.BucketedPath(spec.Dataset, to, f, spec.Key, i, b) }, scratch)
			if err != nil {
				return err
			}
			written.Add(int64(out.Files))
			rows.Add(out.Rows)
			size.Add(out.Bytes)
			if opts.Progress != nil {
				opts.Progress("bucket", done.Add(1), int64(mine))
			}
			log.Info("file bucketed", "file", f.Key, "rows", out.Rows, "files", out.Files)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// Last, so that a dataset with the marker has its files (this shard's, at
	// least: the others' tasks write theirs).
	if err := l.WriteObject(ctx, lake.Join(to, BucketingFile), &lake.WriteOptions{ContentType: "application/json"}, func(w io.Writer) error {
		_, err := w.Write(body)
		return err
	}); err != nil {
		return nil, err
	}
	res.FilesRead, res.FilesWritten, res.Rows, res.BytesWritten = mine, int(written.Load()), rows.Load(), size.Load()
	return res, nil
}
