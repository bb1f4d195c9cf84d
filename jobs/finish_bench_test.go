package jobs

import (
	"math/rand/v2"
	"testing"

	"github.com/lakefuse/lakefuse/fusion"
)

// BenchmarkFinishProbs is the load's last step for a probabilities modality:
// every row of 2^18 checked (finite, none negative, summing to 1) and marked
// present.
//
//	go test ./jobs -run '^$' -bench FinishProbs -count 5
func BenchmarkFinishProbs(b *testing.B) {
	const n, k = 1 << 18, 10
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]float32, n*k)
	for i := 0; i < n; i++ {
		var s float32
		for c := 0; c < k; c++ {
			vals[i*k+c] = rng.Float32()
			s += vals[i*k+c]
		}
		for c := 0; c < k; c++ {
			vals[i*k+c] /= s
		}
	}
	hits := make([]uint16, n)
	for i := range hits {
		hits[i] = 1
	}
	b.ResetTimer()
	for range b.N {
		ld := &blockLoad{sp: &SourcePlan{Kind: "probs", Invalid: "reject"}, blk: fusion.Block{Values: vals, Present: make([]bool, n)}, width: k, stride: k, hits: hits, bad: make([]uint8, n)}
		if _, err := ld.finish(func(int) string { return "" }); err != nil {
			b.Fatal(err)
		}
	}
}
