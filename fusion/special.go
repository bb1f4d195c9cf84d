package fusion

import "math"

// gammaFns returns lnΓ(x), the digamma ψ(x) and the trigamma ψ'(x) for x > 0 from
// one recurrence — ψ(x) = ψ(x+1) − 1/x, ψ'(x) = ψ'(x+1) + 1/x²,
// lnΓ(x) = lnΓ(x+1) − ln x — up to y = x + m ≥ 10, then the asymptotic series at y
// (Stirling's for lnΓ; each truncated where the next term is below 1e-13 of the
// value at y = 10). The evidential loss needs all three at every class of every
// row; computed apart they were most of its fit's time.
func gammaFns(x float64) (lg, psi, tri float64) {
	prod := 1.0
	for x < 10 {
		prod *= x
		iv := 1 / x
		psi -= iv
		tri += iv * iv
		x++
	}
	ln := math.Log(x)
	r := 1 / x
	r2 := r * r
	lg = (x-0.5)*ln - x + 0.5*math.Log(2*math.Pi) +
		r*(1.0/12-r2*(1.0/360-r2*(1.0/1260-r2*(1.0/1680-r2/1188)))) - math.Log(prod)
	psi += ln - r/2 - r2*(1.0/12-r2*(1.0/120-r2*(1.0/252-r2*(1.0/240-r2/132))))
	tri += r + r2/2 + r2*r*(1.0/6-r2*(1.0/30-r2*(1.0/42-r2*(1.0/30-r2*5/66))))
	return lg, psi, tri
}
