package fusion

import (
	"context"
	"math/rand/v2"
	"testing"
)

// BenchmarkEvidentialRowLoss times the evidential loss's per-row part (softplus,
// lnΓ, ψ, ψ' at every class) alone, at the scores of a fitted 100-class model —
// where the fit spends most of its evaluations — so that special-function
// changes can be compared without the fit's iteration count moving with them:
//
//	go test ./fusion -run '^$' -bench EvidentialRowLoss -count 5
func BenchmarkEvidentialRowLoss(b *testing.B) {
	const n, k, d = 2400, 100, 32
	rng := rand.New(rand.NewPCG(21, 22))
	means := make([]float64, k*d)
	for i := range means {
		means[i] = rng.NormFloat64()
	}
	X, y := make([]float64, n*d), make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(k))
		for j := 0; j < d; j++ {
			X[i*d+j] = means[int(y[i])*d+j] + 1.5*rng.NormFloat64()
		}
	}
	o := newEvidentialObjective(X, y, d, k, 1, 1)
	theta, _, err := o.minimize(context.Background(), make([]float64, k*d+k), defaultTol/n, 150)
	if err != nil {
		b.Fatal(err)
	}
	o.eval(theta)
	o.haveLast = false
	dotkScores := make([]float64, n*k)
	for i := 0; i < n; i++ {
		for c := 0; c < k; c++ {
			s := theta[k*d+c]
			for j := 0; j < d; j++ {
				s += theta[c*d+j] * X[i*d+j]
			}
			dotkScores[i*k+c] = s
		}
	}
	z := make([]float64, n*k)
	scratch := make([]float64, o.scratchLen)
	b.ResetTimer()
	for range b.N {
		copy(z, dotkScores)
		for i := 0; i < n; i++ {
			o.rowLoss(z[i*k:(i+1)*k], y[i], scratch)
		}
	}
}
