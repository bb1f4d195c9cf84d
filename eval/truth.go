package eval

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strings"
)

// GroundTruth is what a synthetic dataset's generator knows (lakefuse synth's
// scenario.json beside the data): Bayes-optimal accuracies, shown beside the
// measured figures. A strategy can do no better than the fused rate, up to
// sampling error; a modality's model no better than its own.
type GroundTruth struct {
	Scenario   string      `json:"scenario"`
	Seed       uint64      `json:"seed"`
	Samples    int         `json:"samples"` // Monte Carlo samples behind each rate
	MaxPrior   float64     `json:"max_prior_accuracy"`
	LabelNoise float64     `json:"label_noise"`
	Modalities []TruthRate `json:"modalities"`     // each alone, where present
	Fused      TruthRate   `json:"fused"`          // the modalities each entity has
	Complete   TruthRate   `json:"fused_complete"` // every modality present
	Sweep      *SweepPoint `json:"sweep,omitempty"`
	// Drift is the truth on the splits whose modalities drift (the figures above
	// are then the other splits').
	Drift *DriftRates `json:"drift,omitempty"`
}

// DriftRates is the ground truth on drifting splits: the Bayes rule that knows
// the drift, and the training distribution's rule applied there (what a perfect
// model fitted before the drift scores).
type DriftRates struct {
	Splits              []string    `json:"splits"`
	Modalities          []TruthRate `json:"modalities"`
	ModalitiesTrainRule []TruthRate `json:"modalities_training_rule"`
	Fused               TruthRate   `json:"fused"`
	FusedTrainRule      TruthRate   `json:"fused_training_rule"`
}

// On returns the truth for a split: the drifting splits' when split drifts (with
// the training rule's fused rate), else the others'.
func (g *GroundTruth) On(split string) (mods []TruthRate, fused TruthRate, trainRule *TruthRate) {
	if d := g.Drift; d != nil && slices.Contains(d.Splits, split) {
		tr := d.FusedTrainRule
		return d.Modalities, d.Fused, &tr
	}
	return g.Modalities, g.Fused, nil
}

// TruthRate is one Bayes-optimal accuracy, against the true class and (with
// label noise) against the labels a run is scored on.
type TruthRate struct {
	Name     string  `json:"name"`
	Accuracy float64 `json:"bayes_accuracy"`
	StdErr   float64 `json:"std_err"`
	VsLabels float64 `json:"bayes_accuracy_vs_labels"`
}

// SweepPoint is the value a sweep gave one of a scenario's parameters for this
// dataset: `lakefuse report RUN...` over a sweep's runs draws accuracy against it.
type SweepPoint struct {
	Parameter string  `json:"parameter"`
	Value     float64 `json:"value"`
}

// truthTable is the report's ground-truth section: each modality's Bayes rate
// beside its model's accuracy where present, and the fused Bayes rate beside
// every strategy's accuracy, on the evaluation split.
func truthTable(r *Report, split string) template.HTML {
	t := r.Truth
	if t == nil {
		return ""
	}
	var b strings.Builder
	vsLabels := func(tr TruthRate) string {
		if t.LabelNoise == 0 {
			return fmt.Sprintf("%.4f ± %.4f", tr.Accuracy, tr.StdErr)
		}
		return fmt.Sprintf("%.4f ± %.4f (against the labels: %.4f)", tr.Accuracy, tr.StdErr, tr.VsLabels)
	}
	measured := func(name, metric string) (float64, *Interval) {
		for _, s := range r.Strategies {
			if s.Name == name {
				if sp := s.Splits[split]; sp != nil {
					v, ok := sp.Metrics[metric]
					if !ok {
						v = sp.Metrics["accuracy"]
					}
					if iv, ok := sp.Intervals["accuracy"]; ok && metric == "accuracy" {
						return v, &iv
					}
					return v, nil
				}
			}
		}
		return math.NaN(), nil
	}
	mods, fused, trainRule := t.On(split)
	b.WriteString(`<table><tr><th></th><th>Bayes-optimal accuracy</th><th>measured on ` + html.EscapeString(split) + `</th></tr>`)
	if trainRule != nil {
		fmt.Fprintf(&b, `<tr><td colspan="3">%s drifts: the Bayes rule below knows the drift; a perfect model fitted on the training distribution scores %s fused</td></tr>`, html.EscapeString(split), vsLabels(*trainRule))
	}
	for _, m := range mods {
		v, _ := measured("unimodal."+m.Name, "accuracy_when_present")
		fmt.Fprintf(&b, `<tr><td>%s alone, where present</td><td>%s</td><td>%s (unimodal.%s)</td></tr>`, html.EscapeString(m.Name), vsLabels(m), fmtNum(v), html.EscapeString(m.Name))
	}
	fmt.Fprintf(&b, `<tr><td><b>fused</b>, the modalities each entity has</td><td><b>%s</b></td><td></td></tr>`, vsLabels(fused))
	for _, s := range r.Strategies {
		if s.Baseline {
			continue
		}
		v, iv := measured(s.Name, "accuracy")
		ci := ""
		if iv != nil {
			ci = fmt.Sprintf(" [%.4f, %.4f]", iv.Low, iv.High)
		}
		fmt.Fprintf(&b, `<tr><td>&nbsp;&nbsp;%s</td><td></td><td>%s%s</td></tr>`, html.EscapeString(s.Name), fmtNum(v), ci)
	}
	fmt.Fprintf(&b, `<tr><td>fused, every modality present</td><td>%s</td><td></td></tr>`, vsLabels(t.Complete))
	fmt.Fprintf(&b, `<tr><td>the most frequent class</td><td>%.4f</td><td></td></tr></table>`, t.MaxPrior)
	return template.HTML(b.String())
}
