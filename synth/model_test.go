package synth

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The model's fixed parts are what the truth assumes: unit class means (drifted
// ones too, moved by the drift), a projection with orthonormal columns, features
// whose projection back is exactly the signal (the rest is noise orthogonal to
// it), and probabilities that are the Bayes posterior π_c·exp(s·μ_cᵀz), normalised.
func TestModelParts(t *testing.T) {
	sc, err := Parse([]byte(`
name: m
entities: 10
classes: 4
priors: [4, 3, 2, 1]
latent: 6
modalities:
  - {name: e, kind: embedding, dim: 17, separation: 1.3, drift: 0.7, noise: 2}
  - {name: p, kind: probs, separation: 0.9}
`), "m")
	if err != nil {
		t.Fatal(err)
	}
	md := newModel(sc)
	L := sc.Latent
	norm := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x * x
		}
		return math.Sqrt(s)
	}
	for m := range sc.Modalities {
		for c := 0; c < sc.Classes; c++ {
			mu, dr := md.means[m][c*L:(c+1)*L], md.drifted[m][c*L:(c+1)*L]
			if math.Abs(norm(mu)-1) > 1e-12 || math.Abs(norm(dr)-1) > 1e-12 {
				t.Fatalf("modality %d class %d: |μ| = %v, |μ drifted| = %v", m, c, norm(mu), norm(dr))
			}
			moved := 0.0
			for j := range mu {
				moved += (mu[j] - dr[j]) * (mu[j] - dr[j])
			}
			if drift := sc.Modalities[m].Drift; (drift == 0) != (moved == 0) {
				t.Errorf("modality %d class %d: drift %v moved the mean by %v", m, c, drift, math.Sqrt(moved))
			}
		}
	}
	P, D := md.proj[0], sc.Modalities[0].Dim
	for a := 0; a < L; a++ {
		for b := 0; b < L; b++ {
			dot := 0.0
			for r := 0; r < D; r++ {
				dot += P[r*L+a] * P[r*L+b]
			}
			want := 0.0
			if a == b {
				want = 1
			}
			if math.Abs(dot-want) > 1e-12 {
				t.Fatalf("PᵀP[%d][%d] = %v, want %v", a, b, dot, want)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	z := make([]float64, L)
	for j := range z {
		z[j] = rng.NormFloat64()
	}
	x, g := make([]float64, D), make([]float64, D)
	md.features(rng, 0, z, x, g)
	noise := 0.0
	for c := 0; c < L; c++ {
		back := 0.0
		for r := 0; r < D; r++ {
			back += P[r*L+c] * x[r]
		}
		if math.Abs(back-z[c]) > 1e-9 {
			t.Errorf("Pᵀx[%d] = %v, the signal is %v", c, back, z[c])
		}
	}
	for r := 0; r < D; r++ {
		px := 0.0
		for c := 0; c < L; c++ {
			px += P[r*L+c] * z[c]
		}
		noise += (x[r] - px) * (x[r] - px)
	}
	// The noise lives in D−L dimensions with standard deviation 2 (noise: 2).
	if n := math.Sqrt(noise / float64(D-L)); n < 1 || n > 3.5 {
		t.Errorf("noise of %v per dimension, the scenario says 2", n)
	}
	probs := make([]float64, sc.Classes)
	md.posterior(1, z, probs)
	want, total := make([]float64, sc.Classes), 0.0
	for c := range want {
		dot := 0.0
		for j := 0; j < L; j++ {
			dot += md.means[1][c*L+j] * z[j]
		}
		want[c] = sc.Priors[c] * math.Exp(sc.Modalities[1].Separation*dot)
		total += want[c]
	}
	for c := range want {
		if math.Abs(probs[c]-want[c]/total) > 1e-12 {
			t.Errorf("posterior %v, want %v", probs, want)
			break
		}
	}
}
