package synth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/lakefuse/lakefuse/internal/bucket"
	"github.com/lakefuse/lakefuse/internal/keyhash"
	"github.com/lakefuse/lakefuse/lake"
)

// Written is what Write wrote, beside the truth in scenario.json.
type Written struct {
	Entities int64            `json:"entities"`
	Files    int              `json:"files_per_table"`
	BySplit  map[string]int64 `json:"entities_by_split"`
	// LabelsFlipped counts the labels label_noise replaced.
	LabelsFlipped int64             `json:"labels_flipped"`
	Modalities    []WrittenModality `json:"modalities"`
}

// WrittenModality is one modality's rows: Rows = Entities − Missing + Duplicates.
type WrittenModality struct {
	Name       string `json:"name"`
	Rows       int64  `json:"rows"`
	Missing    int64  `json:"entities_missing"`
	Duplicates int64  `json:"duplicate_rows"`
	Invalid    int64  `json:"entities_invalid"` // entities whose rows carry an invalid value (both rows when duplicated)
}

// File is scenario.json: the scenario, what was written, and the ground truth.
type File struct {
	FormatVersion int       `json:"format_version"`
	Scenario      *Scenario `json:"scenario"`
	// Sweep is the point of a sweep this dataset is (nil outside sweeps).
	Sweep   *Point   `json:"sweep,omitempty"`
	Written *Written `json:"written"`
	Truth   *Truth   `json:"truth"`
}

// Point is one value of a swept parameter.
type Point struct {
	Parameter string  `json:"parameter"`
	Value     float64 `json:"value"`
}

const parquetType = "application/vnd.apache.parquet"

// ReadFile decodes a scenario.json.
func ReadFile(b []byte) (*File, error) {
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("synth: scenario.json: %w", err)
	}
	if f.FormatVersion != 1 || f.Truth == nil || f.Scenario == nil {
		return nil, fmt.Errorf("synth: scenario.json: format %d without truth or scenario: not one lakefuse synth wrote", f.FormatVersion)
	}
	return &f, nil
}

// rowsPerFile bounds a file's rows so that one chunk's values stay near 32 MiB.
func (s *Scenario) rowsPerFile() int {
	width := s.Classes + 1 // labels, keys
	for _, m := range s.Modalities {
		width += max(m.Dim, s.Classes)
	}
	return max(1024, min(s.RowsPer, (1<<22)/width))
}

// Write generates the scenario's dataset into l under sc.Dataset: labels/ (key,
// label, split) and modality=<name>/ tables, part-<chunk>.parquet each, chunks of
// rowsPerFile entities generated and written by workers at a time (memory is
// bounded by workers × chunk, whatever the entity count), then scenario.json.
// The bytes depend on the scenario only.
func Write(ctx context.Context, l *lake.Lake, sc *Scenario, workers int) (*File, error) {
	var point *Point
	if sw := sc.Sweep; sw != nil {
		if len(sw.Values) != 1 {
			return nil, fmt.Errorf("%w: a sweep of %d values is %d scenarios: write each of Points()", ErrScenario, len(sw.Values), len(sw.Values))
		}
		point = &Point{Parameter: sw.Parameter, Value: sw.Values[0]}
	}
	md := newModel(sc)
	per := sc.rowsPerFile()
	chunks := int((sc.Entities + int64(per) - 1) / int64(per))
	written := &Written{Entities: sc.Entities, Files: chunks, BySplit: map[string]int64{}, Modalities: make([]WrittenModality, len(sc.Modalities))}
	for mi, m := range sc.Modalities {
		written.Modalities[mi].Name = m.Name
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	for ch := 0; ch < chunks; ch++ {
		g.Go(func() error {
			lo := int64(ch) * int64(per)
			hi := min(lo+int64(per), sc.Entities)
			counts, err := md.writeChunk(gctx, l, ch, lo, hi)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			written.LabelsFlipped += counts.LabelsFlipped
			for k, v := range counts.BySplit {
				written.BySplit[k] += v
			}
			for mi := range written.Modalities {
				w, c := &written.Modalities[mi], counts.Modalities[mi]
				w.Rows += c.Rows
				w.Missing += c.Missing
				w.Duplicates += c.Duplicates
				w.Invalid += c.Invalid
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if sc.Buckets > 0 {
		marker, _ := json.Marshal(lake.Bucketing{Key: sc.Key.Name, Buckets: sc.Buckets, Transform: "iceberg bucket", From: "lakefuse synth"})
		if err := l.WriteObject(ctx, lake.Join(sc.Dataset, lake.BucketingFile), &lake.WriteOptions{ContentType: "application/json"}, func(w io.Writer) error {
			_, err := w.Write(append(marker, '\n'))
			return err
		}); err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
	}
	f := &File{FormatVersion: 1, Scenario: sc, Sweep: point, Written: written, Truth: md.truth(truthSamples, runtime.GOMAXPROCS(0))}
	body, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	err = l.WriteObject(ctx, lake.Join(sc.Dataset, "scenario.json"), &lake.WriteOptions{ContentType: "application/json"}, func(w io.Writer) error {
		_, err := w.Write(append(body, '\n'))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	return f, nil
}

// key returns entity i's key: i, or a bijective scramble of it (shuffled), as an
// integer or as "e" and digits.
func (s *Scenario) key(i int64) (int64, string) {
	k := i
	if s.Key.Order == "shuffled" {
		k = int64(keyhash.Mix(uint64(i)))
	}
	if s.Key.Type == "string" {
		if s.Key.Order == "shuffled" {
			return 0, "e" + strconv.FormatUint(uint64(k), 16)
		}
		return 0, fmt.Sprintf("e%012d", k)
	}
	return k, ""
}

// writeChunk generates entities [lo, hi) and writes chunk ch of every table.
func (md *model) writeChunk(ctx context.Context, l *lake.Lake, ch int, lo, hi int64) (*Written, error) {
	sc := md.sc
	n := int(hi - lo)
	counts := &Written{BySplit: map[string]int64{}, Modalities: make([]WrittenModality, len(sc.Modalities))}
	stringKeys := sc.Key.Type == "string"
	keyCol := func(capacity int) lake.OutColumn {
		if stringKeys {
			return lake.OutColumn{Name: sc.Key.Name, String: make([]string, 0, capacity)}
		}
		return lake.OutColumn{Name: sc.Key.Name, Int64: make([]int64, 0, capacity)}
	}
	appendKey := func(c *lake.OutColumn, i int64) {
		k, s := sc.key(i)
		if stringKeys {
			c.String = append(c.String, s)
		} else {
			c.Int64 = append(c.Int64, k)
		}
	}
	labels := []lake.OutColumn{keyCol(n), {Name: "label", Int64: make([]int64, 0, n)}, {Name: "split", String: make([]string, 0, n)}}
	var labelBuckets []int
	type table struct {
		cols    []lake.OutColumn // key, then the values
		rows    int
		buckets []int // each row's key bucket, when the scenario is bucketed
	}
	tables := make([]table, len(sc.Modalities))
	for mi, m := range sc.Modalities {
		t := &tables[mi]
		t.cols = []lake.OutColumn{keyCol(n)}
		switch m.Kind {
		case "probs":
			t.cols = append(t.cols, lake.OutColumn{Name: "probs", List64: make([]float64, 0, n*sc.Classes), Width: sc.Classes})
		case "score":
			t.cols = append(t.cols, lake.OutColumn{Name: "score", Float64: make([]float64, 0, n)})
		case "embedding":
			t.cols = append(t.cols, lake.OutColumn{Name: "embedding", List64: make([]float64, 0, n*m.Dim), Width: m.Dim})
		case "columns":
			for j := 0; j < m.Dim; j++ {
				t.cols = append(t.cols, lake.OutColumn{Name: "f" + strconv.Itoa(j), Float64: make([]float64, 0, n)})
			}
		}
	}
	pcg := rand.NewPCG(0, 0)
	rng := rand.New(pcg)
	e := newEntity(sc)
	maxDim := sc.Classes
	for _, m := range sc.Modalities {
		maxDim = max(maxDim, m.Dim)
	}
	vals, noise := make([]float64, maxDim), make([]float64, maxDim)
	for i := lo; i < hi; i++ {
		if (i-lo)%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		pcg.Seed(sc.Seed, uint64(i))
		md.draw(rng, e)
		b := sc.group(i, e.part)
		labelBuckets = append(labelBuckets, b)
		appendKey(&labels[0], i)
		labels[1].Int64 = append(labels[1].Int64, int64(e.label))
		labels[2].String = append(labels[2].String, md.splits[e.split])
		counts.BySplit[md.splits[e.split]]++
		if e.label != e.class {
			counts.LabelsFlipped++
		}
		for mi, m := range sc.Modalities {
			// The values are drawn whether or not the row is written, so one
			// modality's fate does not shift another's draws.
			var v []float64
			switch m.Kind {
			case "probs", "score":
				v = vals[:sc.Classes]
				md.posterior(mi, e.z[mi], v)
			default:
				v = vals[:m.Dim]
				md.features(rng, mi, e.z[mi], v, noise[:m.Dim])
			}
			c := &counts.Modalities[mi]
			if !e.present[mi] {
				c.Missing++
				continue
			}
			if e.bad[mi] {
				c.Invalid++
				switch m.Kind {
				case "probs":
					v[0] = -0.5
				case "score":
					v[1] = math.NaN()
				default:
					v[0] = math.NaN()
				}
			}
			copies := 1
			if e.dup[mi] {
				copies = 2
				c.Duplicates++
			}
			t := &tables[mi]
			for range copies {
				t.buckets = append(t.buckets, b)
				appendKey(&t.cols[0], i)
				switch m.Kind {
				case "probs", "embedding":
					t.cols[1].List64 = append(t.cols[1].List64, v...)
				case "score":
					t.cols[1].Float64 = append(t.cols[1].Float64, v[1])
				case "columns":
					for j, x := range v {
						t.cols[1+j].Float64 = append(t.cols[1+j].Float64, x)
					}
				}
				t.rows++
			}
			c.Rows += int64(copies)
		}
	}
	part := fmt.Sprintf("part-%05d.parquet", ch)
	if err := sc.writeTable(ctx, l, lake.Join(sc.Dataset, lake.LabelsFolder), part, n, labels, labelBuckets); err != nil {
		return nil, err
	}
	for mi, m := range sc.Modalities {
		if err := sc.writeTable(ctx, l, lake.Join(sc.Dataset, "modality="+m.Name), part, tables[mi].rows, tables[mi].cols, tables[mi].buckets); err != nil {
			return nil, err
		}
	}
	return counts, nil
}

// group is the folder entity i's rows go to, as an index: its partition (p)
// times the bucket count, plus its key bucket (Iceberg's transform) when the
// scenario is bucketed.
func (s *Scenario) group(i int64, p int) int {
	if s.Buckets == 0 {
		return p
	}
	k, str := s.key(i)
	b := bucket.Of(bucket.Long(k), s.Buckets)
	if s.Key.Type == "string" {
		b = bucket.Of(bucket.String(str), s.Buckets)
	}
	return p*s.Buckets + b
}

// folder is group g's folders under a table: <column>=<value>/ for a partition,
// then <key>_bucket=<b>/ when bucketed.
func (s *Scenario) folder(g int) string {
	var parts []string
	b := max(s.Buckets, 1)
	if p := s.Partitions; p != nil {
		parts = append(parts, p.Column+"="+p.Values[g/b])
	}
	if s.Buckets > 0 {
		parts = append(parts, fmt.Sprintf("%s=%d", lake.BucketPartition(s.Key.Name), g%b))
	}
	return strings.Join(parts, "/")
}

// writeTable writes a chunk's table under dir: one file per non-empty folder
// group (one file when neither partitioned nor bucketed).
func (s *Scenario) writeTable(ctx context.Context, l *lake.Lake, dir, part string, rows int, cols []lake.OutColumn, groups []int) error {
	if s.Buckets == 0 && s.Partitions == nil {
		return writeFile(ctx, l, lake.Join(dir, part), rows, cols)
	}
	n := max(s.Buckets, 1)
	if s.Partitions != nil {
		n *= len(s.Partitions.Values)
	}
	members := make([][]int, n)
	for r, g := range groups {
		members[g] = append(members[g], r)
	}
	for g, rs := range members {
		if len(rs) == 0 {
			continue
		}
		if err := writeFile(ctx, l, lake.Join(dir, s.folder(g), part), len(rs), pickRows(cols, rs)); err != nil {
			return err
		}
	}
	return nil
}

// pickRows is the columns' rows rs, in order.
func pickRows(cols []lake.OutColumn, rs []int) []lake.OutColumn {
	out := make([]lake.OutColumn, len(cols))
	for c, col := range cols {
		o := lake.OutColumn{Name: col.Name, Width: col.Width}
		for _, r := range rs {
			switch {
			case col.Int64 != nil:
				o.Int64 = append(o.Int64, col.Int64[r])
			case col.String != nil:
				o.String = append(o.String, col.String[r])
			case col.Float64 != nil:
				o.Float64 = append(o.Float64, col.Float64[r])
			case col.List64 != nil:
				o.List64 = append(o.List64, col.List64[r*col.Width:(r+1)*col.Width]...)
			}
		}
		out[c] = o
	}
	return out
}

func writeFile(ctx context.Context, l *lake.Lake, key string, rows int, cols []lake.OutColumn) error {
	err := l.WriteObject(ctx, key, &lake.WriteOptions{ContentType: parquetType}, func(w io.Writer) error {
		return lake.WriteParquet(w, rows, cols)
	})
	if err != nil {
		return fmt.Errorf("synth: %s: %w", key, err)
	}
	return nil
}
