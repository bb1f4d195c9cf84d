package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/eval"
	"github.com/lakefuse/lakefuse/fusion"
	"github.com/lakefuse/lakefuse/internal/spill"
	"github.com/lakefuse/lakefuse/lake"
)

// In-place compaction keeps exactly the listed rows, in order, whatever runs of
// kept and dropped rows there are.
func TestCompactInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		n, w := rng.IntN(40), 1+rng.IntN(3)
		b := fusion.Block{Name: "m", Width: w, Values: make([]float32, n*w), Present: make([]bool, n)}
		for i := range b.Values {
			b.Values[i] = float32(rng.Float64())
		}
		for i := range b.Present {
			b.Present[i] = rng.IntN(2) == 0
		}
		var keep []int
		for i := 0; i < n; i++ {
			if rng.IntN(4) != 0 {
				keep = append(keep, i)
			}
		}
		var wantV []float32
		var wantP []bool
		for _, i := range keep {
			wantV = append(wantV, b.Row(i)...)
			wantP = append(wantP, b.Present[i])
		}
		got := compact(b, keep)
		if !slices.Equal(got.Values, wantV) || !slices.Equal(got.Present, wantP) {
			t.Fatalf("keep %v of %d rows: values %v, want %v", keep, n, got.Values, wantV)
		}
		if len(got.Present) != len(keep) || got.Name != "m" || got.Width != w {
			t.Fatalf("compacted block %+v", got)
		}
	}
}

// Without fit.max_rows, the cap is what a quarter of the memory budget holds at
// fitRowCopies float64 copies of a row's blocks and scores.
func TestFitRowsFromTheBudget(t *testing.T) {
	budget, err := spill.NewBudget("96KiB", "")
	if err != nil {
		t.Fatal(err)
	}
	spec := &Spec{Strategies: make([]StrategySpec, 2), Modalities: make([]ModalitySpec, 1)}
	f := &fusion.Frame{Rows: 200, Classes: 2, Label: make([]int32, 200), Train: make([]bool, 200), KeyHash: make([]uint64, 200),
		Blocks: []fusion.Block{{Width: 6}}}
	for i := range f.Train {
		f.Train[i], f.KeyHash[i] = i%2 == 0, uint64(i*7919%200)
	}
	// (2 classes × (2 strategies + 1 modality) + 6) × 8 bytes × 4 copies = 384
	// bytes a row; 24 KiB hold 64 rows.
	rep := limitTraining(&runner{spec: spec, budget: budget, classes: 2, widths: []int{6}}, f, f.KeyHash)
	kept := 0
	for _, tr := range f.Train {
		if tr {
			kept++
		}
	}
	if rep == nil || rep.Rows != 64 || rep.Of != 100 || kept != 64 || rep.Source != "a quarter of the memory budget" {
		t.Fatalf("report %+v, %d rows kept", rep, kept)
	}
	for i, tr := range f.Train {
		if tr && f.KeyHash[i] >= 128 { // the 64 smallest of the even rows' hashes are below 128
			t.Fatalf("row %d (hash %d) kept", i, f.KeyHash[i])
		}
	}
}

// The partitioned path sizes the fit cap before any group is loaded: from the
// block widths the plan and the classes imply, as a run held whole sizes it from
// its frame (a cap from zero widths fitted 280,000 rows of 768 features under a
// 2 GiB budget).
func TestFitCapFromThePlan(t *testing.T) {
	budget, err := spill.NewBudget("1MiB", "")
	if err != nil {
		t.Fatal(err)
	}
	plan := &Plan{Modalities: []*SourcePlan{{Kind: "probs"}, {Kind: "score"}, {Kind: "features", Scalar: []string{"a", "b", "c"}}, {Kind: "features", Vector: "emb"}}}
	r := &runner{spec: &Spec{Strategies: make([]StrategySpec, 2), Modalities: make([]ModalitySpec, 4)}, budget: budget,
		classes: 2, widths: make([]int, 4), listWidth: []int{0, 0, 0, 100}}
	r.blockWidths(plan)
	if fmt.Sprint(r.widths) != "[2 2 3 100]" {
		t.Fatalf("block widths %v", r.widths)
	}
	// (2 classes × (2 strategies + 4 modalities) + 2 + 2 + 3 + 100) × 8 bytes × 4
	// copies = 3,808 bytes a row; a quarter of 1 MiB holds 68 rows.
	if n, source := r.fitCap(); n != 68 || source != "a quarter of the memory budget" {
		t.Errorf("fit cap %d (%s), want 68", n, source)
	}
}

// The spill keeps a file open per source and group: the group count stays within
// the open-files limit, with room for the rest.
func TestMaxGroupsWithinOpenFiles(t *testing.T) {
	for _, tc := range []struct{ sources, openFiles, want int }{
		{4, 0, 4096},       // limit unknown
		{4, 1 << 20, 4096}, // a generous limit
		{4, 1024, 192},     // (1024 - 256) / 4
		{3, 300, 14},       // (300 - 256) / 3
		{8, 200, 1},        // never below one group
	} {
		if got := maxGroups(tc.sources, tc.openFiles); got != tc.want {
			t.Errorf("maxGroups(%d sources, %d open files) = %d, want %d", tc.sources, tc.openFiles, got, tc.want)
		}
	}
	if n := spill.OpenFiles(); n < 256 {
		t.Errorf("open-files limit %d: too low to spill, or not read", n)
	}
}

// The best baseline is the one right most often; ties go to the first name.
func TestMostRight(t *testing.T) {
	for _, tc := range []struct {
		names []string
		right []int64
		want  string
	}{
		{nil, nil, ""},
		{[]string{"unimodal.b", "unimodal.a"}, []int64{3, 5}, "unimodal.a"},
		{[]string{"unimodal.b", "unimodal.a", "unimodal.c"}, []int64{5, 5, 2}, "unimodal.a"},
		{[]string{"unimodal.a", "unimodal.b"}, []int64{5, 5}, "unimodal.a"},
		{[]string{"unimodal.c", "unimodal.b"}, []int64{0, 0}, "unimodal.b"},
		{[]string{"unimodal.a", "unimodal.b"}, []int64{4, 5}, "unimodal.b"},
	} {
		if got := mostRight(tc.names, tc.right); got != tc.want {
			t.Errorf("mostRight(%v, %v) = %q, want %q", tc.names, tc.right, got, tc.want)
		}
	}
}

// The best baseline is chosen out of fold: a modality of noise features that
// fits its few training rows perfectly loses to a weak but real one, which a
// choice on training accuracy would not see.
func TestBaselineChosenOutOfFold(t *testing.T) {
	const n, noise = 40, 30
	rng := rand.New(rand.NewPCG(7, 8))
	f := &fusion.Frame{Rows: n, Classes: 2, Label: make([]int32, n), Train: make([]bool, n), KeyHash: make([]uint64, n)}
	overfit := fusion.Block{Name: "noise", Kind: fusion.Features, Width: noise, Values: make([]float32, n*noise), Present: make([]bool, n)}
	weak := fusion.Block{Name: "signal", Kind: fusion.Features, Width: 1, Values: make([]float32, n), Present: make([]bool, n)}
	for i := 0; i < n; i++ {
		f.Label[i], f.Train[i], f.KeyHash[i] = int32(i%2), true, rng.Uint64()
		for j := 0; j < noise; j++ {
			overfit.Values[i*noise+j] = float32(rng.NormFloat64())
		}
		weak.Values[i] = float32(float64(f.Label[i]) + 0.6*rng.NormFloat64())
		overfit.Present[i], weak.Present[i] = true, true
	}
	f.Blocks = []fusion.Block{overfit, weak}
	r := &runner{spec: &Spec{Model: ModelSpec{C: 1, MaxIter: 500}}, cpu: 2}
	uni, err := fusion.FitUnimodal(context.Background(), f, &fusion.LogRegOptions{C: 1, MaxIter: 500}, 2)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := r.predictUnimodal(f, uni)
	inSample := func(b int) float64 {
		right := 0
		for i := 0; i < n; i++ {
			if eval.Argmax(in.Unimodal[b][i*2:i*2+2]) == int(f.Label[i]) {
				right++
			}
		}
		return float64(right) / n
	}
	if inSample(0) <= inSample(1) {
		t.Fatalf("the fixture's noise modality should fit its training rows better: %.3f vs %.3f", inSample(0), inSample(1))
	}
	best, err := r.chooseBaseline(context.Background(), f, &fittedState{in: in})
	if err != nil {
		t.Fatal(err)
	}
	c := r.baselineChoice
	if best != "unimodal.signal" || c == nil || len(c.Candidates) != 2 || c.Candidates[0].Accuracy >= c.Candidates[1].Accuracy || c.Candidates[0].Rows != n {
		t.Errorf("chose %q, candidates %+v", best, c)
	}
	// Equal out-of-fold accuracy: the lower out-of-fold log loss wins, and the report says it was a tie.
	f.Blocks = []fusion.Block{weak, weak}
	f.Blocks[1].Name = "copy"
	uni, _ = fusion.FitUnimodal(context.Background(), f, &fusion.LogRegOptions{C: 1, MaxIter: 500}, 2)
	in, _ = r.predictUnimodal(f, uni)
	if best, err = r.chooseBaseline(context.Background(), f, &fittedState{in: in}); err != nil || best != "unimodal.copy" || !r.baselineChoice.Tie {
		t.Errorf("two equal modalities: chose %q (tie %v), want the first name, unimodal.copy, as a tie", best, r.baselineChoice.Tie)
	}
}

// classesOf on several workers is rowClasses' classes, and stops at an error.
func TestClassesOf(t *testing.T) {
	const k = 4
	fill := func(lo, hi int, dst []float64) error {
		for i := lo; i < hi; i++ {
			for c := range k {
				dst[(i-lo)*k+c] = float64((i*7 + c*3) % 11)
			}
		}
		return nil
	}
	for _, n := range []int{0, 1, fillRows - 1, fillRows, 3*fillRows + 5} {
		want := make([]int32, n)
		if err := rowClasses(context.Background(), n, k, fill, func(i, c int) { want[i] = int32(c) }); err != nil {
			t.Fatal(err)
		}
		for _, workers := range []int{1, 2, 5} {
			got, err := classesOf(context.Background(), n, k, workers, fill)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("n=%d workers=%d: %v, equal %v", n, workers, err, slices.Equal(got, want))
			}
		}
	}
	boom := errors.New("boom")
	_, err := classesOf(context.Background(), 3*fillRows, k, 2, func(lo, hi int, dst []float64) error {
		if lo >= fillRows {
			return boom
		}
		return fill(lo, hi, dst)
	})
	if !errors.Is(err, boom) {
		t.Errorf("error: %v", err)
	}
}

// Without bootstrap replicates the evaluation runs before the baseline choice
// and scores the folds of the probabilities modalities in its own pass; the
// choice, its candidates and the settled evaluation are what choosing first
// gives. The frame has a features modality (scored apart), absent modalities,
// unlabelled rows and a test split.
func TestBaselineChosenFromTheEvaluation(t *testing.T) {
	const n, k = 3000, 3
	rng := rand.New(rand.NewPCG(3, 4))
	f := &fusion.Frame{Rows: n, Classes: k, Label: make([]int32, n), Train: make([]bool, n), KeyHash: make([]uint64, n)}
	split := make([]string, n)
	for i := range n {
		f.Label[i] = int32(rng.IntN(k+1)) - 1
		f.Train[i] = rng.IntN(3) > 0
		f.KeyHash[i] = rng.Uint64()
		split[i] = map[bool]string{true: "train", false: "test"}[f.Train[i]]
	}
	for b, name := range []string{"text", "image"} {
		blk := fusion.Block{Name: name, Kind: fusion.Probs, Width: k, Values: make([]float32, n*k), Present: make([]bool, n)}
		for i := range n {
			if blk.Present[i] = rng.IntN(10) > b; !blk.Present[i] {
				continue
			}
			for c := range k {
				blk.Values[i*k+c] = float32(rng.Float64())
			}
			if y := f.Label[i]; y >= 0 && rng.IntN(3+b) > 0 {
				blk.Values[i*k+int(y)] += 1
			}
		}
		f.Blocks = append(f.Blocks, blk)
	}
	feat := fusion.Block{Name: "tabular", Kind: fusion.Features, Width: 2, Values: make([]float32, n*2), Present: make([]bool, n)}
	for i := range n {
		feat.Present[i] = true
		feat.Values[i*2] = float32(float64(max(f.Label[i], 0)) + rng.NormFloat64())
		feat.Values[i*2+1] = float32(rng.NormFloat64())
	}
	f.Blocks = append(f.Blocks, feat)
	choose := func(bootstrap int) (*runner, *eval.Evaluation) {
		t.Helper()
		f := *f // predictUnimodal normalises a probabilities block in place
		f.Blocks = slices.Clone(f.Blocks)
		for b := range f.Blocks {
			f.Blocks[b].Values = slices.Clone(f.Blocks[b].Values)
		}
		bf := &builtFrame{frame: &f, classes: &classSet{names: []string{"a", "b", "c"}}, split: make([]int32, n), splitNames: []string{"train", "test"}, splits: []string{"train", "test"}}
		for i, name := range split {
			bf.split[i] = bf.splitCode(name)
		}
		no := false
		r := &runner{spec: &Spec{Model: ModelSpec{C: 1, MaxIter: 200}, Evaluation: EvaluationSpec{Bootstrap: &bootstrap, Ablation: &no}}, cpu: 2, log: slog.New(slog.DiscardHandler), seconds: map[string]float64{}}
		uni, err := fusion.FitUnimodal(context.Background(), &f, &fusion.LogRegOptions{C: 1, MaxIter: 200}, 2)
		if err != nil {
			t.Fatal(err)
		}
		in, scored := r.predictUnimodal(&f, uni)
		ev, err := r.chooseAndEvaluate(context.Background(), bf, scored, &fittedState{in: in, uni: uni})
		if err != nil {
			t.Fatal(err)
		}
		return r, ev
	}
	first, evFirst := choose(20)
	after, evAfter := choose(0)
	if !reflect.DeepEqual(first.baselineChoice, after.baselineChoice) || first.baselineChoice == nil {
		t.Fatalf("choice after the evaluation %+v, want the choice made first %+v", after.baselineChoice, first.baselineChoice)
	}
	if evAfter.Deferred || evAfter.Folds != nil || evAfter.BestBaseline != evFirst.BestBaseline || evAfter.ChosenOn != evFirst.ChosenOn || evAfter.BestBaseline < 0 {
		t.Errorf("evaluation settled on %d (%q, deferred %v), want %d (%q)", evAfter.BestBaseline, evAfter.ChosenOn, evAfter.Deferred, evFirst.BestBaseline, evFirst.ChosenOn)
	}
	for si := range evFirst.Metrics {
		for sp, m := range evFirst.Metrics[si] {
			if a, b := m.Confusion.Result(), evAfter.Metrics[si][sp].Confusion.Result(); a.Accuracy != b.Accuracy || m.LogLoss.Result() != evAfter.Metrics[si][sp].LogLoss.Result() {
				t.Errorf("%s on split %d: accuracy %v log loss %v, want %v %v", evFirst.Scores[si].Name, sp, b.Accuracy, evAfter.Metrics[si][sp].LogLoss.Result(), a.Accuracy, m.LogLoss.Result())
			}
		}
	}
}

// Integer labels map to classes through a slice for small values and the map
// for the rest — negative, large — and an unknown value is still an error.
func TestIntegerLabelsSmallAndLarge(t *testing.T) {
	tbl := &lake.Table{File: "labels.parquet", Rows: 6, IntLabels: []int64{7, -5, 5000, 3, 7, smallLabels}, LabelValid: []bool{true, true, true, true, false, true}}
	cs, err := collectClasses(&Spec{}, []*lake.Table{tbl}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"-5", "3", "7", "4096", "5000"}; !slices.Equal(cs.names, want) {
		t.Fatalf("classes %v, want %v", cs.names, want)
	}
	for row, want := range []int32{2, 0, 4, 1, -1, 3} {
		if got, err := cs.labelOf(tbl, row); err != nil || got != want {
			t.Errorf("row %d: class %d (%v), want %d", row, got, err, want)
		}
	}
	spec := &Spec{Label: LabelSpec{Classes: []string{"3", "7"}}}
	cs, err = collectClasses(spec, []*lake.Table{tbl}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := cs.labelOf(tbl, 0); err != nil || c != 1 {
		t.Errorf("label 7 of classes [3 7]: %d, %v", c, err)
	}
	if _, err := cs.labelOf(tbl, 1); !errors.Is(err, ErrInput) {
		t.Errorf("label -5 outside the classes: %v, want ErrInput", err)
	}
	if _, err := cs.labelOf(tbl, 2); !errors.Is(err, ErrInput) {
		t.Errorf("label 5000 outside the classes: %v, want ErrInput", err)
	}
}

// checkLabels reads no key and counts integer labels through an array below
// smallLabels and a map for the rest: the classes of labels on both sides of
// that bound and below 0, over two files, come out whole, and a null key is left
// to the scan.
func TestCheckLabelsSmallAndLargeIntegers(t *testing.T) {
	ctx := context.Background()
	l, err := lake.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	values := []int64{0, smallLabels - 1, smallLabels, -1, 5000, 7}
	const rows = 3 * 6 // each label twice in train, once in test
	ids, labels, split := make([]int64, rows), make([]int64, rows), make([]string, rows)
	valid := make([]bool, rows)
	for i := range rows {
		ids[i], labels[i], split[i], valid[i] = int64(i), values[i%len(values)], "train", true
		if i >= 2*len(values) {
			split[i] = "test"
		}
	}
	valid[5] = false // a null key: not this pass's business
	probs := make([]float64, rows*len(values))
	for i := range rows {
		probs[i*len(values)+i%len(values)] = 1
	}
	write := func(key string, n int, cols []lake.OutColumn) {
		var buf bytes.Buffer
		if err := lake.WriteParquet(&buf, n, cols); err != nil {
			t.Fatal(err)
		}
		if err := l.WriteAll(ctx, key, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	for f, half := range [][2]int{{0, rows / 2}, {rows / 2, rows}} {
		lo, hi := half[0], half[1]
		write(fmt.Sprintf("ds/labels/part-%d.parquet", f), hi-lo, []lake.OutColumn{{Name: "entity_id", Int64: ids[lo:hi], Valid: valid[lo:hi]},
			{Name: "label", Int64: labels[lo:hi]}, {Name: "split", String: split[lo:hi]}})
	}
	write("ds/modality=text/part-0.parquet", rows, []lake.OutColumn{{Name: "entity_id", Int64: ids},
		{Name: "probs", List64: probs, Width: len(values)}})
	spec, err := ParseSpec([]byte("name: t\ndataset: ds\nsplit: {column: split}\nmodalities:\n  - {name: text, probs: probs}\nstrategies:\n  - {name: m, type: late-mean}\n"), "spec")
	if err != nil {
		t.Fatal(err)
	}
	p, err := makePlan(ctx, l, spec, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := collectClasses(spec, p.labelValues, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"-1", "0", "7", "4095", "4096", "5000"}; !slices.Equal(cs.names, want) {
		t.Errorf("classes %v, want %v", cs.names, want)
	}
	if !slices.Equal(p.splitValues, []string{"test", "train"}) {
		t.Errorf("splits %v", p.splitValues)
	}
}

// routeKeys puts each key in its range's group (a row group within one range
// without a search), counts the groups' rows, and refuses a key outside the
// range its row group's statistics give: its group may have been read already.
func TestRouteKeys(t *testing.T) {
	bounds := []int64{10, 20, 30}
	group, start := make([]int32, 5), make([]int, len(bounds)+2)
	if err := routeKeys([]int64{9, 10, 19, 20, 35}, 9, 35, bounds, group, start); err != nil {
		t.Fatal(err)
	}
	if want := []int32{0, 1, 1, 2, 3}; !slices.Equal(group, want) {
		t.Errorf("groups %v, want %v", group, want)
	}
	if want := []int{0, 1, 2, 1, 1}; !slices.Equal(start, want) {
		t.Errorf("counts %v, want %v", start, want)
	}
	group, start = make([]int32, 2), make([]int, len(bounds)+2)
	if err := routeKeys([]int64{12, 14}, 11, 15, bounds, group, start); err != nil || !slices.Equal(group, []int32{1, 1}) {
		t.Errorf("within one range: %v, %v", group, err)
	}
	if err := routeKeys([]int64{12, 9}, 11, 15, bounds, group, start); err == nil || !strings.Contains(err.Error(), "row 1 has key 9, outside [11, 15]") {
		t.Errorf("a key below its row group's statistics: %v", err)
	}
	sg := make([]int32, 2)
	if err := routeKeys([]string{"b", "z"}, "a", "m", []string{"c"}, sg, make([]int, 3)); err == nil || !strings.Contains(err.Error(), `row 1 has key "z", outside ["a", "m"]`) {
		t.Errorf("a string key past its row group's statistics: %v", err)
	}
}
