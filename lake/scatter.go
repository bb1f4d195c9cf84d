package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
)

// Scatter says where one file's vectors go. This is late materialisation: a job
// reads keys first, aligns them, and only then decodes the (much larger) vectors,
// straight into the rows of the aligned matrix, so every value is copied once.
//
// Row r of the file lands in destination row Dest[r] of Out (nowhere where
// Dest[r] < 0): its Width values are added at Out[Dest[r]*Stride+Offset:], as
// float32 (a float64 column's values are rounded; a float32 column's are exact), and
// Hits[Dest[r]] is incremented. Adding lets a caller average duplicate rows. A row
// whose vector is null is skipped, so Hits also says where the modality is present.
// Scatters of files whose Dest values do not overlap may run concurrently.
//
// With Bad set, a list of the wrong length or with a null element does not fail
// the scatter: Bad[Dest[r]] records why (BadWidth, BadNull) and the caller decides.
type Scatter struct {
	Vector string   // a list<number> column, or
	Scalar []string // numeric scalar columns (Width must be len(Scalar))
	Width  int
	Stride int
	Offset int
	Dest   []int32
	Out    []float32
	Hits   []uint16
	Bad    []uint8 // per destination row; nil: bad rows are errors
	// Local indexes Dest by the row within the row group being scattered (one
	// group's worth of destinations) instead of by file row: a file streamed a
	// row group at a time needs no file-sized map. Row numbers in errors are then
	// the group's.
	Local bool
	// Finish, when set, is called with a list row's destination and its Width
	// values in Out as soon as they are stored, for a row stored whole from a
	// page of full, non-null lists (others are not passed): a caller whose
	// every destination gets one row can finish it there while it is in cache.
	// It runs on the goroutine scattering the row group.
	Finish func(dest int32, row []float32)
}

// Why a row's vector is unusable, in Scatter.Bad.
const (
	BadWidth uint8 = 1 + iota // a list of the wrong length
	BadNull                   // a null element in a list
)

// ScatterSource is a file opened for scattering, one row group at a time: row
// groups are independent units of work that can be decoded concurrently.
type ScatterSource struct {
	file   DataFile
	pf     *parquet.File
	ra     *blobReaderAt
	starts []int64 // first row of each row group
}

// OpenScatter opens a file (one request for the footer) for ScatterRowGroup.
func (l *Lake) OpenScatter(ctx context.Context, f DataFile, stats *ScanStats) (_ *ScatterSource, err error) {
	defer corrupt(f.Key, &err)
	pf, ra, err := l.openParquet(ctx, f.Key, f.Size, stats)
	if err != nil {
		return nil, err
	}
	src := &ScatterSource{file: f, pf: pf, ra: ra}
	var row int64
	for _, rg := range pf.RowGroups() {
		src.starts = append(src.starts, row)
		row += rg.NumRows()
	}
	return src, nil
}

// RowGroups is the number of row groups.
func (s *ScatterSource) RowGroups() int { return len(s.starts) }

// ScatterRowGroup decodes row group rg's vectors into sc; sc.Dest is indexed by the
// file's row numbers. Errors name the file, the column and, for a vector of the
// wrong length, the file row.
func (s *ScatterSource) ScatterRowGroup(ctx context.Context, rg int, sc *Scatter) (err error) {
	defer corrupt(s.file.Key, &err)
	f, pf := s.file, s.pf
	group := pf.RowGroups()[rg]
	first, rows := s.starts[rg], pf.NumRows()
	if sc.Local {
		first, rows = 0, group.NumRows()
	}
	if int64(len(sc.Dest)) != rows {
		return fmt.Errorf("lake: file %s: %w: %d rows, %d destinations", f.Key, ErrBadValue, rows, len(sc.Dest))
	}
	wrap := func(col string, err error) error {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if serr := s.ra.failure(); serr != nil {
			return serr
		}
		return fmt.Errorf("lake: file %s: column %q: %w", f.Key, col, err)
	}
	if sc.Vector == "" {
		return scatterScalars(ctx, pf, group, first, f, sc, wrap)
	}
	col := lookupColumn(pf, sc.Vector)
	if col == nil {
		return wrap(sc.Vector, fmt.Errorf("%w (file has %s)", ErrMissingColumn, columnNames(pf)))
	}
	if err := scatterList(ctx, group, first, col, sc); err != nil {
		return wrap(sc.Vector, err)
	}
	return nil
}

// scatterScalars reads each scalar column of a row group whole, then scatters the
// rows where no column is null.
func scatterScalars(ctx context.Context, pf *parquet.File, group parquet.RowGroup, first int64, f DataFile, s *Scatter, wrap func(string, error) error) error {
	if len(s.Scalar) != s.Width {
		return fmt.Errorf("lake: file %s: %w: %d scalar columns for width %d", f.Key, ErrBadValue, len(s.Scalar), s.Width)
	}
	cols := make([][]float64, len(s.Scalar))
	var null []bool // sized by what the first column really holds, not the footer's claim
	for j, name := range s.Scalar {
		col := lookupColumn(pf, name)
		if col == nil {
			return wrap(name, fmt.Errorf("%w (file has %s)", ErrMissingColumn, columnNames(pf)))
		}
		lv, err := readLeafGroups(ctx, []parquet.RowGroup{group}, col, pf.Size())
		if err != nil {
			return wrap(name, err)
		}
		if lv.offsets != nil {
			return wrap(name, fmt.Errorf("%w: want a numeric scalar, got a list", ErrColumnType))
		}
		if int64(lv.rows) != group.NumRows() {
			return wrap(name, fmt.Errorf("%w: %d values for the row group's %d rows", ErrBadValue, lv.rows, group.NumRows()))
		}
		if null == nil {
			null = make([]bool, lv.rows)
		}
		if cols[j], err = lv.numbers(); err != nil {
			return wrap(name, err)
		}
		for i, n := range lv.rowNull {
			null[i] = null[i] || n
		}
	}
	for r := range null {
		d := s.Dest[first+int64(r)]
		if d < 0 || null[r] {
			continue
		}
		base := int(d)*s.Stride + s.Offset
		for j := range cols {
			s.Out[base+j] += float32(cols[j][r])
		}
		s.Hits[d]++
	}
	return nil
}

// scatterList streams a row group's pages of a list column into s; the group's
// first row is file row first.
func scatterList(ctx context.Context, group parquet.RowGroup, first int64, top *parquet.Column, s *Scatter) error {
	leaf, defRep, err := leafOf(top)
	if err != nil {
		return err
	}
	if leaf.MaxRepetitionLevel() == 0 {
		return fmt.Errorf("%w: want a list column, got a scalar", ErrColumnType)
	}
	maxDef := byte(leaf.MaxDefinitionLevel())
	topOptional := top.Optional()
	row := int(first) - 1 // current file row
	elem := 0             // elements seen in the current row
	live := false         // the current row is non-null
	var base int          // Out index of the current row's first value, when dest >= 0
	hasDest := false
	bufp := scratchPool.Get().(*[]float64)
	defer scratchPool.Put(bufp)
	scratch := (*bufp)[:0]
	var dict dictCache
	endRow := func() error {
		if row >= 0 && live {
			if elem != s.Width {
				if s.Bad == nil {
					return fmt.Errorf("%w: row %d has %d values, want %d", ErrBadValue, row, elem, s.Width)
				}
				if hasDest {
					s.Bad[s.Dest[row]] = BadWidth
				}
			}
			if hasDest {
				s.Hits[s.Dest[row]]++
			}
		}
		return nil
	}
	err = forEachPage(ctx, []parquet.RowGroup{group}, leaf, func(page parquet.Page) error {
		// numbers decodes the page's values as float64 into the pooled scratch.
		numbers := func() ([]float64, error) {
			v, err := pageNumbers(page, scratch[:0], &dict)
			if err == nil {
				scratch, *bufp = v, v
			}
			return v, err
		}
		rep, def := page.RepetitionLevels(), page.DefinitionLevels()
		if w := s.Width; w > 0 && len(rep)%w == 0 && regularLists(rep, def, maxDef, w) {
			// Every row of the page is a full list of Width values, none null: whole
			// rows at a time, without a branch per value, and float32 pages read
			// where they were decoded.
			var vals64 []float64
			vals32, ok := pageFloats(page)
			if !ok {
				var err error
				if vals64, err = numbers(); err != nil {
					return err
				}
			}
			if err := endRow(); err != nil { // the row before the page's first
				return err
			}
			for j := 0; j < len(rep); j += w {
				if j > 0 && hasDest { // the page's previous row, whole: endRow's count
					s.Hits[s.Dest[row]]++
				}
				row++
				elem, live = w, true
				hasDest = row < len(s.Dest) && s.Dest[row] >= 0
				if hasDest {
					base = int(s.Dest[row])*s.Stride + s.Offset
					if ok {
						addRow(s.Out[base:base+w], vals32[j:j+w])
					} else {
						addRow(s.Out[base:base+w], vals64[j:j+w])
					}
					if s.Finish != nil {
						s.Finish(s.Dest[row], s.Out[base:base+w:base+w])
					}
				}
			}
			return nil
		}
		vals, err := numbers()
		if err != nil {
			return err
		}
		vi := 0
		for j := range rep {
			d := maxDef
			if maxDef > 0 {
				d = def[j]
			}
			if rep[j] == 0 {
				if err := endRow(); err != nil {
					return err
				}
				row++
				elem = 0
				live = !(topOptional && d == 0)
				hasDest = row < len(s.Dest) && s.Dest[row] >= 0
				if hasDest {
					base = int(s.Dest[row])*s.Stride + s.Offset
				}
			}
			switch {
			case d == maxDef:
				if hasDest && elem < s.Width {
					s.Out[base+elem] += float32(vals[vi])
				}
				vi++
				elem++
			case int(d) >= defRep:
				if s.Bad == nil {
					return fmt.Errorf("%w: null list element in row %d", ErrBadValue, row)
				}
				if hasDest {
					s.Bad[s.Dest[row]] = BadNull
				}
				elem++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return endRow()
}

// addRow adds a row's values to its place in the output.
func addRow[T float32 | float64](out []float32, vals []T) {
	out = out[:len(vals)]
	for e, v := range vals {
		out[e] += float32(v)
	}
}

// pageFloats is a float32 page's values as decoded, not copied; ok is false for
// any other page (another type, or dictionary-encoded).
func pageFloats(page parquet.Page) ([]float32, bool) {
	if page.Dictionary() != nil || page.Type().Kind() != parquet.Float {
		return nil, false
	}
	data := page.Data()
	return data.Float(), true
}

// regularLists reports whether a page holds whole lists of exactly w values with
// no null list and no null element: a new row at every w-th level entry and
// nowhere else, every definition level at its maximum. Checked as a zero at
// every w-th repetition level and no other zero, and every definition level
// the maximum, the counts by bytes.Count (vector instructions): the loop over
// every level it replaces was 0.12 CPU-s of the 2M bench's load.
func regularLists(rep, def []byte, maxDef byte, w int) bool {
	for j := 0; j < len(rep); j += w {
		if rep[j] != 0 {
			return false
		}
	}
	if bytes.Count(rep, []byte{0}) != (len(rep)+w-1)/w {
		return false
	}
	if maxDef > 0 && (len(def) != len(rep) || bytes.Count(def, []byte{maxDef}) != len(def)) {
		return false
	}
	return true
}

// scratchPool recycles page decode buffers: a page of a large list column holds
// up to millions of values, and growing a fresh buffer per row group would fault in
// that much new memory each time.
var scratchPool = sync.Pool{New: func() any { return new([]float64) }}

// ListWidth returns the length of the first non-null list in a column: the width a
// job expects of every row of an embedding column.
func (l *Lake) ListWidth(ctx context.Context, f DataFile, column string) (_ int, err error) {
	defer corrupt(f.Key, &err)
	pf, leaf, err := l.openLeaf(ctx, f, column)
	if err != nil {
		return 0, err
	}
	maxDef := byte(leaf.MaxDefinitionLevel())
	width, started := 0, false
	errDone := errors.New("done")
	err = forEachPage(ctx, pf.RowGroups(), leaf, func(page parquet.Page) error {
		rep, def := page.RepetitionLevels(), page.DefinitionLevels()
		for j := range rep {
			if rep[j] == 0 && started {
				return errDone
			}
			if rep[j] == 0 && def[j] > 0 {
				started = true
			}
			if started && def[j] == maxDef {
				width++
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDone) {
		return 0, fmt.Errorf("lake: file %s: column %q: %w", f.Key, column, err)
	}
	return width, nil
}

// openLeaf opens a file's footer and finds a column's leaf (a list's element).
func (l *Lake) openLeaf(ctx context.Context, f DataFile, column string) (*parquet.File, *parquet.Column, error) {
	pf, _, err := l.openParquet(ctx, f.Key, f.Size, nil)
	if err != nil {
		return nil, nil, err
	}
	top := lookupColumn(pf, column)
	if top == nil {
		return nil, nil, fmt.Errorf("lake: file %s: column %q: %w", f.Key, column, ErrMissingColumn)
	}
	leaf, _, err := leafOf(top)
	if err != nil {
		return nil, nil, fmt.Errorf("lake: file %s: column %q: %w", f.Key, column, err)
	}
	return pf, leaf, nil
}

// ValuesPerRow is a list column's level entries per row in the file's footer
// (the first row group's): a list's width where every row holds one of equal
// length, near it where few are null — an estimate that decodes no page.
func (l *Lake) ValuesPerRow(ctx context.Context, f DataFile, column string) (_ float64, err error) {
	defer corrupt(f.Key, &err)
	pf, leaf, err := l.openLeaf(ctx, f, column)
	if err != nil {
		return 0, err
	}
	md := pf.Metadata()
	if len(md.RowGroups) == 0 || md.RowGroups[0].NumRows == 0 {
		return 0, nil
	}
	rg := md.RowGroups[0]
	return float64(rg.Columns[leaf.Index()].MetaData.NumValues) / float64(rg.NumRows), nil
}

// forEachPage calls fn with every page of a leaf column in the given row groups, in
// order.
func forEachPage(ctx context.Context, groups []parquet.RowGroup, leaf *parquet.Column, fn func(parquet.Page) error) error {
	for _, rg := range groups {
		if err := ctx.Err(); err != nil {
			return err
		}
		pages := rg.ColumnChunks()[leaf.Index()].Pages()
		for {
			page, err := pages.ReadPage()
			if err == io.EOF {
				break
			}
			if err != nil {
				pages.Close()
				return err
			}
			err = fn(page)
			parquet.Release(page)
			if err != nil {
				pages.Close()
				return err
			}
		}
		if err := pages.Close(); err != nil {
			return err
		}
	}
	return nil
}

// dictCache holds a column chunk's decoded dictionary: its pages share it.
type dictCache struct {
	dict   parquet.Dictionary
	values []float64
}

// pageNumbers decodes a page's present values as float64 (through its dictionary,
// if any), appending to dst.
func pageNumbers(page parquet.Page, dst []float64, cache *dictCache) ([]float64, error) {
	data := page.Data()
	kind := page.Type().Kind()
	d := page.Dictionary()
	if d == nil {
		return kindNumbers(kind, &data, dst)
	}
	if cache.dict != d {
		values := d.Page().Data()
		dict, err := kindNumbers(d.Type().Kind(), &values, cache.values[:0])
		if err != nil {
			return nil, err
		}
		cache.dict, cache.values = d, dict
	}
	for _, i := range data.Int32() {
		dst = append(dst, cache.values[i])
	}
	return dst, nil
}

func kindNumbers(kind parquet.Kind, data *encoding.Values, dst []float64) ([]float64, error) {
	switch kind {
	case parquet.Float:
		for _, v := range data.Float() {
			dst = append(dst, float64(v))
		}
	case parquet.Double:
		dst = append(dst, data.Double()...)
	case parquet.Int32:
		for _, v := range data.Int32() {
			dst = append(dst, float64(v))
		}
	case parquet.Int64:
		for _, v := range data.Int64() {
			dst = append(dst, float64(v))
		}
	default:
		return nil, fmt.Errorf("%w: want numbers, got %s", ErrColumnType, kind)
	}
	return dst, nil
}
