package eval

import (
	"bytes"
	"math/rand/v2"
	"sync/atomic"
	"testing"
)

// A classifier whose rows are computed on demand (Scores.Fill) is evaluated to
// the same bits as the same rows held (Probs): every metric, interval, ranking
// (exact and past the exact limit), comparison and the baseline choice. Fill is
// asked for aligned ranges of rowsPerFill rows only.
func TestFillEvaluatesAsProbs(t *testing.T) {
	const n, k = 24*chunkRows + 123, 4 // several chunks for every worker
	rng := rand.New(rand.NewPCG(31, 32))
	rows := Rows{Classes: k, Label: make([]int32, n), Split: make([]int, n), Splits: []string{"train", "test"},
		KeyHash: make([]uint64, n), Modalities: []string{"a"}, Present: [][]bool{make([]bool, n)}}
	probs, base := make([]float64, n*k), make([]float32, n*k)
	for i := 0; i < n; i++ {
		rows.Label[i] = int32(rng.IntN(k))
		if i%13 == 0 {
			rows.Label[i] = -1
		}
		rows.Split[i] = rng.IntN(2)
		rows.KeyHash[i] = rng.Uint64()
		rows.Present[0][i] = true
		for c := 0; c < k; c++ {
			probs[i*k+c] = rng.Float64()
			base[i*k+c] = float32(rng.Float64())
		}
	}
	var calls, misaligned atomic.Int64
	fill := func(lo, hi int, dst []float64) {
		calls.Add(1)
		if lo%rowsPerFill != 0 || (hi != n && hi-lo != rowsPerFill) || len(dst) != (hi-lo)*k {
			misaligned.Add(1)
		}
		copy(dst, probs[lo*k:hi*k])
	}
	for _, limit := range []int{0, 1000} {
		eval := func(s Scores, workers int) []byte {
			scores := []Scores{s, {Name: "unimodal.a", Baseline: true, Modalities: []string{"a"}, Probs32: base}}
			b, err := Evaluate(rows, scores, Options{Replicates: 20, Workers: workers, ExactLimit: limit}).MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		held := eval(Scores{Name: "s", Modalities: []string{"a"}, Probs: probs}, 3)
		computed := eval(Scores{Name: "s", Modalities: []string{"a"}, Fill: fill}, 3)
		if !bytes.Equal(held, computed) {
			t.Errorf("exact limit %d: the evaluation with Fill differs from the one with Probs", limit)
		}
		// Workers take chunks as they come free: any number, any deal, the same bits.
		for _, workers := range []int{1, 2, 5, 7} {
			if b := eval(Scores{Name: "s", Modalities: []string{"a"}, Fill: fill}, workers); !bytes.Equal(b, held) {
				t.Errorf("exact limit %d, %d workers: the evaluation differs from 3 workers'", limit, workers)
			}
		}
	}
	if calls.Load() == 0 || misaligned.Load() != 0 {
		t.Errorf("Fill called %d times, %d of them not on an aligned range", calls.Load(), misaligned.Load())
	}
}
