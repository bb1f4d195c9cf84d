package fusion

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// blobs returns n points in dim dimensions around one centre per class.
func blobs(n, dim, classes int, seed uint64) ([]float64, []int32) {
	rng := rand.New(rand.NewPCG(seed, 1))
	X := make([]float64, n*dim)
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(i % classes)
		for j := 0; j < dim; j++ {
			centre := 0.0
			if j%classes == int(y[i]) {
				centre = 3
			}
			X[i*dim+j] = centre + rng.NormFloat64()
		}
	}
	return X, y
}

func TestLogRegLearnsAndIsDeterministic(t *testing.T) {
	X, y := blobs(600, 6, 3, 1)
	m, err := FitLogReg(context.Background(), X, y, 6, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	p := make([]float64, 3)
	for i := range y {
		m.PredictProba(X[i*6:(i+1)*6], p)
		if s := p[0] + p[1] + p[2]; differ(s, 1, 1e-12) {
			t.Fatalf("row %d: probabilities sum to %v", i, s)
		}
		best := 0
		for c := range p {
			if p[c] > p[best] {
				best = c
			}
		}
		if int32(best) == y[i] {
			correct++
		}
	}
	if acc := float64(correct) / float64(len(y)); acc < 0.95 {
		t.Errorf("training accuracy %.3f on separable blobs", acc)
	}
	again, _ := FitLogReg(context.Background(), X, y, 6, 3, nil)
	if !slices.Equal(m.Weights, again.Weights) || !slices.Equal(m.Bias, again.Bias) {
		t.Error("two fits on the same data differ")
	}
}

func TestLogRegConstantFeatures(t *testing.T) {
	X, y := blobs(90, 4, 3, 2)
	for i := 0; i < 90; i++ {
		X[i*4+1] = 7 // zero variance
		X[i*4+2] = 0
	}
	m, err := FitLogReg(context.Background(), X, y, 4, 3, &LogRegOptions{C: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range append(m.Weights, m.Bias...) {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			t.Fatalf("non-finite parameter %v", w)
		}
	}
	if _, err := FitLogReg(context.Background(), nil, nil, 4, 3, nil); !errors.Is(err, ErrNoTrainingRows) {
		t.Errorf("no rows: %v", err)
	}
}

func TestLogRegStopsOnCancel(t *testing.T) {
	X, y := blobs(300, 5, 3, 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := FitLogReg(ctx, X, y, 5, 3, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// frame builds a two-block frame: a probs block and a features block, with some
// rows missing one block and row 3 missing both.
func frame() *Frame {
	f := &Frame{Rows: 4, Classes: 2, Label: []int32{0, 1, 0, 1}, Train: []bool{true, true, true, true}}
	f.Blocks = []Block{
		{Name: "p", Kind: Probs, Width: 2, Values: []float32{0.9, 0.1, 0.2, 0.8, 0, 0, 0, 0}, Present: []bool{true, true, false, false}},
		{Name: "f", Kind: Features, Width: 1, Values: []float32{-1, 1, -2, 0}, Present: []bool{true, false, true, false}},
	}
	return f
}

func TestLateMeanUsesPresentModalities(t *testing.T) {
	f := frame()
	uni := [][]float32{{0.9, 0.1, 0.2, 0.8, 0.5, 0.5, 0.5, 0.5}, {0.7, 0.3, 0.5, 0.5, 0.6, 0.4, 0.5, 0.5}}
	in := &Inputs{Frame: f, Unimodal: uni}
	s, _ := New(Config{Name: "m", Type: "late-mean"})
	if err := s.Fit(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	out := make([]float64, 8)
	err := s.Predict(context.Background(), in, out)
	if !errors.Is(err, ErrNoModality) {
		t.Fatalf("row 3 has no modality: got %v", err)
	}
	want := []float64{0.8, 0.2, 0.2, 0.8, 0.6, 0.4}
	for i, w := range want {
		if differ(out[i], w, float32Tol) {
			t.Fatalf("out[%d] = %v, want %v (all: %v)", i, out[i], w, out[:6])
		}
	}
}

func TestEarlyImputesMissingBlocks(t *testing.T) {
	f := frame()
	f.Blocks[0].Present[3], f.Blocks[0].Values[6], f.Blocks[0].Values[7] = true, 0.3, 0.7
	in := &Inputs{Frame: f}
	s, _ := New(Config{Name: "e", Type: "early"})
	out := make([]float64, 8)
	if err := s.Predict(context.Background(), in, out); !errors.Is(err, ErrNotFitted) {
		t.Errorf("predict before fit: %v", err)
	}
	if err := s.Fit(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if err := s.Predict(context.Background(), in, out); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if p := out[2*i] + out[2*i+1]; math.Abs(p-1) > 1e-12 || math.IsNaN(p) {
			t.Errorf("row %d sums to %v", i, p)
		}
	}
	p := s.Artifact().Params.(*earlyParams)
	if !p.Indicators || p.Impute[1][0] != -1.5 {
		t.Errorf("imputation %v, indicators %v", p.Impute, p.Indicators)
	}
}

func TestUnimodalMissingRowsGetThePrior(t *testing.T) {
	f := frame()
	uni, err := FitUnimodal(context.Background(), f, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 8)
	uni[1].Predict(&f.Blocks[1], out)
	if out[2] != 0.5 || out[3] != 0.5 {
		t.Errorf("row 1 lacks the block: got %v, want the training prior", out[2:4])
	}
	uni[0].Predict(&f.Blocks[0], out)
	if out[0] != 0.9 || out[1] != 0.1 {
		t.Errorf("a probs block passes through: %v", out[:2])
	}
}

// A normalised probabilities block predicted into itself (as the job's loader
// leaves it) keeps its present rows where they are and gets the prior in its
// absent ones.
func TestUnimodalInPlaceGivesAbsentRowsThePrior(t *testing.T) {
	f := frame()
	uni, err := FitUnimodal(context.Background(), f, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	blk := f.Blocks[0]
	blk.Values = slices.Clone(blk.Values)
	blk.Normalised = true
	uni[0].Predict(&blk, blk.Values)
	want := []float32{0.9, 0.1, 0.2, 0.8, 0.5, 0.5, 0.5, 0.5}
	if !slices.Equal(blk.Values, want) {
		t.Errorf("in place: %v, want %v (the prior where absent)", blk.Values, want)
	}
}

func TestRegistry(t *testing.T) {
	if got := Types(); !slices.Contains(got, "late-mean") || !slices.Contains(got, "early") {
		t.Errorf("types %v", got)
	}
	if _, err := New(Config{Type: "nope"}); !errors.Is(err, ErrUnknownStrategy) {
		t.Errorf("unknown type: %v", err)
	}
}

// Where its modality is missing a unimodal model predicts the training prior, the
// class frequencies of the training rows (not a uniform distribution, not the
// frequencies of all rows).
func TestUnimodalFallbackIsTheTrainingPrior(t *testing.T) {
	f := suiteFrame(400, 3, 5)
	counts := make([]float64, 3)
	n := 0.0
	for i := 0; i < f.Rows; i++ {
		if f.Train[i] {
			counts[f.Label[i]]++
			n++
		}
	}
	if counts[0] == counts[2] {
		t.Fatal("the fixture is balanced: the test could not tell a prior from uniform")
	}
	uni, err := FitUnimodal(context.Background(), f, &LogRegOptions{MaxIter: 50}, 2)
	if err != nil {
		t.Fatal(err)
	}
	for b := range f.Blocks {
		out := make([]float32, f.Rows*f.Classes)
		uni[b].Predict(&f.Blocks[b], out)
		missing := 0
		for i := 0; i < f.Rows; i++ {
			if f.Blocks[b].Present[i] {
				continue
			}
			missing++
			for c := 0; c < f.Classes; c++ {
				if got, want := float64(out[i*f.Classes+c]), float64(float32(counts[c]/n)); got != want {
					t.Fatalf("block %s row %d class %d: %v, want the training prior %v", f.Blocks[b].Name, i, c, got, want)
				}
			}
		}
		if missing == 0 {
			t.Fatalf("block %s is never missing", f.Blocks[b].Name)
		}
	}
}

// differ reports whether got is not want within tol; a NaN equals only a NaN
// (a plain math.Abs(got-want) > tol lets a NaN pass).
func differ(got, want, tol float64) bool {
	if math.IsNaN(got) || math.IsNaN(want) {
		return math.IsNaN(got) != math.IsNaN(want)
	}
	return math.Abs(got-want) > tol
}

// The uncalibrated late-mean's own loop gives the general rule loop's bits:
// one to five blocks (meanRows has a loop for each count up to three, the
// three-block one in assembly on amd64, by pairs of classes), four and five
// classes, blocks absent in some rows, values that normalise drops (negative,
// NaN, ±Inf),
// float32's largest, a row whose present blocks sum to zero, a row whose sums
// depend on their order, and a row without any block, which both fail on.
func TestLateMeanRowsMatchTheRuleLoop(t *testing.T) {
	for _, k := range []int{4, 5} { // an even and an odd count: the assembly's pairs, and a last class alone
		testLateMeanRows(t, k)
	}
}

func testLateMeanRows(t *testing.T, k int) {
	const n = 2000
	rng := rand.New(rand.NewPCG(5, 6))
	odd := []float32{-1, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), math.MaxFloat32}
	for blocks := 1; blocks <= 5; blocks++ {
		f := &Frame{Rows: n, Classes: k, Label: make([]int32, n), Train: make([]bool, n)}
		in := &Inputs{Frame: f}
		for b := range blocks {
			blk := Block{Name: fmt.Sprint("m", b), Kind: Probs, Width: k, Values: make([]float32, n*k), Present: make([]bool, n)}
			for i := range n {
				blk.Present[i] = (b == 0 || rng.IntN(4) > 0) && i != 9
				for c := range k {
					blk.Values[i*k+c] = rng.Float32()
					if rng.IntN(50) == 0 {
						blk.Values[i*k+c] = odd[rng.IntN(len(odd))]
					}
					if i == 7 {
						blk.Values[i*k+c] = 0
					}
					if i == 11 { // class 0: 1 + 2^-53 + 2^-53, 1 added in order, 1 + 2^-52 the other way
						blk.Values[i*k+c] = float32(math.Ldexp(1, -53*min(b, 1)))
						if c > 0 && b > 0 {
							blk.Values[i*k+c] = 0
						}
					}
				}
			}
			blk.Present[11] = true
			f.Blocks = append(f.Blocks, blk)
			in.Unimodal = append(in.Unimodal, blk.Values)
		}
		s, _ := New(Config{Name: "m", Type: "late-mean"})
		if err := s.Fit(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		l := s.(*late)
		idx, err := l.blocks(in)
		if err != nil {
			t.Fatal(err)
		}
		fast, general := make([]float64, n*k), make([]float64, n*k)
		for _, r := range [][2]int{{0, 9}, {10, n}} { // row 9 has no block
			if err := l.predictRows(in, idx, r[0], r[1], fast[r[0]*k:r[1]*k]); err != nil {
				t.Fatal(err)
			}
			if err := l.ruleRows(in, idx, r[0], r[1], general[r[0]*k:r[1]*k]); err != nil {
				t.Fatal(err)
			}
		}
		for j := range fast {
			if math.Float64bits(fast[j]) != math.Float64bits(general[j]) {
				t.Fatalf("%d classes, %d blocks, row %d class %d: %v, the rule loop gives %v", k, blocks, j/k, j%k, fast[j], general[j])
			}
		}
		for _, err := range []error{l.predictRows(in, idx, 8, 10, fast[:2*k]), l.ruleRows(in, idx, 8, 10, general[:2*k])} {
			if !errors.Is(err, ErrNoModality) {
				t.Errorf("%d blocks, a row without blocks: %v, want ErrNoModality", blocks, err)
			}
		}
	}
}

// normalise32, the loader's division by the sum it checked, gives Predict's
// normalise bit for bit on the rows a loader accepts (finite, none negative,
// summing to about 1), zeros and −0 among them; and Predict leaves a
// Normalised block's present rows as they are, in place or copied.
func TestNormalise32IsPredictsNormalise(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const k = 10
	for range 20000 {
		row := make([]float32, k)
		for c := range row {
			switch rng.IntN(10) {
			case 0:
				row[c] = 0
			case 1:
				row[c] = float32(math.Copysign(0, -1))
			default:
				row[c] = rng.Float32()
			}
		}
		s := 0.0
		for _, v := range row {
			s += float64(v)
		}
		if s == 0 {
			continue
		}
		scale := float32(1 / s * (1 + (rng.Float64()-0.5)*1e-4)) // sums within 1e-4 of 1
		for c := range row {
			row[c] *= scale
		}
		sum := 0.0
		for _, v := range row {
			sum += float64(v)
		}
		want, got := make([]float32, k), slices.Clone(row)
		normalise(row, want)
		normalise32(got, sum)
		if !bitsEqual(got, want) {
			t.Fatalf("%v: normalise32 %v, normalise %v", row, got, want)
		}
	}
	b := Block{Name: "p", Kind: Probs, Width: 2, Values: []float32{0.25, 0.75, 0, 0, 0.5, 0.5}, Present: []bool{true, false, true}, Normalised: true}
	u := &Unimodal{Classes: 2, Prior: []float64{0.1, 0.9}}
	copied := make([]float32, 6)
	u.Predict(&b, copied)
	u.Predict(&b, b.Values)
	for _, out := range [][]float32{copied, b.Values} {
		if !slices.Equal(out, []float32{0.25, 0.75, 0.1, 0.9, 0.5, 0.5}) {
			t.Errorf("Predict on a Normalised block: %v", out)
		}
	}
}

// NormaliseProbs32 (assembly on amd64) checks and divides a row as its Go
// reference does, to the bit: rows of 1 to 11 values summing near 1 (inside
// and outside the tolerance), zeros, −0, negatives, NaN, ±Inf, float32's
// largest; the row is left as it was when it fails.
func TestNormaliseProbs32IsTheGoLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	odd := []float32{0, float32(math.Copysign(0, -1)), -0.1, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), math.MaxFloat32}
	const tol = 1e-3
	for _, k := range []int{1, 2, 3, 10, 11} {
		for range 20000 {
			row := make([]float32, k)
			for c := range row {
				row[c] = rng.Float32()
				if rng.IntN(20) == 0 { // before the scaling, so that the sum still straddles the tolerance
					row[c] = odd[rng.IntN(len(odd))]
				}
			}
			s := 0.0
			for _, v := range row {
				s += float64(v)
			}
			spread := []float64{0, 1e-4, 2e-3}[rng.IntN(3)] // within, near and past the tolerance
			scale := (1 + (rng.Float64()-0.5)*2*spread) / s
			for c := range row {
				row[c] = float32(float64(row[c]) * scale)
			}
			checkNormaliseProbs32(t, row, tol)
		}
	}
	// A sum exactly tol from 1 passes; the next float past it does not.
	for _, row := range [][]float32{{1.25}, {0.75}, {0.5, 0.75}, {0.25, 0.25, 0.25}, {math.Nextafter32(1.25, 2)}, {math.Nextafter32(0.75, 0)}} {
		checkNormaliseProbs32(t, row, 0.25)
	}
}

func checkNormaliseProbs32(t *testing.T, row []float32, tol float64) {
	t.Helper()
	got, want := slices.Clone(row), slices.Clone(row)
	gs, gok := NormaliseProbs32(got, tol)
	ws, wok := normaliseProbsGo(want, tol)
	if gok != wok || math.Float64bits(gs) != math.Float64bits(ws) || !bitsEqual(got, want) {
		t.Fatalf("%v (tol %v): assembly %v %v %v, Go %v %v %v", row, tol, gs, gok, got, ws, wok, want)
	}
}
