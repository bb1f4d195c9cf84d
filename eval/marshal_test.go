package eval

import (
	"bytes"
	"errors"
	"testing"
)

// The parts of a sharded run travel through storage: marshalled, unmarshalled
// and merged, they give the whole's report byte for byte — exact and histogram
// rankings, intervals, paired comparisons, patterns and ablations included.
func TestMarshalledPartsMergeToWhole(t *testing.T) {
	rows, scores := evalFixture(6000)
	scores = append(scores, Scores{Name: "fused without a", Of: "fused", Without: "a", Modalities: []string{"a", "b"}, Probs: scores[2].Probs})
	for _, limit := range []int{0, 400} {
		opts := Options{Replicates: 50, Workers: 2, ExactLimit: limit}
		whole := Evaluate(rows, scores, opts)
		opts.BestBaseline, opts.ChosenOn = whole.Scores[whole.BestBaseline].Name, whole.ChosenOn
		var merged *Evaluation
		for i, part := range evaluateInParts(rows, scores, opts, 4) {
			b, err := part.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var back Evaluation
			if err := back.UnmarshalBinary(b); err != nil {
				t.Fatalf("part %d: %v", i, err)
			}
			again, _ := back.MarshalBinary()
			if !bytes.Equal(b, again) {
				t.Fatalf("part %d: the state changes on a second round trip", i)
			}
			if merged == nil {
				merged = &back
			} else if err := merged.Merge(&back); err != nil {
				t.Fatal(err)
			}
		}
		if reportJSON(t, whole) != reportJSON(t, merged) {
			t.Errorf("exact limit %d: the merged states' report differs from the whole's", limit)
		}
	}
}

// A damaged or foreign state is an error, never a panic or a wrong merge.
func TestUnmarshalRefusesDamagedState(t *testing.T) {
	rows, scores := evalFixture(300)
	b, err := Evaluate(rows, scores, Options{Replicates: 5}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", b[:len(b)/2]},
		{"one byte short", b[:len(b)-1]},
		{"trailing bytes", append(append([]byte{}, b...), 0)},
		{"another version", append([]byte{9}, b[1:]...)},
	} {
		var e Evaluation
		if err := e.UnmarshalBinary(c.b); !errors.Is(err, ErrMismatch) {
			t.Errorf("%s: %v, want ErrMismatch", c.name, err)
		}
	}
}
