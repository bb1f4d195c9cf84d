package fusion_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/lakefuse/lakefuse/fusion"
	"github.com/lakefuse/lakefuse/internal/mfeat"
)

// Fit benchmarks on mfeat (six views, the published 1,600 training rows) and on a
// synthetic 100-class frame (2,400 training rows, views of 256, 128 and 32
// features). scripts/bench-fits.py compares the same fits with scikit-learn's in
// one alternating run; these are for profiling and for comparing commits:
//
//	go test ./fusion -run '^$' -bench Fit -benchtime 3x
func BenchmarkFit(b *testing.B) {
	for _, data := range []struct {
		name  string
		frame func(testing.TB) *fusion.Frame
	}{{"mfeat", mfeatFrame}, {"synthetic100", synthetic100}} {
		f := data.frame(b)
		b.Run(data.name+"/unimodal", func(b *testing.B) {
			for range b.N {
				if _, err := fusion.FitUnimodal(context.Background(), f, nil, 2); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, typ := range []string{"early", "evidential"} {
			b.Run(data.name+"/"+typ, func(b *testing.B) {
				for range b.N {
					s, _ := fusion.New(fusion.Config{Name: typ, Type: typ})
					if err := s.Fit(context.Background(), &fusion.Inputs{Frame: f}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(data.name+"/stacking", func(b *testing.B) {
			for range b.N {
				uni, err := fusion.FitUnimodal(context.Background(), f, nil, 2)
				if err != nil {
					b.Fatal(err)
				}
				in := &fusion.Inputs{Frame: f, Unimodal: make([][]float32, len(uni))}
				for j, u := range uni {
					in.Unimodal[j] = make([]float32, f.Rows*f.Classes)
					u.Predict(&f.Blocks[j], in.Unimodal[j])
				}
				if in.OOF, err = fusion.OutOfFold(context.Background(), f, uni, in.Unimodal, nil, 2); err != nil {
					b.Fatal(err)
				}
				s, _ := fusion.New(fusion.Config{Name: "stacking", Type: "stacking"})
				if err := s.Fit(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// mfeatFrame is mfeat's six views with the published split.
func mfeatFrame(tb testing.TB) *fusion.Frame {
	read := func(name string) [][]string {
		body, err := mfeat.Data.ReadFile("data/" + name)
		if err != nil {
			tb.Fatal(err)
		}
		recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil {
			tb.Fatal(err)
		}
		return recs[1:]
	}
	f := &fusion.Frame{Classes: 10}
	for _, v := range mfeat.Views {
		recs := read("mfeat-" + v + ".csv")
		width := len(recs[0]) - 1 // the last column is the label
		if f.Rows == 0 {
			f.Rows = len(recs)
			f.Label, f.Train = make([]int32, f.Rows), make([]bool, f.Rows)
			for i, r := range recs {
				c, _ := strconv.Atoi(r[width])
				f.Label[i] = int32(c)
			}
		}
		blk := fusion.Block{Name: v, Kind: fusion.Features, Width: width, Values: make([]float32, 0, f.Rows*width), Present: make([]bool, f.Rows)}
		for i, r := range recs {
			for _, s := range r[:width] {
				x, err := strconv.ParseFloat(s, 64)
				if err != nil {
					tb.Fatal(err)
				}
				blk.Values = append(blk.Values, float32(x))
			}
			blk.Present[i] = true
		}
		f.Blocks = append(f.Blocks, blk)
	}
	for _, r := range read("split.csv") {
		i, _ := strconv.Atoi(r[0])
		f.Train[i] = r[1] == "train"
	}
	if err := f.Validate(); err != nil {
		tb.Fatal(err)
	}
	return f
}

// synthetic100 is 3,000 entities of 100 classes (2,400 for training): class means
// in a 32-dimensional latent space, seen through a random projection per view plus
// noise, as scripts/bench-fits.py generates its set (with another generator).
func synthetic100(tb testing.TB) *fusion.Frame {
	const n, k, latent = 3000, 100, 32
	rng := rand.New(rand.NewPCG(11, 12))
	f := &fusion.Frame{Rows: n, Classes: k, Label: make([]int32, n), Train: make([]bool, n)}
	means := make([]float64, k*latent)
	for i := range means {
		means[i] = rng.NormFloat64()
	}
	z := make([]float64, n*latent)
	for i := 0; i < n; i++ {
		f.Label[i] = int32(rng.IntN(k))
		f.Train[i] = i < n*8/10
		for j := 0; j < latent; j++ {
			z[i*latent+j] = means[int(f.Label[i])*latent+j] + 1.2*rng.NormFloat64()
		}
	}
	for v, width := range []int{256, 128, 32} {
		proj := make([]float64, latent*width)
		for i := range proj {
			proj[i] = rng.NormFloat64() / 5.66 // 1/√latent
		}
		blk := fusion.Block{Name: "v" + strconv.Itoa(v), Kind: fusion.Features, Width: width, Values: make([]float32, n*width), Present: make([]bool, n)}
		for i := 0; i < n; i++ {
			blk.Present[i] = true
			for c := 0; c < width; c++ {
				x := (1 + 0.5*float64(v)) * rng.NormFloat64()
				for j := 0; j < latent; j++ {
					x += z[i*latent+j] * proj[j*width+c]
				}
				blk.Values[i*width+c] = float32(x)
			}
		}
		f.Blocks = append(f.Blocks, blk)
	}
	return f
}
