package fusion

import (
	"context"
	"math"
	"testing"

	"gonum.org/v1/gonum/mathext"
)

// twoRows is a 2-row, 3-block probs frame for checking combination formulas.
// The frame holds the probabilities as float32 (the formulas checked against
// them are within float32Tol).
func twoRows(k int, probs [][]float64, present [][]bool) *Inputs {
	f := &Frame{Rows: 2, Classes: k, Label: []int32{0, 1}, Train: []bool{true, true}}
	in := &Inputs{Frame: f}
	for b := range probs {
		p32 := make([]float32, len(probs[b]))
		for i, v := range probs[b] {
			p32[i] = float32(v)
		}
		f.Blocks = append(f.Blocks, Block{Name: string(rune('a' + b)), Kind: Probs, Width: k, Values: p32, Present: present[b]})
		in.Unimodal = append(in.Unimodal, p32)
		in.OOF = append(in.OOF, p32)
	}
	return in
}

func predict(t *testing.T, cfg Config, in *Inputs) []float64 {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Fit(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	out := make([]float64, in.Rows*in.Classes)
	if err := s.Predict(context.Background(), in, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// float32Tol is how far a result may be from a formula over the inputs as
// written in a test (float64 literals) when the frame holds them as float32:
// each input is off by up to 2^-24 of itself.
const float32Tol = 1e-7

func near(t *testing.T, what string, got, want []float64) {
	t.Helper()
	for i := range want {
		if differ(got[i], want[i], float32Tol) {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
	}
}

func TestLateCombinationRules(t *testing.T) {
	// Row 0 has all three blocks; row 1 only a and c.
	in := twoRows(2,
		[][]float64{{0.8, 0.2, 0.6, 0.4}, {0.3, 0.7, 0.5, 0.5}, {0.6, 0.4, 0.1, 0.9}},
		[][]bool{{true, true}, {true, false}, {true, true}})
	norm := func(a, b float64) []float64 { return []float64{a / (a + b), b / (a + b)} }
	tests := []struct {
		cfg  Config
		row0 []float64
		row1 []float64
	}{
		{Config{Type: "late-mean"}, []float64{1.7 / 3, 1.3 / 3}, []float64{0.35, 0.65}},
		{Config{Type: "late-max"}, norm(0.8, 0.7), norm(0.6, 0.9)},
		{Config{Type: "late-product"}, norm(0.8*0.3*0.6, 0.2*0.7*0.4), norm(0.6*0.1, 0.4*0.9)},
		{Config{Type: "late-geomean"}, norm(math.Cbrt(0.8*0.3*0.6), math.Cbrt(0.2*0.7*0.4)), norm(math.Sqrt(0.06), math.Sqrt(0.36))},
		// P(negative) = Π(1 − p_m(positive)): row 0 (1−.2)(1−.7)(1−.4), row 1 (1−.4)(1−.9).
		{Config{Type: "noisy-or"}, []float64{0.8 * 0.3 * 0.6, 1 - 0.8*0.3*0.6}, []float64{0.6 * 0.1, 1 - 0.06}},
		{Config{Type: "late-weighted", Weights: map[string]float64{"a": 2, "b": 1, "c": 0}}, []float64{1.9 / 3, 1.1 / 3}, []float64{0.6, 0.4}},
		// Votes: row 0 is a:0, b:1, c:0 → 2/3 for class 0; row 1 is a:0, c:1, a tie.
		{Config{Type: "vote"}, []float64{2.0 / 3, 1.0 / 3}, []float64{0.5, 0.5}},
		// tie_rule mean adds half the mean probability, (0.35, 0.65) in row 1, to the
		// votes (1, 1) before normalising: class 1 wins the tie.
		{Config{Type: "vote", TieRule: "mean"}, []float64{(2 + 0.5*1.7/3) / 3.5, (1 + 0.5*1.3/3) / 3.5}, []float64{(1 + 0.5*0.35) / 2.5, (1 + 0.5*0.65) / 2.5}},
	}
	for _, tc := range tests {
		name := tc.cfg.Type + tc.cfg.TieRule
		tc.cfg.Name = name
		t.Run(name, func(t *testing.T) {
			out := predict(t, tc.cfg, in)
			near(t, "row 0", out[:2], tc.row0)
			near(t, "row 1", out[2:], tc.row1)
		})
	}
}

func TestLearnedWeightsIgnoreANoiseModality(t *testing.T) {
	f := suiteFrame(400, 3, 9)
	in := suiteInputs(t, f)
	// Replace block p's probabilities by uniform noise unrelated to the label.
	for i := 0; i < f.Rows; i++ {
		for c := 0; c < 3; c++ {
			in.Unimodal[2][i*3+c], in.OOF[2][i*3+c] = 1.0/3, 1.0/3
		}
		in.Unimodal[2][i*3+int(f.KeyHash[i]%3)] += 0.3
		in.OOF[2][i*3+int(f.KeyHash[i]%3)] += 0.3
	}
	s, _ := New(Config{Name: "w", Type: "late-weighted"})
	if err := s.Fit(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	w := s.Artifact().Params.(*lateParams).Weights
	if !(w[2] < w[0] && w[2] < w[1]) || differ(w[0]+w[1]+w[2], 1, 1e-12) {
		t.Errorf("weights %v: the noise modality should weigh least, and they should sum to 1", w)
	}
}

func TestCalibrators(t *testing.T) {
	// Over-confident binary probabilities: the truth is the square root's.
	var p []float64
	var y []int32
	for i := 0; i < 2000; i++ {
		q := 0.05 + 0.9*float64(i%100)/99 // true P(class 1)
		label := int32(0)
		if float64((i*7919)%1000)/1000 < q {
			label = 1
		}
		over := q * q / (q*q + (1-q)*(1-q)) // sharpened: logit doubled
		p = append(p, 1-over, over)
		y = append(y, label)
	}
	logLoss := func(c *Calibrator) float64 {
		s, out := 0.0, make([]float64, 2)
		for i, label := range y {
			c.Apply(p[2*i:2*i+2], out)
			s -= math.Log(out[label])
		}
		return s / float64(len(y))
	}
	temp, _ := fitCalibrator("temperature", p, y, 2)
	platt, _ := fitCalibrator("platt", p, y, 2)
	if !(temp.T > 1.5 && temp.T < 2.5) {
		t.Errorf("temperature %v, want about 2 (the logits were doubled)", temp.T)
	}
	if !(platt.A > 0.35 && platt.A < 0.65) {
		t.Errorf("platt slope %v, want about 0.5", platt.A)
	}
	if !(logLoss(temp) < logLoss(nil) && logLoss(platt) < logLoss(nil)) {
		t.Errorf("calibration did not lower the log loss: none %v, temperature %v, platt %v", logLoss(nil), logLoss(temp), logLoss(platt))
	}
	if _, err := fitCalibrator("platt", make([]float64, 6), make([]int32, 2), 3); err == nil {
		t.Error("platt on three classes succeeded")
	}
}

func TestDempsterByHand(t *testing.T) {
	// Two opinions over 2 classes: b1 = (0.6, 0.2), u1 = 0.2; b2 = (0.5, 0.1), u2 = 0.4.
	b, u := dempster([]float64{0.6, 0.2}, 0.2, []float64{0.5, 0.1}, 0.4)
	conflict := 0.6*0.1 + 0.2*0.5
	wantB0 := (0.6*0.5 + 0.6*0.4 + 0.5*0.2) / (1 - conflict)
	wantB1 := (0.2*0.1 + 0.2*0.4 + 0.1*0.2) / (1 - conflict)
	near(t, "belief", b, []float64{wantB0, wantB1})
	if differ(u, 0.08/(1-conflict), 1e-12) || differ(b[0]+b[1]+u, 1, 1e-12) {
		t.Errorf("uncertainty %v; belief and uncertainty must sum to 1", u)
	}
}

func TestTrigamma(t *testing.T) {
	for _, x := range []float64{0.1, 0.5, 1, 2.5, 7, 40} {
		h := 1e-5 * x
		numeric := (mathext.Digamma(x+h) - mathext.Digamma(x-h)) / (2 * h)
		// gonum's digamma is accurate to about 1e-8, so its difference quotient to ~1e-5.
		if math.Abs(trigamma(x)-numeric) > 1e-5*math.Max(1, trigamma(x)) {
			t.Errorf("trigamma(%v) = %v, numerical derivative of digamma %v", x, trigamma(x), numeric)
		}
	}
	if differ(trigamma(1), math.Pi*math.Pi/6, 1e-12) {
		t.Errorf("trigamma(1) = %v, want π²/6", trigamma(1))
	}
}

func TestEvidentialUncertaintyGrowsWithMissingModalities(t *testing.T) {
	f := suiteFrame(300, 3, 4)
	in := suiteInputs(t, f)
	s, _ := New(Config{Name: "e", Type: "evidential"})
	if err := s.Fit(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	probs := make([]float64, f.Rows*3)
	u := make([]float64, f.Rows)
	if err := s.(UncertaintyPredictor).PredictUncertainty(context.Background(), in, probs, u); err != nil {
		t.Fatal(err)
	}
	// Mean uncertainty by how many blocks are present: combining opinions can only
	// shrink the uncertainty mass (u = u¹u²/(1−C) ≤ min(u¹, u²) when C is small).
	sum, n := make([]float64, 4), make([]float64, 4)
	for i := 0; i < f.Rows; i++ {
		c := 0
		for b := range f.Blocks {
			if f.Blocks[b].Present[i] {
				c++
			}
		}
		if u[i] <= 0 || u[i] > 1 {
			t.Fatalf("row %d: uncertainty %v", i, u[i])
		}
		sum[c] += u[i]
		n[c]++
	}
	if !(sum[1]/n[1] > sum[3]/n[3]) {
		t.Errorf("mean uncertainty with one modality %v, with three %v", sum[1]/n[1], sum[3]/n[3])
	}
}
