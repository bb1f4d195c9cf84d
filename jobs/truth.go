package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/lakefuse/lakefuse/eval"
	"github.com/lakefuse/lakefuse/lake"
	"github.com/lakefuse/lakefuse/synth"
)

// attachTruth puts the dataset's ground truth in the report when a generator
// wrote one (lakefuse synth's <dataset>/scenario.json), so the measured figures
// can be read against the Bayes-optimal ones. No file is the usual case; a file
// that cannot be read is a warning, never a failed run.
func (r *runner) attachTruth(ctx context.Context, rep *eval.Report) {
	b, err := r.lake.ReadAll(ctx, lake.Join(r.spec.Dataset, "scenario.json"))
	if errors.Is(err, lake.ErrNotFound) {
		return
	}
	var f *synth.File
	if err == nil {
		f, err = synth.ReadFile(b)
	}
	if err != nil {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("the dataset's scenario.json was not used: %v", err))
		return
	}
	rate := func(r synth.Rate, name string) eval.TruthRate {
		return eval.TruthRate{Name: name, Accuracy: r.Accuracy, StdErr: r.StdErr, VsLabels: r.VsLabels}
	}
	t := f.Truth
	gt := &eval.GroundTruth{Scenario: f.Scenario.Name, Seed: f.Scenario.Seed, Samples: t.Samples, MaxPrior: t.MaxPrior,
		LabelNoise: f.Scenario.LabelNoise, Fused: rate(t.FusedMissing, "fused"), Complete: rate(t.Fused, "fused, every modality present")}
	for _, m := range t.Modalities {
		gt.Modalities = append(gt.Modalities, rate(m, m.Name))
	}
	if d := t.Drift; d != nil {
		dr := &eval.DriftRates{Splits: d.Splits, Fused: rate(d.Fused, "fused"), FusedTrainRule: rate(d.FusedTrainRule, "fused, the training distribution's rule")}
		for i, m := range d.Modalities {
			dr.Modalities = append(dr.Modalities, rate(m, m.Name))
			dr.ModalitiesTrainRule = append(dr.ModalitiesTrainRule, rate(d.TrainRule[i], m.Name))
		}
		gt.Drift = dr
	}
	if f.Sweep != nil {
		gt.Sweep = &eval.SweepPoint{Parameter: f.Sweep.Parameter, Value: f.Sweep.Value}
	}
	rep.Truth = gt
}
