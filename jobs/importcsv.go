package jobs

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/lakefuse/lakefuse/lake"
)

// ImportOptions says how a CSV file becomes a table of the lake layout.
type ImportOptions struct {
	Dataset    string
	Modality   string            // the modality=<name> table; empty with Labels
	Labels     bool              // write the labels/ table instead
	Partitions map[string]string // extra Hive partitions, e.g. date=2026-11-27
	Key        string            // key column (default entity_id); the file must have it, unless RowNumberKey
	// RowNumberKey numbers the rows (0-based) as the key, for the rare file
	// without one; a file that has a column named Key is refused.
	RowNumberKey bool
	Prefix       string // prefix for value columns (for CSVs whose header is 0,1,2,…)
	LabelLast    bool   // the last column is the class label: written as "label"
	DropLast     bool   // ignore the last column
	Part         string // part file name (default part-00000.parquet)
}

// ImportCSV converts a CSV file with a header row into one Parquet file of the lake
// layout. Each column becomes int64 when every value is an integer, double when
// every value is a number, and string otherwise. It returns the key written and the
// number of rows.
func ImportCSV(ctx context.Context, l *lake.Lake, r io.Reader, o ImportOptions) (string, int, error) {
	key, err := importKey(o)
	if err != nil {
		return "", 0, err
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
	switch has := contains(header, o.Key); {
	case !has && !o.RowNumberKey:
		return "", 0, fmt.Errorf("jobs: %w: import: the file has no key column %q (its columns: %s): name it with --key, or pass --row-number-key to number the rows", ErrSpec, o.Key, strings.Join(header, ", "))
	case has && o.RowNumberKey:
		return "", 0, fmt.Errorf("jobs: %w: import: --row-number-key, but the file has a column %q: drop the flag to use it as the key", ErrSpec, o.Key)
	case o.RowNumberKey:
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

// ImportParquet copies a Parquet file into the lake layout, as ImportCSV places a
// CSV's table, after checking it: it must have the key column (o.Key), and no two
// top-level columns may share a name. Its bytes are copied as they are (the
// options that rewrite columns apply to CSV only). It returns the key written and
// the file's rows.
func ImportParquet(ctx context.Context, l *lake.Lake, r io.ReaderAt, size int64, o ImportOptions) (string, int, error) {
	key, err := importKey(o)
	if err != nil {
		return "", 0, err
	}
	if o.RowNumberKey || o.Prefix != "" || o.LabelLast || o.DropLast {
		return "", 0, fmt.Errorf("jobs: %w: import: --row-number-key, --prefix, --label-last and --drop-last rewrite CSV columns; a Parquet file is copied as it is", ErrSpec)
	}
	if o.Key == "" {
		o.Key = "entity_id"
	}
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return "", 0, fmt.Errorf("jobs: %w: import: not a Parquet file: %v", ErrInput, err)
	}
	var names []string
	seen := map[string]bool{}
	for _, field := range f.Schema().Fields() {
		if seen[field.Name()] {
			return "", 0, fmt.Errorf("jobs: %w: import: column %q appears twice", ErrInput, field.Name())
		}
		seen[field.Name()] = true
		names = append(names, field.Name())
	}
	if !seen[o.Key] {
		return "", 0, fmt.Errorf("jobs: %w: import: the file has no key column %q (its columns: %s): name it with --key", ErrSpec, o.Key, strings.Join(names, ", "))
	}
	err = l.WriteObject(ctx, key, &lake.WriteOptions{ContentType: parquetType}, func(w io.Writer) error {
		_, err := io.Copy(w, io.NewSectionReader(r, 0, size))
		return err
	})
	if err != nil {
		return "", 0, fmt.Errorf("jobs: import: %w", err)
	}
	return key, int(f.NumRows()), nil
}

// importKey checks an import's options and returns the object key it writes:
// <dataset>/modality=<m>/[partitions/]<part>, or <dataset>/labels/….
func importKey(o ImportOptions) (string, error) {
	if (o.Modality == "") == !o.Labels {
		return "", fmt.Errorf("jobs: %w: import: set --modality or --labels, exactly one", ErrSpec)
	}
	if err := lake.CheckPath("dataset", o.Dataset); err != nil {
		return "", fmt.Errorf("jobs: import: %w", err)
	}
	if o.Modality != "" {
		if err := lake.CheckName("modality", o.Modality); err != nil {
			return "", fmt.Errorf("jobs: import: %w", err)
		}
	}
	for k, v := range o.Partitions {
		if err := lake.CheckPartition(k, v); err != nil {
			return "", fmt.Errorf("jobs: import: %w", err)
		}
	}
	if o.Part != "" {
		if err := lake.CheckName("part", o.Part); err != nil {
			return "", fmt.Errorf("jobs: import: %w", err)
		}
	}
	if o.Key == "" {
		o.Key = "entity_id"
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
	return lake.Join(key, part), nil
}
