package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"

	"github.com/lakefuse/lakefuse/lake"
)

// InputSnapshot identifies the data a run would read: a hash of every Parquet file
// of the spec's dataset that its filters keep — key, size and modification time,
// as the storage lists them. The default run id includes it, so rerunning the
// same spec on the same files continues (or finds) the same run, and re-imported
// or new data makes a new run. A dataset with no files yet gives "".
func InputSnapshot(ctx context.Context, l *lake.Lake, spec *Spec) (string, error) {
	ds, err := l.DiscoverDataset(ctx, spec.Dataset, spec.Filters)
	if errors.Is(err, lake.ErrNoData) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var files []lake.DataFile
	files = append(files, ds.Labels...)
	for _, fs := range ds.Modalities {
		files = append(files, fs...)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Key < files[j].Key })
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", f.Key, f.Size, f.ModTime.UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SetSnapshot makes the default run id depend on the input snapshot too.
func (s *Spec) SetSnapshot(snapshot string) { s.snapshot = snapshot }
