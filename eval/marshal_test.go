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

// A best baseline chosen after the merge (shards) gives the report of one
// chosen up front: the comparisons were kept against every baseline, and the
// one settled on is the one the whole evaluation picks.
func TestDeferredBaselineEqualsWhole(t *testing.T) {
	rows, scores := evalFixture(5000)
	scores = append(scores, Scores{Name: "unimodal.c", Baseline: true, Modalities: []string{"b"}, Probs: scores[0].Probs})
	for _, reps := range []int{-1, 60} {
		opts := Options{Replicates: reps, Workers: 2}
		whole := Evaluate(rows, scores, opts)
		if whole.Scores[whole.BestBaseline].Name == "unimodal.a" {
			t.Fatal("the fixture's best baseline should not be the first")
		}
		opts.DeferBaseline = true
		var merged *Evaluation
		for _, part := range evaluateInParts(rows, scores, opts, 3) {
			b, _ := part.MarshalBinary()
			var back Evaluation
			if err := back.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if merged == nil {
				merged = &back
			} else if err := merged.Merge(&back); err != nil {
				t.Fatal(err)
			}
		}
		if !merged.Deferred || (reps > 0) != (merged.Candidates != nil) {
			t.Fatalf("replicates %d: deferred %v, candidates %v", reps, merged.Deferred, merged.Candidates != nil)
		}
		merged.SettleBaseline()
		if reportJSON(t, whole) != reportJSON(t, merged) {
			t.Errorf("replicates %d: the settled report differs from the whole's", reps)
		}
	}
}

// Whatever bytes a state object holds, decoding returns an error or an
// evaluation whose encoding decodes and encodes to itself: never a panic.
func FuzzUnmarshalEvaluation(f *testing.F) {
	rows, scores := evalFixture(60)
	for _, opts := range []Options{{Replicates: 3}, {Replicates: 2, DeferBaseline: true}, {Replicates: -1, ExactLimit: 10}} {
		b, err := Evaluate(rows, scores, opts).MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Evaluation
		if err := e.UnmarshalBinary(b); err != nil {
			return
		}
		again, err := e.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var e2 Evaluation
		if err := e2.UnmarshalBinary(again); err != nil {
			t.Fatalf("an encoded state does not decode: %v", err)
		}
		if third, _ := e2.MarshalBinary(); !bytes.Equal(third, again) {
			t.Fatal("an encoded state encodes to other bytes after a round trip")
		}
	})
}
