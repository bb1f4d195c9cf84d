package lake

import (
	"io"
	"testing"
)

// BenchmarkWriteParquet writes a scores file as a run does (key, label, pred,
// split, ten probabilities, three presence flags, run id) for 256Ki rows — the
// writer that is most of a large in-memory run's score writes:
//
//	go test ./lake -run '^$' -bench WriteParquet -count 5
func BenchmarkWriteParquet(b *testing.B) {
	const n, k = 256 << 10, 10
	keys, labels, preds := make([]int64, n), make([]int64, n), make([]int64, n)
	valid, present, split, runID := make([]bool, n), make([]bool, n), make([]string, n), make([]string, n)
	probs := make([]float64, n*k)
	for i := range n {
		keys[i], labels[i], preds[i] = int64(i)*7919, int64(i%k), int64((i*3)%k)
		valid[i], present[i], split[i], runID[i] = i%50 != 0, i%20 != 0, "test", "bench"
		for c := range k {
			probs[i*k+c] = float64((i+c)%97) / 970
		}
	}
	cols := []OutColumn{{Name: "entity_id", Int64: keys}, {Name: "label", Int64: labels, Valid: valid}, {Name: "pred", Int64: preds},
		{Name: "split", String: split}, {Name: "probs", List64: probs, Width: k},
		{Name: "present_a", Bool: present}, {Name: "present_b", Bool: present}, {Name: "present_c", Bool: present},
		{Name: "run_id", String: runID}}
	b.SetBytes(int64(n * k * 4))
	for range b.N {
		if err := WriteParquet(io.Discard, n, cols); err != nil {
			b.Fatal(err)
		}
	}
}
