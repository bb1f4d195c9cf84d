package lake

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/encoding/rle"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// lakefuse encodes the Parquet files it writes itself, page by page, straight
// from OutColumns' slices: parquet-go's writer takes one parquet.Value per value
// through its column buffers, and that per-value path was four fifths of a
// scores file's encoding CPU (BenchmarkWriteParquet; docs/decisions.md). The
// files are what analysts' engines read everywhere: Parquet format 2 with data
// pages v2, PLAIN values (RLE_DICTIONARY for a column with Codes,
// DELTA_BINARY_PACKED for integers), RLE levels, zstd, a page index (column and
// offset indexes), page and chunk statistics — the layout parquet-go wrote
// before but for the integers' encoding, columns in name order. parquet-go
// still provides the format's structures, its Thrift encoder, the level and
// delta encoders and zstd.

// pageBytes is about how many value bytes a data page holds before compression.
const pageBytes = 512 << 10

// maxStatBytes is the longest string a statistic holds; a column chunk with a
// longer value has no min/max statistics and no column index (engines then read
// it without skipping).
const maxStatBytes = 64

// zstdPages compresses every page lake writes: one encoder for the process,
// whose EncodeAll runs on up to GOMAXPROCS goroutines at once, with a 1 MiB
// window (a page's values are about pageBytes). parquet-go's codec keeps its
// encoders in a pool the collector empties, and each new encoder allocates an
// 8 MiB history: 48 MB of fresh memory in the 2M-row bench's writes. The
// fastest level: on the 2M bench's score files (sorted keys, class indexes,
// flags) it took 0.17–0.19 CPU-s where the default level took 0.38–0.51, and
// the files came out 12 KB smaller (86.55 MB; two runs each).
var zstdPages = sync.OnceValue(func() *zstd.Encoder {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false), zstd.WithWindowSize(1<<20))
	if err != nil {
		panic(err) // only for invalid options, which these are not
	}
	return e
})

// leafOf is how a column is stored: its physical type, whether it is a list
// (Width values per row, with repetition levels) and its maximum definition level.
func (c *OutColumn) leafOf() (typ format.Type, list bool, maxDef byte, err error) {
	switch {
	case c.Int64 != nil:
		typ = format.Int64
	case c.Int32 != nil:
		typ = format.Int32
	case c.Float64 != nil:
		typ = format.Double
	case c.String != nil:
		typ = format.ByteArray
	case c.Bool != nil:
		typ = format.Boolean
	case c.List64 != nil, c.List32 != nil, c.Fill != nil:
		typ, list = format.Float, true
		if c.Width <= 0 {
			return 0, false, 0, fmt.Errorf("lake: list column %q: width %d", c.Name, c.Width)
		}
		maxDef = 1 // the repeated level
	default:
		return 0, false, 0, fmt.Errorf("lake: column %q: no data", c.Name)
	}
	if c.nullable() {
		maxDef++
	}
	return typ, list, maxDef, nil
}

func (c *OutColumn) nullable() bool { return c.Valid != nil || c.Optional }

// schemaElements is the column's part of the file schema.
func (c *OutColumn) schemaElements(typ format.Type, list bool) []format.SchemaElement {
	rep := format.Required
	if c.nullable() {
		rep = format.Optional
	}
	if list {
		return []format.SchemaElement{
			{Name: c.Name, RepetitionType: thrift.New(rep), NumChildren: thrift.New[int32](1),
				ConvertedType: thrift.New(deprecated.List), LogicalType: format.LogicalType{Value: &format.ListType{}}},
			{Name: "list", RepetitionType: thrift.New(format.Repeated), NumChildren: thrift.New[int32](1)},
			{Name: "element", Type: thrift.New(typ), RepetitionType: thrift.New(format.Required)},
		}
	}
	e := format.SchemaElement{Name: c.Name, Type: thrift.New(typ), RepetitionType: thrift.New(rep)}
	switch typ {
	case format.Int64:
		e.ConvertedType = thrift.New(deprecated.Int64)
		e.LogicalType = format.LogicalType{Value: &format.IntType{BitWidth: 64, IsSigned: true}}
	case format.Int32:
		e.ConvertedType = thrift.New(deprecated.Int32)
		e.LogicalType = format.LogicalType{Value: &format.IntType{BitWidth: 32, IsSigned: true}}
	case format.ByteArray:
		e.ConvertedType = thrift.New(deprecated.UTF8)
		e.LogicalType = format.LogicalType{Value: &format.StringType{}}
	}
	return []format.SchemaElement{e}
}

// check reports a column whose slices are shorter than rows or whose codes do
// not index its values.
func (c *OutColumn) check(rows int, list bool) error {
	n := rows
	if list {
		n = rows * c.Width
	}
	short := func(have, want int) error {
		if have < want {
			return fmt.Errorf("lake: column %q: %d values for %d", c.Name, have, want)
		}
		return nil
	}
	if c.Valid != nil {
		if err := short(len(c.Valid), rows); err != nil {
			return err
		}
	}
	if c.Codes != nil {
		if err := short(len(c.Codes), rows); err != nil {
			return err
		}
		values := max(len(c.Int64), len(c.String))
		for _, code := range c.Codes[:rows] {
			if int(code) >= values || (code < 0 && !c.Optional) {
				return fmt.Errorf("lake: column %q: code %d for %d values", c.Name, code, values)
			}
		}
		return nil
	}
	switch {
	case c.Int64 != nil:
		return short(len(c.Int64), n)
	case c.Int32 != nil:
		return short(len(c.Int32), n)
	case c.Float64 != nil:
		return short(len(c.Float64), n)
	case c.String != nil:
		return short(len(c.String), n)
	case c.Bool != nil:
		return short(len(c.Bool), n)
	case c.List64 != nil:
		return short(len(c.List64), n)
	case c.List32 != nil:
		return short(len(c.List32), n)
	}
	return nil
}

// offsetWriter buffers a file's writes and counts them: the file offsets.
type offsetWriter struct {
	w   *bufio.Writer
	off int64
}

func (w *offsetWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.off += int64(n)
	return n, err
}

// fileEncoder writes one Parquet file.
type fileEncoder struct {
	out      *offsetWriter
	thrift   *thrift.Encoder
	cols     []OutColumn
	leaves   []leafInfo
	groups   []format.RowGroup
	colIndex [][]format.ColumnIndex // per row group and column; nil MinValues: none
	offIndex [][]format.OffsetIndex
	page     pageEncoder
	// raw marks the columns whose first chunk zstd did not pay for: their
	// later chunks are UNCOMPRESSED without a trial (the trials of a 2M-row
	// scores file's float32 probabilities were 0.16 CPU-s, each a page
	// compressed and thrown away).
	raw []bool
}

type leafInfo struct {
	typ    format.Type
	list   bool
	maxDef byte
	path   []string
	// dict is the dictionary's size for a column written RLE_DICTIONARY (a
	// Codes column: its values are the dictionary, its codes the indexes); 0
	// for PLAIN (DELTA_BINARY_PACKED for integers).
	dict int
}

func writeParquet(w io.Writer, rows int, cols []OutColumn) error {
	cols = slices.Clone(cols)
	slices.SortStableFunc(cols, func(a, b OutColumn) int { return strings.Compare(a.Name, b.Name) })
	e := &fileEncoder{out: &offsetWriter{w: bufio.NewWriterSize(w, 1<<20)}, cols: cols}
	e.thrift = thrift.NewEncoder(new(thrift.CompactProtocol).NewWriter(e.out))
	schema := []format.SchemaElement{{Name: "lakefuse", NumChildren: thrift.New(int32(len(cols)))}}
	for i := range cols {
		c := &cols[i]
		if i > 0 && cols[i-1].Name == c.Name {
			return fmt.Errorf("lake: two columns named %q", c.Name)
		}
		typ, list, maxDef, err := c.leafOf()
		if err != nil {
			return err
		}
		if err := c.check(rows, list); err != nil {
			return err
		}
		path := []string{c.Name}
		if list {
			path = append(path, "list", "element")
		}
		leaf := leafInfo{typ: typ, list: list, maxDef: maxDef, path: path}
		if c.Codes != nil && !list {
			leaf.dict = max(len(c.Int64), len(c.String)) // 0 (no values, every row null): PLAIN
		}
		e.leaves = append(e.leaves, leaf)
		schema = append(schema, c.schemaElements(typ, list)...)
	}
	if _, err := e.out.Write([]byte("PAR1")); err != nil {
		return err
	}
	for lo := 0; lo < rows; lo += RowGroupRows {
		if err := e.rowGroup(lo, min(lo+RowGroupRows, rows)); err != nil {
			return err
		}
	}
	if err := e.footer(rows, schema); err != nil {
		return err
	}
	return e.out.w.Flush()
}

// rowGroup writes rows [lo, hi) of every column as one row group.
func (e *fileEncoder) rowGroup(lo, hi int) error {
	rg := format.RowGroup{NumRows: int64(hi - lo), FileOffset: e.out.off, Ordinal: int16(len(e.groups))}
	colIndex := make([]format.ColumnIndex, len(e.cols))
	offIndex := make([]format.OffsetIndex, len(e.cols))
	for i := range e.cols {
		cc, err := e.chunk(i, lo, hi, &colIndex[i], &offIndex[i])
		if err != nil {
			return fmt.Errorf("lake: column %q: %w", e.cols[i].Name, err)
		}
		rg.Columns = append(rg.Columns, cc)
		rg.TotalByteSize += cc.MetaData.TotalUncompressedSize
		rg.TotalCompressedSize += cc.MetaData.TotalCompressedSize
	}
	e.groups = append(e.groups, rg)
	e.colIndex = append(e.colIndex, colIndex)
	e.offIndex = append(e.offIndex, offIndex)
	return nil
}

// chunk writes rows [lo, hi) of column c as data pages and returns the column
// chunk's metadata, filling its page index.
func (e *fileEncoder) chunk(col, lo, hi int, ci *format.ColumnIndex, oi *format.OffsetIndex) (format.ColumnChunk, error) {
	c, leaf := &e.cols[col], e.leaves[col]
	if e.raw == nil {
		e.raw = make([]bool, len(e.cols))
	}
	md := format.ColumnMetaData{Type: leaf.typ, Encoding: []format.Encoding{format.Plain}, PathInSchema: leaf.path,
		Codec: format.Zstd, DataPageOffset: e.out.off}
	chunkAt := e.out.off
	// Until the first page shows zstd does not pay (worthCompressing), or an
	// earlier chunk of the column did.
	compress := !e.raw[col]
	if !compress {
		md.Codec = format.Uncompressed
	}
	valueEncoding := format.Plain
	switch {
	case leaf.dict > 0:
		valueEncoding = format.RLEDictionary
		md.Encoding = append(md.Encoding, valueEncoding)
	case leaf.typ == format.Int64 || leaf.typ == format.Int32:
		// Integers as differences, bit-packed: a key column in key order
		// (consecutive ids) takes a bit or two a row, where zstd over PLAIN
		// left about eight and was a quarter of a scores file's encoding CPU
		// (docs/decisions.md). Every engine reads the encoding (Parquet 2.0).
		valueEncoding = format.DeltaBinaryPacked
		md.Encoding = []format.Encoding{valueEncoding}
	}
	if leaf.list || leaf.maxDef > 0 {
		md.Encoding = append(md.Encoding, format.RLE)
	}
	p := &e.page
	var chunkStats stats
	chunkStats.reset()
	pages := 0
	for a := lo; a < hi; {
		b := p.encode(c, leaf, a, hi)
		body := p.plain
		switch {
		case a == lo:
			if compress && p.worthCompressing() {
				body = p.packed
			} else {
				compress, e.raw[col] = false, true
				md.Codec = format.Uncompressed
			}
			if leaf.dict > 0 { // the dictionary page comes first, in the chunk's codec
				size, err := e.dictionaryPage(c, leaf, compress)
				if err != nil {
					return format.ColumnChunk{}, err
				}
				md.DictionaryPageOffset = chunkAt
				md.DataPageOffset = e.out.off
				md.TotalUncompressedSize += size[0]
				md.TotalCompressedSize += size[1]
			}
		case compress:
			p.packed = zstdPages().EncodeAll(p.plain, p.packed[:0])
			body = p.packed
		}
		h, err := p.header(leaf, body, compress, valueEncoding)
		if err != nil {
			return format.ColumnChunk{}, err
		}
		headerAt := e.out.off
		if err := e.thrift.Encode(&h); err != nil {
			return format.ColumnChunk{}, err
		}
		headerLen := e.out.off - headerAt
		for _, part := range [][]byte{p.repRLE, p.defRLE, body} {
			if _, err := e.out.Write(part); err != nil {
				return format.ColumnChunk{}, err
			}
		}
		md.NumValues += int64(p.levels)
		md.TotalUncompressedSize += headerLen + int64(h.UncompressedPageSize)
		md.TotalCompressedSize += headerLen + int64(h.CompressedPageSize)
		oi.PageLocations = append(oi.PageLocations, format.PageLocation{Offset: headerAt,
			CompressedPageSize: int32(headerLen) + h.CompressedPageSize, FirstRowIndex: int64(a - lo)})
		lo, hi, ok := p.stats.bounds(leaf.typ)
		ci.NullPages = append(ci.NullPages, !ok)
		ci.MinValues = append(ci.MinValues, lo)
		ci.MaxValues = append(ci.MaxValues, hi)
		ci.NullCounts = append(ci.NullCounts, int64(p.nulls))
		chunkStats.merge(&p.stats, leaf.typ)
		pages++
		a = b
	}
	md.EncodingStats = []format.PageEncodingStats{{PageType: format.DataPageV2, Encoding: valueEncoding, Count: int32(pages)}}
	if leaf.dict > 0 {
		md.EncodingStats = append([]format.PageEncodingStats{{PageType: format.DictionaryPage, Encoding: format.Plain, Count: 1}}, md.EncodingStats...)
	}
	md.Statistics.NullCount = chunkStats.nulls
	if lo, hi, ok := chunkStats.bounds(leaf.typ); ok && chunkStats.ok {
		md.Statistics.MinValue, md.Statistics.MaxValue = lo, hi
	}
	if chunkStats.ok {
		ci.BoundaryOrder = boundaryOrder(ci, leaf.typ)
	} else {
		*ci = format.ColumnIndex{}
	}
	return format.ColumnChunk{FileOffset: chunkAt, MetaData: md}, nil
}

// dictionaryPage writes a dictionary-coded column's dictionary page — every
// value of c, PLAIN — compressed when the chunk is, and returns its size
// uncompressed and as written, header included.
func (e *fileEncoder) dictionaryPage(c *OutColumn, leaf leafInfo, compress bool) (size [2]int64, err error) {
	p := &e.page
	p.dict = p.dict[:0]
	for i := range leaf.dict {
		if leaf.typ == format.Int64 {
			p.dict = binary.LittleEndian.AppendUint64(p.dict, uint64(c.Int64[i]))
		} else {
			p.dict = binary.LittleEndian.AppendUint32(p.dict, uint32(len(c.String[i])))
			p.dict = append(p.dict, c.String[i]...)
		}
	}
	body := p.dict
	if compress {
		p.dictPacked = zstdPages().EncodeAll(p.dict, p.dictPacked[:0])
		body = p.dictPacked
	}
	h := format.PageHeader{
		Type:                 format.DictionaryPage,
		UncompressedPageSize: int32(len(p.dict)),
		CompressedPageSize:   int32(len(body)),
		CRC:                  int32(crc32.ChecksumIEEE(body)),
		DictionaryPageHeader: thrift.New(format.DictionaryPageHeader{NumValues: int32(leaf.dict), Encoding: format.Plain}),
	}
	at := e.out.off
	if err := e.thrift.Encode(&h); err != nil {
		return size, err
	}
	if _, err := e.out.Write(body); err != nil {
		return size, err
	}
	header := e.out.off - at - int64(len(body))
	return [2]int64{header + int64(len(p.dict)), header + int64(len(body))}, nil
}

// footer writes the page index, the file metadata and the closing magic.
func (e *fileEncoder) footer(rows int, schema []format.SchemaElement) error {
	for g := range e.groups {
		for i := range e.cols {
			if e.colIndex[g][i].NullPages == nil {
				continue
			}
			cc := &e.groups[g].Columns[i]
			cc.ColumnIndexOffset = e.out.off
			if err := e.thrift.Encode(&e.colIndex[g][i]); err != nil {
				return err
			}
			cc.ColumnIndexLength = int32(e.out.off - cc.ColumnIndexOffset)
		}
	}
	for g := range e.groups {
		for i := range e.cols {
			cc := &e.groups[g].Columns[i]
			cc.OffsetIndexOffset = e.out.off
			if err := e.thrift.Encode(&e.offIndex[g][i]); err != nil {
				return err
			}
			cc.OffsetIndexLength = int32(e.out.off - cc.OffsetIndexOffset)
		}
	}
	orders := make([]format.ColumnOrder, len(e.cols))
	for i := range orders {
		orders[i] = format.ColumnOrder{Value: new(format.TypeDefinedOrder)}
	}
	md := format.FileMetaData{Version: 2, Schema: schema, NumRows: int64(rows), RowGroups: e.groups,
		CreatedBy: "lakefuse version " + Version, ColumnOrders: orders}
	start := e.out.off
	if err := e.thrift.Encode(&md); err != nil {
		return err
	}
	var tail [8]byte
	binary.LittleEndian.PutUint32(tail[:4], uint32(e.out.off-start))
	copy(tail[4:], "PAR1")
	_, err := e.out.Write(tail[:])
	return err
}

// boundaryOrder is Ascending when the pages' minima and maxima never decrease
// from one non-null page to the next, Descending when they never increase,
// otherwise Unordered.
func boundaryOrder(ci *format.ColumnIndex, typ format.Type) format.BoundaryOrder {
	asc, desc := true, true
	prev := -1
	for i, null := range ci.NullPages {
		if null {
			continue
		}
		if prev >= 0 {
			lo, hi := compareStat(typ, ci.MinValues[prev], ci.MinValues[i]), compareStat(typ, ci.MaxValues[prev], ci.MaxValues[i])
			asc = asc && lo <= 0 && hi <= 0
			desc = desc && lo >= 0 && hi >= 0
		}
		prev = i
	}
	switch {
	case asc:
		return format.Ascending
	case desc:
		return format.Descending
	}
	return format.Unordered
}

// compareStat compares two PLAIN-encoded statistics of a type.
func compareStat(typ format.Type, a, b []byte) int {
	switch typ {
	case format.Int64:
		return cmp.Compare(int64(binary.LittleEndian.Uint64(a)), int64(binary.LittleEndian.Uint64(b)))
	case format.Int32:
		return cmp.Compare(int32(binary.LittleEndian.Uint32(a)), int32(binary.LittleEndian.Uint32(b)))
	case format.Double: // bounds are never NaN
		return cmp.Compare(math.Float64frombits(binary.LittleEndian.Uint64(a)), math.Float64frombits(binary.LittleEndian.Uint64(b)))
	case format.Float:
		return cmp.Compare(math.Float32frombits(binary.LittleEndian.Uint32(a)), math.Float32frombits(binary.LittleEndian.Uint32(b)))
	}
	return bytes.Compare(a, b) // booleans (one byte, false < true) and strings
}

// stats is the least and greatest non-null value of a page or chunk (NaN left
// out, as the format asks), and its nulls.
type stats struct {
	nulls      int64
	has        bool // a value other than null or NaN was seen
	ok         bool // the bounds can be written (strings no longer than maxStatBytes)
	lo, hi     int64
	flo, fhi   float64
	slo, shi   string
	anyF, anyT bool
}

func (s *stats) reset() { *s = stats{ok: true} }

func (s *stats) addInt(v int64) {
	if !s.has {
		s.lo, s.hi, s.has = v, v, true
		return
	}
	s.lo, s.hi = min(s.lo, v), max(s.hi, v)
}

func (s *stats) addFloat(v float64) {
	if v != v {
		return
	}
	if !s.has {
		s.flo, s.fhi, s.has = v, v, true
		return
	}
	s.flo, s.fhi = min(s.flo, v), max(s.fhi, v) // a zero's sign: see bounds
}

func (s *stats) addString(v string) {
	if len(v) > maxStatBytes {
		s.ok = false
	}
	if !s.has {
		s.slo, s.shi, s.has = v, v, true
		return
	}
	s.slo, s.shi = min(s.slo, v), max(s.shi, v)
}

func (s *stats) addBool(v bool) {
	s.has = true
	s.anyT = s.anyT || v
	s.anyF = s.anyF || !v
}

// merge adds a page's statistics to a chunk's.
func (s *stats) merge(p *stats, typ format.Type) {
	s.nulls += p.nulls
	s.ok = s.ok && p.ok
	if !p.has {
		return
	}
	switch typ {
	case format.Float, format.Double:
		s.addFloat(p.flo)
		s.addFloat(p.fhi)
	case format.ByteArray:
		s.addString(p.slo)
		s.addString(p.shi)
	case format.Boolean:
		s.has, s.anyF, s.anyT = true, s.anyF || p.anyF, s.anyT || p.anyT
	default:
		s.addInt(p.lo)
		s.addInt(p.hi)
	}
}

// bounds is the PLAIN encoding of the least and greatest value, and whether
// there is one. Zero bounds are written as the format asks: a zero minimum as
// −0, a zero maximum as +0.
func (s *stats) bounds(typ format.Type) (lo, hi []byte, ok bool) {
	if !s.has {
		return nil, nil, false
	}
	switch typ {
	case format.Int64:
		return binary.LittleEndian.AppendUint64(nil, uint64(s.lo)), binary.LittleEndian.AppendUint64(nil, uint64(s.hi)), true
	case format.Int32:
		return binary.LittleEndian.AppendUint32(nil, uint32(s.lo)), binary.LittleEndian.AppendUint32(nil, uint32(s.hi)), true
	case format.Boolean:
		return []byte{b2u8(!s.anyF)}, []byte{b2u8(s.anyT)}, true
	case format.ByteArray:
		return []byte(s.slo), []byte(s.shi), true
	}
	flo, fhi := s.flo, s.fhi
	if flo == 0 {
		flo = math.Copysign(0, -1)
	}
	if fhi == 0 {
		fhi = 0
	}
	if typ == format.Float {
		return binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(flo))), binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(fhi))), true
	}
	return binary.LittleEndian.AppendUint64(nil, math.Float64bits(flo)), binary.LittleEndian.AppendUint64(nil, math.Float64bits(fhi)), true
}

func b2u8(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// pageEncoder encodes one data page at a time into buffers it keeps between
// pages: levels one byte each, then RLE-encoded, values PLAIN (integers
// DELTA_BINARY_PACKED), then compressed.
type pageEncoder struct {
	rep, def         []byte
	repRLE, defRLE   []byte
	plain, packed    []byte
	dict, dictPacked []byte  // a dictionary page's values
	codes            []int32 // a dictionary-coded page's indexes
	codesRLE         []byte
	seen             []bool // the dictionary entries a page uses: its statistics
	repRow, defRow   []byte // a present list row's levels
	filled           []float64
	ints             []int64 // an integer page's values
	ints32           []int32
	levels, nulls    int
	rows             int
	stats            stats
	rleEnc           rle.Encoding
}

// encode encodes rows from a of column c into a page of about pageBytes of
// values and returns the row after the page's last.
func (p *pageEncoder) encode(c *OutColumn, leaf leafInfo, a, hi int) int {
	p.rep, p.def, p.plain = p.rep[:0], p.def[:0], p.plain[:0]
	p.nulls, p.levels = 0, 0
	p.stats.reset()
	width := 8
	switch {
	case leaf.list:
		width = 4 * c.Width
	case leaf.typ == format.Int32:
		width = 4
	case leaf.typ == format.Boolean:
		width = 1
	}
	b := a + max(1, min(hi-a, pageBytes/width))
	if leaf.typ == format.Boolean {
		b = a + min(hi-a, pageBytes) // a bit a value: pages of at most pageBytes rows
	}
	if leaf.typ == format.ByteArray {
		b = a
		size := 0
		for b < hi && (b == a || size < pageBytes) {
			size += 4 + len(c.stringAt(b))
			b++
		}
	}
	p.rows = b - a
	null := func(r int) bool {
		if c.Codes != nil {
			return c.Codes[r] < 0
		}
		return c.Valid != nil && !c.Valid[r]
	}
	nullable := c.nullable()
	level := func(r int) bool { // appends row r's definition level for a scalar; reports it present
		if !nullable {
			return true
		}
		if null(r) {
			p.def = append(p.def, 0)
			p.nulls++
			return false
		}
		p.def = append(p.def, 1)
		return true
	}
	switch {
	case leaf.list:
		p.encodeLists(c, leaf, a, b)
	case leaf.dict > 0:
		p.encodeCodes(c, leaf, a, b, level)
	case leaf.typ == format.Int64:
		p.ints = p.ints[:0]
		for r := a; r < b; r++ {
			if level(r) {
				v := c.int64At(r)
				p.ints = append(p.ints, v)
				p.stats.addInt(v)
			}
		}
		p.plain, _ = deltaInts.EncodeInt64(p.plain, p.ints) // never fails
	case leaf.typ == format.Int32:
		p.ints32 = p.ints32[:0]
		for r := a; r < b; r++ {
			if level(r) {
				p.ints32 = append(p.ints32, c.Int32[r])
				p.stats.addInt(int64(c.Int32[r]))
			}
		}
		p.plain, _ = deltaInts.EncodeInt32(p.plain, p.ints32) // never fails
	case leaf.typ == format.Double:
		for r := a; r < b; r++ {
			if level(r) {
				p.plain = binary.LittleEndian.AppendUint64(p.plain, math.Float64bits(c.Float64[r]))
				p.stats.addFloat(c.Float64[r])
			}
		}
	case leaf.typ == format.ByteArray:
		for r := a; r < b; r++ {
			if level(r) {
				s := c.stringAt(r)
				p.plain = binary.LittleEndian.AppendUint32(p.plain, uint32(len(s)))
				p.plain = append(p.plain, s...)
				p.stats.addString(s)
			}
		}
	case leaf.typ == format.Boolean && !nullable: // a byte of eight rows at a time, no call a row
		vals := c.Bool[a:b]
		trues := 0
		for j := 0; j < len(vals); j += 8 {
			var packed byte
			for k, v := range vals[j:min(j+8, len(vals))] {
				packed |= b2u8(v) << k
			}
			p.plain = append(p.plain, packed)
			trues += bits.OnesCount8(packed)
		}
		if len(vals) > 0 {
			p.stats.has = true
			p.stats.anyT, p.stats.anyF = trues > 0, trues < len(vals)
		}
	case leaf.typ == format.Boolean:
		n := 0
		for r := a; r < b; r++ {
			if level(r) {
				if n%8 == 0 {
					p.plain = append(p.plain, 0)
				}
				if c.Bool[r] {
					p.plain[n/8] |= 1 << (n % 8)
				}
				p.stats.addBool(c.Bool[r])
				n++
			}
		}
	}
	p.stats.nulls = int64(p.nulls)
	if p.levels == 0 {
		p.levels = b - a // scalars: a level entry a row
	}
	return b
}

// deltaInts encodes integer pages: DELTA_BINARY_PACKED.
var deltaInts delta.BinaryPackedEncoding

// encodeCodes encodes rows [a, b) of a dictionary-coded column (leaf.dict):
// the present rows' indexes into the dictionary, as RLE_DICTIONARY stores them
// — a byte of bit width, then the RLE/bit-packed hybrid. A constant column
// (run_id, a run's one split) is one run of a few bytes a page, and ten
// classes take 4 bits a row: the 2M bench's scores held 140 MB of PLAIN
// labels, predictions, splits and run ids that zstd then had to squeeze.
func (p *pageEncoder) encodeCodes(c *OutColumn, leaf leafInfo, a, b int, present func(r int) bool) {
	p.codes = p.codes[:0]
	if cap(p.seen) < leaf.dict {
		p.seen = make([]bool, leaf.dict)
	}
	seen := p.seen[:leaf.dict]
	clear(seen)
	if c.nullable() {
		for r := a; r < b; r++ {
			if present(r) {
				code := c.Codes[r]
				p.codes = append(p.codes, code)
				seen[code] = true
			}
		}
	} else { // every row has a code: no level to append, no call a row
		p.codes = append(p.codes, c.Codes[a:b]...)
		for _, code := range p.codes {
			seen[code] = true
		}
	}
	for code, used := range seen {
		switch {
		case !used:
		case leaf.typ == format.Int64:
			p.stats.addInt(c.Int64[code])
		default:
			p.stats.addString(c.String[code])
		}
	}
	width := max(1, bits.Len32(uint32(leaf.dict-1))) // 1 for a one-entry dictionary: some readers reject 0
	p.rleEnc.BitWidth = width
	var err error
	if p.codesRLE, err = p.rleEnc.EncodeInt32(p.codesRLE, p.codes); err != nil {
		panic(err) // only for a width over 32, which an int32 code cannot need
	}
	p.plain = append(append(p.plain, byte(width)), p.codesRLE...)
}

// encodeLists encodes rows [a, b) of a list column: Width float32 values a
// present row, one null level entry an absent one.
func (p *pageEncoder) encodeLists(c *OutColumn, leaf leafInfo, a, b int) {
	w := c.Width
	var src64 []float64 // rows from first
	first := 0
	switch {
	case c.Fill != nil:
		p.filled = slices.Grow(p.filled[:0], (b-a)*w)[:(b-a)*w]
		c.Fill(a, b, p.filled)
		src64, first = p.filled, a
	case c.List64 != nil:
		src64 = c.List64
	}
	// A present row's levels: a new list, then w-1 more values; all defined.
	p.repRow = append(append(p.repRow[:0], 0), bytes.Repeat([]byte{1}, w-1)...)
	p.defRow = append(p.defRow[:0], bytes.Repeat([]byte{leaf.maxDef}, w)...)
	p.plain = slices.Grow(p.plain[:0], (b-a)*w*4)
	lo, hi, seen := float32(math.Inf(1)), float32(math.Inf(-1)), false
	for r := a; r < b; {
		if c.Valid != nil && !c.Valid[r] { // an absent row: one null level entry
			p.rep = append(p.rep, 0)
			p.def = append(p.def, 0)
			p.nulls++
			r++
			continue
		}
		// A run of present rows (every row, without Valid): its levels a row's
		// pattern repeated, its values in one loop.
		end := b
		if c.Valid != nil {
			end = r + 1
			for end < b && c.Valid[end] {
				end++
			}
		}
		p.rep = appendRepeated(p.rep, p.repRow, end-r)
		p.def = appendRepeated(p.def, p.defRow, end-r)
		at := len(p.plain)
		p.plain = p.plain[:at+(end-r)*w*4]
		var l, h float32
		var s bool
		if src64 != nil {
			l, h, s = putFloats(p.plain[at:], src64[(r-first)*w:(end-first)*w])
		} else {
			l, h, s = putFloats(p.plain[at:], c.List32[r*w:end*w])
		}
		lo, hi, seen = min32(lo, l), max32(hi, h), seen || s
		r = end
	}
	if seen {
		p.stats.addFloat(float64(lo))
		p.stats.addFloat(float64(hi))
	}
	p.levels = len(p.rep)
}

// putFloats writes vals as little-endian float32s into out (4 bytes each) and
// returns their bounds and whether any is not NaN (NaN is never less or
// greater: it stays out of the bounds, and only NaNs leave lo > hi; the sign
// of a zero bound does not matter: bounds writes −0 and +0).
func putFloats[T float32 | float64](out []byte, vals []T) (lo, hi float32, seen bool) {
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	out = out[:4*len(vals)]
	if len(vals) == 0 {
		return lo, hi, false
	}
	var dst []float32 // out as float32s, where the machine's order is the file's
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 {
		dst = unsafe.Slice((*float32)(unsafe.Pointer(&out[0])), len(vals))
	}
	for k, v := range vals {
		x := float32(v)
		if dst != nil {
			dst[k] = x
		} else {
			binary.LittleEndian.PutUint32(out[4*k:], math.Float32bits(x))
		}
		if x < lo {
			lo = x
		}
		if x > hi {
			hi = x
		}
	}
	return lo, hi, lo <= hi
}

// min32 and max32 merge bounds that putFloats gave (never NaN).
func min32(a, b float32) float32 {
	if b < a {
		return b
	}
	return a
}

func max32(a, b float32) float32 {
	if b > a {
		return b
	}
	return a
}

// appendRepeated appends n copies of pattern to dst, doubling what it has copied.
func appendRepeated(dst, pattern []byte, n int) []byte {
	start := len(dst)
	dst = slices.Grow(dst, n*len(pattern))[:start+n*len(pattern)]
	out := dst[start:]
	done := copy(out, pattern)
	for done < len(out) && done > 0 {
		done += copy(out[done:], out[:done])
	}
	return dst
}

// worthCompressing compresses the page's values and reports whether zstd saves
// at least a 32nd of them: the first page of a chunk decides its codec (and an
// UNCOMPRESSED chunk the column's later ones in the file, fileEncoder.raw). Model
// probabilities (float32 mantissas) do not compress at all — the 2M bench's 84 MB
// of probs came out 3 KB larger — and compressing them was a third of the
// writes' CPU, for readers to decompress again.
func (p *pageEncoder) worthCompressing() bool {
	p.packed = zstdPages().EncodeAll(p.plain, p.packed[:0])
	return len(p.packed) <= len(p.plain)-len(p.plain)/32
}

// header RLE-encodes the page's levels and returns the page's header, body
// being the values' bytes written after the levels: p.packed (compressed), or
// p.plain in a chunk whose codec is UNCOMPRESSED.
func (p *pageEncoder) header(leaf leafInfo, body []byte, compressed bool, values format.Encoding) (format.PageHeader, error) {
	var err error
	p.repRLE, p.defRLE = p.repRLE[:0], p.defRLE[:0]
	if leaf.list {
		p.rleEnc.BitWidth = 1
		if p.repRLE, err = p.rleEnc.EncodeLevels(p.repRLE, p.rep); err != nil {
			return format.PageHeader{}, err
		}
	}
	if leaf.maxDef > 0 {
		p.rleEnc.BitWidth = bits.Len8(leaf.maxDef)
		if p.defRLE, err = p.rleEnc.EncodeLevels(p.defRLE, p.def); err != nil {
			return format.PageHeader{}, err
		}
	}
	crc := crc32.Update(crc32.Update(crc32.ChecksumIEEE(p.repRLE), crc32.IEEETable, p.defRLE), crc32.IEEETable, body)
	levels := len(p.repRLE) + len(p.defRLE)
	st := format.Statistics{NullCount: int64(p.nulls)}
	if lo, hi, ok := p.stats.bounds(leaf.typ); ok && p.stats.ok {
		st.MinValue, st.MaxValue = lo, hi
	}
	return format.PageHeader{
		Type:                 format.DataPageV2,
		UncompressedPageSize: int32(levels + len(p.plain)),
		CompressedPageSize:   int32(levels + len(body)),
		CRC:                  int32(crc),
		DataPageHeaderV2: thrift.New(format.DataPageHeaderV2{
			NumValues: int32(p.levels), NumNulls: int32(p.nulls), NumRows: int32(p.rows), Encoding: values,
			DefinitionLevelsByteLength: int32(len(p.defRLE)), RepetitionLevelsByteLength: int32(len(p.repRLE)),
			IsCompressed: thrift.New(compressed), Statistics: st,
		}),
	}, nil
}

// int64At is row r's value of an Int64 column, through its codes if any.
func (c *OutColumn) int64At(r int) int64 {
	if c.Codes != nil {
		return c.Int64[c.Codes[r]]
	}
	return c.Int64[r]
}

// stringAt is row r's value of a String column, through its codes if any ("" for
// a null code).
func (c *OutColumn) stringAt(r int) string {
	if c.Codes != nil {
		if c.Codes[r] < 0 {
			return ""
		}
		return c.String[c.Codes[r]]
	}
	return c.String[r]
}
