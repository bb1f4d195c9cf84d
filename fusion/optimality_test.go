package fusion

import (
	"cmp"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
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
		// The fit stops when no gradient component exceeds Tol (default 1e-4).
		if tol := cmp.Or(opts.Tol, 1e-4); worst > tol {
			t.Errorf("%+v: the fit leaves a gradient of %v, more than its tolerance %v", opts, worst, tol)
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
	src := make([][]float32, m)
	skill := []float64{2.5, 1, 0.2}
	for j := 0; j < m; j++ {
		f.Blocks = append(f.Blocks, Block{Name: string(rune('a' + j)), Kind: Probs, Width: k, Values: make([]float32, n*k), Present: make([]bool, n)})
		src[j] = make([]float32, n*k)
	}
	for i := 0; i < n; i++ {
		f.Label[i] = int32(rng.IntN(k))
		f.Train[i] = true
		for j := 0; j < m; j++ {
			f.Blocks[j].Present[i] = rng.Float64() < 0.8
			s, v := 0.0, make([]float64, k)
			for c := 0; c < k; c++ {
				v[c] = rng.Float64()
				if c == int(f.Label[i]) {
					v[c] += skill[j] * rng.Float64()
				}
				s += v[c]
			}
			for c := 0; c < k; c++ {
				src[j][i*k+c] = float32(v[c] / s)
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
					num += w[j] * float64(src[j][i*k+int(f.Label[i])])
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

// Out-of-fold probabilities recomputed: for a features block, each training row
// is predicted by a logistic regression fitted on the training rows of the other
// folds; a probs block is its own out-of-fold prediction; rows outside training
// (or without the block) keep the full model's prediction.
func TestOutOfFoldByHand(t *testing.T) {
	f := suiteFrame(150, 3, 21)
	in := suiteInputs(t, f)
	opts := &LogRegOptions{C: 1}
	oof, err := OutOfFold(context.Background(), f, nil, in.Unimodal, opts, 2)
	if err != nil {
		t.Fatal(err)
	}
	k := f.Classes
	sawFeatures := false
	for b := range f.Blocks {
		blk := &f.Blocks[b]
		if blk.Kind == Probs {
			if &oof[b][0] != &in.Unimodal[b][0] {
				t.Errorf("block %s: a probs block's out-of-fold predictions are not its own", blk.Name)
			}
			continue
		}
		sawFeatures = true
		rows := f.TrainRows(blk.Present)
		want := append([]float32(nil), in.Unimodal[b]...)
		folds, nf, _ := f.StratifiedFolds(rows, Folds)
		if nf != Folds {
			t.Fatalf("block %s: %d folds, want %d", blk.Name, nf, Folds)
		}
		for fold := 0; fold < nf; fold++ {
			var X []float64
			var y []int32
			var held []int
			for j, i := range rows {
				if folds[j] == fold {
					held = append(held, i)
					continue
				}
				X = appendWide(X, blk.Row(i))
				y = append(y, f.Label[i])
			}
			if len(held) == 0 {
				continue
			}
			lr, err := FitLogReg(context.Background(), X, y, blk.Width, k, opts)
			if err != nil {
				t.Fatal(err)
			}
			x, z := make([]float64, blk.Width), make([]float64, k)
			for _, i := range held {
				lr.PredictProba(widen(x, blk.Row(i)), z)
				for c, p := range z {
					want[i*k+c] = float32(p)
				}
			}
		}
		if !bitsEqual(oof[b], want) {
			t.Errorf("block %s: out-of-fold probabilities differ from the folds refitted by hand", blk.Name)
		}
	}
	if !sawFeatures {
		t.Fatal("the fixture has no features block")
	}
}

// Stacking's meta-features: each block's probabilities in block order (zeros
// where absent), then one presence indicator per block.
func TestStackingFeatures(t *testing.T) {
	f := &Frame{Rows: 1, Classes: 2, Label: []int32{0}, Train: []bool{true}, Blocks: []Block{
		{Name: "a", Kind: Probs, Width: 2, Values: []float32{0.3, 0.7}, Present: []bool{true}},
		{Name: "b", Kind: Probs, Width: 2, Values: []float32{0, 0}, Present: []bool{false}},
		{Name: "c", Kind: Probs, Width: 2, Values: []float32{0.9, 0.1}, Present: []bool{true}},
	}}
	src := [][]float32{{0.3, 0.7}, {0.5, 0.5}, {0.9, 0.1}}
	p := &stackParams{Classes: 2}
	dst := []float64{9, 9, 9, 9, 9, 9, 9, 9, 9}
	if !p.features(&Inputs{Frame: f}, src, []int{0, 1, 2}, 0, dst) {
		t.Fatal("a row with two blocks present has no features")
	}
	if want := []float64{float64(float32(0.3)), float64(float32(0.7)), 0, 0, float64(float32(0.9)), float64(float32(0.1)), 1, 0, 1}; !bitsEqual(dst, want) {
		t.Errorf("features %v, want %v", dst, want)
	}
}

// Early fusion's block weights reach the regression as feature weights (the
// presence indicators weigh 1): a block weighted 2 has half the scale.
func TestEarlyBlockWeights(t *testing.T) {
	f := suiteFrame(200, 3, 31)
	in := suiteInputs(t, f)
	var feat string
	for _, b := range f.Blocks {
		if b.Kind != Probs {
			feat = b.Name
		}
	}
	fit := func(weights map[string]float64) *earlyParams {
		s, err := New(Config{Name: "e", Type: "early", BlockWeights: weights})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Fit(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		return s.(*early).params
	}
	plain, weighted := fit(nil), fit(map[string]float64{feat: 2})
	off := 0
	for j, name := range plain.Blocks {
		for c := 0; c < plain.Widths[j]; c++ {
			want := plain.LR.Scale[off+c]
			if name == feat {
				want /= 2
			}
			if differ(weighted.LR.Scale[off+c], want, 1e-12) {
				t.Fatalf("block %s feature %d: scale %v, want %v", name, c, weighted.LR.Scale[off+c], want)
			}
		}
		off += plain.Widths[j]
	}
	if !plain.Indicators {
		t.Fatal("the fixture has no missing blocks: no indicators to check")
	}
	for j := off; j < len(plain.LR.Scale); j++ {
		if weighted.LR.Scale[j] != plain.LR.Scale[j] {
			t.Errorf("indicator %d: scale %v, unweighted %v", j-off, weighted.LR.Scale[j], plain.LR.Scale[j])
		}
	}
}

// The learned-weights objective: its value from the definition, its gradient
// against finite differences, into a reused buffer.
func TestWeightsLossAndGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(40, 41))
	const n, m = 30, 3
	pt := make([]float64, n*m)
	for i := range pt {
		pt[i] = rng.Float64()
		if rng.IntN(5) == 0 {
			pt[i] = math.NaN() // absent
		}
	}
	for j := 0; j < m; j++ {
		pt[7*m+j] = math.NaN() // a row with no modality adds nothing
	}
	loss := weightsLoss(pt, n, m)
	theta := []float64{0.3, -0.7, 1.1}
	value := func(theta []float64) float64 {
		w := append([]float64(nil), theta...)
		softmax(w)
		total := 0.0
		for r := 0; r < n; r++ {
			var num, den float64
			for j := 0; j < m; j++ {
				if v := pt[r*m+j]; !math.IsNaN(v) {
					num += w[j] * v
					den += w[j]
				}
			}
			if den > 0 {
				total -= math.Log(max(num/den, probFloor))
			}
		}
		return total / n
	}
	grad := []float64{5, 5, 5}
	if got, want := loss(theta, grad), value(theta); differ(got, want, 1e-12) {
		t.Errorf("loss %v, from the definition %v", got, want)
	}
	for j := range theta {
		const h = 1e-6
		up, down := append([]float64(nil), theta...), append([]float64(nil), theta...)
		up[j] += h
		down[j] -= h
		fd := (value(up) - value(down)) / (2 * h)
		if differ(grad[j], fd, 1e-7) {
			t.Errorf("∂/∂θ%d = %v, finite difference %v", j, grad[j], fd)
		}
	}
}

// Rank-average's reference values: per block and class, the sorted (calibrated)
// out-of-fold probabilities of the block's training rows, thinned evenly.
func TestRankAverageReferences(t *testing.T) {
	f := suiteFrame(300, 3, 41)
	in := suiteInputs(t, f)
	k := f.Classes
	for _, calibration := range []string{"", "temperature"} {
		s, err := New(Config{Name: "r", Type: "rank-average", Calibration: calibration})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Fit(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		p := s.(*late).p
		for j, name := range p.Blocks {
			b := slicesIndex(f, name)
			rows := f.TrainRows(f.Blocks[b].Present)
			for c := 0; c < k; c++ {
				var vals []float64
				tmp, row := make([]float64, k), make([]float64, k)
				for _, i := range rows {
					p.Calibrators[j].Apply(widen(row, in.OOF[b][i*k:(i+1)*k]), tmp)
					vals = append(vals, tmp[c])
				}
				sort.Float64s(vals)
				if want := thin(vals, rankReference); !bitsEqual(p.Ranks[j][c], want) {
					t.Fatalf("calibration %q, block %s, class %d: %d reference values differ from the recomputed %d", calibration, name, c, len(p.Ranks[j][c]), len(want))
				}
			}
		}
	}
}

// A hybrid without combine: its groups and other modalities are combined by the
// late mean; with one, by that rule.
func TestHybridCombineRule(t *testing.T) {
	for combine, want := range map[string]string{"": "late-mean", "late-product": "late-product"} {
		s, err := New(Config{Name: "h", Type: "hybrid", Combine: combine, Groups: [][]string{{"a", "b"}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.(*hybrid).rule(); got != want {
			t.Errorf("combine %q: rule %q, want %q", combine, got, want)
		}
	}
}

// Stratified folds: within each class, rows in key-hash order are dealt to the
// folds in turn, so every fold holds out its share of every class; fewer folds
// where a class has fewer rows than folds, and a class of one row is named. The folds depend on keys and labels
// only, not on row order.
func TestStratifiedFolds(t *testing.T) {
	frame := func(counts []int) (*Frame, []int) {
		f := &Frame{}
		for c, n := range counts {
			for j := 0; j < n; j++ {
				f.Label = append(f.Label, int32(c))
				f.KeyHash = append(f.KeyHash, uint64(len(f.Label))*0x9e3779b97f4a7c15)
				f.Train = append(f.Train, true)
			}
		}
		f.Rows = len(f.Label)
		return f, f.TrainRows(nil)
	}
	for _, c := range []struct {
		counts []int
		k      int
		small  []int32
	}{
		{[]int{40, 40, 40}, 5, nil},
		{[]int{40, 8, 40}, 5, nil},
		{[]int{40, 4, 40}, 4, nil}, // every fold holds out every class
		{[]int{40, 2, 40}, 2, nil},
		{[]int{40, 1, 40}, 2, []int32{1}},
	} {
		f, rows := frame(c.counts)
		fold, k, small := f.StratifiedFolds(rows, Folds)
		if k != c.k || !slices.Equal(small, c.small) {
			t.Errorf("classes %v: %d folds, small %v; want %d, %v", c.counts, k, small, c.k, c.small)
		}
		for fo := 0; fo < k; fo++ {
			for cls, n := range c.counts {
				held := 0
				for j, i := range rows {
					if fold[j] == fo && int(f.Label[i]) == cls {
						held++
					}
				}
				if held < n/k || held > (n+k-1)/k {
					t.Errorf("classes %v: fold %d holds out %d of class %d's %d rows", c.counts, fo, held, cls, n)
				}
			}
		}
		// The same rows in another frame order get the same folds.
		rev := &Frame{Rows: f.Rows}
		for i := f.Rows - 1; i >= 0; i-- {
			rev.Label, rev.KeyHash, rev.Train = append(rev.Label, f.Label[i]), append(rev.KeyHash, f.KeyHash[i]), append(rev.Train, true)
		}
		rfold, _, _ := rev.StratifiedFolds(rev.TrainRows(nil), Folds)
		for j := range rows {
			if rfold[j] != fold[j] { // both in key-hash order
				t.Fatalf("classes %v: the folds depend on the frame's row order", c.counts)
			}
		}
	}
}
