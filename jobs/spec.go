package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/lakefuse/lakefuse/fusion"
	"github.com/lakefuse/lakefuse/internal/spill"
	"github.com/lakefuse/lakefuse/lake"
	"github.com/lakefuse/lakefuse/shard"
)

// Spec is a lakefuse job. See the README's spec reference.
type Spec struct {
	Name        string            `yaml:"name"`
	Mode        string            `yaml:"mode"` // run (default): fit, score, evaluate; fit: fit and evaluate, write models, no scores
	Lake        string            `yaml:"lake"`
	Dataset     string            `yaml:"dataset"`
	Output      string            `yaml:"output"`
	RunID       string            `yaml:"run_id"`
	Filters     map[string]string `yaml:"filters"`
	Key         string            `yaml:"key"`
	Label       LabelSpec         `yaml:"label"`
	Split       SplitSpec         `yaml:"split"`
	Align       AlignSpec         `yaml:"align"`
	Modalities  []ModalitySpec    `yaml:"modalities"`
	Strategies  []StrategySpec    `yaml:"strategies"`
	Model       ModelSpec         `yaml:"model"`
	Outputs     OutputSpec        `yaml:"outputs"`
	Evaluation  EvaluationSpec    `yaml:"evaluation"`
	Concurrency ConcurrencySpec   `yaml:"concurrency"`
	Resources   ResourcesSpec     `yaml:"resources"`
	// Buckets is the bucket count of a dataset whose tables are bucketed by the
	// key (<key>_bucket=<b> folders, Iceberg's bucket[N] transform), when its
	// _bucketing.json (written by lakefuse bucket) does not say it. 0: read it
	// there.
	Buckets int     `yaml:"buckets"`
	Fit     FitSpec `yaml:"fit"`

	hash     string
	snapshot string // the input snapshot the default run id names (SetSnapshot)
}

// LabelSpec says where the class label lives.
type LabelSpec struct {
	Column  string   `yaml:"column"`  // default "label"
	From    string   `yaml:"from"`    // "labels" (the labels/ table, default) or a modality name
	Classes []string `yaml:"classes"` // optional fixed class order; default: sorted distinct labels
}

// SplitSpec says which rows train and which evaluate. With neither column nor
// holdout every labelled row is both (in-sample evaluation, reported as "all").
type SplitSpec struct {
	Column   string       `yaml:"column"`   // a string column of the label source
	Train    []string     `yaml:"train"`    // values of Column that mean training (default [train])
	Evaluate []string     `yaml:"evaluate"` // values of Column evaluated on (default [test]); any other value is an error
	Holdout  *HoldoutSpec `yaml:"holdout"`
}

// HoldoutSpec is a seeded, stratified random holdout.
type HoldoutSpec struct {
	TestFraction float64 `yaml:"test_fraction"`
	Seed         uint64  `yaml:"seed"`
}

// AlignSpec is the join of modalities by key.
type AlignSpec struct {
	Join       string `yaml:"join"`       // left (default), inner, outer
	Anchor     string `yaml:"anchor"`     // left join anchor: "labels" (default when a labels table exists) or a modality
	Duplicates string `yaml:"duplicates"` // error (default), first, last, mean
	Buckets    int    `yaml:"buckets"`    // hash buckets (default 64)
}

// ModalitySpec declares one modality table: exactly one of Probs, Score, Features.
type ModalitySpec struct {
	Name     string        `yaml:"name"`
	Probs    string        `yaml:"probs"` // list column of per-class probabilities
	Score    string        `yaml:"score"` // binary tasks: one probability of the positive class
	Features *FeaturesSpec `yaml:"features"`
	// Invalid is the policy for unusable values (NaN or infinite numbers, negative
	// probabilities, probabilities that do not sum to 1, lists of the wrong length
	// or with null elements): reject (default: the modality counts as absent for
	// that entity, and the row goes to rejected/ with the reason) or error.
	Invalid string `yaml:"invalid"`
	// Required makes a modality with no usable rows an error rather than a
	// warning in the report.
	Required bool `yaml:"required"`
}

// FeaturesSpec picks feature-level inputs: an embedding list column, or the
// numeric columns whose names match a regular expression.
type FeaturesSpec struct {
	Column  string `yaml:"column"`
	Columns string `yaml:"columns"`
}

// StrategySpec declares one fusion strategy. Options a type does not use are
// rejected by validation.
type StrategySpec struct {
	Name       string   `yaml:"name"`
	Type       string   `yaml:"type"`
	Modalities []string `yaml:"modalities"`
	C          float64  `yaml:"c"`
	MaxIter    int      `yaml:"max_iter"`

	Calibration  string             `yaml:"calibration"`   // late types: none, temperature, platt
	Weights      map[string]float64 `yaml:"weights"`       // late-weighted: fixed weights; empty = learned
	TieRule      string             `yaml:"tie_rule"`      // vote: lowest or mean
	Normalize    string             `yaml:"normalize"`     // early, hybrid: standard or l2
	BlockWeights map[string]float64 `yaml:"block_weights"` // early, hybrid
	Groups       [][]string         `yaml:"groups"`        // hybrid: modalities fused early, per group
	Combine      string             `yaml:"combine"`       // hybrid: late rule over groups and the rest
	Lambda       float64            `yaml:"lambda"`        // evidential: KL weight (default 1)
}

// Config is the strategy's fusion config.
func (st StrategySpec) Config() fusion.Config {
	return fusion.Config{Name: st.Name, Type: st.Type, Modalities: st.Modalities, C: st.C, MaxIter: st.MaxIter,
		Calibration: st.Calibration, Weights: st.Weights, TieRule: st.TieRule, Normalize: st.Normalize,
		BlockWeights: st.BlockWeights, Groups: st.Groups, Combine: st.Combine, Lambda: st.Lambda}
}

// strategyOptions says which options each type reads; any other option set in the
// spec is an error rather than silently ignored.
func strategyOptions(typ string) map[string]bool {
	late := map[string]bool{"calibration": true}
	switch typ {
	case "late-weighted":
		late["weights"] = true
		return late
	case "vote":
		late["tie_rule"] = true
		return late
	case "late-mean", "late-max", "late-product", "late-geomean", "rank-average", "noisy-or":
		return late
	case "early":
		return map[string]bool{"normalize": true, "block_weights": true}
	case "hybrid":
		return map[string]bool{"normalize": true, "block_weights": true, "groups": true, "combine": true, "tie_rule": true}
	case "evidential":
		return map[string]bool{"lambda": true}
	}
	return map[string]bool{}
}

func (st StrategySpec) setOptions() []string {
	var set []string
	for name, on := range map[string]bool{
		"calibration": st.Calibration != "", "weights": len(st.Weights) > 0, "tie_rule": st.TieRule != "",
		"normalize": st.Normalize != "", "block_weights": len(st.BlockWeights) > 0, "groups": len(st.Groups) > 0,
		"combine": st.Combine != "", "lambda": st.Lambda != 0,
	} {
		if on {
			set = append(set, name)
		}
	}
	sort.Strings(set)
	return set
}

// ModelSpec configures the unimodal logistic regressions.
type ModelSpec struct {
	C       float64 `yaml:"c"`
	MaxIter int     `yaml:"max_iter"`
}

// OutputSpec tunes what is written.
type OutputSpec struct {
	BaselineScores bool `yaml:"baseline_scores"` // also write each unimodal baseline's scores
	PartRows       int  `yaml:"part_rows"`       // rows per scores part file (default 1 Mi)
}

// EvaluationSpec tunes evaluation.
type EvaluationSpec struct {
	Bootstrap      *int  `yaml:"bootstrap"`        // Poisson-bootstrap replicates (default 1000; 0 = no intervals)
	Ablation       *bool `yaml:"ablation"`         // re-score each strategy without each modality (default true)
	OutOfFold      *bool `yaml:"out_of_fold"`      // refit each strategy per fold for its out-of-fold accuracy (default true)
	ExactRankLimit int   `yaml:"exact_rank_limit"` // rows kept exactly per ROC/AP ranking (default 262144)
}

func (e EvaluationSpec) replicates() int {
	if e.Bootstrap == nil {
		return 0 // eval's default
	}
	if *e.Bootstrap == 0 {
		return -1
	}
	return *e.Bootstrap
}

func (e EvaluationSpec) ablation() bool { return e.Ablation == nil || *e.Ablation }

func (e EvaluationSpec) outOfFold() bool { return e.OutOfFold == nil || *e.OutOfFold }

// ConcurrencySpec bounds parallel work; 0 means the default.
type ConcurrencySpec struct {
	IO  int `yaml:"io"`  // concurrent object-store reads and writes (default 8)
	CPU int `yaml:"cpu"` // concurrent CPU tasks (default GOMAXPROCS)
}

// FitSpec bounds what the learned strategies fit on.
type FitSpec struct {
	// MaxRows caps the training rows every fit sees: beyond it, a deterministic
	// sample (the rows with the smallest key hashes) is used, with a warning.
	// Default: what a quarter of the memory budget holds.
	MaxRows int `yaml:"max_rows"`
}

// ResourcesSpec sizes the run for its machine.
type ResourcesSpec struct {
	// Memory is the run's memory budget ("512MiB", "8GiB"); --memory overrides it.
	// Default: 75 % of the cgroup limit, else of physical memory.
	Memory string `yaml:"memory"`
	// Shards is the shard count of a sharded run, for the batch engines whose
	// tasks learn their index but not the count (AWS Batch, Kubernetes Indexed
	// Jobs); LAKEFUSE_SHARDS and --shard override it. 0: not sharded.
	Shards int `yaml:"shards"`
}

// LoadSpecFile reads and validates a spec file.
func LoadSpecFile(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w: %v", ErrSpec, err)
	}
	return ParseSpec(b, path)
}

// ParseSpec decodes a spec strictly: an unknown or misspelt field is an error that
// names the field and its line. The decoded spec is then validated.
func ParseSpec(b []byte, source string) (*Spec, error) {
	var s Spec
	// Unknown (misspelt) fields are collected from the document, so that they
	// are reported with every other problem instead of stopping the decoding.
	unknown, err := unknownFields(b, reflect.TypeOf(s))
	if err != nil {
		return nil, fmt.Errorf("jobs: %w: %s: %s", ErrSpec, source, err)
	}
	if err := decodeYAML(b, &s, false); err != nil {
		return nil, fmt.Errorf("jobs: %w: %s: %s", ErrSpec, source, err)
	}
	sum := sha256.Sum256(b)
	s.hash = hex.EncodeToString(sum[:])
	s.applyDefaults()
	if errs := append(unknown, s.problems()...); len(errs) > 0 {
		return nil, fmt.Errorf("jobs: %s: %w", source, problemsError(errs))
	}
	return &s, nil
}

// unknownFields lists, with their lines, the keys of the YAML document that name
// no field of t (by yaml tag, recursively through structs, pointers, slices and
// maps' values). A document that does not parse is the parser's error.
func unknownFields(b []byte, t reflect.Type) (_ []error, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML could not be parsed (%v): check its indentation and brackets", r)
		}
	}()
	f, err := parser.ParseBytes(b, 0)
	if err != nil {
		// The parser reports where it noticed the mistake, which for an unclosed
		// bracket or a bad indent is a line or two after it.
		return nil, fmt.Errorf("%s\n(a YAML syntax error is reported where the parser noticed it: an unclosed bracket or a wrong indent is often on a line just above)", strings.TrimSpace(yaml.FormatError(err, false, true)))
	}
	var errs []error
	var walk func(n ast.Node, t reflect.Type, path string)
	walk = func(n ast.Node, t reflect.Type, path string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch v := n.(type) {
		case *ast.AnchorNode:
			walk(v.Value, t, path)
		case *ast.TagNode:
			walk(v.Value, t, path)
		case *ast.DocumentNode:
			if v.Body != nil {
				walk(v.Body, t, path)
			}
		case *ast.SequenceNode:
			if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
				for i, e := range v.Values {
					walk(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
				}
			}
		case *ast.MappingNode:
			for _, mv := range v.Values {
				walk(mv, t, path)
			}
		case *ast.MappingValueNode:
			key := v.Key.GetToken().Value
			switch t.Kind() {
			case reflect.Map:
				walk(v.Value, t.Elem(), join(path, key))
			case reflect.Struct:
				field, ok := yamlField(t, key)
				if !ok {
					pos := v.Key.GetToken().Position
					errs = append(errs, fmt.Errorf("%s: line %d: unknown field %q (known: %s)", join(path, key), pos.Line, key, strings.Join(yamlFields(t), ", ")))
					return
				}
				walk(v.Value, field, join(path, key))
			}
		}
	}
	for _, doc := range f.Docs {
		walk(doc, t, "")
	}
	return errs, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlField is the type of t's field tagged (or named) key.
func yamlField(t reflect.Type, key string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name == key {
			return f.Type, true
		}
	}
	return nil, false
}

func yamlFields(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.IsExported() {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			out = append(out, name)
		}
	}
	return out
}

// decodeYAML decodes strictly. The YAML library panics on some malformed
// documents (found by FuzzParseSpec); a spec that cannot be decoded is a spec
// error, never a crash.
func decodeYAML(b []byte, s *Spec, strict bool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML could not be parsed (%v): check its indentation and brackets", r)
		}
	}()
	var opts []yaml.DecodeOption
	if strict {
		opts = append(opts, yaml.Strict())
	}
	if err := yaml.UnmarshalWithOptions(b, s, opts...); err != nil {
		return errors.New(strings.TrimSpace(yaml.FormatError(err, false, true)))
	}
	return nil
}

// Hash is the SHA-256 of the spec's bytes (and of a dataset override); the
// input snapshot is not part of it (RunID mixes it in).
func (s *Spec) Hash() string { return s.hash }

// SetDataset runs the spec on another dataset (lakefuse run --dataset: each
// dataset of a lakefuse synth sweep). The hash, and so the default run id,
// changes with it: two datasets never share a default run id.
func (s *Spec) SetDataset(name string) error {
	if err := lake.CheckPath("dataset", name); err != nil {
		return fmt.Errorf("jobs: %w: dataset %q: want a relative folder of names separated by /, each %s", ErrSpec, name, lake.NameRule)
	}
	s.Dataset = name
	sum := sha256.Sum256([]byte(s.hash + "\ndataset=" + name))
	s.hash = hex.EncodeToString(sum[:])
	return nil
}

func (s *Spec) applyDefaults() {
	if s.Mode == "" {
		s.Mode = "run"
	}
	if s.Key == "" {
		s.Key = "entity_id"
	}
	if s.Label.Column == "" {
		s.Label.Column = "label"
	}
	if s.Label.From == "" {
		s.Label.From = "labels"
	}
	if s.Split.Column != "" && len(s.Split.Train) == 0 {
		s.Split.Train = []string{"train"}
	}
	if s.Split.Column != "" && len(s.Split.Evaluate) == 0 {
		s.Split.Evaluate = []string{"test"}
	}
	for i := range s.Modalities {
		if s.Modalities[i].Invalid == "" {
			s.Modalities[i].Invalid = "reject"
		}
	}
	if s.Align.Join == "" {
		s.Align.Join = "left"
	}
	if s.Align.Duplicates == "" {
		s.Align.Duplicates = "error"
	}
	if s.Align.Buckets == 0 {
		s.Align.Buckets = 64
	}
	if s.Output == "" {
		s.Output = "runs"
	}
	if s.Outputs.PartRows == 0 {
		s.Outputs.PartRows = 1 << 20
	}
	if s.Concurrency.IO == 0 {
		s.Concurrency.IO = 8
	}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// Validate checks the whole spec and reports every problem at once, each naming
// its field.
func (s *Spec) Validate() error {
	if errs := s.problems(); len(errs) > 0 {
		return problemsError(errs)
	}
	return nil
}

// problemsError is every problem of a spec, as one spec error.
func problemsError(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%w: %s:\n  %s", ErrSpec, Plural(len(errs), "problem", "problems"), strings.Join(msgs, "\n  "))
}

// problems lists everything wrong with a decoded spec.
func (s *Spec) problems() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch s.Mode {
	case "run", "fit":
	default:
		bad("mode", "%q: want run or fit", s.Mode)
	}
	if s.Name == "" {
		bad("name", "required")
	} else if !nameRE.MatchString(s.Name) {
		bad("name", "%q: use letters, digits, '-', '_' and '.'", s.Name)
	}
	if s.Dataset == "" {
		bad("dataset", "required: the folder under the lake that holds modality=<name>/")
	} else if err := lake.CheckPath("dataset", s.Dataset); err != nil {
		bad("dataset", "%q: want a relative folder of names separated by /, each %s", s.Dataset, lake.NameRule)
	}
	if err := lake.CheckPath("output", s.Output); err != nil {
		bad("output", "%q: want a relative folder of names separated by /, each %s", s.Output, lake.NameRule)
	}
	if s.RunID != "" {
		if err := lake.CheckName("run_id", s.RunID); err != nil {
			bad("run_id", "%q: want %s", s.RunID, lake.NameRule)
		}
	}
	for _, k := range sortedKeys(s.Filters) {
		if err := lake.CheckPartition(k, s.Filters[k]); err != nil {
			bad("filters."+k, "%v", err)
		}
	}
	switch s.Align.Join {
	case "left", "inner", "outer":
	default:
		bad("align.join", "%q: want left, inner or outer", s.Align.Join)
	}
	switch s.Align.Duplicates {
	case "error", "first", "last", "mean":
	default:
		bad("align.duplicates", "%q: want error, first, last or mean", s.Align.Duplicates)
	}
	if b := s.Evaluation.Bootstrap; b != nil && (*b < 0 || *b > 100000) {
		bad("evaluation.bootstrap", "%d: want 0 (no intervals) to 100000 replicates", *b)
	}
	if s.Resources.Memory != "" {
		if _, err := spill.ParseSize(s.Resources.Memory); err != nil {
			bad("resources.memory", "%q: want a size such as 512MiB or 8GiB", s.Resources.Memory)
		}
	}
	if s.Buckets < 0 || s.Buckets > MaxBuckets {
		bad("buckets", "%d: want the dataset's key bucket count, at most 65536 (0: from its _bucketing.json)", s.Buckets)
	}
	if s.Resources.Shards < 0 || s.Resources.Shards > shard.MaxCount {
		bad("resources.shards", "%d: want a shard count from 1 to %d (0: not sharded)", s.Resources.Shards, shard.MaxCount)
	}
	if s.Fit.MaxRows < 0 {
		bad("fit.max_rows", "%d: want a positive number of rows (0: derived from the memory budget)", s.Fit.MaxRows)
	}
	if s.Evaluation.ExactRankLimit < 0 {
		bad("evaluation.exact_rank_limit", "%d: want a positive number of rows", s.Evaluation.ExactRankLimit)
	}
	if s.Align.Buckets < 1 || s.Align.Buckets > 1<<16 {
		bad("align.buckets", "%d: want 1 to 65536", s.Align.Buckets)
	}
	for _, v := range s.Split.Evaluate {
		if slices.Contains(s.Split.Train, v) {
			bad("split.evaluate", "%q is also a training value (split.train)", v)
		}
	}
	if s.Split.Column == "" && (len(s.Split.Train) > 0 || len(s.Split.Evaluate) > 0) {
		bad("split", "train and evaluate name values of split.column, which is not set")
	}
	if h := s.Split.Holdout; h != nil {
		if s.Split.Column != "" {
			bad("split", "set column or holdout, not both")
		}
		if !(h.TestFraction > 0 && h.TestFraction < 1) {
			bad("split.holdout.test_fraction", "%v: want a fraction strictly between 0 and 1", h.TestFraction)
		}
	}
	if len(s.Modalities) == 0 {
		bad("modalities", "declare at least one modality")
	}
	seen := map[string]bool{}
	for i, m := range s.Modalities {
		field := fmt.Sprintf("modalities[%d]", i)
		if m.Name == "" {
			bad(field+".name", "required")
		} else if !nameRE.MatchString(m.Name) {
			bad(field+".name", "%q: use letters, digits, '-', '_' and '.'", m.Name)
		} else if seen[m.Name] {
			bad(field+".name", "%q declared twice", m.Name)
		} else if m.Name == "labels" {
			bad(field+".name", "\"labels\" is the labels table's folder, not a modality name")
		}
		seen[m.Name] = true
		n := 0
		if m.Probs != "" {
			n++
		}
		if m.Score != "" {
			n++
		}
		if m.Features != nil {
			n++
			f := m.Features
			switch {
			case (f.Column == "") == (f.Columns == ""):
				bad(field+".features", "set column (an embedding list) or columns (a regular expression), not both or neither")
			case f.Columns != "":
				if _, err := regexp.Compile(f.Columns); err != nil {
					bad(field+".features.columns", "bad regular expression: %v", err)
				}
			}
		}
		if n != 1 {
			bad(field, "set exactly one of probs, score or features")
		}
		switch m.Invalid {
		case "reject", "error":
		default:
			bad(field+".invalid", "%q: want reject or error", m.Invalid)
		}
	}
	if s.Label.From != "labels" && !seen[s.Label.From] {
		bad("label.from", "%q is neither \"labels\" nor a declared modality", s.Label.From)
	}
	if s.Align.Anchor != "" && s.Align.Anchor != "labels" && !seen[s.Align.Anchor] {
		bad("align.anchor", "%q is neither \"labels\" nor a declared modality", s.Align.Anchor)
	}
	if len(s.Strategies) == 0 {
		bad("strategies", "declare at least one strategy (types: %s)", strings.Join(fusion.Types(), ", "))
	}
	names := map[string]bool{}
	types := map[string]bool{}
	for _, t := range fusion.Types() {
		types[t] = true
	}
	for i, st := range s.Strategies {
		field := fmt.Sprintf("strategies[%d]", i)
		switch {
		case st.Name == "":
			bad(field+".name", "required")
		case !nameRE.MatchString(st.Name):
			bad(field+".name", "%q: use letters, digits, '-', '_' and '.'", st.Name)
		case names[st.Name]:
			bad(field+".name", "%q declared twice", st.Name)
		case strings.HasPrefix(st.Name, "unimodal."):
			bad(field+".name", "%q: the unimodal. prefix is reserved for baselines", st.Name)
		}
		names[st.Name] = true
		if !types[st.Type] {
			bad(field+".type", "%q: want one of %s", st.Type, strings.Join(fusion.Types(), ", "))
		} else {
			allowed := strategyOptions(st.Type)
			for _, opt := range st.setOptions() {
				if !allowed[opt] {
					bad(field+"."+opt, "not an option of type %s", st.Type)
				}
			}
			if _, err := fusion.New(st.Config()); err != nil {
				bad(field, "%v", err)
			}
			for g, group := range st.Groups {
				for _, m := range group {
					if !seen[m] {
						bad(fmt.Sprintf("%s.groups[%d]", field, g), "%q is not a declared modality", m)
					}
				}
			}
		}
		for _, m := range st.Modalities {
			if !seen[m] {
				bad(field+".modalities", "%q is not a declared modality", m)
			}
		}
	}
	return errs
}

// ModalityNames lists the declared modalities in spec order.
func (s *Spec) ModalityNames() []string {
	out := make([]string, len(s.Modalities))
	for i, m := range s.Modalities {
		out[i] = m.Name
	}
	return out
}

// LoadSpec reads a spec from a file path or from a lake URL such as
// s3://bucket/jobs/nightly.yaml?region=eu-west-1 (the object's folder is opened as
// a lake with the URL's query, and the object read from it).
func LoadSpec(ctx context.Context, location string) (*Spec, error) {
	if !strings.Contains(location, "://") {
		return LoadSpecFile(location)
	}
	u, err := url.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w: spec URL: %v", ErrSpec, err)
	}
	dir, name := path.Split(u.Path)
	if name == "" {
		return nil, fmt.Errorf("jobs: %w: spec URL %s names a folder, not a file", ErrSpec, lake.Redact(location))
	}
	u.Path = dir
	l, err := lake.Open(ctx, u.String())
	if err != nil {
		return nil, err
	}
	defer l.Close()
	b, err := l.ReadAll(ctx, name)
	if errors.Is(err, lake.ErrNotFound) {
		// The spec, not the data, is missing: not wrapped, so the kind is spec.
		return nil, fmt.Errorf("jobs: %w: spec %s: no such object", ErrSpec, lake.Redact(location))
	}
	if err != nil {
		return nil, err
	}
	return ParseSpec(b, lake.Redact(location))
}
