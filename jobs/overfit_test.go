package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/lakefuse/lakefuse/eval"
	"github.com/lakefuse/lakefuse/fusion"
)

// Each strategy's out-of-fold accuracy: a fixed rule (late-mean) applied to the
// out-of-fold unimodal probabilities, which it is by definition; a learned
// strategy (early) refitted per stratified fold on the other folds — its full
// fit memorises noise features (in sample 0.93) where its out-of-fold figure
// does not, and the warm-started refits land where cold ones do. The figures do
// not depend on the number of CPUs, and evaluation.out_of_fold: false skips them.
func TestStrategiesOutOfFold(t *testing.T) {
	const n, noise = 90, 40
	rng := rand.New(rand.NewPCG(3, 4))
	f := &fusion.Frame{Rows: n, Classes: 3, Label: make([]int32, n), Train: make([]bool, n), KeyHash: make([]uint64, n)}
	sig := fusion.Block{Name: "signal", Kind: fusion.Features, Width: 2, Values: make([]float32, n*2), Present: make([]bool, n)}
	nz := fusion.Block{Name: "noise", Kind: fusion.Features, Width: noise, Values: make([]float32, n*noise), Present: make([]bool, n)}
	for i := 0; i < n; i++ {
		f.Label[i], f.Train[i], f.KeyHash[i] = int32(i%3), true, rng.Uint64()
		sig.Values[i*2] = float32(float64(f.Label[i]) + 0.9*rng.NormFloat64())
		sig.Values[i*2+1] = float32(rng.NormFloat64())
		for j := 0; j < noise; j++ {
			nz.Values[i*noise+j] = float32(rng.NormFloat64())
		}
		sig.Present[i], nz.Present[i] = true, true
	}
	f.Blocks = []fusion.Block{sig, nz}
	spec := &Spec{Model: ModelSpec{C: 1, MaxIter: 500}, Strategies: []StrategySpec{{Name: "mean", Type: "late-mean"}, {Name: "early", Type: "early"}}}
	lr := &fusion.LogRegOptions{C: 1, MaxIter: 500}
	uni, err := fusion.FitUnimodal(context.Background(), f, lr, 2)
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{spec: spec, cpu: 2, seconds: map[string]float64{}, log: slog.New(slog.DiscardHandler)}
	in, _ := r.predictUnimodal(f, uni)
	if in.OOF, err = fusion.OutOfFold(context.Background(), f, uni, in.Unimodal, lr, 2); err != nil {
		t.Fatal(err)
	}
	var fitted []fusion.Strategy
	for _, st := range spec.Strategies {
		s, _ := fusion.New(st.Config())
		if err := s.Fit(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		fitted = append(fitted, s)
	}
	got, err := strategiesOutOfFold(r, f, in.OOF, &fittedState{in: in, strategies: fitted})
	if err != nil {
		t.Fatal(err)
	}
	if got.Folds != 5 || got.Rows != n {
		t.Fatalf("%d folds over %d rows, want 5 over %d", got.Folds, got.Rows, n)
	}
	// The fixed rule's shortcut (one prediction, no refits) gives what
	// refitting it per fold gives: hidden behind a type that does not say it
	// is fixed, late-mean takes the refit path.
	refit, err := strategiesOutOfFold(r, f, in.OOF, &fittedState{in: in, strategies: []fusion.Strategy{learnsAnyway{fitted[0]}, fitted[1]}})
	if err != nil {
		t.Fatal(err)
	}
	if !fusion.Learns(learnsAnyway{fitted[0]}) || fusion.Learns(fitted[0]) || refit.Accuracy["mean"] != got.Accuracy["mean"] {
		t.Fatalf("late-mean out of fold: %v refitted per fold, %v by the fixed-rule shortcut", refit.Accuracy["mean"], got.Accuracy["mean"])
	}
	rows := f.TrainRows(nil)
	fold, k, _ := f.StratifiedFolds(rows, fusion.Folds)
	// accuracy is each fold's accuracy averaged over the folds.
	accuracy := func(p []float64) float64 {
		right, size := make([]float64, k), make([]float64, k)
		for j, i := range rows {
			size[fold[j]]++
			if eval.Argmax(p[i*3:(i+1)*3]) == int(f.Label[i]) {
				right[fold[j]]++
			}
		}
		acc := 0.0
		for fo := range right {
			acc += right[fo] / size[fo]
		}
		return acc / float64(k)
	}
	mean := make([]float64, n*3)
	for j := range mean {
		mean[j] = (float64(in.OOF[0][j]) + float64(in.OOF[1][j])) / 2
	}
	if want := accuracy(mean); got.Accuracy["mean"] != want {
		t.Errorf("late-mean out of fold %v, want the accuracy of the mean of the out-of-fold probabilities %v", got.Accuracy["mean"], want)
	}
	full := make([]float64, n*3)
	if err := fitted[1].Predict(context.Background(), in, full); err != nil {
		t.Fatal(err)
	}
	if in := accuracy(full); in < 0.9 || got.Accuracy["early"] > in-0.1 {
		t.Errorf("early: in sample %v, out of fold %v; want at least 0.9 and at least 10 points lower", in, got.Accuracy["early"])
	}
	// Cold refits by hand, over the same stratified folds.
	cold := make([]float64, n*3)
	for fo := 0; fo < k; fo++ {
		g := *f
		g.Train = make([]bool, n)
		for j, i := range rows {
			g.Train[i] = fold[j] != fo
		}
		s, _ := fusion.New(spec.Strategies[1].Config())
		gin := &fusion.Inputs{Frame: &g, Unimodal: in.OOF, OOF: in.OOF}
		if err := s.Fit(context.Background(), gin); err != nil {
			t.Fatal(err)
		}
		p := make([]float64, n*3)
		if err := s.Predict(context.Background(), gin, p); err != nil {
			t.Fatal(err)
		}
		for j, i := range rows {
			if fold[j] == fo {
				copy(cold[i*3:(i+1)*3], p[i*3:(i+1)*3])
			}
		}
	}
	if want := accuracy(cold); math.Abs(got.Accuracy["early"]-want) > 1.5*float64(k)/n {
		t.Errorf("early out of fold %v (warm-started refits), cold refits %v: more than a row of a fold apart", got.Accuracy["early"], want)
	}
	r.cpu = 1
	if one, err := strategiesOutOfFold(r, f, in.OOF, &fittedState{in: in, strategies: fitted}); err != nil || !reflect.DeepEqual(one, got) {
		t.Errorf("on one CPU: %+v (%v), on two: %+v", one, err, got)
	}
	off := false
	spec.Evaluation.OutOfFold = &off
	if none, err := strategiesOutOfFold(r, f, in.OOF, &fittedState{in: in, strategies: fitted}); none != nil || err != nil {
		t.Errorf("out_of_fold: false: %+v, %v", none, err)
	}
}

// learnsAnyway hides a strategy's fusion.FixedRule.
type learnsAnyway struct{ fusion.Strategy }

// Over probabilities modalities (their own out-of-fold inputs) the fixed rules'
// figures come from their fitted predictions, made once by fitPredict — held,
// or computed again when read (rowsOnDemand) — the same figures as predicting
// again, each rule its own (late-mean and late-max differ here, so a rule scored
// with the other's predictions would show).
func TestFixedRulesOutOfFoldReusePredictions(t *testing.T) {
	const n = 200
	rng := rand.New(rand.NewPCG(5, 6))
	f := &fusion.Frame{Rows: n, Classes: 3, Label: make([]int32, n), Train: make([]bool, n), KeyHash: make([]uint64, n)}
	for b := range 2 {
		blk := fusion.Block{Name: []string{"a", "b"}[b], Kind: fusion.Probs, Width: 3, Values: make([]float32, n*3), Present: make([]bool, n)}
		for i := range n {
			for c := range 3 {
				blk.Values[i*3+c] = float32(rng.Float64())
			}
			blk.Present[i] = i%7 != b
		}
		f.Blocks = append(f.Blocks, blk)
	}
	for i := range n {
		f.Label[i], f.Train[i], f.KeyHash[i] = int32(rng.IntN(3)), i%4 != 0, rng.Uint64()
	}
	spec := &Spec{Model: ModelSpec{C: 1, MaxIter: 100}, Strategies: []StrategySpec{{Name: "mean", Type: "late-mean"}, {Name: "max", Type: "late-max"}}}
	r := &runner{spec: spec, cpu: 2, seconds: map[string]float64{}, log: slog.New(slog.DiscardHandler)}
	bf := &builtFrame{frame: f, classes: &classSet{names: []string{"0", "1", "2"}}}
	for _, onDemand := range []bool{false, true} {
		r.rowsOnDemand = onDemand
		_, _, fs, err := r.fitPredict(context.Background(), nil, bf)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs.scored) != 2 || (fs.scored[0].fill != nil) != onDemand || !sameInputs(fs.in.Unimodal, fs.in.Unimodal) {
			t.Fatalf("rows on demand %v: fitPredict kept %d strategies' predictions", onDemand, len(fs.scored))
		}
		reused, err := strategiesOutOfFold(r, f, fs.in.Unimodal, fs)
		if err != nil {
			t.Fatal(err)
		}
		again, err := strategiesOutOfFold(r, f, fs.in.Unimodal, &fittedState{in: fs.in, strategies: fs.strategies})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(reused, again) || reused.Accuracy["mean"] == reused.Accuracy["max"] {
			t.Fatalf("rows on demand %v: out of fold from the fitted predictions %v, predicted again %v (want equal, and the two rules apart)", onDemand, reused.Accuracy, again.Accuracy)
		}
	}
}

// blockFolds deals every block's training rows to the folds that
// StratifiedFolds deals each block's row list to, a block at a time: with
// unlabelled and held-out rows, a block whose rarest class has fewer rows than
// folds, and one with a class of a single row — and every training row, the
// strategies' folds, as the last entry.
func TestBlockFoldsDealAsStratifiedFolds(t *testing.T) {
	// Up to seven blocks a row's class and blocks pack into four bytes and its
	// folds into a word (packedFolds); past them a cell of 4 + blocks + 1 bytes
	// holds its class and folds: 3 and 7 blocks, and 9.
	for _, extra := range []int{0, 4, 6} {
		t.Run(fmt.Sprintf("%d blocks", 3+extra), func(t *testing.T) { testBlockFolds(t, extra) })
	}
}

func testBlockFolds(t *testing.T, extra int) {
	rng := rand.New(rand.NewPCG(7, 9))
	const n = 3000
	f := &fusion.Frame{Rows: n, Classes: 4, Label: make([]int32, n), Train: make([]bool, n), KeyHash: make([]uint64, n)}
	for i := range n {
		f.Label[i] = int32(rng.IntN(5)) - 1 // -1: unlabelled
		f.Train[i] = rng.IntN(4) > 0
		f.KeyHash[i] = rng.Uint64()
	}
	names := []string{"common", "rare", "single"}
	for e := range extra {
		names = append(names, fmt.Sprintf("extra-%d", e))
	}
	for b, name := range names {
		blk := fusion.Block{Name: name, Present: make([]bool, n)}
		seen := 0 // training rows of class 3 present so far
		for i := range n {
			blk.Present[i] = rng.IntN(10) > b%3
			if f.Label[i] == 3 && f.Train[i] && blk.Present[i] && b < 3 {
				limit := []int{n, 3, 1}[b]
				if blk.Present[i] = seen < limit; blk.Present[i] {
					seen++
				}
			}
		}
		f.Blocks = append(f.Blocks, blk)
	}
	train := f.TrainRows(nil)
	fold, k := blockFolds(f, train, fusion.Folds)
	if len(fold) != len(f.Blocks)+1 || len(k) != len(fold) {
		t.Fatalf("%d fold lists and %d fold counts for %d blocks, want one more (every training row)", len(fold), len(k), len(f.Blocks))
	}
	for b := range fold {
		rows, name := train, "every training row"
		if b < len(f.Blocks) {
			rows, name = f.TrainRows(f.Blocks[b].Present), f.Blocks[b].Name
		}
		want, wantK, _ := f.StratifiedFolds(rows, fusion.Folds)
		if k[b] != wantK || !slices.Equal(fold[b], foldOfRow(n, rows, want)) {
			t.Errorf("%s: %d folds %v, want %d folds as StratifiedFolds deals them", name, k[b], fold[b][:20], wantK)
		}
	}
	if k[0] != fusion.Folds || k[1] != 3 || k[2] != 2 {
		t.Errorf("folds %v, want [%d 3 2]: the test lost its rare classes", k, fusion.Folds)
	}
}

// strategiesOutOfFold runs r.strategiesOutOfFold on f's training rows with the
// folds the run deals them (blockFolds' last entry, as StratifiedFolds deals).
func strategiesOutOfFold(r *runner, f *fusion.Frame, oof [][]float32, fs *fittedState) (*eval.StrategyOOF, error) {
	rows := f.TrainRows(nil)
	fold, folds, _ := f.StratifiedFolds(rows, fusion.Folds)
	return r.strategiesOutOfFold(context.Background(), f, rows, foldOfRow(f.Rows, rows, fold), folds, oof, fs)
}

// foldOfRow is each of n frame rows' fold (fold[j] for rows[j]), -1 for a row
// outside rows: the folds in frame order, so that scoring reads the
// probabilities sequentially (rows are in key-hash order).
func foldOfRow(n int, rows, fold []int) []int8 {
	out := make([]int8, n)
	for i := range out {
		out[i] = -1
	}
	for j, i := range rows {
		out[i] = int8(fold[j])
	}
	return out
}

// BenchmarkBlockFolds deals 2M training rows of ten classes, in key-hash
// order, to the folds of three blocks (90 % present each) and of every row,
// as the 2M bench's baseline choice does:
//
//	go test ./jobs -run '^$' -bench BlockFolds -count 5
func BenchmarkBlockFolds(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 2_000_000
	f := &fusion.Frame{Rows: n, Classes: 10, Label: make([]int32, n), Train: make([]bool, n), KeyHash: make([]uint64, n)}
	for i := range n {
		f.Label[i], f.Train[i], f.KeyHash[i] = int32(rng.IntN(10)), true, rng.Uint64()
	}
	for range 3 {
		blk := fusion.Block{Present: make([]bool, n)}
		for i := range blk.Present {
			blk.Present[i] = rng.IntN(10) > 0
		}
		f.Blocks = append(f.Blocks, blk)
	}
	train := f.TrainRows(nil)
	b.ResetTimer()
	for range b.N {
		blockFolds(f, train, fusion.Folds)
	}
}
