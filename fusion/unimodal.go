package fusion

import (
	"context"
	"fmt"
	"math"
	"time"

	"golang.org/x/sync/errgroup"
)

// Unimodal is one modality's own model: a logistic regression for a features
// block, a renormalisation for a probs block. Its predictions feed late fusion and
// are the baselines every fused strategy is compared with.
type Unimodal struct {
	Block   string    `json:"modality"`
	Kind    string    `json:"kind"`
	Classes int       `json:"classes"`
	Prior   []float64 `json:"prior"` // training class frequencies: the prediction where the modality is missing
	LR      *LogReg   `json:"logreg,omitempty"`

	FitSeconds float64 `json:"-"` // wall time of this model's fit
}

// FitUnimodal fits one model per block on the training rows where the block is
// present, at most workers at a time.
func FitUnimodal(ctx context.Context, f *Frame, opts *LogRegOptions, workers int) ([]*Unimodal, error) {
	prior := classPrior(f)
	models := make([]*Unimodal, len(f.Blocks))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	for bi := range f.Blocks {
		b := &f.Blocks[bi]
		g.Go(func() error {
			u := &Unimodal{Block: b.Name, Kind: b.Kind.String(), Classes: f.Classes, Prior: prior}
			models[bi] = u
			if b.Kind == Probs {
				return nil
			}
			rows := f.TrainRows(b.Present)
			if len(rows) == 0 {
				return fmt.Errorf("modality %q: %w", b.Name, ErrNoTrainingRows)
			}
			X := make([]float64, 0, len(rows)*b.Width)
			y := make([]int32, len(rows))
			for k, i := range rows {
				X = appendWide(X, b.Row(i))
				y[k] = f.Label[i]
			}
			start := time.Now()
			lr, err := FitLogReg(gctx, X, y, b.Width, f.Classes, opts)
			if err != nil {
				return fmt.Errorf("modality %q: %w", b.Name, err)
			}
			u.LR = lr
			u.FitSeconds = time.Since(start).Seconds()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return models, nil
}

// Predict writes Rows×Classes probabilities for the block: the model's where the
// block is present, the training prior where it is missing. For a probs block, out
// may be b.Values itself: the rows are then normalised in place, which saves a copy
// of the largest arrays of a late-fusion job.
func (u *Unimodal) Predict(b *Block, out []float32) {
	k := u.Classes
	var x, z []float64
	if u.LR != nil {
		x, z = make([]float64, b.Width), make([]float64, k)
	}
	// Into the block itself (a probabilities block's rows are its outputs):
	// a normalised row is where it belongs already, and copying it onto
	// itself moved 240 MB at the 2M bench.
	inPlace := len(out) > 0 && len(b.Values) > 0 && &out[0] == &b.Values[0] && b.Width == k
	if inPlace && b.Normalised && u.LR == nil { // only the absent rows to write: the prior
		for i, present := range b.Present {
			if !present {
				narrow(out[i*k:(i+1)*k], u.Prior)
			}
		}
		return
	}
	for i := range b.Present {
		dst := out[i*k : (i+1)*k]
		if !b.Present[i] {
			narrow(dst, u.Prior)
			continue
		}
		if u.LR != nil {
			u.LR.PredictProba(widen(x, b.Row(i)), z)
			narrow(dst, z)
			continue
		}
		if b.Normalised {
			if !inPlace {
				copy(dst, b.Row(i))
			}
			continue
		}
		normalise(b.Row(i), dst)
	}
}

// NormaliseProbs32 checks a probabilities row as a loader does — every value
// finite and not negative, and their sum (float64, added in order) within tol
// of 1 — and if it passes, divides it in place by that sum as Predict would
// (normalise32); ok reports whether it passed (the row is then changed), sum
// is the sum either way. On amd64 it is SSE2 assembly, two values at a time:
// the load's BenchmarkFinishProbs (2^18 rows of ten) went 12.2-13.0 -> 8.1-9.0
// ms against the Go check and division.
func NormaliseProbs32(row []float32, tol float64) (sum float64, ok bool) {
	return normaliseProbs32(row, tol)
}

// normaliseProbsGo is NormaliseProbs32 in Go: the reference for the assembly.
func normaliseProbsGo(row []float32, tol float64) (sum float64, ok bool) {
	fine := true
	for _, x := range row {
		v := float64(x)
		fine = fine && v >= 0 && v <= math.MaxFloat64
		sum += v
	}
	if !fine || !(math.Abs(sum-1) <= tol) {
		return sum, false
	}
	normalise32(row, sum)
	return sum, true
}

// normalise32 is what Predict makes of a probs row that is finite, has no
// negative value and sums to sum (its values added as float64, in order, from
// zero) with sum > 0: each value divided by sum.
func normalise32(row []float32, sum float64) {
	for j, v := range row {
		row[j] = float32((0 + float64(v)) / sum) // 0 + v: −0 becomes +0, as normalise has it
	}
}

// normalise copies p into dst (which may be p) as a distribution: negatives, NaN
// and infinities count as 0, and an all-zero row becomes uniform. The sum and
// the quotients are float64 whatever the element type.
func normalise[T float32 | float64](p, dst []T) {
	s := 0.0
	for j, v := range p {
		x := float64(v)
		if !(x > 0 && x <= math.MaxFloat64) {
			x, v = 0, 0
		}
		dst[j] = v
		s += x
	}
	if s == 0 {
		for j := range dst {
			dst[j] = T(1 / float64(len(dst)))
		}
		return
	}
	for j := range dst {
		dst[j] = T(float64(dst[j]) / s)
	}
}

func classPrior(f *Frame) []float64 {
	prior := make([]float64, f.Classes)
	n := 0
	for i := 0; i < f.Rows; i++ { // counts: no need for the canonical order
		if f.Train[i] && f.Label[i] >= 0 {
			prior[f.Label[i]]++
			n++
		}
	}
	for c := range prior {
		if n > 0 {
			prior[c] /= float64(n)
		} else {
			prior[c] = 1 / float64(f.Classes)
		}
	}
	return prior
}
