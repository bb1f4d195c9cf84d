package fusion

import "math"

// gammaFns returns lnΓ(x), the digamma ψ(x) and the trigamma ψ'(x) for x > 0 from
// one recurrence — ψ(x) = ψ(x+1) − 1/x, ψ'(x) = ψ'(x+1) + 1/x²,
// lnΓ(x) = lnΓ(x+1) − ln x — up to y = x + m ≥ 10, then the asymptotic series at y
// (Stirling's for lnΓ; each truncated where the next term is below 1e-13 of the
// value at y = 10). The evidential loss needs all three at every class of every
// row; computed apart they were most of its fit's time.
func gammaFns(x float64) (lg, psi, tri float64) {
	if e := x - 1; e >= 0 && e < 0.05 {
		// Just above 1 — a class with almost no evidence, most classes of most
		// rows once a many-class model has learned — the Taylor series at 1,
		// whose next terms are below 1e-17 here, cost a few multiplications.
		if e < 1e-3 {
			return nearOne(e)
		}
		return nearOneLong(e)
	}
	return gammaRecurrence(x)
}

// gammaRecurrence is gammaFns by the recurrence and the asymptotic series, for
// any x > 0.
func gammaRecurrence(x float64) (lg, psi, tri float64) {
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

// log1pUnit is ln(1 + t) for t in [0, 1], the softplus's logarithm: fdlibm's
// log1p kernel (the one math.Log1p uses) without its general range reduction,
// which t in [0, 1] needs at most one step of: t itself below √2 − 1, else
// ln 2 + ln(1 + (t−1)/2). Within 2 ulp of math.Log1p (TestLog1pUnit); the
// evidential fit takes one per class of every row, and with this one instead of
// math.Log1p its per-row loss took 6.2 ms instead of 9.2 (BenchmarkEvidentialRowLoss).
func log1pUnit(t float64) float64 {
	const (
		ln2Hi = 6.93147180369123816490e-01
		ln2Lo = 1.90821492927058770002e-10
	)
	if t < 0x1p-10 {
		// Most classes of most rows have little evidence, so t = e^−|z| small:
		// the Taylor series t − t²/2 + … + t⁶/6 (the next term below 1e-18
		// of t) needs no division.
		t2 := t * t
		return t + t2*(-0.5+t*(1.0/3)) + t2*t2*(-0.25+t*0.2-t2*(1.0/6))
	}
	if t < math.Sqrt2-1 {
		return log1pKernel(t)
	}
	// t − 1 is exact for t ≥ ½ and within 2⁻⁵⁴ below it.
	return ln2Hi + (log1pKernel((t-1)/2) + ln2Lo)
}

// log1pKernel is ln(1 + f) for f in [√2/2 − 1, √2 − 1]: with s = f/(2+f),
// ln(1+f) = f − (f²/2 − s(f²/2 + R(s²))), R fdlibm's minimax polynomial.
func log1pKernel(f float64) float64 {
	const (
		lp1 = 6.666666666666735130e-01
		lp2 = 3.999999999940941908e-01
		lp3 = 2.857142874366239149e-01
		lp4 = 2.222219843214978396e-01
		lp5 = 1.818357216161805012e-01
		lp6 = 1.531383769920937332e-01
		lp7 = 1.479819860511658591e-01
	)
	hfsq := 0.5 * f * f
	s := f / (2 + f)
	z := s * s
	r := z * (lp1 + z*(lp2+z*(lp3+z*(lp4+z*(lp5+z*(lp6+z*lp7))))))
	return f - (hfsq - s*(hfsq+r))
}

// zeta holds ζ(2) … ζ(15).
var zeta = [...]float64{
	1.64493406684822643647, 1.20205690315959428540, 1.08232323371113819152,
	1.03692775514336992633, 1.01734306198444913971, 1.00834927738192282684,
	1.00407735619794433938, 1.00200839282608221442, 1.00099457512781808534,
	1.00049418860411946456, 1.00024608655330804830, 1.00012271334757848915,
	1.00006124813505870483, 1.00003058823630702049,
}

// nearOneTerms is how many terms of the series at 1 nearOneLong sums: the next
// are below 1e-17 of each value for e < 0.05.
const nearOneTerms = 14

// The series' coefficients (nearOne's, further): lnΓ's of e^k, ψ's, ψ”s.
var nearOneLG, nearOnePsi, nearOneTri = func() (lg, psi, tri [nearOneTerms]float64) {
	sign := 1.0
	for k := 0; k < nearOneTerms; k++ {
		// (−1)^k
		if k >= 2 {
			lg[k] = sign * zeta[k-2] / float64(k)
		}
		if k >= 1 {
			psi[k] = -sign * zeta[k-1]
		}
		tri[k] = sign * float64(k+1) * zeta[k]
		sign = -sign
	}
	lg[1], psi[0] = -eulerGamma, -eulerGamma
	return lg, psi, tri
}()

// nearOneLong is nearOne for 1e-3 ≤ e < 0.05: fourteen terms of the same series
// (by Horner's rule, the three interleaved) instead of the recurrence's nine
// divisions and two logarithms.
func nearOneLong(e float64) (lg, psi, tri float64) {
	for k := nearOneTerms - 1; k >= 0; k-- {
		lg = lg*e + nearOneLG[k]
		psi = psi*e + nearOnePsi[k]
		tri = tri*e + nearOneTri[k]
	}
	return lg, psi, tri
}

// exp2By32 holds 2^(j/32) for j = 0 … 31, each correctly rounded (mpmath).
var exp2By32 = [32]float64{
	0x1.p+0, 0x1.059b0d3158574p+0, 0x1.0b5586cf9890fp+0, 0x1.11301d0125b51p+0,
	0x1.172b83c7d517bp+0, 0x1.1d4873168b9aap+0, 0x1.2387a6e756238p+0, 0x1.29e9df51fdee1p+0,
	0x1.306fe0a31b715p+0, 0x1.371a7373aa9cbp+0, 0x1.3dea64c123422p+0, 0x1.44e086061892dp+0,
	0x1.4bfdad5362a27p+0, 0x1.5342b569d4f82p+0, 0x1.5ab07dd485429p+0, 0x1.6247eb03a5585p+0,
	0x1.6a09e667f3bcdp+0, 0x1.71f75e8ec5f74p+0, 0x1.7a11473eb0187p+0, 0x1.82589994cce13p+0,
	0x1.8ace5422aa0dbp+0, 0x1.93737b0cdc5e5p+0, 0x1.9c49182a3f090p+0, 0x1.a5503b23e255dp+0,
	0x1.ae89f995ad3adp+0, 0x1.b7f76f2fb5e47p+0, 0x1.c199bdd85529cp+0, 0x1.cb720dcef9069p+0,
	0x1.d5818dcfba487p+0, 0x1.dfc97337b9b5fp+0, 0x1.ea4afa2a490dap+0, 0x1.f50765b6e4540p+0,
}

// expFast is e^x within 3 ulp of math.Exp (TestExpFast; at most 2 over five
// million random points, 71 % equal), without its call into
// assembly: the fits' softmax and softplus take one per class of every row at
// every evaluation. x = (32k + j)·ln2/32 + r with |r| ≤ ln2/64, so e^x = 2^k ·
// 2^(j/32) · e^r, e^r by its Taylor series to r⁶ (the next term below 4e-18).
// Outside [−708, 709] (where 2^k would leave the normal range) and for NaN it is
// math.Exp.
func expFast(x float64) float64 {
	const (
		invLn2By32 = 0x1.71547652b82fep+5 // 32/ln 2
		ln2By32Hi  = 0x1.62e42p-6         // ln 2/32, its low 32 bits zero: n·ln2By32Hi is exact
		ln2By32Lo  = 0x1.fdf473de6af28p-27
		shifter    = 0x1.8p52 // adding it rounds to an integer, held in the low bits
	)
	if !(x >= -708 && x <= 709) {
		return math.Exp(x)
	}
	kf := x*invLn2By32 + shifter
	n := int64(math.Float64bits(kf)) // the low bits: round(x·32/ln 2) in two's complement
	kf -= shifter
	r := (x - kf*ln2By32Hi) - kf*ln2By32Lo
	r2 := r * r
	q := r + (r2*(0.5+r*(1.0/6)) + r2*r2*((1.0/24)+r*(1.0/120)+r2*(1.0/720))) // e^r − 1
	m := int64(int32(n)) >> 5                                                 // ⌊n/32⌋
	t := exp2By32[n&31]
	return (t + t*q) * math.Float64frombits(uint64(m+1023)<<52)
}
