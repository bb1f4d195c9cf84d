package jsonsafe

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type num float64

func (n num) MarshalJSON() ([]byte, error) { return json.Marshal(float64(n)) }

type doc struct {
	A      float64            `json:"a"`
	B      []float64          `json:"b"`
	M      map[string]float64 `json:"m"`
	P      *float32           `json:"p"`
	N      num                `json:"n"`
	When   time.Time          `json:"when"`
	Any    any                `json:"any"`
	hidden float64
}

func TestNonFiniteBecomesNull(t *testing.T) {
	f32 := float32(math.Inf(1))
	when := time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC)
	d := doc{A: math.NaN(), B: []float64{1.5, math.Inf(-1)}, M: map[string]float64{"x": math.NaN(), "y": 2},
		P: &f32, N: num(math.NaN()), When: when, Any: []any{math.Inf(1), 3.0}, hidden: math.NaN()}
	b, err := MarshalIndent(d, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	want := map[string]any{"a": nil, "b": []any{1.5, nil}, "m": map[string]any{"x": nil, "y": 2.0}, "p": nil, "n": nil,
		"when": "2026-11-27T01:02:03Z", "any": []any{nil, 3.0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !math.IsNaN(d.A) || !math.IsInf(d.B[1], -1) {
		t.Error("the input was modified")
	}
	plain, err := MarshalIndent(map[string]float64{"ok": 1}, "", "")
	if err != nil || string(plain) != "{\n\"ok\": 1\n}" {
		t.Errorf("a finite document: %q, %v", plain, err)
	}
	// A Marshaler's own NaN, alone.
	b, err = MarshalIndent(struct{ N num }{num(math.NaN())}, "", "")
	if err != nil || string(b) != "{\n\"N\": null\n}" {
		t.Errorf("a marshaler's NaN: %q, %v", b, err)
	}
}
