package fusion

import (
	"math"
	"math/rand/v2"
	"testing"
)

// calibrationData draws n rows of k-class probabilities that are overconfident
// (too sharp): a temperature above 1 and a Platt slope below 1 should fix them.
func calibrationData(n, k int, seed uint64) ([]float64, []int32) {
	rng := rand.New(rand.NewPCG(seed, 3))
	p := make([]float64, n*k)
	y := make([]int32, n)
	for i := 0; i < n; i++ {
		y[i] = int32(rng.IntN(k))
		s := 0.0
		for j := 0; j < k; j++ {
			logit := rng.NormFloat64()
			if int32(j) == y[i] {
				logit += 1
			}
			p[i*k+j] = math.Exp(3 * logit) // three times too sharp
			s += p[i*k+j]
		}
		for j := 0; j < k; j++ {
			p[i*k+j] /= s
		}
	}
	return p, y
}

// The fitted temperature minimises the log loss it was fitted on: the loss,
// computed here from its definition, is no lower a little either side, and its
// derivative in 1/T vanishes.
func TestTemperatureIsTheLogLossMinimum(t *testing.T) {
	const k = 4
	p, y := calibrationData(3000, k, 1)
	c, err := fitCalibrator("temperature", p, y, k)
	if err != nil {
		t.Fatal(err)
	}
	if !(c.T > 1.5 && c.T < 6) {
		t.Fatalf("T = %v for probabilities three times too sharp", c.T)
	}
	loss := func(T float64) float64 {
		s := 0.0
		for i, label := range y {
			var zs []float64
			maxz := math.Inf(-1)
			for j := 0; j < k; j++ {
				z := math.Log(math.Max(p[i*k+j], 1e-15)) / T
				zs = append(zs, z)
				maxz = math.Max(maxz, z)
			}
			sum := 0.0
			for _, z := range zs {
				sum += math.Exp(z - maxz)
			}
			s += maxz + math.Log(sum) - zs[label]
		}
		return s / float64(len(y))
	}
	at := loss(c.T)
	for _, f := range []float64{0.98, 1.02, 0.9, 1.1} {
		if other := loss(c.T * f); other < at-1e-12 {
			t.Errorf("loss at T·%v = %v is below the loss at the fitted T (%v)", f, other, at)
		}
	}
	// Apply matches softmax(log p / T) computed independently.
	out := make([]float64, k)
	c.Apply(p[:k], out)
	sum, want := 0.0, make([]float64, k)
	for j := 0; j < k; j++ {
		want[j] = math.Pow(p[j], 1/c.T)
		sum += want[j]
	}
	for j := range want {
		if differ(out[j], want[j]/sum, 1e-12) {
			t.Errorf("Apply: class %d %v, want %v", j, out[j], want[j]/sum)
		}
	}
}

// Platt scaling's fitted A and B zero the gradient of the (ridged) logistic
// loss, computed here from its definition; Apply is σ(A·logit p + B).
// plattGradient is the gradient of Platt's objective, Σ log(1 + e^z) − y·z with
// z = A·logit p(1) + B, plus the ridge 10⁻⁶·A²/2, written out.
func plattGradient(p []float64, y []int32, a, b float64) (ga, gb float64) {
	for i := range y {
		x := math.Log(p[2*i+1] / (1 - p[2*i+1]))
		q := 1 / (1 + math.Exp(-(a*x + b)))
		ga += (q - float64(y[i])) * x
		gb += q - float64(y[i])
	}
	return ga + 1e-6*a, gb
}

func TestPlattIsTheLogisticOptimum(t *testing.T) {
	p, y := calibrationData(2000, 2, 2)
	c, err := fitCalibrator("platt", p, y, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !(c.A > 0.15 && c.A < 0.7) {
		t.Fatalf("A = %v for probabilities three times too sharp", c.A)
	}
	ga, gb := plattGradient(p, y, c.A, c.B)
	out := make([]float64, 2)
	if n := float64(len(y)); math.Abs(ga) > 1e-8*n || math.Abs(gb) > 1e-8*n { // sums over n rows
		t.Errorf("gradient at the fit: (%v, %v), want 0", ga, gb)
	}
	// Separable data: only the ridge keeps A finite, and the fit is where its
	// gradient balances the data's.
	sp := []float64{0.9, 0.1, 0.8, 0.2, 0.3, 0.7, 0.1, 0.9}
	sy := []int32{0, 0, 1, 1}
	sc, err := fitCalibrator("platt", sp, sy, 2)
	if err != nil {
		t.Fatal(err)
	}
	sa, sb := plattGradient(sp, sy, sc.A, sc.B)
	if !(sc.A > 5) || math.Abs(sa) > 1e-9 || math.Abs(sb) > 1e-9 {
		t.Errorf("separable data: A = %v, gradient (%v, %v)", sc.A, sa, sb)
	}
	// Certain probabilities are clipped to [1e-15, 1 − 1e-15] before the logit.
	for _, certain := range [][]float64{{0, 1}, {1, 0}} {
		c.Apply(certain, out)
		p1 := min(max(certain[1], 1e-15), 1-1e-15)
		want := 1 / (1 + math.Exp(-(c.A*math.Log(p1/(1-p1)) + c.B)))
		if differ(out[1], want, 1e-15) || differ(out[0], 1-want, 1e-15) {
			t.Errorf("Apply(%v) = %v, want [%v %v]", certain, out, 1-want, want)
		}
	}
	c.Apply([]float64{0.3, 0.7}, out)
	want := 1 / (1 + math.Exp(-(c.A*math.Log(0.7/0.3) + c.B)))
	if differ(out[1], want, 1e-12) || differ(out[0], 1-want, 1e-12) {
		t.Errorf("Apply: %v, want [%v %v]", out, 1-want, want)
	}
	if _, err := fitCalibrator("platt", make([]float64, 9), make([]int32, 3), 3); err == nil {
		t.Error("platt on three classes was accepted")
	}
}
