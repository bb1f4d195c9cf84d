package fusion

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mathext"
)

// The evidential strategy recomputed from its definitions (Han et al., ICLR 2021,
// as the type's comment states them): the loss, its gradient, trigamma, the
// standardisation, the reduced Dempster's rule and the fused opinion.

// evidentialLoss is the loss written out from the formulas: per row, with
// α = softplus(W·x + b) + 1 and S = Σα,
//
//	ψ(S) − ψ(α_y) + λ·[lnΓ(Σα̃) − lnΓ(K) − Σ lnΓ(α̃_k) + Σ (α̃_k − 1)(ψ(α̃_k) − ψ(Σα̃))]
//
// with α̃ = α except α̃_y = 1; averaged, plus ‖W‖²/(2Cn).
func evidentialLoss(theta, X []float64, labels []int, k, d int, lambda, c float64) float64 {
	n := len(labels)
	total := 0.0
	for r, y := range labels {
		alpha := make([]float64, k)
		for kk := 0; kk < k; kk++ {
			z := theta[k*d+kk]
			for j := 0; j < d; j++ {
				z += theta[kk*d+j] * X[r*d+j]
			}
			alpha[kk] = math.Log1p(math.Exp(z)) + 1
		}
		S := 0.0
		for _, a := range alpha {
			S += a
		}
		loss := mathext.Digamma(S) - mathext.Digamma(alpha[y])
		tilde := append([]float64(nil), alpha...)
		tilde[y] = 1
		St := 0.0
		for _, a := range tilde {
			St += a
		}
		kl, _ := math.Lgamma(St)
		lgK, _ := math.Lgamma(float64(k))
		kl -= lgK
		for _, a := range tilde {
			lg, _ := math.Lgamma(a)
			kl += -lg + (a-1)*(mathext.Digamma(a)-mathext.Digamma(St))
		}
		total += loss + lambda*kl
	}
	reg := 0.0
	for j := 0; j < k*d; j++ {
		reg += theta[j] * theta[j]
	}
	return total/float64(n) + reg/(2*c*float64(n))
}

func TestEvidentialObjectiveAndGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n, k, d = 9, 4, 3
	X := make([]float64, n*d)
	for i := range X {
		X[i] = rng.NormFloat64()
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = rng.IntN(k)
	}
	for _, tc := range []struct{ lambda, c float64 }{{0.7, 2}, {1, 1}, {0, 0.5}} {
		theta := make([]float64, k*d+k)
		for i := range theta {
			theta[i] = rng.NormFloat64()
		}
		m := &evidentialModel{Dim: d}
		obj := evidentialObjective(m, X, labels, k, tc.lambda, tc.c)
		grad := make([]float64, len(theta))
		got := obj(theta, grad)
		want := evidentialLoss(theta, X, labels, k, d, tc.lambda, tc.c)
		// The formulas use gonum's Digamma, accurate to about 1e-11 (the fit's
		// gammaFns is checked against exact values to 1e-13: TestGammaFns).
		if differ(got, want, 1e-10*math.Abs(want)) {
			t.Errorf("λ=%v C=%v: loss %v, from the formulas %v", tc.lambda, tc.c, got, want)
		}
		for j := range theta {
			const h = 1e-6
			up, down := append([]float64(nil), theta...), append([]float64(nil), theta...)
			up[j] += h
			down[j] -= h
			fd := (evidentialLoss(up, X, labels, k, d, tc.lambda, tc.c) - evidentialLoss(down, X, labels, k, d, tc.lambda, tc.c)) / (2 * h)
			if differ(grad[j], fd, 1e-6*(1+math.Abs(fd))) {
				t.Errorf("λ=%v C=%v: ∂/∂θ%d = %v, finite difference %v", tc.lambda, tc.c, j, grad[j], fd)
			}
		}
		if v := obj(theta, nil); v != got {
			t.Errorf("the loss without the gradient %v differs from with it %v", v, got)
		}
		again := append([]float64(nil), grad...)
		obj(theta, again) // a reused buffer: the gradient is written afresh
		for j := range again {
			if again[j] != grad[j] {
				t.Fatalf("a second evaluation into the same buffer gave ∂/∂θ%d = %v, first %v", j, again[j], grad[j])
			}
		}
	}
}

func TestTrigammaValues(t *testing.T) {
	for _, c := range []struct{ x, want float64 }{
		{1, math.Pi * math.Pi / 6}, {0.5, math.Pi * math.Pi / 2}, {2, math.Pi*math.Pi/6 - 1}, {3, math.Pi*math.Pi/6 - 1 - 0.25},
	} {
		if got := trigamma(c.x); differ(got, c.want, 1e-12) {
			t.Errorf("trigamma(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	for _, x := range []float64{0.1, 7.3, 10, 12.5, 40, 1e3} {
		const h = 1e-5
		fd := (mathext.Digamma(x+h) - mathext.Digamma(x-h)) / (2 * h)
		if got := trigamma(x); differ(got, fd, 1e-6*fd) {
			t.Errorf("trigamma(%v) = %v, ψ's derivative %v", x, got, fd)
		}
	}
}

// The reduced Dempster's rule on two worked opinions over two classes:
// b¹ = (0.5, 0.2), u¹ = 0.3; b² = (0.1, 0.6), u² = 0.3.
// C = 0.5·0.6 + 0.2·0.1 = 0.32; b = (0.05 + 0.15 + 0.03, 0.12 + 0.06 + 0.18)/0.68;
// u = 0.09/0.68.
func TestDempsterWorked(t *testing.T) {
	b, u := dempster([]float64{0.5, 0.2}, 0.3, []float64{0.1, 0.6}, 0.3)
	want := []float64{0.23 / 0.68, 0.36 / 0.68}
	if differ(b[0], want[0], 1e-15) || differ(b[1], want[1], 1e-15) || differ(u, 0.09/0.68, 1e-15) {
		t.Errorf("b = %v, u = %v; want %v, %v", b, u, want, 0.09/0.68)
	}
	if s := b[0] + b[1] + u; differ(s, 1, 1e-15) {
		t.Errorf("belief and uncertainty sum to %v", s)
	}
}

// A fitted evidential strategy: standardisation from the training rows, a
// stationary point of its loss, and predictions that are the opinions of the
// present modalities combined by the rule, row by row.
func TestEvidentialFitAndPredictByHand(t *testing.T) {
	f := suiteFrame(240, 3, 11)
	in := suiteInputs(t, f)
	s, err := New(Config{Name: "ev", Type: "evidential", Lambda: 0.5, C: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Fit(ctx, in); err != nil {
		t.Fatal(err)
	}
	ev := s.(*evidential)
	k := f.Classes
	for j, name := range ev.p.Blocks {
		blk := f.Blocks[slicesIndex(f, name)]
		m := ev.p.Models[j]
		rows := f.TrainRows(blk.Present)
		// Mean and population standard deviation of the (log) features.
		for c := 0; c < blk.Width; c++ {
			var sum, sq float64
			for _, i := range rows {
				v := float64(blk.Row(i)[c])
				if blk.Kind == Probs {
					v = math.Log(max(v, probFloor))
				}
				sum += v
				sq += v * v
			}
			mean := sum / float64(len(rows))
			sd := math.Sqrt(max(sq/float64(len(rows))-mean*mean, 0))
			if sd < 1e-12 {
				sd = 1
			}
			if differ(m.Mean[c], mean, 1e-9) || differ(m.Scale[c], sd, 1e-9) {
				t.Errorf("%s feature %d: mean %v scale %v, want %v %v", name, c, m.Mean[c], m.Scale[c], mean, sd)
			}
		}
		// The fit stopped where the gradient vanishes.
		X := make([]float64, len(rows)*m.Dim)
		labels := make([]int, len(rows))
		for r, i := range rows {
			m.features(&blk, i, X[r*m.Dim:(r+1)*m.Dim])
			labels[r] = int(f.Label[i])
		}
		theta := append(append([]float64(nil), m.Weights...), m.Bias...)
		grad := make([]float64, len(theta))
		probe := &evidentialModel{Dim: m.Dim}
		evidentialObjective(probe, X, labels, k, 0.5, 2)(theta, grad)
		norm := 0.0
		for _, g := range grad {
			norm = max(norm, math.Abs(g))
		}
		if norm > 1e-4 {
			t.Errorf("%s: the fitted parameters leave a gradient of %v", name, norm)
		}
	}
	probs := make([]float64, f.Rows*k)
	unc := make([]float64, f.Rows)
	uncertain := s.(UncertaintyPredictor)
	if err := uncertain.PredictUncertainty(ctx, in, probs, unc); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < f.Rows; i++ {
		var b []float64
		u := 1.0
		for j, name := range ev.p.Blocks {
			blk := f.Blocks[slicesIndex(f, name)]
			if !blk.Present[i] {
				continue
			}
			m := ev.p.Models[j]
			x := make([]float64, m.Dim)
			for c, r := range blk.Row(i) {
				v := float64(r)
				if blk.Kind == Probs {
					v = math.Log(max(v, probFloor))
				}
				x[c] = (v - m.Mean[c]) / m.Scale[c]
			}
			S := float64(k)
			e := make([]float64, k)
			for c := range e {
				z := m.Bias[c]
				for q := range x {
					z += m.Weights[c*m.Dim+q] * x[q]
				}
				e[c] = math.Log1p(math.Exp(z))
				S += e[c]
			}
			b2 := make([]float64, k)
			for c := range e {
				b2[c] = e[c] / S
			}
			u2 := float64(k) / S
			if b == nil {
				b, u = b2, u2
				continue
			}
			conflict := 0.0
			for p := range b {
				for q := range b2 {
					if p != q {
						conflict += b[p] * b2[q]
					}
				}
			}
			nb := make([]float64, k)
			for c := range nb {
				nb[c] = (b[c]*b2[c] + b[c]*u2 + b2[c]*u) / (1 - conflict)
			}
			b, u = nb, u*u2/(1-conflict)
		}
		if b == nil {
			continue
		}
		S := float64(k) / u
		for c := 0; c < k; c++ {
			if want := (b[c]*S + 1) / S; differ(probs[i*k+c], want, 1e-9) {
				t.Fatalf("row %d class %d: %v, by hand %v", i, c, probs[i*k+c], want)
			}
		}
		if differ(unc[i], u, 1e-12) {
			t.Fatalf("row %d: uncertainty %v, by hand %v", i, unc[i], u)
		}
	}
}
