package lake

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/lakefuse/lakefuse/internal/bigmem"
)

// ColumnRequest names the columns to read from one modality (or labels) table.
// Key is required; every other field is optional.
type ColumnRequest struct {
	Key    string   // entity key: integer or string; "" reads none (a pass over labels only)
	Label  string   // class label: integer or string
	Split  string   // split name (e.g. "train"/"test"): string
	Vector string   // a list<float|double|int> column: probabilities or an embedding
	Scalar []string // numeric scalar columns read as one vector per row, in this order
}

// Table is one Parquet file's requested columns, read into typed slices. Exactly one
// of IntKeys and StrKeys is set (neither when no key was requested). Label and
// split slices are nil when not requested.
type Table struct {
	File string
	Rows int

	IntKeys []int64
	StrKeys []string

	IntLabels  []int64
	StrLabels  []string
	LabelValid []bool // nil when every label is present

	Split []string

	// Width values per row, row-major; Missing marks rows whose vector (or one of
	// whose scalar columns) is null — the modality counts as absent for that row.
	Width   int
	Values  []float64
	Missing []bool
}

// ScanStats counts what a scan fetched from storage.
type ScanStats struct {
	BytesRead atomic.Int64
	Requests  atomic.Int64
}

// FileColumn describes one top-level column of a file, for plans and inspect.
type FileColumn struct {
	Name string
	Type string // physical type of the leaf, with "list<…>" for lists
}

// FileInfo is what a footer says about a file.
type FileInfo struct {
	Rows      int64
	RowGroups int
	Columns   []FileColumn
	// KeyRanges is, per row group, what its statistics say of the key column
	// (InspectKey; nil from Inspect).
	KeyRanges []KeyRange
}

// KeyRange is what a row group's statistics say of its key column: its rows
// and the least and greatest key (MinInt/MaxInt for an integer key,
// MinStr/MaxStr for a string one). OK is false where the statistics are
// missing, the column has nulls, or its order is not the order of int64s or of
// Go strings (unsigned integers); Parquet writers may shorten string bounds,
// and a shortened bound still bounds the keys.
type KeyRange struct {
	Rows           int64
	MinInt, MaxInt int64
	MinStr, MaxStr string
	OK             bool
}

// openParquet opens a file for reading through a ranged-read ReaderAt, which it
// returns too: a storage failure while decoding is reported as itself (ra.failure),
// not as whatever the decoder made of the short read.
func (l *Lake) openParquet(ctx context.Context, key string, size int64, stats *ScanStats) (_ *parquet.File, _ *blobReaderAt, err error) {
	defer corrupt(key, &err)
	var br, rq *atomic.Int64
	if stats != nil {
		br, rq = &stats.BytesRead, &stats.Requests
	}
	ra := newBlobReaderAt(ctx, l, key, size, br, rq)
	// parquet-go reserves the footer length the file claims before checking it: a
	// corrupt length would reserve gigabytes. Check it against the file's size
	// first (the tail is fetched in one request anyway and kept for the decoder).
	if err := checkTrailer(ra, size); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, ctxErr
		}
		if serr := ra.failure(); serr != nil {
			return nil, nil, serr
		}
		return nil, nil, fmt.Errorf("lake: file %s: %w: %v", key, ErrNotParquet, err)
	}
	f, err := parquet.OpenFile(ra, size,
		parquet.SkipPageIndex(true),
		parquet.SkipBloomFilters(true),
		parquet.ReadBufferSize(4<<20),
	)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, ctxErr
		}
		if serr := ra.failure(); serr != nil {
			return nil, nil, serr
		}
		return nil, nil, fmt.Errorf("lake: file %s: %w: %v", key, ErrNotParquet, err)
	}
	return f, ra, nil
}

// corrupt turns a panic of the Parquet decoder on a corrupt file (it trusts some
// counts in the footer and page headers) into ErrNotParquet naming the file: bad
// input never panics. Deferred by every entry point that decodes.
func corrupt(key string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("lake: file %s: %w: the file is corrupt (the Parquet decoder failed: %v)", key, ErrNotParquet, r)
	}
}

// checkTrailer checks a Parquet file's last 8 bytes: a footer length that fits in
// the file, and the magic number.
func checkTrailer(ra io.ReaderAt, size int64) error {
	if size < 12 {
		return fmt.Errorf("%d bytes: too short", size)
	}
	var trailer [8]byte
	if _, err := ra.ReadAt(trailer[:], size-8); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if string(trailer[4:]) != "PAR1" {
		return errors.New("no PAR1 magic number at the end")
	}
	if n := int64(binary.LittleEndian.Uint32(trailer[:4])); n > size-12 {
		return fmt.Errorf("the footer claims %d bytes of a %d-byte file", n, size)
	}
	return nil
}

// Inspect reads a file's footer (one ranged request for most files).
func (l *Lake) Inspect(ctx context.Context, f DataFile) (*FileInfo, error) {
	return l.InspectKey(ctx, f, "")
}

// InspectKey is Inspect, with the key column's range in each row group from
// the footer's statistics (FileInfo.KeyRanges; none for key "").
func (l *Lake) InspectKey(ctx context.Context, f DataFile, key string) (_ *FileInfo, err error) {
	defer corrupt(f.Key, &err)
	pf, _, err := l.openParquet(ctx, f.Key, f.Size, nil)
	if err != nil {
		return nil, err
	}
	info := &FileInfo{Rows: pf.NumRows(), RowGroups: len(pf.RowGroups())}
	for _, c := range pf.Root().Columns() {
		info.Columns = append(info.Columns, FileColumn{Name: c.Name(), Type: describeColumn(c)})
	}
	if key != "" {
		info.KeyRanges = keyRanges(pf, key)
	}
	return info, nil
}

// keyRanges reads the key column's statistics of every row group of pf.
func keyRanges(pf *parquet.File, key string) []KeyRange {
	md := pf.Metadata()
	out := make([]KeyRange, len(md.RowGroups))
	for i, rg := range md.RowGroups {
		out[i].Rows = rg.NumRows
	}
	col := pf.Root().Column(key)
	if col == nil || !col.Leaf() {
		return out
	}
	kind := col.Type().Kind()
	if lt := col.Type().LogicalType(); lt != nil {
		if it, ok := lt.Value.(*format.IntType); ok && !it.IsSigned {
			return out
		}
	}
	ci := col.Index()
	for i, rg := range md.RowGroups {
		if ci >= len(rg.Columns) {
			return out
		}
		st := rg.Columns[ci].MetaData.Statistics
		lo, hi := st.MinValue, st.MaxValue
		if lo == nil || hi == nil {
			if kind == parquet.ByteArray { // the deprecated fields order bytes signed
				continue
			}
			lo, hi = st.Min, st.Max
		}
		if st.NullCount > 0 || lo == nil || hi == nil {
			continue
		}
		kr := &out[i]
		switch {
		case kind == parquet.Int64 && len(lo) == 8 && len(hi) == 8:
			kr.MinInt, kr.MaxInt = int64(binary.LittleEndian.Uint64(lo)), int64(binary.LittleEndian.Uint64(hi))
		case kind == parquet.Int32 && len(lo) == 4 && len(hi) == 4:
			kr.MinInt, kr.MaxInt = int64(int32(binary.LittleEndian.Uint32(lo))), int64(int32(binary.LittleEndian.Uint32(hi)))
		case kind == parquet.ByteArray:
			kr.MinStr, kr.MaxStr = string(lo), string(hi)
		default:
			continue
		}
		kr.OK = kr.MinInt <= kr.MaxInt && kr.MinStr <= kr.MaxStr
	}
	return out
}

func describeColumn(c *parquet.Column) string {
	leaf, _, err := leafOf(c)
	if err != nil {
		return "group"
	}
	t := leaf.Type().Kind().String()
	if leaf.MaxRepetitionLevel() > 0 {
		return "list<" + t + ">"
	}
	return t
}

// ScanFile reads the requested columns of one file, page by page, into a Table.
// Errors name the file and the column (and the row, for bad values).
func (l *Lake) ScanFile(ctx context.Context, f DataFile, req ColumnRequest, stats *ScanStats) (_ *Table, err error) {
	defer corrupt(f.Key, &err)
	pf, ra, err := l.openParquet(ctx, f.Key, f.Size, stats)
	if err != nil {
		return nil, err
	}
	return scanGroups(ctx, f, pf, ra, pf.RowGroups(), 0, req)
}

// ScanRowGroup reads the requested columns of row group rg only: a file streamed
// a row group at a time holds one group's columns, not the file's. Errors name
// file rows, as ScanFile's do.
func (s *ScatterSource) ScanRowGroup(ctx context.Context, rg int, req ColumnRequest) (_ *Table, err error) {
	defer corrupt(s.file.Key, &err)
	return scanGroups(ctx, s.file, s.pf, s.ra, s.pf.RowGroups()[rg:rg+1], s.starts[rg], req)
}

// RowGroupRows is the number of rows of row group rg.
func (s *ScatterSource) RowGroupRows(rg int) int { return int(s.pf.RowGroups()[rg].NumRows()) }

// FirstRow is the file row of row group rg's first row.
func (s *ScatterSource) FirstRow(rg int) int64 { return s.starts[rg] }

// scanGroups reads the requested columns of some row groups; first is the file row
// of their first row (for messages).
func scanGroups(ctx context.Context, f DataFile, pf *parquet.File, ra *blobReaderAt, groups []parquet.RowGroup, first int64, req ColumnRequest) (*Table, error) {
	rows := int64(0)
	for _, g := range groups {
		rows += g.NumRows()
	}
	t := &Table{File: f.Key, Rows: int(rows)}
	wrap := func(col string, err error) error {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if serr := ra.failure(); serr != nil {
			return serr
		}
		return fmt.Errorf("lake: file %s: column %q: %w", f.Key, col, err)
	}
	read := func(name string) (*leafValues, error) {
		col := lookupColumn(pf, name)
		if col == nil {
			return nil, wrap(name, fmt.Errorf("%w (file has %s)", ErrMissingColumn, columnNames(pf)))
		}
		lv, err := readLeafGroups(ctx, groups, col, pf.Size())
		if err != nil {
			return nil, wrap(name, err)
		}
		if lv.rows != t.Rows {
			return nil, wrap(name, fmt.Errorf("%w: %d rows, file has %d", ErrBadValue, lv.rows, t.Rows))
		}
		return lv, nil
	}
	// The label and split columns decode while the key does, each in a
	// goroutine of its own: the label source's three columns one after the
	// other were the end of the 2M bench's scan, on one core, the modalities'
	// files done.
	readNow := read
	ahead := map[string]func() (*leafValues, error){}
	for _, name := range []string{req.Label, req.Split} {
		if name != "" && name != req.Key && ahead[name] == nil {
			ahead[name] = sync.OnceValues(func() (*leafValues, error) { return readNow(name) })
			go ahead[name]()
		}
	}
	defer func() { // none left reading the file once the scan returns, on any path
		for _, get := range ahead {
			_, _ = get()
		}
	}()
	read = func(name string) (*leafValues, error) {
		if get := ahead[name]; get != nil {
			return get()
		}
		return readNow(name)
	}

	if req.Key != "" {
		key, err := read(req.Key)
		if err != nil {
			return nil, err
		}
		if key.offsets != nil {
			return nil, wrap(req.Key, fmt.Errorf("%w: a key must be a scalar, not a list", ErrColumnType))
		}
		if r := firstTrue(key.rowNull); r >= 0 {
			return nil, wrap(req.Key, fmt.Errorf("%w: null key at row %d", ErrBadValue, first+int64(r)))
		}
		switch {
		case key.i64 != nil || key.kind == parquet.Int64 || key.kind == parquet.Int32:
			t.IntKeys = orEmpty(key.i64)
		case key.kind == parquet.ByteArray:
			t.StrKeys = orEmpty(key.str)
		default:
			return nil, wrap(req.Key, fmt.Errorf("%w: key must be an integer or a string, not %s", ErrColumnType, key.kind))
		}
	}

	if req.Label != "" {
		lab, err := read(req.Label)
		if err != nil {
			return nil, err
		}
		switch lab.kind {
		case parquet.Int32, parquet.Int64:
			t.IntLabels = orEmpty(lab.i64)
		case parquet.ByteArray:
			t.StrLabels = orEmpty(lab.str)
		default:
			return nil, wrap(req.Label, fmt.Errorf("%w: label must be an integer or a string, not %s", ErrColumnType, lab.kind))
		}
		if lab.offsets != nil {
			return nil, wrap(req.Label, fmt.Errorf("%w: a label must be a scalar, not a list", ErrColumnType))
		}
		if firstTrue(lab.rowNull) >= 0 {
			t.LabelValid = make([]bool, t.Rows)
			for i, null := range lab.rowNull {
				t.LabelValid[i] = !null
			}
		}
	}

	if req.Split != "" {
		sp, err := read(req.Split)
		if err != nil {
			return nil, err
		}
		if sp.kind != parquet.ByteArray || sp.offsets != nil {
			return nil, wrap(req.Split, fmt.Errorf("%w: split must be a string column", ErrColumnType))
		}
		t.Split = orEmpty(sp.str)
	}

	switch {
	case req.Vector != "":
		v, err := read(req.Vector)
		if err != nil {
			return nil, err
		}
		if err := t.setVector(v); err != nil {
			return nil, wrap(req.Vector, err)
		}
	case len(req.Scalar) > 0:
		t.Width = len(req.Scalar)
		t.Values = make([]float64, t.Rows*t.Width)
		for j, name := range req.Scalar {
			v, err := read(name)
			if err != nil {
				return nil, err
			}
			if v.offsets != nil {
				return nil, wrap(name, fmt.Errorf("%w: want a numeric scalar, got a list", ErrColumnType))
			}
			nums, err := v.numbers()
			if err != nil {
				return nil, wrap(name, err)
			}
			for i, x := range nums {
				t.Values[i*t.Width+j] = x
			}
			t.markMissing(v.rowNull)
		}
	}
	return t, nil
}

func (t *Table) setVector(v *leafValues) error {
	if v.offsets == nil {
		return fmt.Errorf("%w: want a list column, got a scalar", ErrColumnType)
	}
	nums, err := v.numbers()
	if err != nil {
		return err
	}
	width := -1
	for i := 0; i < t.Rows; i++ {
		if v.rowNull != nil && v.rowNull[i] {
			continue
		}
		n := int(v.offsets[i+1] - v.offsets[i])
		if width < 0 {
			width = n
		} else if n != width {
			return fmt.Errorf("%w: row %d has %d values, earlier rows have %d", ErrBadValue, i, n, width)
		}
	}
	if width < 0 {
		width = 0
	}
	t.Width = width
	if v.rowNull == nil {
		t.Values = nums // already dense and row-major
		return nil
	}
	t.Values = make([]float64, t.Rows*width)
	for i := 0; i < t.Rows; i++ {
		if !v.rowNull[i] {
			copy(t.Values[i*width:(i+1)*width], nums[v.offsets[i]:v.offsets[i+1]])
		}
	}
	t.markMissing(v.rowNull)
	return nil
}

func (t *Table) markMissing(null []bool) {
	if firstTrue(null) < 0 {
		return
	}
	if t.Missing == nil {
		t.Missing = make([]bool, t.Rows)
	}
	for i, n := range null {
		t.Missing[i] = t.Missing[i] || n
	}
}

func lookupColumn(f *parquet.File, name string) *parquet.Column {
	for _, c := range f.Root().Columns() {
		if c.Name() == name {
			return c
		}
	}
	return nil
}

func columnNames(f *parquet.File) string {
	var names []string
	for _, c := range f.Root().Columns() {
		names = append(names, c.Name())
	}
	if len(names) > 12 {
		names = append(names[:12], fmt.Sprintf("… %d more", len(names)-12))
	}
	return strings.Join(names, ", ")
}

func firstTrue(b []bool) int {
	for i, v := range b {
		if v {
			return i
		}
	}
	return -1
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// leafValues is one column read to the end. Scalars hold one value per row (a zero
// placeholder where the row is null); lists hold their present elements, and
// offsets[i]..offsets[i+1] are row i's.
type leafValues struct {
	kind    parquet.Kind
	rows    int
	rowNull []bool
	offsets []int32
	i64     []int64
	f64     []float64
	str     []string
}

func (lv *leafValues) numbers() ([]float64, error) {
	switch lv.kind {
	case parquet.Float, parquet.Double:
		return orEmpty(lv.f64), nil
	case parquet.Int32, parquet.Int64:
		out := make([]float64, len(lv.i64))
		for i, v := range lv.i64 {
			out[i] = float64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: want numbers, got %s", ErrColumnType, lv.kind)
}

// leafOf walks from a top-level column to its single leaf, returning the definition
// level at which the (only) repeated node is non-empty (-1 when there is none).
func leafOf(top *parquet.Column) (*parquet.Column, int, error) {
	node, level, defRep := top, 0, -1
	for {
		if node.Optional() || node.Repeated() {
			level++
		}
		if node.Repeated() {
			if defRep >= 0 {
				return nil, 0, fmt.Errorf("%w: nested lists", ErrColumnType)
			}
			defRep = level
		}
		if node.Leaf() {
			return node, defRep, nil
		}
		kids := node.Columns()
		if len(kids) != 1 {
			return nil, 0, fmt.Errorf("%w: struct with %d fields", ErrColumnType, len(kids))
		}
		node = kids[0]
	}
}

// prealloc is how many values to reserve for a count a footer claims: the claim,
// unless it is more than fileSize bytes hold at one bit a value; then only that,
// and the slice grows by appending if the data really holds more (a constant
// column encodes many values a bit). A corrupt or hostile footer cannot make a
// scan reserve more than a small multiple of the file's size.
func prealloc(claimed, fileSize int64) int {
	return int(max(0, min(claimed, 8*fileSize+4096)))
}

// readLeafGroups decodes every page of one column in some of a file's row
// groups, straight from the page buffers into typed slices: no per-row
// reflection and no parquet.Value per value. fileSize bounds what the footer's
// counts may reserve.
func readLeafGroups(ctx context.Context, groups []parquet.RowGroup, top *parquet.Column, fileSize int64) (*leafValues, error) {
	leaf, defRep, err := leafOf(top)
	if err != nil {
		return nil, err
	}
	lv := &leafValues{kind: leaf.Type().Kind()}
	switch lv.kind {
	case parquet.Int32, parquet.Int64, parquet.Float, parquet.Double, parquet.ByteArray:
	default:
		return nil, fmt.Errorf("%w: physical type %s", ErrColumnType, lv.kind)
	}
	maxDef := byte(leaf.MaxDefinitionLevel())
	isList := leaf.MaxRepetitionLevel() > 0
	topOptional := top.Optional()
	var count int32 // list elements so far
	// Size the buffers from the metadata once, instead of growing them page by page
	// (growth copies dominated the scan of large list columns).
	var levels, rows int64
	for _, rg := range groups {
		levels += rg.ColumnChunks()[leaf.Index()].NumValues()
		rows += rg.NumRows()
	}
	switch lv.kind {
	case parquet.Float, parquet.Double:
		lv.f64 = bigmem.Make[float64](0, prealloc(levels, fileSize))
	case parquet.ByteArray:
		lv.str = make([]string, 0, prealloc(levels, fileSize))
	default:
		lv.i64 = bigmem.Make[int64](0, prealloc(levels, fileSize))
	}
	if isList {
		lv.offsets = make([]int32, 0, prealloc(rows+1, fileSize))
	}

	err = forEachPage(ctx, groups, leaf, func(page parquet.Page) error {
		rep, def := page.RepetitionLevels(), page.DefinitionLevels()
		if !isList {
			return lv.appendScalars(page, def, maxDef)
		}
		for j := range rep {
			d := maxDef
			if maxDef > 0 {
				d = def[j]
			}
			if rep[j] == 0 {
				lv.offsets = append(lv.offsets, count)
				lv.rowNull = appendNull(lv.rowNull, len(lv.offsets)-1, topOptional && d == 0)
			}
			if d == maxDef {
				count++
			} else if int(d) >= defRep {
				return fmt.Errorf("%w: null list element in row %d", ErrBadValue, len(lv.offsets)-1)
			}
		}
		if err := lv.appendPresent(page); err != nil {
			return err
		}
		if lv.valueCount() != int(count) {
			return fmt.Errorf("%w: %d values for %d list elements", ErrBadValue, lv.valueCount(), count)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if isList {
		lv.rows = len(lv.offsets)
		lv.offsets = append(lv.offsets, count)
	} else {
		lv.rows = lv.valueCount()
	}
	if lv.rowNull != nil && len(lv.rowNull) < lv.rows {
		lv.rowNull = append(lv.rowNull, make([]bool, lv.rows-len(lv.rowNull))...)
	}
	return lv, nil
}

// appendNull records row i as null, allocating the mask lazily.
func appendNull(mask []bool, i int, null bool) []bool {
	if !null {
		return mask
	}
	if len(mask) <= i {
		mask = append(mask, make([]bool, i+1-len(mask))...)
	}
	mask[i] = true
	return mask
}

func (lv *leafValues) valueCount() int {
	switch lv.kind {
	case parquet.Float, parquet.Double:
		return len(lv.f64)
	case parquet.ByteArray:
		return len(lv.str)
	}
	return len(lv.i64)
}

// appendPresent appends every value stored in the page (its present values).
func (lv *leafValues) appendPresent(page parquet.Page) error {
	return lv.appendWith(page, nil, 0)
}

// appendScalars appends one value per level entry, a zero placeholder for nulls.
func (lv *leafValues) appendScalars(page parquet.Page, def []byte, maxDef byte) error {
	// A page of an optional column without a null (every key column DuckDB
	// writes) is read as a required one's: a null mask entry a row was half
	// of the 2M bench's key decoding.
	if maxDef == 0 || len(def) == 0 || bytes.Count(def, []byte{maxDef}) == len(def) {
		return lv.appendWith(page, nil, 0)
	}
	start := lv.valueCount()
	for j, d := range def {
		lv.rowNull = appendNull(lv.rowNull, start+j, d != maxDef)
	}
	return lv.appendWith(page, def, maxDef)
}

// appendWith decodes the page's values (through its dictionary, if any). With def
// set, it spreads them over the level entries, leaving zeros where d != maxDef.
func (lv *leafValues) appendWith(page parquet.Page, def []byte, maxDef byte) error {
	data := page.Data()
	var idx []int32
	if d := page.Dictionary(); d != nil {
		idx = data.Int32()
		data = d.Page().Data()
	}
	switch lv.kind {
	case parquet.Float:
		lv.f64 = spread(lv.f64, gather(data.Float(), idx), def, maxDef, func(v float32) float64 { return float64(v) })
	case parquet.Double:
		if def == nil {
			lv.f64 = append(lv.f64, gather(data.Double(), idx)...)
			break
		}
		lv.f64 = spread(lv.f64, gather(data.Double(), idx), def, maxDef, func(v float64) float64 { return v })
	case parquet.Int32:
		lv.i64 = spread(lv.i64, gather(data.Int32(), idx), def, maxDef, func(v int32) int64 { return int64(v) })
	case parquet.Int64:
		if def == nil {
			lv.i64 = append(lv.i64, gather(data.Int64(), idx)...)
			break
		}
		lv.i64 = spread(lv.i64, gather(data.Int64(), idx), def, maxDef, func(v int64) int64 { return v })
	case parquet.ByteArray:
		buf, offs := data.ByteArray()
		strs := make([]string, 0, max(len(offs)-1, 0))
		for i := 0; i+1 < len(offs); i++ {
			strs = append(strs, string(buf[offs[i]:offs[i+1]]))
		}
		lv.str = spread(lv.str, gather(strs, idx), def, maxDef, func(v string) string { return v })
	}
	return nil
}

func gather[T any](dict []T, idx []int32) []T {
	if idx == nil {
		return dict
	}
	out := make([]T, len(idx))
	for i, k := range idx {
		out[i] = dict[k]
	}
	return out
}

func spread[S, D any](dst []D, src []S, def []byte, maxDef byte, conv func(S) D) []D {
	if def == nil {
		for _, v := range src {
			dst = append(dst, conv(v))
		}
		return dst
	}
	var zero D
	k := 0
	for _, d := range def {
		if d == maxDef && k < len(src) {
			dst = append(dst, conv(src[k]))
			k++
		} else {
			dst = append(dst, zero)
		}
	}
	return dst
}
