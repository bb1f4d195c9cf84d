//go:build amd64

package fusion

// normaliseProbs32 is NormaliseProbs32 in assembly (normalise_amd64.s).
//
//go:noescape
func normaliseProbs32(row []float32, tol float64) (sum float64, ok bool)
