package eval

import "math"

// logPair is math.Log(a), math.Log(b), bit for bit. On amd64 the two logs of
// positive finite numbers run as one, in the two lanes of SSE2 registers:
// math.Log is a chain of about forty dependent operations with a division,
// and the evaluation pass takes one for every classifier of every row (a
// tenth of its time at 2M rows, four classifiers).
func logPair(a, b float64) (float64, float64) {
	if !(a > 0 && a <= math.MaxFloat64) || !(b > 0 && b <= math.MaxFloat64) {
		return math.Log(a), math.Log(b) // zero, negative, infinite or NaN: math.Log's cases
	}
	return logPairAsm(a, b)
}
