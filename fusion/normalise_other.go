//go:build !amd64

package fusion

func normaliseProbs32(row []float32, tol float64) (sum float64, ok bool) {
	return normaliseProbsGo(row, tol)
}
