package lake

import (
	"math"
	"slices"
	"unsafe"

	"github.com/parquet-go/parquet-go"
)

// Every value lakefuse writes goes through a parquet.Value carrying its levels.
// Built as parquet.Int64Value(x).Level(…), each takes two calls the compiler
// does not inline, and storing a Value (it holds a pointer) into a slice on
// the heap costs a write barrier check: together, half of a scores file's
// encoding CPU (BenchmarkWriteParquet). A stamper instead writes a value's
// pointer-free tail — payload, kind, levels, column — into a buffer that never
// holds a pointer (a column's own buffer, for every kind but strings), from a
// template built once by parquet-go's constructors.
//
// valueMirror is parquet-go's Value layout. mirrorOK checks it against
// parquet-go's constructors and accessors once, at start; when it does not
// hold (another parquet-go version), every value is built the ordinary way.
type valueTail struct {
	u64             uint64
	kind            int8
	definitionLevel byte
	repetitionLevel byte
	columnIndex     uint16
}

type valueMirror struct {
	ptr *byte
	valueTail
}

var mirrorOK = checkMirror()

func checkMirror() bool {
	if unsafe.Sizeof(parquet.Value{}) != unsafe.Sizeof(valueMirror{}) {
		return false
	}
	for _, c := range []struct {
		v, zero       parquet.Value
		rep, def, col int
	}{
		{parquet.FloatValue(1.5), parquet.FloatValue(0), 0, 1, 3},
		{parquet.FloatValue(-2.25e-7), parquet.FloatValue(0), 1, 2, 700},
		{parquet.FloatValue(float32(math.Inf(1))), parquet.FloatValue(0), 1, 0, 0},
		{parquet.Int64Value(-1 << 62), parquet.Int64Value(0), 0, 1, 9},
		{parquet.Int32Value(-7), parquet.Int32Value(0), 0, 0, 2},
		{parquet.DoubleValue(math.Pi), parquet.DoubleValue(0), 0, 1, 4},
		{parquet.BooleanValue(true), parquet.BooleanValue(false), 0, 0, 5},
		{parquet.NullValue(), parquet.NullValue(), 0, 0, 6},
	} {
		want := c.v.Level(c.rep, c.def, c.col)
		var got parquet.Value
		newStamper(c.zero.Level(c.rep, c.def, c.col)).put(&got, mirrorOf(&c.v).u64)
		if *mirrorOf(&want) != *mirrorOf(&got) || !parquet.Equal(want, got) || got.Kind() != want.Kind() ||
			got.IsNull() != want.IsNull() || got.RepetitionLevel() != c.rep || got.DefinitionLevel() != c.def || got.Column() != c.col {
			return false
		}
	}
	return true
}

func mirrorOf(v *parquet.Value) *valueMirror { return (*valueMirror)(unsafe.Pointer(v)) }

// stamper writes values like its template (a leveled value without a pointer)
// with another payload.
type stamper struct{ t valueTail }

func newStamper(template parquet.Value) stamper { return stamper{mirrorOf(&template).valueTail} }

// put makes *dst the template with payload u64. *dst must hold no pointer
// (a nil ptr, as every value of a pointer-free buffer has): only the tail is
// written.
func (s stamper) put(dst *parquet.Value, u64 uint64) {
	t := s.t
	t.u64 = u64
	mirrorOf(dst).valueTail = t
}

// grow extends buf by n values and returns it with the new values.
func grow(buf []parquet.Value, n int) ([]parquet.Value, []parquet.Value) {
	at := len(buf)
	buf = slices.Grow(buf, n)[:at+n]
	return buf, buf[at:]
}

// payload is the 64 bits parquet-go keeps for a fixed-size value.
func payload[T int64 | int32 | float64 | bool](x T) uint64 {
	switch v := any(x).(type) {
	case int64:
		return uint64(v)
	case int32:
		return uint64(v) // sign-extended, as parquet.Int32Value keeps it
	case float64:
		return math.Float64bits(v)
	case bool:
		if v {
			return 1
		}
	}
	return 0
}

// stampScalars writes rows [lo, hi) of a fixed-size column (nullable when valid
// is not nil) into its pointer-free buffer.
func stampScalars[T int64 | int32 | float64 | bool](buf []parquet.Value, vals []T, valid []bool, lo, hi, col int, zero parquet.Value) []parquet.Value {
	def := 0
	if valid != nil {
		def = 1
	}
	present, null := newStamper(zero.Level(0, def, col)), newStamper(parquet.NullValue().Level(0, 0, col))
	buf, out := grow(buf, hi-lo)
	for i, x := range vals[lo:hi] {
		if valid != nil && !valid[lo+i] {
			null.put(&out[i], 0)
			continue
		}
		present.put(&out[i], payload(x))
	}
	return buf
}

// stampLists writes rows of a list<float> column, w values per row (row r at
// vals[(r−first)·w:]), into its pointer-free buffer; a row that valid marks
// false is a null list.
func stampLists[T float32 | float64](buf []parquet.Value, vals []T, first, w int, valid []bool, lo, hi, col int) []parquet.Value {
	def := 1 // a present element of a list that is not nullable
	if valid != nil {
		def = 2
	}
	zero := parquet.FloatValue(0)
	head, tail := newStamper(zero.Level(0, def, col)), newStamper(zero.Level(1, def, col))
	null := newStamper(parquet.NullValue().Level(0, 0, col))
	for r := lo; r < hi; r++ {
		if valid != nil && !valid[r] {
			var out []parquet.Value
			buf, out = grow(buf, 1)
			null.put(&out[0], 0)
			continue
		}
		row := vals[(r-first)*w : (r-first+1)*w]
		var out []parquet.Value
		buf, out = grow(buf, w)
		head.put(&out[0], uint64(math.Float32bits(float32(row[0]))))
		for k := 1; k < w; k++ {
			tail.put(&out[k], uint64(math.Float32bits(float32(row[k]))))
		}
	}
	return buf
}
