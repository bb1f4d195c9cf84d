package eval

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// The binary form of an Evaluation: what one part of a run (a shard) hands to
// the process that merges the parts. It holds every accumulator and what Fill
// needs to name them — never rows or scores — so a part's state is the size of
// its accumulators, whatever its row count. Integers are varints, floats their
// IEEE bits; the first byte is the format version.
const stateVersion = 1

// MarshalBinary encodes the evaluation's accumulators (see forget-style callers:
// rows and per-row scores are not part of it). Unmarshalling and merging gives
// what merging the evaluation itself gives, bit for bit.
func (e *Evaluation) MarshalBinary() ([]byte, error) {
	w := &wire{}
	w.uint(stateVersion)
	r := &e.Rows
	w.int(r.Classes)
	w.strings(r.ClassNames)
	w.strings(r.Splits)
	w.strings(r.Modalities)
	w.int(len(e.Scores))
	for _, s := range e.Scores {
		w.str(s.Name)
		w.bool(s.Baseline)
		w.strings(s.Modalities)
		w.str(s.Of)
		w.str(s.Without)
	}
	w.int(e.Options.Replicates)
	w.int(e.Options.ExactLimit)
	w.int(e.BestBaseline)
	w.str(e.ChosenOn)
	w.bool(e.Deferred)
	for si := range e.Scores {
		for sp := range r.Splits {
			w.classification(e.Metrics[si][sp])
			w.bootstrap(e.Intervals[si][sp])
			w.confusion(e.Present[si][sp])
			w.paired(e.Paired[si][sp])
		}
	}
	w.int(len(e.Candidates))
	for _, c := range e.Candidates {
		for si := range e.Scores {
			for sp := range r.Splits {
				w.paired(c[si][sp])
			}
		}
	}
	w.int(len(e.Patterns))
	for _, m := range e.Patterns {
		w.int(len(m))
		for _, p := range sortedPatterns(m) {
			w.uint(p)
			w.int64s(m[p])
		}
	}
	return w.b, nil
}

// UnmarshalBinary decodes what MarshalBinary encoded.
func (e *Evaluation) UnmarshalBinary(b []byte) (err error) {
	d := &unwire{b: b}
	defer func() {
		if v := recover(); v != nil {
			if de, ok := v.(decodeError); ok {
				err = fmt.Errorf("eval: %w: evaluation state: %s", ErrMismatch, string(de))
				return
			}
			panic(v)
		}
	}()
	if v := d.uint(); v != stateVersion {
		return fmt.Errorf("eval: %w: evaluation state has format version %d; this lakefuse reads %d", ErrMismatch, v, stateVersion)
	}
	*e = Evaluation{}
	r := &e.Rows
	r.Classes = d.int()
	r.ClassNames = d.strings()
	r.Splits = d.strings()
	r.Modalities = d.strings()
	e.Scores = make([]Scores, d.count())
	for i := range e.Scores {
		s := &e.Scores[i]
		s.Name, s.Baseline, s.Modalities, s.Of, s.Without = d.str(), d.bool(), d.strings(), d.str(), d.str()
	}
	e.Options.Replicates = d.int()
	e.Options.ExactLimit = d.int()
	e.BestBaseline = d.int()
	e.ChosenOn = d.str()
	e.Deferred = d.bool()
	ns := len(r.Splits)
	e.Metrics, e.Intervals = make([][]*Classification, len(e.Scores)), make([][]*Bootstrap, len(e.Scores))
	e.Present, e.Paired = make([][]*Confusion, len(e.Scores)), make([][]*Paired, len(e.Scores))
	for si := range e.Scores {
		e.Metrics[si], e.Intervals[si] = make([]*Classification, ns), make([]*Bootstrap, ns)
		e.Present[si], e.Paired[si] = make([]*Confusion, ns), make([]*Paired, ns)
		for sp := 0; sp < ns; sp++ {
			e.Metrics[si][sp] = d.classification()
			e.Intervals[si][sp] = d.bootstrap()
			e.Present[si][sp] = d.confusion()
			e.Paired[si][sp] = d.paired()
		}
	}
	baselines := 0
	for _, sc := range e.Scores {
		if sc.Baseline {
			baselines++
		}
	}
	if n := d.int(); n != 0 && n != baselines {
		d.fail("comparisons kept against another number of baselines than the scores have")
	} else if n > 0 {
		e.Candidates = make([][][]*Paired, n)
		for b := range e.Candidates {
			e.Candidates[b] = make([][]*Paired, len(e.Scores))
			for si := range e.Scores {
				e.Candidates[b][si] = make([]*Paired, ns)
				for sp := 0; sp < ns; sp++ {
					e.Candidates[b][si][sp] = d.paired()
				}
			}
		}
	}
	e.Patterns = make([]map[uint64][]int64, d.count())
	for sp := range e.Patterns {
		n := d.count()
		e.Patterns[sp] = make(map[uint64][]int64, n)
		for range n {
			p := d.uint()
			e.Patterns[sp][p] = d.int64s()
		}
	}
	if len(d.b) != 0 {
		return fmt.Errorf("eval: %w: evaluation state has %d bytes past its end", ErrMismatch, len(d.b))
	}
	return nil
}

func sortedPatterns(m map[uint64][]int64) []uint64 {
	out := make([]uint64, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

type wire struct{ b []byte }

func (w *wire) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *wire) int(v int)     { w.b = binary.AppendVarint(w.b, int64(v)) }
func (w *wire) i64(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *wire) f64(v float64) { w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(v)) }
func (w *wire) str(s string)  { w.uint(uint64(len(s))); w.b = append(w.b, s...) }
func (w *wire) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

func (w *wire) strings(s []string) {
	w.int(len(s))
	for _, v := range s {
		w.str(v)
	}
}

func (w *wire) int64s(s []int64) {
	w.int(len(s))
	for _, v := range s {
		w.i64(v)
	}
}

func (w *wire) f64s(s []float64) {
	w.int(len(s))
	for _, v := range s {
		w.f64(v)
	}
}

func (w *wire) sum(s fixedSum) { w.uint(s.hi); w.uint(s.lo); w.bool(s.bad) }

func (w *wire) sums(s []fixedSum) {
	w.int(len(s))
	for _, v := range s {
		w.sum(v)
	}
}

// present writes whether a pointer is set; the accumulator follows when it is.
func (w *wire) present(ok bool) bool { w.bool(ok); return ok }

func (w *wire) confusion(c *Confusion) {
	if w.present(c != nil) {
		w.int(c.K)
		w.int64s(c.M)
	}
}

func (w *wire) classification(c *Classification) {
	if !w.present(c != nil) {
		return
	}
	w.confusion(c.Confusion)
	w.sum(c.LogLoss.sum)
	w.i64(c.LogLoss.Rows)
	w.sum(c.Brier.sum)
	w.i64(c.Brier.Rows)
	w.int(c.Top2.K)
	w.i64(c.Top2.Hits)
	w.i64(c.Top2.Rows)
	for b := range c.Calibration.Count {
		w.i64(c.Calibration.Count[b])
		w.i64(c.Calibration.Correct[b])
		w.sum(c.Calibration.conf[b])
	}
	w.bool(c.Rankings != nil)
	w.int(len(c.Rankings))
	for _, r := range c.Rankings {
		w.int(r.Limit)
		w.f64s(r.scores)
		w.int(len(r.labels))
		for _, l := range r.labels {
			w.bool(l)
		}
		w.int64s(r.pos)
		w.int64s(r.neg)
	}
}

func (w *wire) bootstrap(b *Bootstrap) {
	if !w.present(b != nil) {
		return
	}
	w.int(b.R)
	w.int(b.K)
	w.int(len(b.stats))
	for _, v := range b.stats {
		w.uint(uint64(v))
	}
	w.sums(b.logl)
	w.sums(b.brier)
	w.f64s(b.w)
}

func (w *wire) paired(p *Paired) {
	if !w.present(p != nil) {
		return
	}
	w.int(p.R)
	w.i64(p.OnlyA)
	w.i64(p.OnlyB)
	w.i64(p.Rows)
	w.f64s(p.diff)
	w.f64s(p.w)
}

// unwire reads what wire wrote; a short or malformed state panics with a
// decodeError, which UnmarshalBinary turns into an error.
type unwire struct{ b []byte }

type decodeError string

func (d *unwire) fail(what string) { panic(decodeError(what)) }

func (d *unwire) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("truncated")
	}
	d.b = d.b[n:]
	return v
}

func (d *unwire) i64() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("truncated")
	}
	d.b = d.b[n:]
	return v
}

func (d *unwire) int() int { return int(d.i64()) }

// count reads a length, refusing one longer than the bytes left could hold.
func (d *unwire) count() int {
	n := d.i64()
	if n < 0 || n > int64(len(d.b)) {
		d.fail("bad length")
	}
	return int(n)
}

func (d *unwire) f64() float64 {
	if len(d.b) < 8 {
		d.fail("truncated")
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *unwire) bool() bool {
	if len(d.b) < 1 {
		d.fail("truncated")
	}
	v := d.b[0]
	d.b = d.b[1:]
	if v > 1 {
		d.fail("bad boolean")
	}
	return v == 1
}

func (d *unwire) str() string {
	n := int(d.uint())
	if n < 0 || n > len(d.b) {
		d.fail("bad length")
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *unwire) strings() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

func (d *unwire) int64s() []int64 {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = d.i64()
	}
	return out
}

func (d *unwire) f64s() []float64 {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = d.f64()
	}
	return out
}

func (d *unwire) sum() fixedSum { return fixedSum{hi: d.uint(), lo: d.uint(), bad: d.bool()} }

func (d *unwire) sums() []fixedSum {
	n := d.count()
	out := make([]fixedSum, n)
	for i := range out {
		out[i] = d.sum()
	}
	return out
}

func (d *unwire) confusion() *Confusion {
	if !d.bool() {
		return nil
	}
	c := &Confusion{K: d.int(), M: d.int64s()}
	if c.K < 0 || len(c.M) != c.K*c.K {
		d.fail("confusion matrix of the wrong size")
	}
	return c
}

func (d *unwire) classification() *Classification {
	if !d.bool() {
		return nil
	}
	c := &Classification{Confusion: d.confusion()}
	if c.Confusion == nil {
		d.fail("classification without a confusion matrix")
	}
	c.LogLoss.sum, c.LogLoss.Rows = d.sum(), d.i64()
	c.Brier.sum, c.Brier.Rows = d.sum(), d.i64()
	c.Top2 = TopK{K: d.int(), Hits: d.i64(), Rows: d.i64()}
	for b := range c.Calibration.Count {
		c.Calibration.Count[b], c.Calibration.Correct[b], c.Calibration.conf[b] = d.i64(), d.i64(), d.sum()
	}
	hasRankings := d.bool()
	n := d.count()
	if hasRankings {
		c.Rankings = make([]*Ranking, n)
	}
	for i := range n {
		r := &Ranking{Limit: d.int(), scores: d.f64s()}
		labels := d.count()
		if labels != len(r.scores) {
			d.fail("ranking with unequal scores and labels")
		}
		if labels > 0 {
			r.labels = make([]bool, labels)
			for j := range r.labels {
				r.labels[j] = d.bool()
			}
		}
		r.pos, r.neg = d.int64s(), d.int64s()
		if len(r.pos) != len(r.neg) || (r.pos != nil && len(r.pos) != rankBins) {
			d.fail("ranking histogram of the wrong size")
		}
		if hasRankings {
			c.Rankings[i] = r
		}
	}
	return c
}

func (d *unwire) bootstrap() *Bootstrap {
	if !d.bool() {
		return nil
	}
	b := &Bootstrap{R: d.int(), K: d.int()}
	n := d.count()
	b.stats = make([]uint32, n)
	for i := range b.stats {
		v := d.uint()
		if v > math.MaxUint32 {
			d.fail("bootstrap count out of range")
		}
		b.stats[i] = uint32(v)
	}
	b.logl, b.brier, b.w = d.sums(), d.sums(), d.f64s()
	if b.R < 0 || b.K < 0 || len(b.stats) != b.R*3*b.K || len(b.logl) != b.R || len(b.brier) != b.R || len(b.w) != b.R {
		d.fail("bootstrap of the wrong size")
	}
	return b
}

func (d *unwire) paired() *Paired {
	if !d.bool() {
		return nil
	}
	p := &Paired{R: d.int(), OnlyA: d.i64(), OnlyB: d.i64(), Rows: d.i64(), diff: d.f64s(), w: d.f64s()}
	if p.R < 0 || len(p.diff) != p.R || len(p.w) != p.R {
		d.fail("paired comparison of the wrong size")
	}
	return p
}
