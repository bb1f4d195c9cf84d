package fusion_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/lakefuse/lakefuse/fusion"
)

// BenchmarkLatePredictRows is the plain late rules computing rows on demand, as a
// large run's writer and evaluation read them: three probabilities blocks of ten
// classes, 95 % present each.
//
//	go test ./fusion -run '^$' -bench LatePredictRows -count 5
func BenchmarkLatePredictRows(b *testing.B) {
	const n, k = 1 << 16, 10
	rng := rand.New(rand.NewPCG(3, 4))
	f := &fusion.Frame{Rows: n, Classes: k, Label: make([]int32, n), Train: make([]bool, n)}
	for i := range n {
		f.Label[i], f.Train[i] = int32(rng.IntN(k)), i%5 != 0
	}
	in := &fusion.Inputs{Frame: f}
	for _, name := range []string{"text", "image", "audio"} {
		blk := fusion.Block{Name: name, Kind: fusion.Probs, Width: k, Values: make([]float32, n*k), Present: make([]bool, n)}
		for i := range n {
			blk.Present[i] = rng.IntN(100) < 95 || name == "text"
			var sum float32
			for c := range k {
				blk.Values[i*k+c] = rng.Float32()
				sum += blk.Values[i*k+c]
			}
			for c := range k {
				blk.Values[i*k+c] /= sum
			}
		}
		f.Blocks = append(f.Blocks, blk)
		in.Unimodal = append(in.Unimodal, blk.Values)
	}
	for _, rule := range []string{"late-mean", "late-max", "vote"} {
		b.Run(rule, func(b *testing.B) {
			s, err := fusion.New(fusion.Config{Name: rule, Type: rule})
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Fit(context.Background(), in); err != nil {
				b.Fatal(err)
			}
			rp := s.(fusion.RowPredictor)
			dst := make([]float64, 4096*k)
			for range b.N {
				for lo := 0; lo < n; lo += 4096 {
					if err := rp.PredictRows(in, lo, lo+4096, dst); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
		})
	}
}
