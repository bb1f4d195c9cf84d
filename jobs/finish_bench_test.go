package jobs

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lakefuse/lakefuse/fusion"
)

// BenchmarkFinishProbs is the load's last step for a probabilities modality:
// every row of 2^18 checked (finite, none negative, summing to 1), divided by
// its sum and marked present.
//
//	go test ./jobs -run '^$' -bench FinishProbs -count 5
func BenchmarkFinishProbs(b *testing.B) {
	const n, k = 1 << 18, 10
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]float32, n*k)
	for i := 0; i < n; i++ {
		var s float32
		for c := 0; c < k; c++ {
			vals[i*k+c] = rng.Float32()
			s += vals[i*k+c]
		}
		for c := 0; c < k; c++ {
			vals[i*k+c] /= s
		}
	}
	hits := make([]uint16, n)
	for i := range hits {
		hits[i] = 1
	}
	b.ResetTimer()
	for range b.N {
		ld := &blockLoad{sp: &SourcePlan{Kind: "probs", Invalid: "reject"}, blk: fusion.Block{Values: vals, Present: make([]bool, n)}, width: k, stride: k, hits: hits, bad: make([]uint8, n)}
		if _, _, err := finishLoads([]*blockLoad{ld}, func(int) string { return "" }, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// The load's check accepts exactly the probabilities rows fusion.NormaliseProbs32
// does, so a row NormaliseProbs32 turns down is rejected with a reason and no
// accepted row is left undivided in a block marked Normalised: rows near and
// past the tolerance, zeros, −0, negatives, NaN and infinities.
func TestCheckAcceptsWhatNormaliseProbsDoes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	odd := []float32{0, float32(math.Copysign(0, -1)), -0.01, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	ld := &blockLoad{sp: &SourcePlan{Kind: "probs"}, width: 5}
	accepted := 0
	for range 50000 {
		row := make([]float32, 5)
		for c := range row {
			row[c] = rng.Float32()
			if rng.IntN(30) == 0 {
				row[c] = odd[rng.IntN(len(odd))]
			}
		}
		s := 0.0
		for _, v := range row {
			s += float64(v)
		}
		scale := (1 + (rng.Float64()-0.5)*4*ProbSumTolerance) / s // sums within and past the tolerance
		for c := range row {
			row[c] = float32(float64(row[c]) * scale)
		}
		_, ok := fusion.NormaliseProbs32(slices.Clone(row), ProbSumTolerance)
		if reason := ld.check(0, row); (reason == "") != ok {
			t.Fatalf("%v: check %q, NormaliseProbs32 accepts: %v", row, reason, ok)
		}
		if ok {
			accepted++
		}
	}
	if accepted < 10000 || accepted > 40000 {
		t.Errorf("%d of 50,000 rows accepted: the rows do not straddle the tolerance", accepted)
	}
}

// finishLoads finishes a block in ranges: the invalid rows come back in row
// order across ranges, and under the error policy the error names the first.
func TestFinishLoadsInRanges(t *testing.T) {
	const n, k = 3*finishRows + 100, 2
	load := func(policy string) *blockLoad {
		vals := make([]float32, n*k)
		hits := make([]uint16, n)
		for i := range n {
			vals[i*k], vals[i*k+1], hits[i] = 0.25, 0.75, 1
		}
		for _, i := range []int{finishRows + 5, 2*finishRows - 1, 3 * finishRows} {
			vals[i*k] = -0.25
		}
		return &blockLoad{sp: &SourcePlan{Name: "m", Kind: "probs", Invalid: policy}, blk: fusion.Block{Values: vals, Present: make([]bool, n)},
			width: k, stride: k, hits: hits, bad: make([]uint8, n)}
	}
	keyOf := func(i int) string { return strconv.Itoa(i) }
	blocks, invalid, err := finishLoads([]*blockLoad{load("reject"), load("reject")}, keyOf, 3)
	if err != nil {
		t.Fatal(err)
	}
	for s := range blocks {
		var rows []int
		for _, iv := range invalid[s] {
			rows = append(rows, iv.row)
		}
		if want := []int{finishRows + 5, 2*finishRows - 1, 3 * finishRows}; !slices.Equal(rows, want) {
			t.Errorf("block %d: invalid rows %v, want %v", s, rows, want)
		}
		if blocks[s].Present[finishRows+5] || !blocks[s].Present[finishRows+6] || !blocks[s].Normalised {
			t.Errorf("block %d: presence or normalised mark wrong", s)
		}
	}
	_, _, err = finishLoads([]*blockLoad{load("reject"), load("error")}, keyOf, 3)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("entity %d:", finishRows+5)) {
		t.Errorf("error policy: %v, want the first invalid row's entity, %d", err, finishRows+5)
	}
}

// blockSlots numbers the entities that some modality has, in order, across
// its ranges; nil when every entity has one.
func TestBlockSlotsInRanges(t *testing.T) {
	const n = 3*finishRows + 77
	rng := rand.New(rand.NewPCG(7, 8))
	refs := [][]ref{make([]ref, n), make([]ref, n)}
	for i := range n {
		for s := range refs {
			refs[s][i] = mkref(0, i)
			if rng.IntN(4) == 0 {
				refs[s][i] = noRef
			}
		}
	}
	sl, rows := blockSlots(refs, n, 3)
	next := 0
	for i := range n {
		want := int32(-1)
		if refs[0][i] != noRef || refs[1][i] != noRef {
			want = int32(next)
			if sl == nil || sl.keys[next] != int32(i) {
				t.Fatalf("block row %d: not entity %d", next, i)
			}
			next++
		}
		if sl.rows[i] != want {
			t.Fatalf("entity %d: block row %d, want %d", i, sl.rows[i], want)
		}
	}
	if rows != next || len(sl.keys) != next {
		t.Errorf("%d rows, %d keys; want %d", rows, len(sl.keys), next)
	}
	for i := range n {
		refs[0][i] = mkref(0, i)
	}
	if sl, rows := blockSlots(refs, n, 3); sl != nil || rows != n {
		t.Errorf("every entity present: slots %v, %d rows", sl != nil, rows)
	}
}
