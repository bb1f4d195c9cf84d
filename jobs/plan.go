package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/lakefuse/lakefuse/lake"
)

// SourcePlan is one table the job reads: a modality or the labels table.
type SourcePlan struct {
	Name    string // modality name, or "labels"
	Kind    string // probs, score, features, or labels
	Files   []lake.DataFile
	Rows    []int64 // per file, from the footers
	Bytes   int64
	Request lake.ColumnRequest // what the first (key) phase reads
	// The modality's values, read after alignment straight into the frame: a list
	// column, or numeric scalar columns.
	Vector string
	Scalar []string
	// Invalid is the modality's policy for unusable values (reject or error);
	// Required makes a modality without usable rows an error.
	Invalid  string
	Required bool
	// stringKey says, per file, whether its key column holds strings.
	stringKey []bool
	// fileBucket is, per file, its key bucket in a bucketed dataset (nil otherwise).
	fileBucket []int
	// keyRanges is, per file and row group, the key's range by the footer's
	// statistics: what lets the partitioned path read groups of key ranges
	// straight from the lake (ranges.go).
	keyRanges [][]lake.KeyRange
}

// TotalRows sums the rows of every file.
func (p *SourcePlan) TotalRows() int64 {
	var n int64
	for _, r := range p.Rows {
		n += r
	}
	return n
}

// Plan is what a job will read, checked against the spec before any heavy work.
type Plan struct {
	Spec       *Spec
	Lake       string
	Modalities []*SourcePlan // in spec order
	Labels     *SourcePlan   // nil when the label comes from a modality or is absent
	LabelFrom  int           // index of the label's source: a modality, or len(Modalities) for Labels; -1 for none
	Anchor     int           // index of the left-join anchor, same numbering
	// labelValues holds, per label file, its distinct labels (checkLabels):
	// what the classes are, known before any vector is read.
	labelValues []*lake.Table
	// splitValues are the split column's values among labelled rows (checkLabels).
	splitValues []string
	// Buckets is the key bucket count of a bucketed dataset (every file in a
	// <key>_bucket=<b> folder, Iceberg's transform); 0 when not bucketed.
	Buckets int
	// Owned is set when the plan holds only the files of some buckets (a
	// shard's); all then holds every source whole.
	Owned bool
	all   []*SourcePlan
}

// Sources returns modalities then (if any) the labels table: the numbering used by
// LabelFrom and Anchor.
func (p *Plan) Sources() []*SourcePlan {
	out := slices.Clone(p.Modalities)
	if p.Labels != nil {
		out = append(out, p.Labels)
	}
	return out
}

// MakePlan lists the dataset, reads every file's footer and checks the columns the
// spec needs. Every problem names the file and the column.
func MakePlan(ctx context.Context, l *lake.Lake, spec *Spec) (*Plan, error) {
	return makePlan(ctx, l, spec, true, nil)
}

// makePlan is MakePlan; labels may be absent when scoring with saved models.
// With owned set, a bucketed dataset's plan keeps only the files of the buckets
// owned reports true for (a shard's), and footers are read of those only.
func makePlan(ctx context.Context, l *lake.Lake, spec *Spec, labelsRequired bool, owned func(bucket int) bool) (*Plan, error) {
	ds, err := l.DiscoverDataset(ctx, spec.Dataset, spec.Filters)
	if err != nil {
		return nil, sourceErr("dataset", spec.Dataset, err)
	}
	p := &Plan{Spec: spec, Lake: l.String(), LabelFrom: -1}
	for _, m := range spec.Modalities {
		files := ds.Modalities[m.Name]
		if len(files) == 0 {
			have := strings.Join(ds.ModalityNames(), ", ")
			return nil, fmt.Errorf("jobs: %w: modality %q: no parquet files under %s/modality=%s/ (the dataset has: %s)", ErrInput, m.Name, lake.Join(l.String(), spec.Dataset), m.Name, have)
		}
		sp := &SourcePlan{Name: m.Name, Files: files, Request: lake.ColumnRequest{Key: spec.Key}, Invalid: m.Invalid, Required: m.Required}
		switch {
		case m.Probs != "":
			sp.Kind, sp.Vector = "probs", m.Probs
		case m.Score != "":
			sp.Kind, sp.Scalar = "score", []string{m.Score}
		default:
			sp.Kind = "features"
			sp.Vector = m.Features.Column
		}
		if spec.Label.From == m.Name {
			sp.Request.Label = spec.Label.Column
			sp.Request.Split = spec.Split.Column
		}
		p.Modalities = append(p.Modalities, sp)
	}
	if spec.Label.From == "labels" {
		if len(ds.Labels) > 0 {
			p.Labels = &SourcePlan{Name: "labels", Kind: "labels", Files: ds.Labels,
				Request: lake.ColumnRequest{Key: spec.Key, Label: spec.Label.Column, Split: spec.Split.Column}}
			p.LabelFrom = len(p.Modalities)
		}
	} else {
		for i, m := range spec.Modalities {
			if m.Name == spec.Label.From {
				p.LabelFrom = i
			}
		}
	}
	switch a := spec.Align.Anchor; {
	case a == "" && p.Labels != nil, a == "labels" && p.Labels != nil:
		p.Anchor = len(p.Modalities)
	case a == "labels":
		return nil, fmt.Errorf("jobs: %w: align.anchor is \"labels\" but %s/labels/ holds no parquet files", ErrInput, lake.Join(l.String(), spec.Dataset))
	case a == "":
		p.Anchor = 0
	default:
		p.Anchor = slices.Index(spec.ModalityNames(), a)
	}

	if err := p.bucketLayout(ctx, l, spec); err != nil {
		return nil, err
	}
	// Footers: one ranged request per file, at most IO at a time.
	sources := p.Sources()
	featCols := make([][][]string, len(sources)) // per source, per file: matched feature columns
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(spec.Concurrency.IO)
	for si, sp := range sources {
		sp.Rows = make([]int64, len(sp.Files))
		sp.stringKey = make([]bool, len(sp.Files))
		sp.keyRanges = make([][]lake.KeyRange, len(sp.Files))
		var pattern *regexp.Regexp
		if m := spec.modality(sp.Name); m != nil && m.Features != nil && m.Features.Columns != "" {
			pattern = regexp.MustCompile(m.Features.Columns) // validated by Validate
			featCols[si] = make([][]string, len(sp.Files))
		}
		for fi, f := range sp.Files {
			sp.Bytes += f.Size
			g.Go(func() error {
				info, err := l.InspectKey(gctx, f, sp.Request.Key)
				if err != nil {
					return sourceErr(sp.Kind, sp.Name, err)
				}
				sp.Rows[fi], sp.keyRanges[fi] = info.Rows, info.KeyRanges
				if err := checkColumns(info, sp.Request, sp.Vector, sp.Scalar); err != nil {
					return fmt.Errorf("jobs: %w: %s %q: file %s: %w", ErrInput, sp.Kind, sp.Name, f.Key, err)
				}
				for _, c := range info.Columns {
					sp.stringKey[fi] = sp.stringKey[fi] || (c.Name == sp.Request.Key && c.Type == "BYTE_ARRAY")
				}
				if pattern == nil {
					return nil
				}
				for _, c := range info.Columns {
					if !pattern.MatchString(c.Name) || c.Name == spec.Key || c.Name == spec.Label.Column || c.Name == spec.Split.Column {
						continue
					}
					if !isNumeric(c.Type) {
						return fmt.Errorf("jobs: %w: modality %q: features.columns %q matches column %q (%s) of file %s: feature columns must be numeric; narrow the pattern",
							ErrSpec, sp.Name, pattern, c.Name, c.Type, f.Key)
					}
					featCols[si][fi] = append(featCols[si][fi], c.Name)
				}
				if len(featCols[si][fi]) == 0 {
					return fmt.Errorf("jobs: %w: modality %q: file %s: no numeric column matches features.columns %q", ErrInput, sp.Name, f.Key, pattern)
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for si, perFile := range featCols {
		if len(perFile) == 0 { // not a column-pattern modality, or a shard without its files
			continue
		}
		sp := sources[si]
		for fi := range perFile {
			if !slices.Equal(perFile[fi], perFile[0]) {
				return nil, fmt.Errorf("jobs: %w: modality %q: file %s matches %d feature columns, file %s matches %d: every file must have the same ones", ErrInput, sp.Name, sp.Files[fi].Key, len(perFile[fi]), sp.Files[0].Key, len(perFile[0]))
			}
		}
		sp.Scalar = perFile[0]
	}
	if p.LabelFrom < 0 && labelsRequired {
		return nil, fmt.Errorf("jobs: %w: no labels: %s/labels/ holds no parquet files and label.from names no modality", ErrInput, lake.Join(l.String(), spec.Dataset))
	}
	if labelsRequired {
		if err := checkLabels(ctx, l, p); err != nil {
			return nil, err
		}
	}
	// A shard's plan keeps its own buckets' files, once the footers of every
	// file and every label have been read (the classes are the whole lake's).
	if owned != nil && p.Buckets > 0 {
		p.keepBuckets(owned)
	}
	return p, nil
}

// checkLabels reads only the label source's key, label and split columns (a
// small part of the lake) and finds what they alone show, before any vector is
// read or any model fitted: a split value declared nowhere, fewer than two classes
// among the training rows, a class that only evaluation rows have. (The job checks
// the classes again after alignment, which may leave rows out.)
func checkLabels(ctx context.Context, l *lake.Lake, p *Plan) error {
	spec := p.Spec
	sp := p.Sources()[p.LabelFrom]
	// No key: the scan stage checks every key (a null is an error there), and
	// decoding 50M keys here took two thirds of this pass.
	req := lake.ColumnRequest{Label: spec.Label.Column, Split: spec.Split.Column}
	// A row group at a time, and only counts kept: the label source may be as long
	// as the lake.
	var mu sync.Mutex
	var tables []*lake.Table // one per file, holding its distinct labels
	found := map[string]int{}
	train, other := map[string]int64{}, map[string]int64{}
	seen := map[string]bool{}
	var order []string
	// Files open in g, and each submits its row groups to rgs, a group of their
	// own: a file task that ran a row group itself when rgs had no free slot
	// left that slot idle whenever the other finished first.
	rgs, rgctx := errgroup.WithContext(ctx)
	rgs.SetLimit(spec.Concurrency.IO)
	g, gctx := errgroup.WithContext(rgctx) // g's end cancels gctx, not the row groups'
	g.SetLimit(spec.Concurrency.IO)
	distincts := make([]*lake.Table, len(sp.Files)) // per file
	for fi, f := range sp.Files {
		g.Go(func() error {
			src, err := l.OpenScatter(gctx, f, nil)
			if err != nil {
				return sourceErr(sp.Kind, sp.Name, err)
			}
			distinct := &lake.Table{File: f.Key}
			distincts[fi] = distinct
			ints, strs := map[int64]bool{}, map[string]bool{} // the file's labels so far
			group := func(rg int) error {
				t, err := src.ScanRowGroup(rgctx, rg, req)
				if err != nil {
					return sourceErr(sp.Kind, sp.Name, err)
				}
				// The row group's labels are counted by value first — a row costs
				// one lookup — and merged by their text once per distinct value.
				var rgLabels []string // this row group's distinct labels, first seen first
				var rgInts []int64    // … as values, for the file's distinct labels
				var counts []struct{ train, other int64 }
				newLabel := func(text string) int {
					rgLabels, counts = append(rgLabels, text), append(counts, struct{ train, other int64 }{})
					return len(rgLabels) - 1
				}
				intIdx, strIdx := map[int64]int{}, map[string]int{}
				var smallIdx [smallLabels]int // labels 0…smallLabels−1, as classSet looks them up: index in rgLabels + 1, 0 if not seen
				rgFound := map[string]int{}
				for row := 0; row < t.Rows; row++ {
					if t.LabelValid != nil && !t.LabelValid[row] {
						continue
					}
					var li int
					if t.IntLabels != nil {
						v := t.IntLabels[row]
						var ok bool
						if uint64(v) < uint64(len(smallIdx)) {
							li, ok = smallIdx[v]-1, smallIdx[v] > 0
						} else {
							li, ok = intIdx[v]
						}
						if !ok {
							li = newLabel(strconv.FormatInt(v, 10))
							rgInts = append(rgInts, v)
							if uint64(v) < uint64(len(smallIdx)) {
								smallIdx[v] = li + 1
							} else {
								intIdx[v] = li
							}
						}
					} else {
						v := t.StrLabels[row]
						var ok bool
						if li, ok = strIdx[v]; !ok {
							li = newLabel(v)
							strIdx[v] = li
						}
					}
					training := true
					if spec.Split.Column != "" {
						split := t.Split[row]
						rgFound[split]++
						training = slices.Contains(spec.Split.Train, split)
					}
					if training {
						counts[li].train++
					} else {
						counts[li].other++
					}
				}
				mu.Lock()
				defer mu.Unlock()
				if distinct.IntLabels == nil && distinct.StrLabels == nil {
					if t.IntLabels != nil {
						distinct.IntLabels = []int64{}
					} else {
						distinct.StrLabels = []string{}
					}
				}
				if (t.IntLabels != nil) != (distinct.IntLabels != nil) {
					return fmt.Errorf("jobs: %w: label column %q is an integer in some files and a string in others (file %s)", ErrInput, spec.Label.Column, f.Key)
				}
				for i, label := range rgLabels {
					if t.IntLabels != nil {
						if v := rgInts[i]; !ints[v] {
							ints[v] = true
							distinct.IntLabels = append(distinct.IntLabels, v)
						}
					} else if !strs[label] {
						strs[label] = true
						distinct.StrLabels = append(distinct.StrLabels, label)
					}
					if !seen[label] {
						seen[label] = true
						order = append(order, label)
					}
					if n := counts[i].train; n > 0 {
						train[label] += n
					}
					if n := counts[i].other; n > 0 {
						other[label] += n
					}
				}
				for split, n := range rgFound {
					found[split] += n
				}
				return nil
			}
			// Every row group a task (the label source is often one file of
			// many row groups).
			for rg := 0; rg < src.RowGroups(); rg++ {
				rgs.Go(func() error { return group(rg) })
			}
			return nil
		})
	}
	err := g.Wait()
	if rerr := rgs.Wait(); err == nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	for _, d := range distincts {
		if d != nil && (d.IntLabels != nil || d.StrLabels != nil) {
			tables = append(tables, d)
		}
	}
	p.labelValues = tables
	p.splitValues = sortedKeys(found)
	if err := checkSplitValues(spec, found); err != nil {
		return err
	}
	if spec.Split.Holdout != nil {
		// A holdout draws both splits from every class: what matters is classes.
		for c, n := range other {
			train[c] += n
		}
		clear(other)
	}
	slices.Sort(order)
	return checkClasses(train, other, order)
}

// checkColumns compares a footer with the columns a request needs.
func checkColumns(info *lake.FileInfo, req lake.ColumnRequest, vector string, scalar []string) error {
	types := map[string]string{}
	var names []string
	for _, c := range info.Columns {
		types[c.Name] = c.Type
		names = append(names, c.Name)
	}
	need := func(col, role string, ok func(string) bool, want string) error {
		t, found := types[col]
		if !found {
			return fmt.Errorf("column %q (%s): %w (file has: %s)", col, role, lake.ErrMissingColumn, strings.Join(names, ", "))
		}
		if !ok(t) {
			return fmt.Errorf("column %q (%s): %w: is %s, want %s", col, role, lake.ErrColumnType, t, want)
		}
		return nil
	}
	scalarKey := func(t string) bool { return t == "INT32" || t == "INT64" || t == "BYTE_ARRAY" }
	if err := need(req.Key, "key", scalarKey, "an integer or string scalar"); err != nil {
		return err
	}
	if req.Label != "" {
		if err := need(req.Label, "label", scalarKey, "an integer or string scalar"); err != nil {
			return err
		}
	}
	if req.Split != "" {
		if err := need(req.Split, "split", func(t string) bool { return t == "BYTE_ARRAY" }, "a string"); err != nil {
			return err
		}
	}
	if vector != "" {
		isList := func(t string) bool {
			return strings.HasPrefix(t, "list<") && isNumeric(strings.TrimSuffix(strings.TrimPrefix(t, "list<"), ">"))
		}
		if err := need(vector, "vector", isList, "a list of numbers"); err != nil {
			return err
		}
	}
	for _, c := range scalar {
		if err := need(c, "numeric", isNumeric, "a numeric scalar"); err != nil {
			return err
		}
	}
	return nil
}

func isNumeric(t string) bool {
	switch t {
	case "INT32", "INT64", "FLOAT", "DOUBLE":
		return true
	}
	return false
}

func (s *Spec) modality(name string) *ModalitySpec {
	for i := range s.Modalities {
		if s.Modalities[i].Name == name {
			return &s.Modalities[i]
		}
	}
	return nil
}

// BucketingFile and Bucketing describe a bucketed dataset (lake owns them:
// lakefuse bucket and lakefuse synth write them).
const BucketingFile = lake.BucketingFile

// Bucketing is the body of BucketingFile.
type Bucketing = lake.Bucketing

// bucketLayout finds whether the dataset is bucketed by the key: every file of
// every source in a <key>_bucket=<b> folder (or none). The bucket count comes
// from the spec's buckets, else from the dataset's _bucketing.json.
func (p *Plan) bucketLayout(ctx context.Context, l *lake.Lake, spec *Spec) error {
	var bucketed, plain string
	for _, sp := range p.Sources() {
		sp.fileBucket = make([]int, len(sp.Files))
		for fi, f := range sp.Files {
			b, ok, err := lake.FileBucket(f, spec.Key)
			if err != nil {
				return fmt.Errorf("jobs: %w: %w", ErrInput, err)
			}
			sp.fileBucket[fi] = b
			if ok {
				bucketed = f.Key
			} else {
				plain = f.Key
			}
		}
	}
	if bucketed == "" {
		for _, sp := range p.Sources() {
			sp.fileBucket = nil
		}
		return nil
	}
	if plain != "" {
		return fmt.Errorf("jobs: %w: file %s is in a %s= folder and file %s is not: a dataset is bucketed whole or not at all (lakefuse bucket rewrites it)",
			ErrInput, bucketed, lake.BucketPartition(spec.Key), plain)
	}
	n, from := spec.Buckets, "the spec's buckets"
	if n == 0 {
		from = lake.Join(spec.Dataset, BucketingFile)
		b, err := l.ReadAll(ctx, from)
		if errors.Is(err, lake.ErrNotFound) {
			return fmt.Errorf("jobs: %w: the dataset's files are in %s=<b> folders but their bucket count is unknown: set buckets: N in the spec (the N of the tables' bucket[N](%s) partitioning)",
				ErrInput, lake.BucketPartition(spec.Key), spec.Key)
		}
		if err != nil {
			return err
		}
		var bk Bucketing
		if err := json.Unmarshal(b, &bk); err != nil || bk.Buckets <= 0 || bk.Key != spec.Key {
			return fmt.Errorf("jobs: %w: %s: want {\"key\": %q, \"buckets\": N} (%v)", ErrInput, from, spec.Key, err)
		}
		n = bk.Buckets
	}
	if n > MaxBuckets {
		return fmt.Errorf("jobs: %w: %s says the dataset has %d buckets; lakefuse reads at most %d", ErrInput, from, n, MaxBuckets)
	}
	for _, sp := range p.Sources() {
		for fi, b := range sp.fileBucket {
			if b >= n {
				return fmt.Errorf("jobs: %w: file %s is in bucket %d, but %s says the dataset has %d buckets", ErrInput, sp.Files[fi].Key, b, from, n)
			}
		}
	}
	p.Buckets = n
	return nil
}

// keepBuckets drops the files of the buckets a shard does not own; all keeps
// every source whole, for the passes that read other buckets (foreignBucket).
func (p *Plan) keepBuckets(owned func(int) bool) {
	p.Owned = true
	p.all = p.Sources()
	keep := func(sp *SourcePlan) *SourcePlan {
		return sp.subset(func(fi int) bool { return owned(sp.fileBucket[fi]) })
	}
	for i, sp := range p.Modalities {
		p.Modalities[i] = keep(sp)
	}
	if p.Labels != nil {
		p.Labels = keep(p.Labels)
	}
}

// foreignBucket is the plan of bucket b's files only, from the whole lake's
// (all): a shard reads another's bucket through it.
func (p *Plan) foreignBucket(b int) *Plan {
	sub := *p
	sub.Modalities = nil
	for i, sp := range p.all {
		one := sp.subset(func(fi int) bool { return sp.fileBucket[fi] == b })
		if i < len(p.Modalities) {
			sub.Modalities = append(sub.Modalities, one)
		} else {
			sub.Labels = one
		}
	}
	sub.Owned, sub.all = false, nil
	return &sub
}

// subset is the source with only the files keep reports true for.
func (sp *SourcePlan) subset(keep func(fi int) bool) *SourcePlan {
	out := *sp
	out.Files, out.Rows, out.stringKey, out.fileBucket, out.keyRanges, out.Bytes = nil, nil, nil, nil, nil, 0
	for fi, f := range sp.Files {
		if !keep(fi) {
			continue
		}
		out.Files = append(out.Files, f)
		out.Rows = append(out.Rows, sp.Rows[fi])
		out.stringKey = append(out.stringKey, sp.stringKey[fi])
		out.fileBucket = append(out.fileBucket, sp.fileBucket[fi])
		if sp.keyRanges != nil {
			out.keyRanges = append(out.keyRanges, sp.keyRanges[fi])
		}
		out.Bytes += f.Size
	}
	return &out
}
