// Package jsonsafe encodes JSON documents that may hold NaN or infinite floats (a
// metric over no rows, a model fitted on degenerate data) without failing:
// encoding/json refuses them, and a job that has done all its work must not fail
// at its last write. Such values are written as null; documents that can hold them
// say so in their own description of their fields.
package jsonsafe

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"math"
	"reflect"
)

// The values written in place of NaN and infinities before they become null: the
// most negative finite float of each width, which no metric or parameter of a
// fitted model takes.
const (
	sentinel64 = -math.MaxFloat64
	sentinel32 = -math.MaxFloat32
)

var (
	token64 = []byte("-1.7976931348623157e+308")
	token32 = []byte("-3.4028235e+38")
)

// MarshalIndent is json.MarshalIndent with every NaN or infinite float written as
// null. v itself is not modified.
func MarshalIndent(v any, prefix, indent string) ([]byte, error) {
	b, err := json.MarshalIndent(v, prefix, indent)
	var unsupported *json.UnsupportedValueError
	if err == nil || !errors.As(err, &unsupported) {
		return b, err
	}
	b, err = json.MarshalIndent(replace(reflect.ValueOf(v)).Interface(), prefix, indent)
	if err != nil {
		return nil, err
	}
	b = bytes.ReplaceAll(b, token64, []byte("null"))
	return bytes.ReplaceAll(b, token32, []byte("null")), nil
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// replace returns a deep copy of v with non-finite floats set to the sentinels.
func replace(v reflect.Value) reflect.Value {
	if !v.IsValid() {
		return v
	}
	switch v.Kind() {
	case reflect.Float64, reflect.Float32:
		f := v.Float()
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		if v.Kind() == reflect.Float32 {
			out.SetFloat(sentinel32)
		} else {
			out.SetFloat(sentinel64)
		}
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(replace(v.Elem()))
		return out
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(replace(v.Elem()))
		return out
	case reflect.Struct:
		t := v.Type()
		if t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
			reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler) {
			return v // encodes itself (time.Time); its state may be unexported
		}
		out := reflect.New(t).Elem()
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() {
				out.Field(i).Set(replace(v.Field(i)))
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(replace(v.Index(i)))
		}
		return out
	case reflect.Array:
		out := reflect.New(v.Type()).Elem()
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(replace(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			out.SetMapIndex(it.Key(), replace(it.Value()))
		}
		return out
	}
	return v
}
