//go:build !amd64

package fusion

func meanRow3(a, b, d []float32, dst []float64) (s float64) {
	for c := range dst {
		s += setMass(dst, c, 0+float64(a[c])+float64(b[c])+float64(d[c]))
	}
	if s != 0 {
		for c := range dst {
			dst[c] /= s
		}
	}
	return s
}
