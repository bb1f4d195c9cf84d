package fusion

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// The learned models checked against what they claim to be: optima of objectives
// written out here from their definitions, and their preprocessing recomputed.

// A fitted logistic regression satisfies the optimality conditions of
//
//	(1/n) Σ_i −log p(y_i | x_i) + ‖W‖² / (2Cn)
//
// on standardised features: (1/n) Σ (p − onehot(y)) z + W/(Cn) = 0 for the
// weights and (1/n) Σ (p − onehot(y)) = 0 for the biases, with p from
// PredictProba on the raw rows. Mean and Scale are the features' mean and
// population standard deviation, divided by a feature's weight where given.
func TestLogRegOptimalityAndStandardisation(t *testing.T) {
	const n, dim, k = 300, 4, 3
	X, y := blobs(n, dim, k, 9)
	for j := 0; j < n; j++ {
		X[j*dim+3] = 2.5 // a constant feature
	}
	for _, opts := range []*LogRegOptions{{C: 0.5}, {C: 2, FeatureWeights: []float64{1, 2, 0.5, 1}}, {C: 1, NoStandardize: true}} {
		m, err := FitLogReg(context.Background(), X, y, dim, k, opts)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < dim; j++ {
			var sum, sq float64
			for i := 0; i < n; i++ {
				sum += X[i*dim+j]
			}
			mean := sum / n
			for i := 0; i < n; i++ {
				sq += (X[i*dim+j] - mean) * (X[i*dim+j] - mean)
			}
			sd := math.Sqrt(sq / n)
			if sd < 1e-12 {
				sd = 1
			}
			if opts.NoStandardize {
				mean, sd = 0, 1
			}
			if opts.FeatureWeights != nil {
				sd /= opts.FeatureWeights[j]
			}
			if differ(m.Mean[j], mean, 1e-12) || differ(m.Scale[j], sd, 1e-12) {
				t.Errorf("%+v feature %d: mean %v scale %v, want %v %v", opts, j, m.Mean[j], m.Scale[j], mean, sd)
			}
		}
		gw := make([]float64, k*dim)
		gb := make([]float64, k)
		p := make([]float64, k)
		for i := 0; i < n; i++ {
			m.PredictProba(X[i*dim:(i+1)*dim], p)
			for c := 0; c < k; c++ {
				d := p[c]
				if c == int(y[i]) {
					d--
				}
				gb[c] += d / n
				for j := 0; j < dim; j++ {
					gw[c*dim+j] += d * (X[i*dim+j] - m.Mean[j]) / m.Scale[j] / n
				}
			}
		}
		worst := 0.0
		for c := 0; c < k; c++ {
			worst = max(worst, math.Abs(gb[c]))
			for j := 0; j < dim; j++ {
				worst = max(worst, math.Abs(gw[c*dim+j]+m.Weights[c*dim+j]/(opts.C*n)))
			}
		}
		if worst > 1e-5 {
			t.Errorf("%+v: the fit leaves a gradient of %v", opts, worst)
		}
	}
	if _, err := FitLogReg(context.Background(), X, y, dim, k, &LogRegOptions{FeatureWeights: []float64{1}}); !errors.Is(err, ErrShape) {
		t.Errorf("feature weights of the wrong length: %v", err)
	}
	if m, err := FitLogReg(context.Background(), X, y, dim, k, &LogRegOptions{MaxIter: 1}); err != nil || m.Iter > 1 {
		t.Errorf("MaxIter 1: %d iterations, %v", m.Iter, err)
	}
}

// Learned late-fusion weights minimise the mean log loss of the weighted mean of
// the present modalities' probabilities of the true class, over the simplex:
// moving a little weight towards any modality does not lower it.
func TestLearnedWeightsAreTheSimplexOptimum(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	const n, k, m = 400, 3, 3
	f := &Frame{Rows: n, Classes: k, Label: make([]int32, n), Train: make([]bool, n)}
	src := make([][]float64, m)
	skill := []float64{2.5, 1, 0.2}
	for j := 0; j < m; j++ {
		f.Blocks = append(f.Blocks, Block{Name: string(rune('a' + j)), Kind: Probs, Width: k, Values: make([]float64, n*k), Present: make([]bool, n)})
		src[j] = make([]float64, n*k)
	}
	for i := 0; i < n; i++ {
		f.Label[i] = int32(rng.IntN(k))
		f.Train[i] = true
		for j := 0; j < m; j++ {
			f.Blocks[j].Present[i] = rng.Float64() < 0.8
			s := 0.0
			for c := 0; c < k; c++ {
				v := rng.Float64()
				if c == int(f.Label[i]) {
					v += skill[j] * rng.Float64()
				}
				src[j][i*k+c] = v
				s += v
			}
			for c := 0; c < k; c++ {
				src[j][i*k+c] /= s
			}
		}
	}
	in := &Inputs{Frame: f}
	w, err := learnWeights(context.Background(), in, []int{0, 1, 2}, src, make([]*Calibrator, m))
	if err != nil {
		t.Fatal(err)
	}
	loss := func(w []float64) float64 {
		total, rows := 0.0, 0
		for i := 0; i < n; i++ {
			var num, den float64
			for j := 0; j < m; j++ {
				if f.Blocks[j].Present[i] {
					num += w[j] * src[j][i*k+int(f.Label[i])]
					den += w[j]
				}
			}
			rows++
			if den > 0 {
				total -= math.Log(max(num/den, probFloor))
			}
		}
		return total / float64(rows)
	}
	if s := w[0] + w[1] + w[2]; differ(s, 1, 1e-12) || w[0] <= w[2] {
		t.Fatalf("weights %v", w)
	}
	at := loss(w)
	for j := 0; j < m; j++ {
		moved := make([]float64, m)
		for q := range moved {
			moved[q] = w[q] * (1 - 1e-3)
		}
		moved[j] += 1e-3
		if l := loss(moved); l < at-1e-9 {
			t.Errorf("moving weight towards %d lowers the loss from %v to %v (weights %v)", j, at, l, w)
		}
	}
}

// The mid-rank empirical CDF and the even thinning that rank-average uses.
func TestECDFAndThin(t *testing.T) {
	ref := []float64{1, 2, 2, 3}
	for _, c := range []struct{ x, want float64 }{{2, 0.5}, {0, 0}, {4, 1}, {3, 7.0 / 8}, {1, 1.0 / 8}, {1.5, 0.25}} {
		if got := ecdf(ref, c.x); got != c.want {
			t.Errorf("ecdf(%v, %v) = %v, want %v", ref, c.x, got, c.want)
		}
	}
	if ecdf(nil, 3) != 0.5 {
		t.Error("ecdf of no reference values")
	}
	s := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	if got := thin(s, 4); len(got) != 4 || got[0] != 0 || got[1] != 3 || got[2] != 6 || got[3] != 9 {
		t.Errorf("thin to 4: %v", got)
	}
	if got := thin(s, 10); len(got) != 10 {
		t.Errorf("thin to its length: %v", got)
	}
}

// Which late rules learn from out-of-fold probabilities: calibration (other than
// none), rank-average's reference values, and weights that are not given.
func TestLateNeedsOOF(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want bool
	}{
		{Config{Type: "late-mean"}, false},
		{Config{Type: "late-mean", Calibration: "none"}, false},
		{Config{Type: "late-mean", Calibration: "temperature"}, true},
		{Config{Type: "rank-average"}, true},
		{Config{Type: "late-weighted"}, true},
		{Config{Type: "late-weighted", Weights: map[string]float64{"a": 2}}, false},
		{Config{Type: "vote"}, false},
	} {
		c.cfg.Name = "s"
		s, err := New(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.(OOFUser).NeedsOOF(); got != c.want {
			t.Errorf("%+v: NeedsOOF %v, want %v", c.cfg, got, c.want)
		}
	}
}
