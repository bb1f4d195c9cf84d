package eval

import (
	"sync"

	"github.com/lakefuse/lakefuse/internal/bigmem"
)

// rankBin is the histogram bin of a score: equal-width bins over [0, 1], scores
// outside clamped into the end bins, NaN into the first.
func rankBin(score float64) int {
	s := score * rankBins
	switch {
	case !(s >= 1): // NaN, negative, or the first bin
		return 0
	case s >= rankBins-1:
		return rankBins - 1
	}
	return int(s)
}

// tallyRows is how many rows a rankTally gathers before counting them (1.3 MiB
// of bins at ten classes): each class's counts are then visited once per
// 65,536 rows, which hit each of their cache lines about eight times, where
// 16,384 rows hit them twice and 4,096 rows half the time. Four classifiers'
// tallies of ten classes interleaved row by row, as the evaluation pass runs
// them (BenchmarkAddRanksTallied4, ns a pair, medians of 3, with 32-bit
// counts): 4,096 rows 27.9, 16,384 rows 13.7, 65,536 rows 9.8.
const tallyRows = 1 << 16

// rankTally adds rows to histogram rankings (a split of more rows than the
// exact limit) with a fraction of the cache misses of Ranking.addBin. A
// ranking's histogram is 1 MiB (two int64 counts for each of 65,536 bins) and
// every row falls into a random bin of it, once per class: on 2M rows the rank
// pass was the largest item of a run's profile, all of it waiting on memory.
// The tally counts into 16-bit counts instead, a positive's next to a
// negative's (256 KiB a class), from bins computed once per row and gathered
// tallyRows rows at a time, then counted one class at a time; the counts are
// added to the rankings' histograms when the tally is flushed. The same pairs
// land in the same bins, so the rankings are the same to the bit.
type rankTally struct {
	rankings []*Ranking
	classes  []int    // the class each ranking ranks (1 for a binary task's one)
	width    int      // bins a row: one per class (2 for a binary task)
	chunk    int      // rows gathered before counting (tallyRows; less in tests)
	bins     []uint16 // the gathered rows' bins, row by row: bins[j*width+class]
	labels   []int32
	counts   [][]uint16      // per ranking, bin*2 + positive: each count's low 16 bits
	wraps    []map[int]int64 // per ranking, by counts' index: times the count wrapped past 0xFFFF
	warm     uint16          // warm's sums, kept so that its reads are not dropped
}

// warm reads one count of every cache line of counts, in order: the hardware
// prefetcher brings in a class's 256 KiB read in order several times faster
// than the random increments that follow would miss their way through it.
// Forty classes' counts (four classifiers of ten) are 10 MiB, so each class's
// come from L3 or memory again at every count. In the 2M bench's profile
// (three runs each, 32-bit counts then) count took 0.48–0.58 CPU-s without it,
// 0.18–0.34 with it (warm itself 0.05–0.07). The synthetic
// BenchmarkAddRanksTallied4 does not show it: its random rows fill a fifth of
// the bins.
func warm(counts []uint16) uint16 {
	var s uint16
	for i := 0; i < len(counts); i += 32 {
		s += counts[i]
	}
	return s
}

// tallies reuses rankTallies' 256 KiB a class from one evaluation to the next:
// a run evaluated in bucket groups evaluates hundreds of times.
var tallies sync.Pool

// newRankTally returns a tally that adds rows to rankings (a task's
// one-vs-rest rankings, as newRankings makes them), which must all be
// histograms, chunk rows at a time. Call flush before reading the rankings,
// then put to give the tally back.
func newRankTally(rankings []*Ranking, chunk int) *rankTally {
	t, _ := tallies.Get().(*rankTally)
	if t == nil {
		t = &rankTally{}
	}
	t.rankings, t.chunk = rankings, chunk
	t.classes = t.classes[:0]
	for ci := range rankings {
		if len(rankings) == 1 {
			ci = 1 // binary: the positive class's probability, as addRanks
		}
		t.classes = append(t.classes, ci)
	}
	t.width = max(len(rankings), 2)
	if cap(t.bins) < t.width*chunk {
		t.bins = make([]uint16, t.width*chunk)
	}
	t.bins = t.bins[:t.width*chunk]
	if cap(t.labels) < chunk {
		t.labels = make([]int32, 0, chunk)
	}
	t.labels = t.labels[:0]
	if more := len(rankings) - len(t.counts); more > 0 {
		// One allocation for them all (2.5 MiB at ten classes), which bigmem
		// backs with huge pages: 256 KiB apiece.
		all := bigmem.Make[uint16](more*2*rankBins, more*2*rankBins)
		for r := range more {
			t.counts = append(t.counts, all[r*2*rankBins:(r+1)*2*rankBins:(r+1)*2*rankBins])
			t.wraps = append(t.wraps, map[int]int64{})
		}
	}
	return t
}

// add gathers one row: its class probabilities and its class.
func (t *rankTally) add(probs []float64, label int32) {
	row := t.next()
	for c, v := range probs {
		row[c] = uint16(rankBin(v))
	}
	t.added(label)
}

// next is where the next row's bins go, one per class (termsOf fills them);
// added then gathers the row.
func (t *rankTally) next() []uint16 {
	j := len(t.labels)
	return t.bins[j*t.width : (j+1)*t.width : (j+1)*t.width]
}

// added gathers the row whose bins next returned, of class label.
func (t *rankTally) added(label int32) {
	t.labels = append(t.labels, label)
	if len(t.labels) == t.chunk {
		t.count()
	}
}

// count adds the gathered rows to the counts, one ranking (class) at a time.
// A count is 16 bits, half the memory of 32 (a 2M run's peak RSS ~20 MiB
// lower: two workers' tallies of four classifiers) and half the lines for warm
// to read, at the same speed (BenchmarkTallyCount medians 3.17 and 3.05 ns a
// pair); the rare count that wraps past 0xFFFF (the bins near 0, where most
// negatives fall) is carried in wraps.
func (t *rankTally) count() {
	n := len(t.labels)
	if n == 0 {
		return
	}
	w := t.width
	for r, c := range t.classes {
		counts := t.counts[r][:2*rankBins]
		if n >= len(counts)/32 { // fewer rows than lines: each miss is one row's
			t.warm += warm(counts)
		}
		bins := t.bins[c : c+(n-1)*w+1]
		for j, y := range t.labels[:n] {
			i := int(bins[j*w])<<1 | b2i(int(y) == c)
			v := counts[i] + 1
			counts[i] = v
			if v == 0 {
				t.wraps[r][i]++
			}
		}
	}
	t.labels = t.labels[:0]
}

// flush counts the rows gathered and adds every count to the rankings'
// histograms, leaving the counts zero.
func (t *rankTally) flush() {
	t.count()
	t.move()
}

// move adds the counts to the rankings' histograms and zeroes them.
func (t *rankTally) move() {
	for r, rk := range t.rankings {
		rk.result = nil
		counts := t.counts[r][:2*rankBins]
		pos, neg := rk.pos[:rankBins], rk.neg[:rankBins]
		for b := range pos {
			neg[b] += int64(counts[2*b])
			pos[b] += int64(counts[2*b+1])
		}
		for i, n := range t.wraps[r] {
			if i&1 == 1 {
				pos[i>>1] += n << 16
			} else {
				neg[i>>1] += n << 16
			}
		}
		clear(counts)
		clear(t.wraps[r])
	}
}

// put gives the tally back for reuse; flush it first.
func (t *rankTally) put() {
	t.rankings = nil
	tallies.Put(t)
}

// RankTallyBytes is the memory an evaluation worker's tally takes for one
// classifier of k classes on a split past the exact limit: the counts of every
// ranking, and the gathered rows' bins (one a class) and labels.
func RankTallyBytes(k int) int64 {
	n := int64(k) // one-vs-rest rankings: one a class, one for a binary task
	if k == 2 {
		n = 1
	}
	return n*2*2*rankBins + int64(k)*2*tallyRows + 4*tallyRows
}
