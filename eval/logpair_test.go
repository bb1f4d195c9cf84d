package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

// logPair is math.Log to the bit on every kind of input: ratios near 1 as the
// evaluation's (a clipped probability over its row's sum), tiny and huge
// numbers, subnormals, values at and around √2/2 times powers of two (where
// the reduction picks its branch), powers of two, and the special cases.
func TestLogPairIsMathLog(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var xs []float64
	for range 200000 {
		xs = append(xs, rng.Float64(), 1+(rng.Float64()-0.5)*1e-3, math.Ldexp(rng.Float64()+0.5, rng.IntN(2098)-1074),
			math.Float64frombits(rng.Uint64()&^(1<<63)))
	}
	for e := -1074; e <= 1023; e++ {
		h := math.Ldexp(math.Sqrt2/2, e)
		xs = append(xs, math.Ldexp(1, e), h, math.Nextafter(h, 0), math.Nextafter(h, 2*h))
	}
	xs = append(xs, 0, math.Copysign(0, -1), -1, -math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN(),
		math.MaxFloat64, math.SmallestNonzeroFloat64, 1e-15, 1-1e-15, 1)
	same := func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) || x != x && y != y }
	for i := range xs {
		a, b := xs[i], xs[(i*7919+1)%len(xs)]
		la, lb := logPair(a, b)
		if !same(la, math.Log(a)) || !same(lb, math.Log(b)) {
			t.Fatalf("logPair(%g, %g) = %g, %g; math.Log: %g, %g", a, b, la, lb, math.Log(a), math.Log(b))
		}
	}
}
