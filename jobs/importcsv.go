package jobs

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/lakefuse/lakefuse/lake"
)

// ImportOptions says how a CSV file becomes a table of the lake layout.
type ImportOptions struct {
	Dataset    string
	Modality   string            // the modality=<name> table; empty with Labels
	Labels     bool              // write the labels/ table instead
	Partitions map[string]string // extra Hive partitions, e.g. date=2026-11-27
	Key        string            // key column; generated from the row number (0-based) when the CSV lacks it
	Prefix     string            // prefix for value columns (for CSVs whose header is 0,1,2,…)
	LabelLast  bool              // the last column is the class label: written as "label"
	DropLast   bool              // ignore the last column
	Part       string            // part file name (default part-00000.parquet)
}

// ImportCSV converts a CSV file with a header row into one Parquet file of the lake
// layout. Each column becomes int64 when every value is an integer, double when
// every value is a number, and string otherwise. It returns the key written and the
// number of rows.
func ImportCSV(ctx context.Context, l *lake.Lake, r io.Reader, o ImportOptions) (string, int, error) {
	if (o.Modality == "") == !o.Labels {
		return "", 0, fmt.Errorf("jobs: %w: import: set --modality or --labels, exactly one", ErrSpec)
	}
	if err := lake.CheckPath("dataset", o.Dataset); err != nil {
		return "", 0, fmt.Errorf("jobs: import: %w", err)
	}
	if o.Modality != "" {
		if err := lake.CheckName("modality", o.Modality); err != nil {
			return "", 0, fmt.Errorf("jobs: import: %w", err)
		}
	}
	for k, v := range o.Partitions {
		if err := lake.CheckPartition(k, v); err != nil {
			return "", 0, fmt.Errorf("jobs: import: %w", err)
		}
	}
	if o.Part != "" {
		if err := lake.CheckName("part", o.Part); err != nil {
			return "", 0, fmt.Errorf("jobs: import: %w", err)
		}
	}
	if o.Key == "" {
		o.Key = "entity_id"
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return "", 0, fmt.Errorf("jobs: %w: import: reading the header: %v", ErrInput, err)
	}
	records, err := cr.ReadAll()
	if err != nil {
		return "", 0, fmt.Errorf("jobs: %w: import: %v", ErrInput, err)
	}
	names := make([]string, len(header))
	for i, h := range header {
		names[i] = o.Prefix + strings.TrimSpace(h)
	}
	last := len(header) - 1
	if o.LabelLast {
		names[last] = "label"
	}
	var cols []lake.OutColumn
	if !contains(header, o.Key) {
		keys := make([]int64, len(records))
		for i := range keys {
			keys[i] = int64(i)
		}
		cols = append(cols, lake.OutColumn{Name: o.Key, Int64: keys})
	}
	seen := map[string]bool{}
	for j := range header {
		if o.DropLast && j == last {
			continue
		}
		name := names[j]
		if header[j] == o.Key {
			name = o.Key
		}
		if seen[name] {
			return "", 0, fmt.Errorf("jobs: %w: import: column %q appears twice", ErrInput, name)
		}
		seen[name] = true
		cols = append(cols, csvColumn(name, records, j))
	}
	key := lake.Join(o.Dataset, "modality="+o.Modality)
	if o.Labels {
		key = lake.Join(o.Dataset, lake.LabelsFolder)
	}
	for _, k := range sortedKeys(o.Partitions) {
		key = lake.Join(key, k+"="+o.Partitions[k])
	}
	part := o.Part
	if part == "" {
		part = "part-00000.parquet"
	}
	key = lake.Join(key, part)
	err = l.WriteObject(ctx, key, &lake.WriteOptions{ContentType: parquetType}, func(w io.Writer) error {
		return lake.WriteParquet(w, len(records), cols)
	})
	if err != nil {
		return "", 0, fmt.Errorf("jobs: import: %w", err)
	}
	return key, len(records), nil
}

func csvColumn(name string, records [][]string, j int) lake.OutColumn {
	ints := make([]int64, len(records))
	isInt := true
	for i, rec := range records {
		v, err := strconv.ParseInt(strings.TrimSpace(rec[j]), 10, 64)
		if err != nil {
			isInt = false
			break
		}
		ints[i] = v
	}
	if isInt {
		return lake.OutColumn{Name: name, Int64: ints}
	}
	floats := make([]float64, len(records))
	for i, rec := range records {
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[j]), 64)
		if err != nil {
			strs := make([]string, len(records))
			for i, rec := range records {
				strs[i] = rec[j]
			}
			return lake.OutColumn{Name: name, String: strs}
		}
		floats[i] = v
	}
	return lake.OutColumn{Name: name, Float64: floats}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
