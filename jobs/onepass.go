package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/lakefuse/lakefuse/eval"
	"github.com/lakefuse/lakefuse/fusion"
	"github.com/lakefuse/lakefuse/lake"
)

// One pass over a lake of key ranges.
//
// The partitioned path fits before it predicts: pass 1 gathers the fit sample
// from every group, pass 2 predicts, evaluates and writes them. Bucket files
// make pass 1 cheap (the sample file, or keys read back from local disk), but a
// lake read in key ranges (ranges.go) would be decoded twice. When the models
// learn nothing from the rows' values — every modality is probabilities or a
// score (its unimodal model is the values themselves) and every strategy is a
// fixed rule (fusion.Learns) — the only thing the fit takes from the sample is
// the class prior (the prediction where a modality is missing), and that is in
// the sample's labels. So the run reads the keys, labels and splits alone
// first, cheaply, and takes the sample they make (every keyed row present and
// valid) for the models; the one full pass then predicts, evaluates and writes
// every group with them, its baseline comparison deferred, and gathers the
// true fit sample as it goes. The models are fitted again on the true sample
// and compared with those it predicted with: equal (the sample's rows had
// usable vectors, or its class counts came out the same), the pass stands and
// the deferred comparison is settled with the baseline the true sample
// chooses; different (null or invalid vectors among the sample's rows changed
// its class counts), the groups are read again with the true models, as the
// two-pass path would. Either way the answers are the two-pass path's, bit for
// bit (jobs/partition_test.go runs both).

// onePass is what the one pass leaves: the run's evaluation (its baseline
// choice deferred), tally and counts, the fit sample it gathered, and the
// models it predicted with.
type onePass struct {
	total  *eval.Evaluation
	tally  *tally
	counts *frameCounts
	tg     *trainGather
	uni    []*fusion.Unimodal
	scored []*scoredStrategy // the strategies' fits (and the baselines)
}

// onePassFits says whether the run can be read once: groups of key ranges,
// and models that learn nothing from the rows but the class prior.
func (r *runner) onePassFits(plan *Plan, sd *spilled) bool {
	if sd.ranges == nil || r.opts.Shard != nil || plan.Owned {
		return false
	}
	for _, sp := range plan.Modalities {
		if sp.Kind != "probs" && sp.Kind != "score" {
			return false
		}
	}
	for _, st := range r.spec.Strategies {
		s, err := fusion.New(st.Config())
		if err != nil || fusion.Learns(s) {
			return false
		}
	}
	return true
}

// runOnePass reads the keys for the models, then predicts, evaluates and
// writes every group with them, gathering the true fit sample (of limit rows).
func (r *runner) runOnePass(ctx context.Context, plan *Plan, att *lake.Attempt, sd *spilled, cs *classSet, stats []*lake.ScanStats, limit int) (*onePass, error) {
	start := time.Now()
	sd.keysOnly = true
	est, err := r.gatherPass(ctx, plan, sd, cs, stats, limit, sampleBound(plan, sd, limit))
	sd.keysOnly = false
	if err != nil {
		return nil, err
	}
	r.timed("gather_keys", start)
	guess := &builtFrame{frame: est.frame(cs, r.widths, plan), classes: cs}
	scored, uni, fitted, err := r.fitPredict(ctx, plan, guess)
	if err != nil {
		return nil, err
	}
	one := &onePass{tg: &trainGather{limit: limit}, uni: uni, scored: scored}
	predict := r.predictor(ctx, uni, fitted.strategies, fitted.prior)
	collect := func(bf *builtFrame) { one.tg.add(bf.frame, r.sampleKeys(bf)) }
	start = time.Now()
	r.deferBaseline = true
	defer func() { r.deferBaseline = false }()
	one.total, one.tally, one.counts, err = r.groupsPass(ctx, plan, att, sd, cs, stats, candidateSplits(r.spec, plan), "", "", r.spec.Mode != "fit", predict, collect)
	if err != nil {
		return nil, err
	}
	r.timed("groups", start)
	return one, nil
}

// sampleBound is where a pass gathering the fit sample starts looking for it:
// below sampleGuess when the groups are key ranges read from the lake (no
// sample file), anywhere when they are bucket files.
func sampleBound(plan *Plan, sd *spilled, limit int) uint64 {
	if sd.ranges == nil {
		return math.MaxUint64
	}
	return sampleGuess(plan, limit)
}

// sampleGuess bounds the sample keys of a fit sample of limit rows for the
// pass over the keys: four times the share of the label source's rows the
// sample takes (keys hash evenly), so that the first group is not read whole;
// a sample of fewer than a quarter of the rows as training rows reaches past
// it, and the keys are read again (gatherPass).
func sampleGuess(plan *Plan, limit int) uint64 {
	if plan.LabelFrom < 0 {
		return math.MaxUint64
	}
	rows := plan.Sources()[plan.LabelFrom].TotalRows()
	if rows <= 0 || 4*float64(limit) >= float64(rows) {
		return math.MaxUint64
	}
	return uint64(4 * float64(limit) / float64(rows) * math.MaxUint64)
}

// settle ends the one pass's deferred comparison with the baseline the true
// fit sample chose (best; none: eval's own rule).
func (one *onePass) settle(best, chosenOn string) {
	if best == "" {
		one.total.SettleBaseline()
		return
	}
	one.total.UseBaseline(best, chosenOn)
}

// sameModels compares the models the one pass predicted with (a, sa) with
// those the true fit sample gives (b, sb): every unimodal model and every
// strategy's fitted parameters, as their model files hold them. It says what
// differs when they do.
func sameModels(a, b []*fusion.Unimodal, sa, sb []*scoredStrategy) (bool, string) {
	if len(a) != len(b) || len(sa) != len(sb) {
		return false, "the number of models"
	}
	for i := range a {
		ja, errA := json.Marshal(a[i])
		jb, errB := json.Marshal(b[i])
		if errA != nil || errB != nil || !bytes.Equal(ja, jb) {
			return false, fmt.Sprintf("unimodal model %q (its class prior)", a[i].Block)
		}
	}
	for i := range sa {
		if sa[i].baseline {
			continue
		}
		ja, errA := json.Marshal(sa[i].artifact)
		jb, errB := json.Marshal(sb[i].artifact)
		if errA != nil || errB != nil || !bytes.Equal(ja, jb) {
			return false, fmt.Sprintf("strategy %q", sa[i].name)
		}
	}
	return true, ""
}
