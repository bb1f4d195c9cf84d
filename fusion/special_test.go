package fusion

import (
	"math"
	"math/rand/v2"
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

// log1pUnit against math.Log1p over [0, 1]: both ends, both sides of √2 − 1 and of
// ½ (where t − 1 stops being exact), and a million random points, within 2 ulp.
func TestLog1pUnit(t *testing.T) {
	check := func(x float64) {
		t.Helper()
		got, want := log1pUnit(x), math.Log1p(x)
		if math.Abs(got-want) > 2*ulp(want) {
			t.Fatalf("log1pUnit(%v) = %.17g, math.Log1p %.17g (%.2g ulp)", x, got, want, math.Abs(got-want)/ulp(want))
		}
	}
	for _, x := range []float64{0, 5e-324, 1e-300, 1e-17, 1e-8, math.Nextafter(0x1p-10, 0), 0x1p-10, 0.25, math.Sqrt2 - 1, math.Nextafter(math.Sqrt2-1, 0), 0.45, math.Nextafter(0.5, 0), 0.5, 0.75, math.Nextafter(1, 0), 1} {
		check(x)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1_000_000 {
		check(rng.Float64())
		check(math.Exp(-40 * rng.Float64())) // what softplus hands it: e^−|z|
	}
}

// ulp is the spacing of float64 values at x (the smallest normal's at 0).
func ulp(x float64) float64 {
	x = math.Abs(x)
	if x < 0x1p-1022 {
		return 0x1p-1074
	}
	return math.Nextafter(x, math.Inf(1)) - x
}

// nearOneLong, the series at 1 for 1e-3 ≤ x − 1 < 0.05: against values from
// mpmath (30 digits, at the float64 x) to 2e-15 relative, against the recurrence it replaces there
// to that's accuracy (1e-13: its lnΓ loses digits to cancellation near 1, where
// the series does not), and gammaFns continuous where it switches.
func TestNearOneLong(t *testing.T) {
	for _, c := range []struct{ x, lg, psi, tri float64 }{
		{1.001, -0.000576393598283306151519162417507, -0.575571931810300652371569207925, 1.64253319586897829703863491892},
		{1.02, -0.0112184893297700961888027587647, -0.544789310456179760372730568114, 1.59811819186806657090681028548},
		{1.0499, -0.0268032803409921159442524849501, -0.497998237575770043150294255403, 1.53256818486219133861449323348},
	} {
		lg, psi, tri := gammaFns(c.x)
		if differ(lg, c.lg, 2e-15*math.Abs(c.lg)) || differ(psi, c.psi, 2e-15*math.Abs(c.psi)) || differ(tri, c.tri, 2e-15*c.tri) {
			t.Errorf("gammaFns(%v) = %.17g, %.17g, %.17g; mpmath %.17g, %.17g, %.17g", c.x, lg, psi, tri, c.lg, c.psi, c.tri)
		}
	}
	for i := 0; i <= 4000; i++ {
		e := 1e-3 + (0.05-1e-3)*float64(i)/4000
		lg, psi, tri := nearOneLong(e)
		wlg, wpsi, wtri := gammaRecurrence(1 + e)
		for _, c := range []struct {
			name      string
			got, want float64
		}{{"lnΓ", lg, wlg}, {"ψ", psi, wpsi}, {"ψ'", tri, wtri}} {
			if differ(c.got, c.want, 1e-13) {
				t.Fatalf("%s(1+%v): series %.17g, recurrence %.17g", c.name, e, c.got, c.want)
			}
		}
	}
	for _, x := range []float64{1 + 1e-3, 1.05} {
		below, at := math.Nextafter(x, 0), x
		_, p0, t0 := gammaFns(below)
		_, p1, t1 := gammaFns(at)
		if math.Abs(p1-p0) > 1e-13 || math.Abs(t1-t0) > 1e-13 {
			t.Errorf("gammaFns jumps at %v: ψ %v → %v, ψ' %v → %v", x, p0, p1, t0, t1)
		}
	}
}

// expFast against math.Exp: the ends of its range and past them, NaN and ±Inf,
// integers and halves of ln 2/32 (where the rounding of n turns), and two
// million random points over the range, within 3 ulp.
func TestExpFast(t *testing.T) {
	check := func(x float64) {
		t.Helper()
		got, want := expFast(x), math.Exp(x)
		if math.IsNaN(want) != math.IsNaN(got) || (!math.IsNaN(want) && math.Abs(got-want) > 3*ulp(want)) {
			t.Fatalf("expFast(%v) = %.17g, math.Exp %.17g", x, got, want)
		}
	}
	for _, x := range []float64{0, -0.0, 1e-300, -1e-300, 1, -1, -708, math.Nextafter(-708, 0), -708.0001, -745, -746, 709, 709.0001, 710, math.NaN(), math.Inf(1), math.Inf(-1)} {
		check(x)
	}
	for n := -200; n <= 200; n++ {
		for _, off := range []float64{-1e-12, 0, 1e-12, 0.5} {
			check((float64(n) + off) * math.Ln2 / 32)
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 1_000_000 {
		check(-708 * rng.Float64())
		check(-40*rng.Float64() + 20*rng.Float64())
	}
}

// A fixed input gives fixed bits on every machine: expFast, log1pUnit and
// gammaFns are plain float64 arithmetic (no fused multiply-add under Go's
// default GOAMD64=v1), so a fit does not depend on the CPU it runs on, as
// math.Exp's FMA path would make it. A build that fuses (GOAMD64=v3) fails here.
func TestSpecialFixedBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var h uint64
	mix := func(v float64) { h = h*1099511628211 ^ math.Float64bits(v) }
	for range 10_000 {
		mix(expFast(-60 * rng.Float64()))
		mix(log1pUnit(rng.Float64()))
		lg, psi, tri := gammaFns(1 + 12*rng.Float64()*rng.Float64())
		mix(lg)
		mix(psi)
		mix(tri)
	}
	if h != specialFixedBits {
		t.Errorf("checksum %#x, want %#x", h, specialFixedBits)
	}
}

const specialFixedBits = 0x5d7fd57f4346e11e
