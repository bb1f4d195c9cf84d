package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

// BenchmarkTallyCount is rankTally.count alone, as the evaluation pass calls
// it: four classifiers' tallies of ten classes, each a chunk of tallyRows rows
// whose bins spread as the shared bench's probabilities do (a softmax of
// uniform logits over [0, 3], the label's raised), counted one after another.
//
//	go test ./eval -run '^$' -bench TallyCount -count 8
func BenchmarkTallyCount(b *testing.B) {
	const k, classifiers = 10, 4
	rng := rand.New(rand.NewPCG(5, 6))
	var ts [classifiers]*rankTally
	for s := range ts {
		ts[s] = newRankTally(newRankings(k, 1, 1<<30), tallyRows)
		t := ts[s]
		row := make([]float64, k)
		for j := 0; j < tallyRows; j++ {
			y := rng.IntN(k)
			var sum float64
			for c := range row {
				row[c] = math.Exp(3 * rng.Float64())
				if c == y {
					row[c] *= math.Exp(1 + 0.5*float64(s))
				}
				sum += row[c]
			}
			bins := t.next()
			for c := range row {
				bins[c] = uint16(rankBin(row[c] / sum))
			}
			t.labels = append(t.labels, int32(y))
		}
	}
	b.ResetTimer()
	for range b.N {
		for _, t := range ts {
			t.labels = t.labels[:tallyRows]
			t.count()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tallyRows*classifiers*k), "ns/pair")
}
