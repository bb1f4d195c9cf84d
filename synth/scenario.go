// Package synth writes synthetic lakes with known ground truth: a scenario
// declares entities, classes, keys, splits and modalities (how informative,
// correlated, missing, duplicated or invalid each is), and Write produces the
// dataset in lakefuse's layout together with scenario.json, which holds what the
// generator knows — each modality's Bayes-optimal accuracy and the fused one —
// and what it wrote (rows, duplicates, invalid values per modality).
//
// The model: an entity's class y is drawn from the priors. Each modality m sees
// its class through a signal z_m in R^L (L = latent), z_m = s_m·μ_{m,y} +
// √ρ_m·u + √(1−ρ_m)·ε_m, where μ_{m,c} are fixed unit vectors, s_m the
// modality's separation, u ~ N(0, I) a latent shared by every modality (so
// modalities with ρ > 0 err together) and ε_m ~ N(0, I) its own noise. A
// features modality writes x_m = P_m·z_m + η_m, P_m a fixed D×L matrix with
// orthonormal columns and η_m noise in the orthogonal complement (so P_mᵀx_m =
// z_m: the extra dimensions carry nothing); a probs modality writes its own
// Bayes posterior p(y | z_m) (calibrated probabilities whose accuracy is the
// modality's Bayes rate); a score modality, for two classes, p(class 1 | z_m).
// z given y is Gaussian with a known covariance, so Bayes-optimal decisions are
// linear discriminants, and their accuracies are estimated by Monte Carlo
// (truth.go).
//
// Every entity's draws come from a generator seeded by (seed, entity index), so
// the data do not depend on how the entities are split into files or workers.
package synth

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/lakefuse/lakefuse/internal/errkind"
	"github.com/lakefuse/lakefuse/lake"
)

// ErrScenario is a scenario that cannot be generated (a spec error: exit 2).
var ErrScenario = errkind.New(errkind.Spec, "synth: bad scenario")

// Scenario is a synthetic dataset as a YAML file declares it.
type Scenario struct {
	Name       string             `yaml:"name"`
	Dataset    string             `yaml:"dataset"` // the dataset folder (default name)
	Seed       uint64             `yaml:"seed"`
	Entities   int64              `yaml:"entities"`
	Classes    int                `yaml:"classes"`
	Priors     []float64          `yaml:"priors"`      // class frequencies (default uniform); normalised
	Key        KeySpec            `yaml:"key"`         // entity key type and order
	Splits     map[string]float64 `yaml:"splits"`      // split name → fraction (default train 0.8, test 0.2)
	LabelNoise float64            `yaml:"label_noise"` // fraction of labels replaced by another class
	Latent     int                `yaml:"latent"`      // dimensions of each modality's class signal (default 8)
	RowsPer    int                `yaml:"rows_per_file"`
	// Buckets, if set, writes the dataset bucketed by the key as lakefuse bucket
	// does (Iceberg's bucket transform): <key>_bucket=<b> folders and
	// _bucketing.json, so that sharded runs read only their own buckets.
	Buckets    int            `yaml:"buckets"`
	Modalities []ModalitySpec `yaml:"modalities"`
	// Partitions, if set, adds a Hive partition (a date, say) to every table.
	Partitions *PartitionSpec `yaml:"partitions"`
	// DriftSplits are the splits whose entities drift (every modality with a
	// drift > 0); default every split but train.
	DriftSplits []string `yaml:"drift_splits"`
	// Sweep, if set, varies one parameter: Write writes one dataset per value,
	// <dataset>-0, <dataset>-1, …, each with its own scenario.json.
	Sweep *Sweep `yaml:"sweep"`
}

// PartitionSpec is an extra Hive partition: each entity falls in one of Values
// (evenly, at random), its rows are written under <column>=<value>/, and Splits,
// if set, makes the split a function of the partition (train on the first days,
// test on the last) instead of the fractions.
type PartitionSpec struct {
	Column string            `yaml:"column"`
	Values []string          `yaml:"values"`
	Splits map[string]string `yaml:"splits"` // partition value → split
}

// Sweep varies one parameter of a scenario over a list of values: label_noise,
// or modalities.<name>.<field> with field separation, correlation, missing,
// duplicates, invalid or drift.
type Sweep struct {
	Parameter string    `yaml:"parameter"`
	Values    []float64 `yaml:"values"`
}

// KeySpec is the entity key: int (0, 1, … or a scramble of them) or string
// ("e" and 12 digits).
type KeySpec struct {
	Name  string `yaml:"name"`  // column name (default entity_id)
	Type  string `yaml:"type"`  // int (default) or string
	Order string `yaml:"order"` // sorted (default): files list keys in increasing order; shuffled
}

// ModalitySpec is one modality of a scenario.
type ModalitySpec struct {
	Name string `yaml:"name"`
	// Kind is probs (a list of class probabilities), score (two classes: the
	// probability of the second), embedding (a list<float> of Dim values) or
	// columns (Dim numeric columns f0, f1, …).
	Kind string `yaml:"kind"`
	Dim  int    `yaml:"dim"`
	// Separation scales the distance between the class means of the signal (0:
	// the modality says nothing about the class).
	Separation float64 `yaml:"separation"`
	// Accuracy, if set, gives the informativeness as the modality's Bayes
	// accuracy instead: the separation that yields it is found by bisection on a
	// Monte Carlo estimate (ResolveAccuracy), to about ±0.005.
	Accuracy float64 `yaml:"accuracy"`
	// Noise scales the noise of an embedding's or columns' dimensions that carry
	// no signal (default 1): more of it makes the signal harder to learn, never
	// less knowable.
	Noise *float64 `yaml:"noise"`
	// Correlation is the share of the signal's noise that comes from the latent
	// common to all modalities (0: errors independent of the other modalities').
	Correlation float64 `yaml:"correlation"`
	// Missing is the fraction of entities without a row, completely at random;
	// MissingByClass, if set, is that fraction per class instead.
	Missing        float64   `yaml:"missing"`
	MissingByClass []float64 `yaml:"missing_by_class"`
	Duplicates     float64   `yaml:"duplicates"` // fraction of rows written twice
	Invalid        float64   `yaml:"invalid"`    // fraction of rows with an invalid value (NaN; a negative probability)
	// MissingByPartition overrides the missing fraction in some partitions
	// (partition value → fraction): a source that was down on a day.
	MissingByPartition map[string]float64 `yaml:"missing_by_partition"`
	// Drift moves the modality's class means for the entities of the drifting
	// splits: each becomes the unit vector along μ + drift·δ (δ a fixed random
	// unit vector per class). A probs modality keeps its pre-drift posterior, as
	// an upstream model trained before the drift would.
	Drift float64 `yaml:"drift"`
}

// Load reads and checks a scenario file.
func Load(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrScenario, err)
	}
	return Parse(b, path)
}

// Parse decodes a scenario strictly (an unknown field is an error naming it),
// applies the defaults and checks it.
func Parse(b []byte, source string) (s *Scenario, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%w: %s: the YAML could not be parsed (%v)", ErrScenario, source, r)
		}
	}()
	s = &Scenario{}
	if err := yaml.NewDecoder(bytes.NewReader(b), yaml.Strict()).Decode(s); err != nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrScenario, source, strings.TrimSpace(yaml.FormatError(err, false, true)))
	}
	s.defaults()
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	s.resolveAccuracy()
	return s, nil
}

func (s *Scenario) defaults() {
	if s.Dataset == "" {
		s.Dataset = s.Name
	}
	if s.Key.Name == "" {
		s.Key.Name = "entity_id"
	}
	if s.Key.Type == "" {
		s.Key.Type = "int"
	}
	if s.Key.Order == "" {
		s.Key.Order = "sorted"
	}
	if len(s.Splits) == 0 {
		s.Splits = map[string]float64{"train": 0.8, "test": 0.2}
	}
	if s.Latent == 0 {
		s.Latent = 8
	}
	if s.RowsPer == 0 {
		s.RowsPer = 1 << 18
	}
	if len(s.Priors) == 0 && s.Classes > 0 {
		s.Priors = make([]float64, s.Classes)
		for c := range s.Priors {
			s.Priors[c] = 1
		}
	}
	total := 0.0
	for _, p := range s.Priors {
		total += p
	}
	for c := range s.Priors {
		s.Priors[c] /= total
	}
	for i := range s.Modalities {
		m := &s.Modalities[i]
		if m.Kind == "probs" || m.Kind == "score" {
			m.Dim = 0
		}
	}
}

// Validate lists every problem at once.
func (s *Scenario) Validate() error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	frac := func(what string, v float64) {
		if !(v >= 0 && v <= 1) {
			bad("%s %v: want a fraction in [0, 1]", what, v)
		}
	}
	if s.Name == "" {
		bad("name is required")
	}
	if s.Entities < 1 {
		bad("entities %d: want at least 1", s.Entities)
	}
	if s.Classes < 2 {
		bad("classes %d: want at least 2", s.Classes)
	}
	if len(s.Priors) != s.Classes {
		bad("priors: %d values for %d classes", len(s.Priors), s.Classes)
	}
	for c, p := range s.Priors {
		if !(p >= 0) || math.IsInf(p, 0) {
			bad("priors[%d] = %v: want a non-negative frequency", c, p)
		}
	}
	if s.Key.Type != "int" && s.Key.Type != "string" {
		bad("key.type %q: want int or string", s.Key.Type)
	}
	if s.Key.Order != "sorted" && s.Key.Order != "shuffled" {
		bad("key.order %q: want sorted or shuffled", s.Key.Order)
	}
	sum := 0.0
	for name, f := range s.Splits {
		frac("splits."+name, f)
		sum += f
	}
	if math.Abs(sum-1) > 1e-9 {
		bad("splits sum to %v: want 1", sum)
	}
	frac("label_noise", s.LabelNoise)
	if s.Latent < 1 || s.Latent > 64 {
		bad("latent %d: want 1 to 64", s.Latent)
	}
	if s.RowsPer < 1 {
		bad("rows_per_file %d: want at least 1", s.RowsPer)
	}
	if p := s.Partitions; p != nil {
		if p.Column == "" || len(p.Values) == 0 {
			bad("partitions: want a column and at least one value")
		}
		for _, v := range p.Values {
			if err := lake.CheckPartition(p.Column, v); err != nil {
				bad("partitions: %v", err)
			}
		}
		for v, split := range p.Splits {
			if !slices.Contains(p.Values, v) {
				bad("partitions.splits: %q is not one of the values", v)
			}
			if _, ok := s.Splits[split]; !ok {
				bad("partitions.splits: %q → %q, which is not one of splits", v, split)
			}
		}
		if len(p.Splits) > 0 && len(p.Splits) != len(p.Values) {
			bad("partitions.splits: %d of %d values have a split: give every value one", len(p.Splits), len(p.Values))
		}
	}
	for _, sp := range s.DriftSplits {
		if _, ok := s.Splits[sp]; !ok {
			bad("drift_splits: %q is not one of splits", sp)
		}
	}
	if s.Buckets < 0 || s.Buckets > 65536 {
		bad("buckets %d: want 0 (not bucketed) to 65536", s.Buckets)
	}
	if len(s.Modalities) == 0 {
		bad("modalities: want at least one")
	}
	seen := map[string]bool{}
	for i, m := range s.Modalities {
		at := fmt.Sprintf("modalities[%d] (%s)", i, m.Name)
		if m.Name == "" || strings.ContainsAny(m.Name, "/=") {
			bad("%s: want a name without / or =", at)
		}
		if seen[m.Name] {
			bad("%s: the name appears twice", at)
		}
		seen[m.Name] = true
		switch m.Kind {
		case "probs":
		case "score":
			if s.Classes != 2 {
				bad("%s: kind score needs two classes", at)
			}
		case "embedding", "columns":
			if m.Dim < s.Latent {
				bad("%s: dim %d: want at least latent (%d)", at, m.Dim, s.Latent)
			}
		default:
			bad("%s: kind %q: want probs, score, embedding or columns", at, m.Kind)
		}
		if !(m.Separation >= 0) || math.IsInf(m.Separation, 0) {
			bad("%s: separation %v: want a non-negative number", at, m.Separation)
		}
		if !(m.Correlation >= 0 && m.Correlation < 1) {
			bad("%s: correlation %v: want a fraction in [0, 1)", at, m.Correlation)
		}
		frac(at+": missing", m.Missing)
		if m.MissingByClass != nil && len(m.MissingByClass) != s.Classes {
			bad("%s: missing_by_class: %d values for %d classes", at, len(m.MissingByClass), s.Classes)
		}
		for _, r := range m.MissingByClass {
			frac(at+": missing_by_class", r)
		}
		frac(at+": duplicates", m.Duplicates)
		frac(at+": invalid", m.Invalid)
		for v, r := range m.MissingByPartition {
			if s.Partitions == nil || !slices.Contains(s.Partitions.Values, v) {
				bad("%s: missing_by_partition: %q is not a partition value", at, v)
			}
			frac(at+": missing_by_partition", r)
		}
		if m.Accuracy != 0 {
			if m.Separation != 0 {
				bad("%s: give separation or accuracy, not both", at)
			}
			maxPrior := slices.Max(append([]float64{0}, s.Priors...))
			if !(m.Accuracy > maxPrior && m.Accuracy < 1) {
				bad("%s: accuracy %v: want more than the most frequent class's share (%.4g) and less than 1", at, m.Accuracy, maxPrior)
			}
		}
		if m.Noise != nil && !(*m.Noise >= 0 && !math.IsInf(*m.Noise, 0)) {
			bad("%s: noise %v: want a non-negative number", at, *m.Noise)
		}
		if !(m.Drift >= 0) || math.IsInf(m.Drift, 0) {
			bad("%s: drift %v: want a non-negative number", at, m.Drift)
		}
	}
	if sw := s.Sweep; sw != nil {
		if len(sw.Values) == 0 {
			bad("sweep: no values")
		}
		for _, v := range sw.Values {
			c := s.clone()
			c.Sweep = nil
			if err := c.set(sw.Parameter, v); err != nil {
				bad("sweep: %v", err)
				break
			}
			if err := c.Validate(); err != nil {
				bad("sweep: %s = %v: %v", sw.Parameter, v, strings.TrimPrefix(err.Error(), ErrScenario.Error()+": "))
				break
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrScenario, strings.Join(errs, "; "))
	}
	return nil
}

// clone copies the scenario deeply enough for set.
func (s *Scenario) clone() *Scenario {
	c := *s
	c.Modalities = slices.Clone(s.Modalities)
	c.Splits = map[string]float64{}
	for k, v := range s.Splits {
		c.Splits[k] = v
	}
	return &c
}

// set gives a sweep's parameter a value.
func (s *Scenario) set(param string, v float64) error {
	if param == "label_noise" {
		s.LabelNoise = v
		return nil
	}
	parts := strings.Split(param, ".")
	if len(parts) != 3 || parts[0] != "modalities" {
		return fmt.Errorf("parameter %q: want label_noise or modalities.<name>.<field>", param)
	}
	for i := range s.Modalities {
		m := &s.Modalities[i]
		if m.Name != parts[1] {
			continue
		}
		switch parts[2] {
		case "separation":
			m.Separation = v
		case "correlation":
			m.Correlation = v
		case "missing":
			m.Missing = v
		case "duplicates":
			m.Duplicates = v
		case "invalid":
			m.Invalid = v
		case "drift":
			m.Drift = v
		default:
			return fmt.Errorf("parameter %q: field %q: want separation, correlation, missing, duplicates, invalid or drift", param, parts[2])
		}
		return nil
	}
	return fmt.Errorf("parameter %q: no modality %q", param, parts[1])
}

// Points are the scenarios a sweep stands for (the scenario itself without one),
// each with its dataset name and its value.
func (s *Scenario) Points() []*Scenario {
	if s.Sweep == nil {
		return []*Scenario{s}
	}
	var out []*Scenario
	for i, v := range s.Sweep.Values {
		c := s.clone()
		_ = c.set(s.Sweep.Parameter, v) // Validate checked it
		c.Dataset = fmt.Sprintf("%s-%d", s.Dataset, i)
		c.Sweep = &Sweep{Parameter: s.Sweep.Parameter, Values: []float64{v}}
		out = append(out, c)
	}
	return out
}

// splitNames are the scenario's splits in a fixed order (by name), with their
// cumulative fractions.
func (s *Scenario) splitNames() ([]string, []float64) {
	names := make([]string, 0, len(s.Splits))
	for n := range s.Splits {
		names = append(names, n)
	}
	slices.Sort(names)
	cum := make([]float64, len(names))
	acc := 0.0
	for i, n := range names {
		acc += s.Splits[n]
		cum[i] = acc
	}
	return names, cum
}

// missingRate is modality m's chance of no row for an entity of class c in
// partition p (p = "" without partitions).
func (m *ModalitySpec) missingRate(c int, p string) float64 {
	if r, ok := m.MissingByPartition[p]; ok {
		return r
	}
	if m.MissingByClass != nil {
		return m.MissingByClass[c]
	}
	return m.Missing
}

// drifts reports whether split (by name) drifts.
func (s *Scenario) drifts(split string) bool {
	if s.DriftSplits != nil {
		return slices.Contains(s.DriftSplits, split)
	}
	return split != "train"
}

// drifted reports whether any modality drifts.
func (s *Scenario) drifted() bool {
	for _, m := range s.Modalities {
		if m.Drift > 0 {
			return true
		}
	}
	return false
}
