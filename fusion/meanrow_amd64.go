//go:build amd64

package fusion

// meanRow3 is meanRows' step for a row of three present blocks, in assembly
// (meanrow_amd64.s): dst holds the masses divided by their sum s, unless s is
// 0, when it holds the masses (all 0) and the caller writes a uniform row.
//
//go:noescape
func meanRow3(a, b, d []float32, dst []float64) (s float64)
