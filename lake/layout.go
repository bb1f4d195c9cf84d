package lake

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// LabelsFolder is the folder under a dataset that holds the optional labels table.
const LabelsFolder = "labels"

// DataFile is one Parquet file of a dataset with the Hive partitions in its path.
type DataFile struct {
	Key        string
	Size       int64
	ModTime    time.Time         // as listed (not set by every caller)
	Partitions map[string]string // e.g. {"modality": "text", "date": "2026-11-27"}
}

// Dataset is the discovered layout of <lake>/<dataset>/.
type Dataset struct {
	Name       string
	Modalities map[string][]DataFile // by modality name; files sorted by key
	Labels     []DataFile            // the labels/ table, if any
}

// ModalityNames returns the modality names in sorted order.
func (d *Dataset) ModalityNames() []string {
	names := make([]string, 0, len(d.Modalities))
	for n := range d.Modalities {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// DiscoverDataset lists <dataset>/ and groups its Parquet files by modality. Files
// whose Hive partitions contradict filters are skipped (a file without the filtered
// partition key is kept). Non-Parquet objects (markers, dot files) are ignored.
func (l *Lake) DiscoverDataset(ctx context.Context, dataset string, filters map[string]string) (*Dataset, error) {
	prefix := Join(dataset) + "/"
	objs, err := l.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{Name: dataset, Modalities: map[string][]DataFile{}}
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, prefix)
		parts := strings.Split(rel, "/")
		base := parts[len(parts)-1]
		if !strings.HasSuffix(base, ".parquet") || strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") {
			continue
		}
		parts = parts[:len(parts)-1]
		if len(parts) == 0 {
			continue
		}
		f := DataFile{Key: o.Key, Size: o.Size, ModTime: o.ModTime, Partitions: map[string]string{}}
		isLabels := parts[0] == LabelsFolder
		if isLabels {
			parts = parts[1:]
		}
		ok := true
		for _, p := range parts {
			k, v, found := strings.Cut(p, "=")
			if !found {
				ok = false // not a Hive path: not part of the layout
				break
			}
			f.Partitions[k] = v
		}
		if !ok || !matches(f.Partitions, filters) {
			continue
		}
		switch {
		case isLabels:
			ds.Labels = append(ds.Labels, f)
		case f.Partitions["modality"] != "":
			m := f.Partitions["modality"]
			ds.Modalities[m] = append(ds.Modalities[m], f)
		}
	}
	if len(ds.Modalities) == 0 && len(ds.Labels) == 0 {
		return nil, fmt.Errorf("lake: dataset %q: %w under %s/%s", dataset, ErrNoData, l.url, prefix)
	}
	return ds, nil
}

func matches(parts, filters map[string]string) bool {
	for k, want := range filters {
		if got, ok := parts[k]; ok && got != want {
			return false
		}
	}
	return true
}
