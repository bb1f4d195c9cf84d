package fusion

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mathext"
)

// gammaFns from just above 0 (where the recurrence runs longest) to past the
// switch to the series: exact values where they are known (ψ(n) = H(n−1) − γ,
// ψ(½) = −γ − 2 ln 2, lnΓ(n) = ln (n−1)!, ψ'(1) = π²/6) at 1e-13, and Go's
// math.Lgamma (1e-13), ψ's difference quotient for ψ' (1e-6) and gonum's Digamma (1e-10: it is the less accurate one, 1.2e-12 off at 10 and
// 2.7e-11 at ψ's zero) everywhere.
func TestGammaFns(t *testing.T) {
	const euler = 0.57721566490153286061
	check := func(name string, x, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
			t.Errorf("%s(%v) = %.17g, want %.17g", name, x, got, want)
		}
	}
	for n := 1; n <= 25; n++ {
		lg, psi, _ := gammaFns(float64(n))
		h, fact := 0.0, 1.0
		for j := 1; j < n; j++ {
			h += 1 / float64(j)
			fact *= float64(j)
		}
		check("ψ", float64(n), psi, h-euler, 1e-13)
		check("lnΓ", float64(n), lg, math.Log(fact), 1e-13)
	}
	_, psi, tri := gammaFns(0.5)
	check("ψ", 0.5, psi, -euler-2*math.Ln2, 1e-13)
	_, _, tri1 := gammaFns(1)
	check("ψ'", 1, tri1, math.Pi*math.Pi/6, 1e-13)
	check("ψ'", 0.5, tri, math.Pi*math.Pi/2, 1e-13)
	for _, x := range []float64{1e-3, 0.1, 1 + 1e-9, 1 + 3e-4, 1 + 9.99e-4, 1.001, 1.4616321449683622, 3.7, 9.999, 10.5, 47, 1e3, 1e6} {
		lg, psi, tri := gammaFns(x)
		wlg, _ := math.Lgamma(x)
		check("lnΓ", x, lg, wlg, 1e-13)
		h := 1e-5 * x
		_, up, _ := gammaFns(x + h)
		_, down, _ := gammaFns(x - h)
		check("ψ'", x, tri, (up-down)/(2*h), 1e-6)
		check("ψ", x, psi, mathext.Digamma(x), 1e-10)
	}
}

// trigamma is gammaFns's ψ', for the tests that check it alone.
func trigamma(x float64) float64 {
	_, _, t := gammaFns(x)
	return t
}
