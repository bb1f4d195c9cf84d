package fusion

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// suiteConfig returns the options a registered type needs to be built for the
// suite; a type without an entry is built with its defaults, so a new strategy is
// covered as soon as it registers.
func suiteConfig(typ string) Config {
	cfg := Config{Name: "s", Type: typ, MaxIter: 200}
	switch typ {
	case "hybrid":
		cfg.Groups = [][]string{{"f1", "f2"}}
	}
	return cfg
}

// suiteFrame builds a frame with two features blocks (one has a constant column and
// an all-zero column) and one probs block, each missing from some rows, so that
// every presence pattern with at least one modality occurs.
func suiteFrame(rows, classes int, seed uint64) *Frame {
	rng := rand.New(rand.NewPCG(seed, 11))
	f := &Frame{Rows: rows, Classes: classes, Label: make([]int32, rows), Train: make([]bool, rows), KeyHash: make([]uint64, rows)}
	widths := []int{4, 3, classes}
	kinds := []BlockKind{Features, Features, Probs}
	names := []string{"f1", "f2", "p"}
	for b := range names {
		f.Blocks = append(f.Blocks, Block{Name: names[b], Kind: kinds[b], Width: widths[b],
			Values: make([]float32, rows*widths[b]), Present: make([]bool, rows)})
	}
	for i := 0; i < rows; i++ {
		// Imbalanced classes (class c about (c+1)² times as frequent as class 0), so
		// that a prior and a uniform distribution differ wherever one is used.
		y := imbalancedClass(rng, classes)
		f.Label[i] = y
		f.Train[i] = i%4 != 0
		f.KeyHash[i] = rng.Uint64()
		pattern := 1 + i%7 // 1..7: every non-empty subset of three blocks
		for b := range f.Blocks {
			blk := &f.Blocks[b]
			blk.Present[i] = pattern&(1<<b) != 0
			if !blk.Present[i] {
				continue
			}
			row := blk.Row(i)
			switch blk.Kind {
			case Features:
				for j := range row {
					row[j] = float32(rng.NormFloat64())
				}
				row[int(y)%blk.Width] += 2
				if b == 0 {
					row[2], row[3] = 5, 0 // constant and all-zero columns
				}
			case Probs:
				s := 0.0
				for j := range row {
					row[j] = float32(rng.Float64())
					if int32(j) == y {
						row[j] += 1
					}
					s += float64(row[j])
				}
				for j := range row {
					row[j] = float32(float64(row[j]) / s)
				}
			}
		}
	}
	return f
}

func imbalancedClass(rng *rand.Rand, classes int) int32 {
	total := 0
	for c := 1; c <= classes; c++ {
		total += c * c
	}
	x := rng.IntN(total)
	for c := 0; c < classes; c++ {
		x -= (c + 1) * (c + 1)
		if x < 0 {
			return int32(c)
		}
	}
	return int32(classes - 1)
}

// suiteInputs fits the unimodal models and the out-of-fold predictions, as a job does.
func suiteInputs(t *testing.T, f *Frame) *Inputs {
	t.Helper()
	ctx := context.Background()
	uni, err := FitUnimodal(ctx, f, &LogRegOptions{MaxIter: 200}, 2)
	if err != nil {
		t.Fatal(err)
	}
	in := &Inputs{Frame: f, Unimodal: make([][]float32, len(f.Blocks))}
	for b := range f.Blocks {
		in.Unimodal[b] = make([]float32, f.Rows*f.Classes)
		uni[b].Predict(&f.Blocks[b], in.Unimodal[b])
	}
	if in.OOF, err = OutOfFold(ctx, f, nil, in.Unimodal, &LogRegOptions{MaxIter: 200}, 2); err != nil {
		t.Fatal(err)
	}
	return in
}

func fitPredict(t *testing.T, cfg Config, in *Inputs) (Strategy, []float64, error) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Fit(context.Background(), in); err != nil {
		return nil, nil, err
	}
	out := make([]float64, in.Rows*in.Classes)
	if err := s.Predict(context.Background(), in, out); err != nil {
		t.Fatalf("predict: %v", err)
	}
	return s, out, nil
}

// permute returns the frame with rows in the order perm (inputs too).
func permute(in *Inputs, perm []int) *Inputs {
	f, k := in.Frame, in.Classes
	g := &Frame{Rows: f.Rows, Classes: k, Label: make([]int32, f.Rows), Train: make([]bool, f.Rows), KeyHash: make([]uint64, f.Rows)}
	for b := range f.Blocks {
		blk := f.Blocks[b]
		g.Blocks = append(g.Blocks, Block{Name: blk.Name, Kind: blk.Kind, Width: blk.Width, Values: make([]float32, len(blk.Values)), Present: make([]bool, f.Rows)})
	}
	out := &Inputs{Frame: g, Unimodal: make([][]float32, len(f.Blocks)), OOF: make([][]float32, len(f.Blocks))}
	for b := range f.Blocks {
		out.Unimodal[b] = make([]float32, len(in.Unimodal[b]))
		out.OOF[b] = make([]float32, len(in.OOF[b]))
	}
	for to, from := range perm {
		g.Label[to], g.Train[to], g.KeyHash[to] = f.Label[from], f.Train[from], f.KeyHash[from]
		for b := range f.Blocks {
			w := f.Blocks[b].Width
			copy(g.Blocks[b].Values[to*w:(to+1)*w], f.Blocks[b].Values[from*w:(from+1)*w])
			g.Blocks[b].Present[to] = f.Blocks[b].Present[from]
			copy(out.Unimodal[b][to*k:(to+1)*k], in.Unimodal[b][from*k:(from+1)*k])
			copy(out.OOF[b][to*k:(to+1)*k], in.OOF[b][from*k:(from+1)*k])
		}
	}
	return out
}

func TestConformance(t *testing.T) {
	frames := map[int]*Inputs{}
	for _, k := range []int{2, 3} {
		frames[k] = suiteInputs(t, suiteFrame(240, k, uint64(k)))
	}
	for _, typ := range Types() {
		t.Run(typ, func(t *testing.T) {
			ran := 0
			for _, k := range []int{2, 3} {
				in := frames[k]
				cfg := suiteConfig(typ)
				s, out, err := fitPredict(t, cfg, in)
				if errors.Is(err, ErrConfig) {
					continue // e.g. noisy-or on three classes
				}
				if err != nil {
					t.Fatalf("%d classes: fit: %v", k, err)
				}
				ran++

				// Probabilities: finite, non-negative, summing to 1, for every presence pattern.
				for i := 0; i < in.Rows; i++ {
					sum := 0.0
					for _, v := range out[i*k : (i+1)*k] {
						if math.IsNaN(v) || v < 0 {
							t.Fatalf("%d classes: row %d: %v", k, i, out[i*k:(i+1)*k])
						}
						sum += v
					}
					if differ(sum, 1, 1e-9) {
						t.Fatalf("%d classes: row %d sums to %v", k, i, sum)
					}
				}

				// Deterministic: a second fit gives the same artifact bytes and predictions.
				s2, out2, _ := fitPredict(t, cfg, in)
				a1, _ := json.Marshal(s.Artifact())
				a2, _ := json.Marshal(s2.Artifact())
				if string(a1) != string(a2) || !bitsEqual(out, out2) {
					t.Errorf("%d classes: two fits differ", k)
				}

				// The artifact restores to the same predictions.
				var env struct {
					Params json.RawMessage `json:"params"`
				}
				json.Unmarshal(a1, &env)
				restored, err := Load(s.Artifact(), env.Params)
				if err != nil {
					t.Fatalf("%d classes: load: %v", k, err)
				}
				out3 := make([]float64, len(out))
				if err := restored.Predict(context.Background(), in, out3); err != nil || !bitsEqual(out, out3) {
					t.Errorf("%d classes: restored predictions differ (%v)", k, err)
				}

				// Row order does not matter: fit on permuted rows, same prediction per row.
				perm := rand.New(rand.NewPCG(5, 5)).Perm(in.Rows)
				_, outP, err := fitPredict(t, cfg, permute(in, perm))
				if err != nil {
					t.Fatal(err)
				}
				for to, from := range perm {
					if !bitsEqual(outP[to*k:(to+1)*k], out[from*k:(from+1)*k]) {
						t.Fatalf("%d classes: row %d predicted differently after a shuffle", k, from)
					}
				}

				// A row with no modality is an error naming it.
				for b := range in.Blocks {
					in.Blocks[b].Present[7] = false
				}
				err = s.Predict(context.Background(), in, out3)
				if !errors.Is(err, ErrNoModality) {
					t.Errorf("%d classes: a row with no modality: got %v", k, err)
				}
				for b := range in.Blocks { // restore row 7's pattern (7 % 7 = 0 → pattern 1: block 0)
					in.Blocks[b].Present[7] = b == 0
				}
			}
			if ran == 0 {
				t.Fatal("the suite could not run this strategy on any task")
			}
		})
	}
}

func bitsEqual[T float32 | float64](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(float64(a[i])) != math.Float64bits(float64(b[i])) {
			return false
		}
	}
	return true
}

// Every RowPredictor's rows, predicted in uneven ranges, are Predict's bit for bit
// — the late rules plain, calibrated, with learned weights, by rank and by vote —
// and the strategies that are not one are those whose rows need a whole fit.
func TestRowPredictorsMatchPredict(t *testing.T) {
	in := suiteInputs(t, suiteFrame(240, 3, 7))
	configs := []Config{
		{Type: "late-mean", Calibration: "temperature"}, {Type: "late-max", Calibration: "platt"},
		{Type: "late-weighted"}, {Type: "vote", TieRule: "mean"},
	}
	for _, typ := range Types() {
		configs = append(configs, Config{Type: typ})
	}
	predictors := 0
	for _, cfg := range configs {
		cfg.Name = "s"
		if cfg.Type == "hybrid" {
			cfg.Groups = [][]string{{"f1", "f2"}}
		}
		s, want, err := fitPredict(t, cfg, in)
		if errors.Is(err, ErrConfig) {
			continue
		}
		if err != nil {
			t.Fatalf("%+v: %v", cfg, err)
		}
		rp, ok := s.(RowPredictor)
		if !ok {
			continue
		}
		predictors++
		k := in.Classes
		got := make([]float64, len(want))
		for lo, step := 0, 1; lo < in.Rows; lo, step = lo+step, step*2+1 {
			hi := min(lo+step, in.Rows)
			if err := rp.PredictRows(in, lo, hi, got[lo*k:hi*k]); err != nil {
				t.Fatalf("%s: rows %d…%d: %v", cfg.Type, lo, hi, err)
			}
		}
		if !bitsEqual(got, want) {
			t.Errorf("%s (calibration %q): PredictRows differs from Predict", cfg.Type, cfg.Calibration)
		}
	}
	if predictors < 8 {
		t.Errorf("%d row predictors checked, want every late rule's", predictors)
	}
}
