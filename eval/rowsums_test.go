package eval

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The assembly loops (rowSums32, rowSums64; on other platforms the Go loop
// itself) give the Go loop's sums, counts, best class and rank bins to the bit
// on rows of 1 to 37 classes: random probabilities, ties (with the label's
// and for the maximum), zeros and −0, values below ε and above 1−ε (the clip),
// at and past the rank bins' ends, negatives and infinities. A row with a NaN
// yields a NaN clipped sum, so termsOf redoes it in Go, and termsOf then
// matches the Go loop too. A float32 row's terms are its widened row's.
func TestRowSumsAssemblyIsTheGoLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	odd := []float64{0, math.Copysign(0, -1), 1, 0.5, 0x1p-53, 0x1p-52, 1 - 0x1p-53, 1.0 / 65536, 65535.0 / 65536, 2,
		-0.25, math.Inf(1), math.Inf(-1), math.MaxFloat32, math.SmallestNonzeroFloat32}
	for _, k := range []int{1, 2, 3, 10, 37} {
		for range 20000 {
			row := make([]float64, k)
			nan := false
			for c := range row {
				switch rng.IntN(6) {
				case 0:
					row[c] = odd[rng.IntN(len(odd))]
				case 1:
					row[c] = row[rng.IntN(c+1)] // a tie with an earlier class (or itself)
				default:
					row[c] = rng.Float64()
				}
				if rng.IntN(500) == 0 {
					row[c], nan = math.NaN(), true
				}
			}
			label := rng.IntN(k)
			row32 := make([]float32, k)
			for c, v := range row {
				row32[c] = float32(v)
			}
			check := func(name string, gotC, gotS float64, gotA, gotB int, wantC, wantS float64, wantA, wantB int, gotBins, wantBins []uint16) {
				t.Helper()
				if nan {
					if gotC == gotC {
						t.Fatalf("%s %v: clipped %v, want NaN for a row with NaN", name, row, gotC)
					}
					return
				}
				if math.Float64bits(gotC) != math.Float64bits(wantC) || math.Float64bits(gotS) != math.Float64bits(wantS) || gotA != wantA || gotB != wantB || !slices.Equal(gotBins, wantBins) {
					t.Fatalf("%s %v label %d: assembly %v %v %d %d %v, Go %v %v %d %d %v", name, row, label,
						gotC, gotS, gotA, gotB, gotBins, wantC, wantS, wantA, wantB, wantBins)
				}
			}
			for _, binned := range []bool{false, true} {
				var gb, wb []uint16
				if binned {
					gb, wb = make([]uint16, k), make([]uint16, k)
				}
				c, s, a, b := rowSums64(row, label, gb)
				wc, ws, wa, wbst := rowSums(row, label, wb)
				check("float64", c, s, a, b, wc, ws, wa, wbst, gb, wb)
				c, s, a, b = rowSums32(row32, label, gb)
				wc, ws, wa, wbst = rowSums(row32, label, wb)
				check("float32", c, s, a, b, wc, ws, wa, wbst, gb, wb)
			}
			// A float32 row's terms are those of the same row widened to float64.
			wide := make([]float64, k)
			for c, v := range row32 {
				wide[c] = float64(v)
			}
			b32, b64 := make([]uint16, k), make([]uint16, k)
			if g, w := termsOf(row32, label, b32), termsOf(wide, label, b64); !sameTerms(g, w) || !slices.Equal(b32, b64) {
				t.Fatalf("%v label %d: float32 terms %+v %v, of the row widened %+v %v", row32, label, g, b32, w, b64)
			}
			if nan {
				gb, wb := make([]uint16, k), make([]uint16, k)
				got := termsOf(row, label, gb)
				wc, ws, wa, wbst := rowSums(row, label, wb)
				if got.pred != wbst || got.ahead != wa || !slices.Equal(gb, wb) || (k > 2 && math.Float64bits(got.brier) != math.Float64bits(ws)) || wc == wc {
					t.Fatalf("termsOf %v label %d: %+v, the Go loop %v %v %d %d", row, label, got, wc, ws, wa, wbst)
				}
			}
		}
	}
}

// sameTerms compares two rows' terms bit for bit (NaN equal to NaN).
func sameTerms(a, b rowTerms) bool {
	return a.pred == b.pred && a.ahead == b.ahead && math.Float64bits(a.top) == math.Float64bits(b.top) &&
		math.Float64bits(a.logLoss) == math.Float64bits(b.logLoss) && math.Float64bits(a.brier) == math.Float64bits(b.brier)
}
