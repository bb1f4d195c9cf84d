package eval

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// ECE worked by hand, with top-class probabilities on bin edges. Bins are
// (i/15, (i+1)/15], the first closed: 0.6 = 9/15 closes bin 8, 0.8 = 12/15 closes
// bin 11. Rows (top probability, correct?):
//
//	bin  8: 0.55 ✓, 0.6 ✓       acc 1,   conf 0.575  → 2 × 0.425 = 0.85
//	bin 10: 0.7 ✗               acc 0,   conf 0.7    → 1 × 0.7   = 0.7
//	bin 11: 0.8 ✗               acc 0,   conf 0.8    → 1 × 0.8   = 0.8
//	bin 13: 0.9 ✗               acc 0,   conf 0.9    → 1 × 0.9   = 0.9
//	bin 14: 0.95 ✓, 1.0 ✓       acc 1,   conf 0.975  → 2 × 0.025 = 0.05
//
// ECE = (0.85 + 0.7 + 0.8 + 0.9 + 0.05) / 7 rows = 3.3 / 7.
func TestECEHandWorked(t *testing.T) {
	rows := []struct {
		top     float64
		correct bool
	}{
		{0.55, true}, {0.6, true}, {0.7, false}, {0.8, false}, {0.9, false}, {0.95, true}, {1.0, true}, {0.5999999, true},
	}
	var c Calibration
	for _, r := range rows[:7] {
		label := 0
		if !r.correct {
			label = 1
		}
		c.Add([]float64{r.top, 1 - r.top}, label)
	}
	ece, bins := c.Result()
	// One more row just below the edge, 0.5999999, also falls in bin 8.
	c.Add([]float64{rows[7].top, 1 - rows[7].top}, 0)
	ece8, bins8 := c.Result()
	want := 3.3 / 7
	if differ(ece, want, 1e-12) {
		t.Errorf("ECE %v, want %v", ece, want)
	}
	wantRows := map[int]int64{8: 2, 10: 1, 11: 1, 13: 1, 14: 2}
	for b, bin := range bins {
		if bin.Rows != wantRows[b] {
			t.Errorf("bin %d (%.4f, %.4f] holds %d rows, want %d", b, bin.Lo, bin.Hi, bin.Rows, wantRows[b])
		}
	}
	if bins8[8].Rows != 3 {
		t.Errorf("0.5999999 is in a bin other than 8")
	}
	// bin 8 is now acc 1 with conf (0.55+0.6+0.5999999)/3.
	conf8 := (0.55 + 0.6 + 0.5999999) / 3
	want8 := (3*(1-conf8) + 0.7 + 0.8 + 0.9 + 0.05) / 8
	if differ(ece8, want8, 1e-12) {
		t.Errorf("ECE with 8 rows %v, want %v", ece8, want8)
	}
	var empty Calibration
	if e, _ := empty.Result(); !math.IsNaN(e) {
		t.Errorf("ECE of no rows %v, want NaN", e)
	}
}

// Each verdict rule: helped when the whole interval is above zero, hurt when it
// is below, inconclusive when it contains zero — and the McNemar counts behind it.
func TestVerdictRules(t *testing.T) {
	const r = 200
	weights := func(seed int) []uint8 {
		w := make([]uint8, r)
		for i := range w {
			w[i] = uint8((seed*7 + i*13) % 3) // 0, 1 or 2: bootstrap-like, varied
		}
		return w
	}
	tests := []struct {
		name              string
		onlyA, onlyB, tie int
		want              string
	}{
		{"helped", 60, 5, 200, "helped"},
		{"hurt", 4, 70, 200, "hurt"},
		{"inconclusive", 20, 20, 200, "inconclusive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPaired(r)
			row := 0
			add := func(n int, a, b bool) {
				for i := 0; i < n; i++ {
					p.Add(weights(row), a, b)
					row++
				}
			}
			add(tc.onlyA, true, false)
			add(tc.onlyB, false, true)
			add(tc.tie, true, true)
			c := p.Result("u")
			if c.Verdict != tc.want {
				t.Fatalf("verdict %q with interval [%v, %v], want %q", c.Verdict, c.Interval.Low, c.Interval.High, tc.want)
			}
			switch tc.want {
			case "helped":
				if !(c.Interval.Low > 0) {
					t.Errorf("helped with interval low %v", c.Interval.Low)
				}
			case "hurt":
				if !(c.Interval.High < 0) {
					t.Errorf("hurt with interval high %v", c.Interval.High)
				}
			default:
				if !(c.Interval.Low <= 0 && c.Interval.High >= 0) {
					t.Errorf("inconclusive with interval [%v, %v]", c.Interval.Low, c.Interval.High)
				}
			}
			n := float64(tc.onlyA + tc.onlyB + tc.tie)
			if c.OnlyStrategy != int64(tc.onlyA) || c.OnlyBaseline != int64(tc.onlyB) || math.Abs(c.Difference-float64(tc.onlyA-tc.onlyB)/n) > 1e-15 {
				t.Errorf("counts %d/%d difference %v", c.OnlyStrategy, c.OnlyBaseline, c.Difference)
			}
			if want := McNemarExact(int64(tc.onlyA), int64(tc.onlyB)); c.McNemarP != want {
				t.Errorf("McNemar p %v, want %v", c.McNemarP, want)
			}
			sentence := c.words("s", "train")
			phrase := map[string]string{"helped": "fusion helped: better", "hurt": "fusion hurt: worse", "inconclusive": "fusion cannot be told apart"}[tc.want]
			if !strings.Contains(sentence, phrase) {
				t.Errorf("verdict sentence %q lacks %q", sentence, phrase)
			}
		})
	}
}

// differ reports whether got is not want within tol. A NaN equals only a NaN:
// math.Abs(NaN-want) > tol is false, so a plain comparison lets a metric that
// became NaN pass.
func differ(got, want, tol float64) bool {
	if math.IsNaN(got) || math.IsNaN(want) {
		return math.IsNaN(got) != math.IsNaN(want)
	}
	return math.Abs(got-want) > tol
}

// The fixed-point sum: exact for terms on its grid, the same bits in any order
// and grouping, NaN for a term it cannot hold.
func TestFixedSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	xs := make([]float64, 5000)
	for i := range xs {
		xs[i] = rng.ExpFloat64() * []float64{1e-9, 1, 30}[i%3]
	}
	var whole fixedSum
	for _, x := range xs {
		whole.add(x)
	}
	for trial := 0; trial < 20; trial++ {
		perm := rng.Perm(len(xs))
		var parts [7]fixedSum
		for _, i := range perm {
			parts[rng.IntN(7)].add(xs[i])
		}
		var merged fixedSum
		for _, p := range rng.Perm(7) {
			merged.merge(parts[p])
		}
		if merged != whole {
			t.Fatalf("shuffled and regrouped: %+v, whole %+v", merged, whole)
		}
	}
	// Exact where a float sum is not: 2⁵ + 2⁻⁵⁶ … on the grid.
	var a fixedSum
	a.add(32)
	for i := 0; i < 1024; i++ {
		a.add(math.Ldexp(1, -56))
	}
	if got, want := a.value(), 32+math.Ldexp(1, -46); got != want {
		t.Errorf("32 + 1024·2⁻⁵⁶ = %v, want %v", got, want)
	}
	// Weighted adds are repeated adds; big sums carry into the high word.
	var w, r fixedSum
	q, ok := quantize(33.25)
	for i := 0; i < 3; i++ {
		w.addQuantized(q, ok, 255)
	}
	for i := 0; i < 765; i++ {
		r.add(33.25)
	}
	if w != r || w.value() != 765*33.25 {
		t.Errorf("weighted %+v (%v), repeated %+v", w, w.value(), r)
	}
	var big fixedSum
	for i := 0; i < 300; i++ {
		big.addQuantized(1<<62-1, true, 255)
	}
	if big.hi == 0 || differ(big.value(), 300*255*float64(1<<62-1)/fixedScale, 1) {
		t.Errorf("no carry into the high word: %+v", big)
	}
	for _, bad := range []float64{math.NaN(), -1e-300, 64, math.Inf(1)} {
		var s fixedSum
		s.add(1)
		s.add(bad)
		if !math.IsNaN(s.value()) {
			t.Errorf("a sum with the term %v is %v, want NaN", bad, s.value())
		}
	}
	var ll LogLoss
	var br Brier
	if !math.IsNaN(ll.Result()) || !math.IsNaN(br.Result()) {
		t.Error("log loss and Brier of no rows must be NaN")
	}
}

// quantize rounds as math.Round(x·2⁵⁶) does, half away from zero: random terms
// over the whole range, exact halves (x = (2k+1)·2⁻⁵⁷), the neighbours of halves
// and of integers, and the ends.
func TestQuantizeRounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	check := func(x float64) {
		t.Helper()
		q, ok := quantize(x)
		if want := uint64(math.Round(x * fixedScale)); !ok || q != want {
			t.Fatalf("quantize(%v) = %d, %v; math.Round gives %d", x, q, ok, want)
		}
	}
	for range 200000 {
		x := math.Ldexp(rng.Float64(), -rng.IntN(64)) * 64
		if x < 64 {
			check(x)
		}
		half := math.Ldexp(float64(2*rng.Uint64N(1<<52)+1), -57-rng.IntN(8))
		for _, v := range []float64{half, math.Nextafter(half, 0), math.Nextafter(half, 1)} {
			check(v)
		}
		whole := math.Ldexp(float64(rng.Uint64N(1<<40)), -56)
		check(whole)
		check(math.Nextafter(whole, 1))
	}
	for _, x := range []float64{0, math.SmallestNonzeroFloat64, math.Ldexp(1, -57), math.Ldexp(1, -56), math.Nextafter(64, 0)} {
		check(x)
	}
	for _, x := range []float64{-1, 64, math.NaN(), math.Inf(1)} {
		if _, ok := quantize(x); ok {
			t.Errorf("quantize(%v) accepted", x)
		}
	}
}

// Calibration's bin, ⌈15p⌉ − 1 clamped, is math.Ceil's on every edge: p at and
// next to i/15 (their products exact or not), 0, −0, 1, outside [0, 1], ±Inf
// and NaN, and random probabilities.
func TestCalibrationBinIsCeil(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	ps := []float64{0, math.Copysign(0, -1), 1, -0.5, 1.5, 16, math.Inf(1), math.Inf(-1), math.NaN(), math.SmallestNonzeroFloat64}
	for i := 0; i <= CalibrationBins; i++ {
		e := float64(i) / CalibrationBins
		ps = append(ps, e, math.Nextafter(e, 0), math.Nextafter(e, 2))
	}
	for range 100000 {
		ps = append(ps, rng.Float64())
	}
	for _, p := range ps {
		var got Calibration
		got.addPredicted(p, 0, 0)
		want := min(max(int(math.Ceil(p*CalibrationBins))-1, 0), CalibrationBins-1)
		if got.Count[want] != 1 {
			t.Fatalf("p %v: counted in %v, want bin %d", p, got.Count, want)
		}
	}
}
