package jobs

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/lakefuse/lakefuse/eval"
	"github.com/lakefuse/lakefuse/fusion"
	"github.com/lakefuse/lakefuse/internal/bigmem"
	"golang.org/x/sync/errgroup"
)

// strategiesOutOfFold measures how each strategy does on training rows it was
// not fitted on, for the report's overfitting table: the labelled training rows
// the fits saw are dealt to stratified folds (fusion.Frame.StratifiedFolds), and
// each strategy is fitted afresh once per fold on the rows outside it and scores
// the rows inside it. Its inputs are the out-of-fold unimodal probabilities
// (oof), so a held-out row's unimodal inputs come from models fitted without it
// too; the fusion layer of a fold's fit sees them for its own rows as the real
// fit does. Each fold's accuracy is averaged over the folds, as the baseline
// choice's (scikit-learn's cross_val_score). A strategy that can
// (fusion.WarmFitter) starts each fold's fit from its full fit, fitted (in spec
// order; nil fits cold). A fixed rule, which learns nothing (fusion.Learns), is
// not refitted: its predictions with the out-of-fold inputs are every fold's.
// Fits run r.cpu at a time and are deterministic, so the figures are. rows are
// f's training rows in canonical order (f.TrainRows(nil)), foldOf each frame
// row's fold of folds as StratifiedFolds deals rows (-1 outside them: the last
// entry of blockFolds).
func (r *runner) strategiesOutOfFold(ctx context.Context, f *fusion.Frame, rows []int, foldOf []int8, folds int, oof [][]float32, fs *fittedState) (*eval.StrategyOOF, error) {
	fitted := fs.strategies
	if len(rows) == 0 || len(r.spec.Strategies) == 0 || !r.spec.Evaluation.outOfFold() {
		return nil, nil
	}
	defer r.timed("strategies_out_of_fold", time.Now())
	k := f.Classes
	strategies := make([]fusion.Strategy, len(r.spec.Strategies))
	warm := make([]bool, len(strategies)) // fitted in full: a fold's fit may start from it
	for si, st := range r.spec.Strategies {
		if si < len(fitted) && fitted[si] != nil {
			strategies[si], warm[si] = fitted[si], true
			continue
		}
		s, err := fusion.New(st.Config())
		if err != nil {
			return nil, err
		}
		strategies[si] = s
	}
	size := make([]int64, folds)
	for _, fo := range foldOf {
		if fo >= 0 {
			size[fo]++
		}
	}
	right := make([][]int64, len(strategies)) // per strategy, per fold
	for si := range right {
		right[si] = make([]int64, folds)
	}
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(r.cpu)
	r.refitOutOfFold(ectx, eg, f, rows, foldOf, folds, oof, strategies, warm, right)
	// A fixed rule (fusion.Learns) predicts the same whatever rows it was
	// fitted on: one prediction over the frame with the out-of-fold inputs is
	// every fold's.
	for si, s := range strategies {
		if fusion.Learns(s) {
			continue
		}
		eg.Go(func() error {
			count := func(i, class int) {
				if fo := foldOf[i]; fo >= 0 && class == int(f.Label[i]) {
					right[si][fo]++
				}
			}
			if si < len(fs.scored) && fs.in != nil && sameInputs(oof, fs.in.Unimodal) {
				// Probabilities modalities are their own out-of-fold
				// inputs: the fitted rule's predictions are already made.
				if classes := fs.scored[si].classes; classes != nil {
					countRight(classes, f.Label, foldOf, right[si], r.cpu)
					return nil
				}
				fs.scored[si].predictions(f.Rows, k, count)
				return nil
			}
			fin := &fusion.Inputs{Frame: f, Unimodal: oof, OOF: oof}
			if !warm[si] {
				if err := s.Fit(ectx, fin); err != nil {
					return fmt.Errorf("jobs: strategy %q: out-of-fold fit: %w", s.Name(), err)
				}
			}
			if err := predictClasses(ectx, s, fin, count); err != nil {
				return fmt.Errorf("jobs: strategy %q: out-of-fold predict: %w", s.Name(), err)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	out := &eval.StrategyOOF{Folds: folds, Rows: int64(len(rows)), Accuracy: map[string]float64{}}
	for si, st := range r.spec.Strategies {
		out.Accuracy[st.Name] = foldMean(right[si], size)
	}
	return out, nil
}

// refitOutOfFold starts, on eg, the per-fold refits of every strategy that
// learns: the training rows alone (rows, in canonical order, dealt to fold)
// become a frame whose rows in a fold are predicted by a fit on the rows outside
// it. right[si][fold] counts once eg is done.
func (r *runner) refitOutOfFold(ctx context.Context, eg *errgroup.Group, f *fusion.Frame, rows []int, foldOf []int8, folds int, oof [][]float32, strategies []fusion.Strategy, warm []bool, right [][]int64) {
	if !slices.ContainsFunc(strategies, fusion.Learns) {
		return
	}
	fold := make([]int, len(rows)) // rows[j]'s fold
	for j, i := range rows {
		fold[j] = int(foldOf[i])
	}
	k := f.Classes
	g := &fusion.Frame{Rows: len(rows), Classes: k, Label: make([]int32, len(rows)), Train: make([]bool, len(rows))}
	if f.KeyHash != nil {
		g.KeyHash = make([]uint64, len(rows))
	}
	in := &fusion.Inputs{Frame: g, Unimodal: make([][]float32, len(f.Blocks))}
	for b, blk := range f.Blocks {
		sub := fusion.Block{Name: blk.Name, Kind: blk.Kind, Width: blk.Width, Values: make([]float32, 0, len(rows)*blk.Width), Present: make([]bool, len(rows)),
			Normalised: blk.Normalised}
		in.Unimodal[b] = make([]float32, 0, len(rows)*k)
		for j, i := range rows {
			sub.Values = append(sub.Values, blk.Row(i)...)
			sub.Present[j] = blk.Present[i]
			in.Unimodal[b] = append(in.Unimodal[b], oof[b][i*k:(i+1)*k]...)
		}
		g.Blocks = append(g.Blocks, sub)
	}
	for j, i := range rows {
		g.Label[j] = f.Label[i]
		if f.KeyHash != nil {
			g.KeyHash[j] = f.KeyHash[i]
		}
	}
	in.OOF = in.Unimodal
	for si, full := range strategies {
		if !fusion.Learns(full) {
			continue
		}
		st := r.spec.Strategies[si]
		for fo := 0; fo < folds; fo++ {
			eg.Go(func() error {
				s, err := fusion.New(st.Config())
				if err != nil {
					return err
				}
				gf := *g
				gf.Train = make([]bool, g.Rows)
				for j := range gf.Train {
					gf.Train[j] = fold[j] != fo
				}
				fin := &fusion.Inputs{Frame: &gf, Unimodal: in.Unimodal, OOF: in.OOF}
				if w, ok := s.(fusion.WarmFitter); ok && warm[si] {
					err = w.FitFrom(ctx, fin, full)
				} else {
					err = s.Fit(ctx, fin)
				}
				if err != nil {
					return fmt.Errorf("jobs: strategy %q: out-of-fold fit %d: %w", st.Name, fo, err)
				}
				probs := make([]float64, g.Rows*k)
				if err := s.Predict(ctx, fin, probs); err != nil {
					return fmt.Errorf("jobs: strategy %q: out-of-fold predict %d: %w", st.Name, fo, err)
				}
				for j := range fold {
					if fold[j] == fo && eval.Argmax(probs[j*k:(j+1)*k]) == int(g.Label[j]) {
						right[si][fo]++
					}
				}
				return nil
			})
		}
	}
}

// predictClasses calls fn with the class each of in's rows predicts, in order: a
// range of rows at a time for a fusion.RowPredictor, else from one prediction of
// every row.
func predictClasses(ctx context.Context, s fusion.Strategy, in *fusion.Inputs, fn func(i, class int)) error {
	k := in.Classes
	rp, ok := s.(fusion.RowPredictor)
	if !ok {
		probs := make([]float64, in.Rows*k)
		if err := s.Predict(ctx, in, probs); err != nil {
			return err
		}
		for i := 0; i < in.Rows; i++ {
			fn(i, eval.Argmax(probs[i*k:(i+1)*k]))
		}
		return nil
	}
	return rowClasses(ctx, in.Rows, k, func(lo, hi int, dst []float64) error { return rp.PredictRows(in, lo, hi, dst) }, fn)
}

// blockFolds deals the training rows of every block at once to the stratified
// folds f.StratifiedFolds deals them to — for block b, the rows of train (f's
// training rows in key-hash order, f.TrainRows(nil)) that have b's modality —
// in frame order: fold[b][i] is frame row i's fold, -1 for a row
// not among them, and k[b] is how many folds b's rows have. One more entry,
// fold[len(f.Blocks)], deals every row of train: the strategies' folds
// (strategiesOutOfFold). Two counting passes in frame order and one deal
// over train serve every block, instead of a row list, a fold list and a
// pass of their own per block.
func blockFolds(f *fusion.Frame, train []int, want int) (fold [][]int8, k []int) {
	nb := len(f.Blocks) + 1
	classes := f.Classes
	for i, y := range f.Label { // frame order: train's rows, read in order
		if f.Train[i] {
			classes = max(classes, int(y)+1) // as StratifiedFolds widens
		}
	}
	if nb <= 8 && classes <= 1<<24 {
		return packedFolds(f, train, want, classes)
	}
	count := make([][]int, nb)
	for b := range count {
		count[b] = make([]int, classes)
	}
	// cell[i*stride:] is row i's class (4 bytes, a training row's) and a byte
	// for each entry: 0 once the counting pass finds the row among b's,
	// absent otherwise. Train comes in key-hash order, so the deal reads the
	// rows at random: one cache line a row here, where a label array and a
	// presence array per block cost up to nb lines.
	stride := 4 + nb
	cell := bigmem.Make[byte](f.Rows*stride, f.Rows*stride)
	for i := 0; i < f.Rows; i++ {
		row := cell[i*stride+4 : (i+1)*stride]
		y := f.Label[i]
		if !f.Train[i] || y < 0 {
			for b := range row {
				row[b] = absentFold
			}
			continue
		}
		binary.LittleEndian.PutUint32(cell[i*stride:], uint32(y))
		for b := range row {
			if b == nb-1 || f.Blocks[b].Present[i] {
				count[b][y]++
			} else {
				row[b] = absentFold
			}
		}
	}
	k = foldCounts(count, want)
	// The cells are copied into train order (seq) and dealt there, and the
	// folds go from seq to the frame's rows. Dealt in place, each row's folds
	// were counts stored by the rows before it at addresses that came from
	// memory in turn, and the processor waited for a row's cache line before
	// it fetched the next one's; copied first, the lines are fetched
	// independently (BenchmarkBlockFolds, 2M rows, three blocks, three runs
	// each: 0.43-0.51 -> 0.37-0.41 s a deal).
	seq := bigmem.Make[byte](len(train)*stride, len(train)*stride)
	if stride == 8 { // three blocks: a word a row, not a call to memmove (BenchmarkBlockFolds 356-392 -> 230-289 ms)
		for j, i := range train {
			binary.LittleEndian.PutUint64(seq[j*8:], binary.LittleEndian.Uint64(cell[i*8:]))
		}
	} else {
		for j, i := range train {
			copy(seq[j*stride:(j+1)*stride], cell[i*stride:(i+1)*stride])
		}
	}
	for j := range train {
		c := binary.LittleEndian.Uint32(seq[j*stride:])
		row := seq[j*stride+4 : (j+1)*stride]
		for b, in := range row {
			if in != absentFold {
				next := count[b][c]
				row[b] = byte(next)
				if next++; next == k[b] {
					next = 0
				}
				count[b][c] = next
			}
		}
	}
	fold = make([][]int8, nb)
	all := bigmem.Make[int8](nb*f.Rows, nb*f.Rows)
	for b := range fold {
		fold[b] = all[b*f.Rows : (b+1)*f.Rows : (b+1)*f.Rows]
		for i := range fold[b] {
			fold[b][i] = -1 // not a training row
		}
	}
	for j, i := range train {
		for b, v := range seq[j*stride+4 : (j+1)*stride] {
			fold[b][i] = int8(v) // absent: -1
		}
	}
	return fold, k
}

// countRight adds to right[fold] the rows of each fold whose class is their
// label, in ranges on up to workers goroutines (after the evaluation, a pass
// over every row that one core ran while the other waited).
func countRight(classes, label []int32, foldOf []int8, right []int64, workers int) {
	n := sumInRanges(len(classes), workers, len(right), func(lo, hi int, n []int64) {
		for i := lo; i < hi; i++ {
			if fo := foldOf[i]; fo >= 0 && classes[i] == label[i] {
				n[fo]++
			}
		}
	})
	for fo, v := range n {
		right[fo] += v
	}
}

// foldCounts is how many folds each entry's rows are dealt to, from its rows
// per class (count[b][class]): want, or the smallest class's count when that is
// fewer, but at least 2, as StratifiedFolds decides. It clears the counts:
// they become the fold each class's next row goes to.
func foldCounts(count [][]int, want int) []int {
	k := make([]int, len(count))
	for b := range count {
		k[b] = max(want, 2)
		for _, n := range count[b] {
			if n > 0 {
				k[b] = min(k[b], max(n, 2))
			}
		}
		clear(count[b])
	}
	return k
}

// packedFolds is blockFolds for a frame of at most seven blocks and 2^24
// classes: a training row's class and which blocks have it fit in four bytes
// (class<<8 | one bit a block), so the deal's read of each row, at random in
// train's key-hash order, comes from an array half the size of blockFolds'
// general cells (8 MB at 2M rows), and a row's folds, a byte an entry, fit in
// a word (BenchmarkBlockFolds, 2M rows, three blocks: median 253 -> 176 ms).
func packedFolds(f *fusion.Frame, train []int, want, classes int) (fold [][]int8, k []int) {
	nb := len(f.Blocks) + 1
	all := nb - 1 // the entry of every training row
	count := make([][]int, nb)
	for b := range count {
		count[b] = make([]int, classes)
	}
	cell := bigmem.Make[uint32](f.Rows, f.Rows) // read for train's rows only
	for i, y := range f.Label {
		if !f.Train[i] || y < 0 {
			continue
		}
		v := uint32(y) << 8
		for b := range all {
			if f.Blocks[b].Present[i] {
				v |= 1 << b
				count[b][y]++
			}
		}
		count[all][y]++
		cell[i] = v
	}
	k = foldCounts(count, want)
	// Gathered into train order first, so that the reads at random do not
	// wait on the deal's counts (as blockFolds' cells are), then dealt in
	// order: seq[j] becomes row train[j]'s folds, a byte an entry.
	seq := bigmem.Make[uint64](len(train), len(train))
	for j, i := range train {
		seq[j] = uint64(cell[i])
	}
	for j, v := range seq {
		c := v >> 8
		var out uint64
		for b := range nb {
			fo := uint64(absentFold)
			if b == all || v&(1<<b) != 0 {
				next := count[b][c]
				fo = uint64(next)
				if next++; next == k[b] {
					next = 0
				}
				count[b][c] = next
			}
			out |= fo << (8 * b)
		}
		seq[j] = out
	}
	fold = make([][]int8, nb)
	arrays := bigmem.Make[int8](nb*f.Rows, nb*f.Rows)
	for b := range fold {
		fold[b] = arrays[b*f.Rows : (b+1)*f.Rows : (b+1)*f.Rows]
		for i := range fold[b] {
			fold[b][i] = -1 // not among the entry's rows
		}
	}
	for j, i := range train {
		for b, out := 0, seq[j]; b < nb; b, out = b+1, out>>8 {
			fold[b][i] = int8(out)
		}
	}
	return fold, k
}

// absentFold is a fold byte (blockFolds' cells, packedFolds' words) for a
// row not among the entry's: int8(-1).
const absentFold = 0xff

// sameInputs reports whether the out-of-fold inputs are the in-sample ones,
// block by block (the same arrays: probabilities modalities only).
func sameInputs(oof, in [][]float32) bool {
	if len(oof) != len(in) {
		return false
	}
	for b := range oof {
		if len(oof[b]) != len(in[b]) || (len(oof[b]) > 0 && !sameArray(oof[b], in[b])) {
			return false
		}
	}
	return true
}

// sameArray reports whether a and b are the same non-empty array of
// predictions (not equal values: the same memory).
func sameArray(a, b []float32) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// foldMean is the accuracy of each fold (right of rows) averaged over the folds
// that have rows, as scikit-learn's cross_val_score reports it; 0 without any.
func foldMean(right, rows []int64) float64 {
	acc, used := 0.0, 0
	for fo, n := range rows {
		if n > 0 {
			acc += float64(right[fo]) / float64(n)
			used++
		}
	}
	if used == 0 {
		return 0
	}
	return acc / float64(used)
}
