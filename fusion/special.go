package fusion

import "math"

// gammaFns returns lnΓ(x), the digamma ψ(x) and the trigamma ψ'(x) for x > 0 from
// one recurrence — ψ(x) = ψ(x+1) − 1/x, ψ'(x) = ψ'(x+1) + 1/x²,
// lnΓ(x) = lnΓ(x+1) − ln x — up to y = x + m ≥ 10, then the asymptotic series at y
// (Stirling's for lnΓ; each truncated where the next term is below 1e-13 of the
// value at y = 10). The evidential loss needs all three at every class of every
// row; computed apart they were most of its fit's time.
func gammaFns(x float64) (lg, psi, tri float64) {
	if e := x - 1; e >= 0 && e < 1e-3 {
		// Just above 1 — a class with almost no evidence, most classes of most
		// rows once a many-class model has learned — the Taylor series at 1,
		// whose next terms are below 1e-17 here, cost a few multiplications.
		return nearOne(e)
	}
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

// Riemann zeta values for the series at 1 (ζ(2) … ζ(7)), and Euler's γ.
const (
	eulerGamma = 0.57721566490153286061
	zeta2      = 1.6449340668482264365
	zeta3      = 1.2020569031595942854
	zeta4      = 1.0823232337111381915
	zeta5      = 1.0369277551433699263
	zeta6      = 1.0173430619844491397
	zeta7      = 1.0083492773819228268
)

// nearOne is lnΓ, ψ and ψ' at 1 + e for 0 ≤ e < 1e-3, from their Taylor series at 1:
// lnΓ(1+e) = −γe + Σ_{k≥2} (−1)^k ζ(k) e^k / k, ψ(1+e) = −γ + Σ_{k≥1} (−1)^{k+1} ζ(k+1) e^k,
// ψ'(1+e) = Σ_{k≥0} (−1)^k (k+1) ζ(k+2) e^k.
func nearOne(e float64) (lg, psi, tri float64) {
	lg = e * (-eulerGamma + e*(zeta2/2+e*(-zeta3/3+e*(zeta4/4+e*(-zeta5/5+e*zeta6/6)))))
	psi = -eulerGamma + e*(zeta2+e*(-zeta3+e*(zeta4+e*(-zeta5+e*zeta6))))
	tri = zeta2 + e*(-2*zeta3+e*(3*zeta4+e*(-4*zeta5+e*(5*zeta6-e*6*zeta7))))
	return lg, psi, tri
}
