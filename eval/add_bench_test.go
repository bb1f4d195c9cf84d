package eval

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkAddPredicted is one classifier's evaluation of rows of ten classes
// past the exact ranking limit (histograms), the per-row work of a large run:
//
//	go test ./eval -run '^$' -bench AddPredicted -count 5
func BenchmarkAddPredicted(b *testing.B) {
	const k, n = 10, 1 << 14
	probs, labels := benchRows(k, n)
	c := NewClassificationLimit(k, 1)
	for i := range n {
		c.AddPredicted(probs[i*k:(i+1)*k], Argmax(probs[i*k:(i+1)*k]), labels[i])
	}
	b.ResetTimer()
	for range b.N {
		for i := range n {
			row := probs[i*k : (i+1)*k]
			c.AddPredicted(row, Argmax(row), labels[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}

// BenchmarkAddRanks is the rank pass's per-row work on ten classes past the
// exact limit: one histogram increment per class and row.
//
//	go test ./eval -run '^$' -bench AddRanks -count 5
func BenchmarkAddRanks(b *testing.B) {
	const k, n = 10, 1 << 20
	probs, labels := benchRows(k, n)
	c := &Classification{Rankings: newRankings(k, 1, n)}
	b.ResetTimer()
	for range b.N {
		for i := range n {
			c.addRanks(probs[i*k:(i+1)*k], labels[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}

// benchRows is n rows of k random probabilities (each row sums to 1) and a
// random label per row.
func benchRows(k, n int) ([]float64, []int) {
	rng := rand.New(rand.NewPCG(1, 2))
	probs := make([]float64, n*k)
	labels := make([]int, n)
	for i := range n {
		var sum float64
		for c := range k {
			probs[i*k+c] = rng.Float64()
			sum += probs[i*k+c]
		}
		for c := range k {
			probs[i*k+c] /= sum
		}
		labels[i] = rng.IntN(k)
	}
	return probs, labels
}

// BenchmarkAddRanksTallied is BenchmarkAddRanks's work as the rank pass does
// it: through a rankTally.
//
//	go test ./eval -run '^$' -bench AddRanks -count 5
func BenchmarkAddRanksTallied(b *testing.B) {
	const k, n = 10, 1 << 20
	probs, labels := benchRows(k, n)
	c := &Classification{Rankings: newRankings(k, 1, n)}
	b.ResetTimer()
	for range b.N {
		tally := newRankTally(c.Rankings, tallyRows)
		for i, y := range labels {
			tally.add(probs[i*k:(i+1)*k], int32(y))
		}
		tally.flush()
		tally.put()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}

// BenchmarkAddRanksTallied4 is the evaluation pass's ranking work: four
// classifiers' tallies of ten classes, added to row by row, at three chunk
// sizes (tallyRows).
//
//	go test ./eval -run '^$' -bench AddRanksTallied4 -count 3
func BenchmarkAddRanksTallied4(b *testing.B) {
	const k, n = 10, 1 << 19
	probs, labels := benchRows(k, n)
	for _, chunk := range []int{1 << 12, 1 << 14, 1 << 16} {
		b.Run(fmt.Sprint(chunk), func(b *testing.B) {
			var rankings [4][]*Ranking
			for s := range rankings {
				rankings[s] = newRankings(k, 1, n)
			}
			for range b.N {
				var ts [4]*rankTally
				for s := range ts {
					ts[s] = newRankTally(rankings[s], chunk)
				}
				for i, y := range labels {
					for _, t := range ts {
						t.add(probs[i*k:(i+1)*k], int32(y))
					}
				}
				for _, t := range ts {
					t.flush()
					t.put()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n*4*k), "ns/pair")
		})
	}
}

// BenchmarkEvaluate is the 2M bench's evaluation pass on 2^20 rows: three
// float32 baselines with their cross-validation folds and one classifier
// computed when read (Fill, here a copy), ten classes, one split, histograms
// tallied in the pass by two workers, the best baseline chosen later.
//
//	go test ./eval -run '^$' -bench 'Evaluate$' -count 5
func BenchmarkEvaluate(b *testing.B) {
	const k, n = 10, 1 << 20
	probs, labels := benchRows(k, n)
	rows := Rows{Classes: k, Label: make([]int32, n), Split: make([]int, n), Splits: []string{"all"},
		KeyHash: make([]uint64, n), Modalities: []string{"a", "b", "c"}, Present: make([][]bool, 3)}
	for i, y := range labels {
		rows.Label[i], rows.KeyHash[i] = int32(y), mix64(uint64(i))
	}
	var scores []Scores
	for m, name := range rows.Modalities {
		rows.Present[m] = make([]bool, n)
		p32, folds := make([]float32, n*k), make([]int8, n)
		for i := range n {
			rows.Present[m][i] = (i+m)%20 != 0
			folds[i] = int8((i + m) % 5)
			for c := range k {
				p32[i*k+c] = float32(probs[((i+m*7919)%n)*k+c])
			}
		}
		scores = append(scores, Scores{Name: "unimodal." + name, Baseline: true, Modalities: []string{name},
			Probs32: p32, Folds: folds, NFolds: 5})
	}
	fill := func(lo, hi int, dst []float64) { copy(dst, probs[lo*k:hi*k]) }
	scores = append([]Scores{{Name: "late", Modalities: rows.Modalities, Fill: fill}}, scores...)
	b.ResetTimer()
	for range b.N {
		Evaluate(rows, scores, Options{Workers: 2, RankInPass: true, Replicates: -1, DeferBaseline: true})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n*len(scores)), "ns/pair")
}
