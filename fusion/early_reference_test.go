package fusion

import (
	"context"
	"math"
	"testing"
)

// Early fusion's learned pieces, recomputed from their definitions: each block's
// imputation is the mean of its (normalised) rows over the training rows where it
// is present; presence indicators exist because blocks go missing; an L2 row has
// unit norm; the feature vector of a row is its blocks (or their imputations) then
// the indicators.
func TestEarlyImputationAndFeatures(t *testing.T) {
	for _, norm := range []string{"standard", "l2"} {
		t.Run(norm, func(t *testing.T) {
			f := suiteFrame(300, 3, 7)
			in := &Inputs{Frame: f}
			s, err := New(Config{Name: "e", Type: "early", Modalities: []string{"f1", "f2"}, Normalize: norm, MaxIter: 50})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Fit(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			p := s.(*early).params
			if !p.Indicators || p.dim() != 4+3+2 {
				t.Fatalf("indicators %v, dim %d; want indicators and 9 features", p.Indicators, p.dim())
			}
			for k, name := range []string{"f1", "f2"} {
				b := slicesIndex(f, name)
				blk := &f.Blocks[b]
				mean := make([]float64, blk.Width)
				n := 0.0
				for i := 0; i < f.Rows; i++ {
					if !f.Train[i] || !blk.Present[i] {
						continue
					}
					row := appendWide(nil, blk.Row(i))
					if norm == "l2" {
						l := 0.0
						for _, v := range row {
							l += v * v
						}
						if l > 0 {
							for j := range row {
								row[j] /= math.Sqrt(l)
							}
						}
					}
					for j, v := range row {
						mean[j] += v
					}
					n++
				}
				for j := range mean {
					if differ(p.Impute[k][j], mean[j]/n, 1e-12) {
						t.Errorf("%s imputation[%d] = %v, want the training mean %v", name, j, p.Impute[k][j], mean[j]/n)
					}
				}
			}
			// A row missing f1: f1's imputation, f2's values, indicators 0 and 1.
			i := 0
			for f.Blocks[0].Present[i] || !f.Blocks[1].Present[i] {
				i++
			}
			x := make([]float64, p.dim())
			if !p.row(f, []int{0, 1}, i, x) {
				t.Fatal("a row with f2 present has no modality")
			}
			f2 := appendWide(nil, f.Blocks[1].Row(i))
			p.block(&f.Blocks[1], i, f2)
			want := append(append(append([]float64(nil), p.Impute[0]...), f2...), 0, 1)
			for j := range want {
				if differ(x[j], want[j], 1e-15) {
					t.Fatalf("feature vector %v, want %v", x, want)
				}
			}
			if norm == "l2" {
				l := 0.0
				for _, v := range f2 {
					l += v * v
				}
				if differ(l, 1, 1e-12) {
					t.Errorf("an l2-normalised block has norm² %v", l)
				}
			}
		})
	}
}

func slicesIndex(f *Frame, name string) int {
	for b := range f.Blocks {
		if f.Blocks[b].Name == name {
			return b
		}
	}
	return -1
}
