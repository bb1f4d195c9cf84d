package fusion

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// BlockKind says what a modality block holds.
type BlockKind int

const (
	// Probs blocks hold per-class probabilities produced upstream (decision level).
	Probs BlockKind = iota
	// Features blocks hold numeric features (feature level): an embedding or
	// numeric columns.
	Features
)

func (k BlockKind) String() string {
	if k == Probs {
		return "probs"
	}
	return "features"
}

// Block is one modality of an aligned Frame.
type Block struct {
	Name    string
	Kind    BlockKind
	Width   int
	Values  []float32 // Rows×Width, row-major; zeros where the modality is absent
	Present []bool
	// Normalised: every present row of a Probs block is already what
	// Unimodal.Predict makes of it (NormaliseProbs32), as the job's loader leaves
	// them, so Predict does not divide them again.
	Normalised bool
}

// Row returns row i's values.
func (b *Block) Row(i int) []float32 { return b.Values[i*b.Width : (i+1)*b.Width] }

// widen writes float32 values into dst, as float64, and returns dst[:len(src)].
func widen(dst []float64, src []float32) []float64 {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = float64(v)
	}
	return dst
}

// narrow writes float64 values into dst as float32 (rounded).
func narrow(dst []float32, src []float64) {
	for i, v := range src {
		dst[i] = float32(v)
	}
}

// appendWide appends float32 values to dst as float64.
func appendWide(dst []float64, src []float32) []float64 {
	for _, v := range src {
		dst = append(dst, float64(v))
	}
	return dst
}

// Frame is the aligned view of a job's entities: one row per entity, one block per
// modality with a presence mask, the class label and the split.
type Frame struct {
	Rows    int
	Classes int
	Label   []int32 // class index; -1 when the entity has no label
	Train   []bool  // the row is in the training split
	// KeyHash is a fixed hash of each row's entity key. Fits visit training rows in
	// KeyHash order and out-of-fold splits use it, so a fitted model does not depend
	// on the order rows arrive in, nor on which other rows the frame holds. Nil
	// means row order (tests that build frames by hand).
	KeyHash []uint64
	Blocks  []Block
}

// Validate checks that every slice agrees with Rows and widths.
func (f *Frame) Validate() error {
	if len(f.Label) != f.Rows || len(f.Train) != f.Rows {
		return fmt.Errorf("%w: %d rows, %d labels, %d split flags", ErrShape, f.Rows, len(f.Label), len(f.Train))
	}
	for _, b := range f.Blocks {
		if len(b.Values) != f.Rows*b.Width || len(b.Present) != f.Rows {
			return fmt.Errorf("%w: modality %q: %d values for %d rows of width %d", ErrShape, b.Name, len(b.Values), f.Rows, b.Width)
		}
		if b.Kind == Probs && b.Width != f.Classes {
			return fmt.Errorf("%w: modality %q has %d probabilities per row, the task has %d classes", ErrShape, b.Name, b.Width, f.Classes)
		}
	}
	return nil
}

// TrainRows returns the indexes of labelled training rows (where keep, if not nil,
// is true), in canonical (KeyHash) order.
func (f *Frame) TrainRows(keep []bool) []int {
	// Counted first, so that the list is allocated once, at its size.
	in := func(i int) bool { return f.Train[i] && f.Label[i] >= 0 && (keep == nil || keep[i]) }
	n := 0
	for i := 0; i < f.Rows; i++ {
		if in(i) {
			n++
		}
	}
	rows := make([]int, 0, n)
	for i := 0; i < f.Rows; i++ {
		if in(i) {
			rows = append(rows, i)
		}
	}
	if f.KeyHash != nil {
		sortByHash(rows, f.KeyHash)
	}
	return rows
}

// sortByHash orders rows by hash[row], rows of equal hashes in their given
// order: what slices.SortStableFunc does, as a least-significant-digit radix
// sort. Only the hashes' high 32 bits are sorted on, in four byte passes over
// one word a row (those bits above the row itself): a 2M-row frame's hashes
// share their high 32 bits in a few hundred pairs, put in order after by their
// whole hashes. Eight passes over 16-byte (hash, row) pairs were 0.15 CPU-s of
// the 2M bench; four over words read and write a quarter as much. The passes
// keep the words' first order among equal high halves, whatever the low bits
// hold: holding the row, not its position in rows, the sorted words are the
// rows, with no gather through a copy of rows at random (BenchmarkTrainRowsOrder).
func sortByHash(rows []int, hash []uint64) {
	n := len(rows)
	if n < 256 || uint64(len(hash)) > math.MaxUint32 {
		slices.SortStableFunc(rows, func(a, b int) int { return cmp.Compare(hash[a], hash[b]) })
		return
	}
	src, dst := make([]uint64, n), make([]uint64, n)
	var count [4][256]int // per byte of the high half
	for j, i := range rows {
		h := hash[i] // and i < len(hash) <= MaxUint32
		src[j] = h&^math.MaxUint32 | uint64(i)
		for b := range count {
			count[b][byte(h>>(32+8*b))]++
		}
	}
	for b := range count {
		shift := uint(32 + 8*b)
		if count[b][byte(src[0]>>shift)] == n {
			continue // every hash has this byte: the pass would not move a row
		}
		next, pos := &count[b], 0
		for d, c := range next {
			next[d] = pos
			pos += c
		}
		for _, it := range src {
			d := byte(it >> shift)
			dst[next[d]] = it
			next[d]++
		}
		src, dst = dst, src
	}
	// src is in order of the hashes' high halves, ties in rows' order; each
	// run of one high half is put in order of the whole hash, stably (by
	// insertion, or a stable sort for a long run).
	whole := func(it uint64) uint64 { return hash[uint32(it)] }
	for lo := 0; lo < n; {
		hi := lo + 1
		for hi < n && src[hi]>>32 == src[lo]>>32 {
			hi++
		}
		if hi-lo > 16 { // not a few chance ties: hashes with a common high half
			slices.SortStableFunc(src[lo:hi], func(a, b uint64) int { return cmp.Compare(whole(a), whole(b)) })
		}
		for a := lo + 1; a < hi && hi-lo <= 16; a++ {
			it, h := src[a], whole(src[a])
			b := a
			for b > lo && whole(src[b-1]) > h {
				src[b] = src[b-1]
				b--
			}
			src[b] = it
		}
		lo = hi
	}
	for j, it := range src {
		rows[j] = int(uint32(it))
	}
}

// StratifiedFolds deals training rows (in canonical order, as TrainRows gives
// them) to out-of-fold folds: within each class, the rows in key-hash order go
// to folds 0, 1, …, k-1, 0, 1, … in turn, so every fold holds out about a k-th of
// every class. k is want, or the smallest class's row count when that is fewer
// (so that every fold holds out every class, as scikit-learn's StratifiedKFold
// asks), but at least 2; small lists the classes with a single row, which one
// fold then fits without. fold[j] is rows[j]'s fold. The folds depend on the
// rows' keys and labels only: not on their order in the frame, nor on the other
// rows it holds.
func (f *Frame) StratifiedFolds(rows []int, want int) (fold []int, k int, small []int32) {
	// Labels are class indices; a label past Classes (a frame built by hand)
	// widens the counts rather than failing.
	classes := f.Classes
	for _, i := range rows {
		classes = max(classes, int(f.Label[i])+1)
	}
	count := make([]int, classes)
	for _, i := range rows {
		count[f.Label[i]]++
	}
	k = max(want, 2)
	for c, n := range count {
		if n == 0 {
			continue
		}
		k = min(k, max(n, 2))
		if n < 2 {
			small = append(small, int32(c))
		}
	}
	dealt := make([]int, classes)
	fold = make([]int, len(rows))
	for j, i := range rows {
		c := f.Label[i]
		fold[j] = dealt[c] % k
		dealt[c]++
	}
	return fold, k, small
}

// Inputs is what a strategy sees: the Frame and, per block, the unimodal class
// probabilities (Rows×Classes) produced by the block's unimodal model, valid where
// the block is present.
//
// OOF holds out-of-fold unimodal probabilities: for a training row, the prediction
// of a model fitted without that row's fold; for every other row, the same as
// Unimodal. Anything learned on top of unimodal outputs (stacking, learned weights,
// calibration) fits on OOF, so no row's own label leaks into its features. It is
// set when a strategy says it needs it (NeedsOOF).
type Inputs struct {
	*Frame
	Unimodal [][]float32
	OOF      [][]float32
}
