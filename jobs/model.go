package jobs

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/lakefuse/lakefuse/fusion"
	"github.com/lakefuse/lakefuse/internal/keyhash"
	"github.com/lakefuse/lakefuse/lake"
)

// ModelFormat is the format version of model files.
const ModelFormat = 1

// ModelFile is models/<name>.json: one fitted strategy (or unimodal baseline),
// self-contained: the unimodal models it builds on, the classes, the schema of the
// features it was fitted on, and a fingerprint of its training data. `lakefuse score`
// needs nothing else to score new data.
type ModelFile struct {
	FormatVersion int                `json:"format_version"`
	Lakefuse      string             `json:"lakefuse_version"`
	Name          string             `json:"name"`
	Kind          string             `json:"kind"` // strategy or unimodal
	Key           string             `json:"key"`
	Classes       []string           `json:"classes"`
	IntegerLabels bool               `json:"integer_labels"`
	Features      []FeatureSchema    `json:"feature_schema"`
	Unimodal      []*fusion.Unimodal `json:"unimodal"`
	Strategy      *fusion.Artifact   `json:"strategy,omitempty"`
	Training      TrainingInfo       `json:"training"`
}

// FeatureSchema is what a model expects of one modality.
type FeatureSchema struct {
	Modality string   `json:"modality"`
	Kind     string   `json:"kind"` // probs, score, features
	Width    int      `json:"width"`
	Vector   string   `json:"vector,omitempty"`
	Scalar   []string `json:"scalar,omitempty"`
}

// TrainingInfo says what a model was fitted on.
type TrainingInfo struct {
	RunID       string `json:"run_id"`
	Dataset     string `json:"dataset"`
	SpecSHA256  string `json:"spec_sha256"`
	Rows        int    `json:"rows"`
	Fingerprint string `json:"fingerprint"` // of the training rows' (key, label) pairs, independent of their order
}

// modelFiles builds the model files of a fitted run.
func modelFiles(spec *Spec, plan *Plan, bf *builtFrame, scored []*scoredStrategy, uni map[string]*fusion.Unimodal, runID string) map[string]*ModelFile {
	f := bf.frame
	// An order-independent fingerprint of the (key, label) pairs trained on: the
	// count, sum and xor of a mix of each pair, hashed. Two runs that train on the
	// same rows agree whatever order the rows came in, without sorting millions.
	var n, sum, xor uint64
	for i := 0; i < f.Rows; i++ {
		if f.Train[i] && f.Label[i] >= 0 {
			h := keyhash.Mix(f.KeyHash[i] ^ (uint64(f.Label[i])+1)*0x9e3779b97f4a7c15)
			n, sum, xor = n+1, sum+h, xor^h
		}
	}
	var buf [24]byte
	binary.LittleEndian.PutUint64(buf[0:], n)
	binary.LittleEndian.PutUint64(buf[8:], sum)
	binary.LittleEndian.PutUint64(buf[16:], xor)
	digest := sha256.Sum256(buf[:])
	training := TrainingInfo{RunID: runID, Dataset: spec.Dataset, SpecSHA256: spec.Hash(), Rows: int(n), Fingerprint: hex.EncodeToString(digest[:])}
	schema := map[string]FeatureSchema{}
	for b, sp := range plan.Modalities {
		schema[sp.Name] = FeatureSchema{Modality: sp.Name, Kind: sp.Kind, Width: f.Blocks[b].Width, Vector: sp.Vector, Scalar: sp.Scalar}
	}
	out := map[string]*ModelFile{}
	for _, s := range scored {
		m := &ModelFile{FormatVersion: ModelFormat, Lakefuse: lake.Version, Name: s.name, Kind: "strategy", Key: spec.Key,
			Classes: bf.classes.names, IntegerLabels: bf.classes.isInt, Training: training}
		if s.baseline {
			m.Kind = "unimodal"
		} else {
			art := s.artifact.(fusion.Artifact)
			m.Strategy = &art
		}
		for _, name := range s.modalities {
			m.Features = append(m.Features, schema[name])
			m.Unimodal = append(m.Unimodal, uni[name])
		}
		out[s.name] = m
	}
	return out
}

// loadedModels are the model files a score job applies.
type loadedModels struct {
	files      []*ModelFile
	params     map[string]json.RawMessage // strategy name → its params
	classes    []string
	integer    bool
	unimodal   map[string]*fusion.Unimodal
	schema     map[string]FeatureSchema
	source     string
	strategies []fusion.Strategy
}

// LoadModels reads model files from a URL: one models/<name>.json, or every model
// file of a run (its prefix, or its models/ folder).
func LoadModels(ctx context.Context, location string) (*loadedModels, error) {
	u, err := url.Parse(location)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("jobs: %w: models: want a lake URL such as s3://bucket/runs/<run_id>, got %q", ErrSpec, location)
	}
	var root, single string
	if strings.HasSuffix(u.Path, ".json") {
		dir, name := path.Split(u.Path)
		u.Path, single = dir, name
	} else {
		root = strings.TrimSuffix(u.Path, "/")
		if path.Base(root) != "models" {
			u.Path = root + "/models"
		}
	}
	l, err := lake.Open(ctx, u.String())
	if err != nil {
		return nil, err
	}
	defer l.Close()
	var keys []string
	if single != "" {
		keys = []string{single}
	} else {
		objs, err := l.List(ctx, "")
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if strings.HasSuffix(o.Key, ".json") {
				keys = append(keys, o.Key)
			}
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("jobs: %w: no model files at %s", ErrInput, lake.Redact(location))
	}
	lm := &loadedModels{params: map[string]json.RawMessage{}, unimodal: map[string]*fusion.Unimodal{}, schema: map[string]FeatureSchema{}, source: lake.Redact(location)}
	for _, key := range keys {
		b, err := l.ReadAll(ctx, key)
		if err != nil {
			return nil, err
		}
		var m ModelFile
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("jobs: %w: model %s: %v", ErrInput, key, err)
		}
		if m.FormatVersion != ModelFormat {
			return nil, fmt.Errorf("jobs: %w: model %s: format %d, this lakefuse reads %d", ErrInput, key, m.FormatVersion, ModelFormat)
		}
		if m.Kind == "strategy" {
			var raw struct {
				Strategy struct {
					Params json.RawMessage `json:"params"`
				} `json:"strategy"`
			}
			json.Unmarshal(b, &raw)
			lm.params[m.Name] = raw.Strategy.Params
		}
		if err := lm.add(&m, key); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(lm.files, func(a, b *ModelFile) int { return cmp.Compare(a.Name, b.Name) })
	for _, m := range lm.files {
		if m.Kind != "strategy" {
			continue
		}
		s, err := fusion.Load(*m.Strategy, lm.params[m.Name])
		if err != nil {
			return nil, fmt.Errorf("jobs: %w: model %q: %w", ErrInput, m.Name, err)
		}
		lm.strategies = append(lm.strategies, s)
	}
	return lm, nil
}

// add checks that a model agrees with those loaded before it.
func (lm *loadedModels) add(m *ModelFile, key string) error {
	if lm.classes == nil {
		lm.classes, lm.integer = m.Classes, m.IntegerLabels
	} else if !slices.Equal(lm.classes, m.Classes) {
		return fmt.Errorf("jobs: %w: model %s has classes %v, others have %v", ErrInput, key, m.Classes, lm.classes)
	}
	for i, fs := range m.Features {
		if prev, ok := lm.schema[fs.Modality]; ok && !schemaEqual(prev, fs) {
			return fmt.Errorf("jobs: %w: model %s expects modality %q as %+v, another model as %+v", ErrInput, key, fs.Modality, fs, prev)
		}
		lm.schema[fs.Modality] = fs
		u := m.Unimodal[i]
		if prev, ok := lm.unimodal[fs.Modality]; ok {
			a, _ := json.Marshal(prev)
			b, _ := json.Marshal(u)
			if string(a) != string(b) {
				return fmt.Errorf("jobs: %w: model %s has a different unimodal model for %q than another model file: mixing runs?", ErrInput, key, fs.Modality)
			}
		}
		lm.unimodal[fs.Modality] = u
	}
	lm.files = append(lm.files, m)
	return nil
}

func schemaEqual(a, b FeatureSchema) bool {
	return a.Modality == b.Modality && a.Kind == b.Kind && a.Width == b.Width && a.Vector == b.Vector && slices.Equal(a.Scalar, b.Scalar)
}

// checkSchema compares the data a score job reads with what the models expect.
func (lm *loadedModels) checkSchema(plan *Plan, f *fusion.Frame) error {
	for b, sp := range plan.Modalities {
		want, ok := lm.schema[sp.Name]
		if !ok {
			continue
		}
		got := FeatureSchema{Modality: sp.Name, Kind: sp.Kind, Width: f.Blocks[b].Width, Vector: sp.Vector, Scalar: sp.Scalar}
		if !schemaEqual(want, got) {
			return fmt.Errorf("jobs: %w: modality %q does not match the model (%s): the model was fitted on %s, the data has %s",
				ErrInput, sp.Name, lm.source, describeSchema(want), describeSchema(got))
		}
	}
	for name := range lm.schema {
		if !slices.Contains(plan.Spec.ModalityNames(), name) {
			return fmt.Errorf("jobs: %w: the models use modality %q, which the spec does not declare", ErrInput, name)
		}
	}
	return nil
}

func describeSchema(s FeatureSchema) string {
	cols := s.Vector
	if len(s.Scalar) > 0 {
		cols = fmt.Sprintf("%d columns %s…%s", len(s.Scalar), s.Scalar[0], s.Scalar[len(s.Scalar)-1])
	}
	return fmt.Sprintf("%s of width %d from %s", s.Kind, s.Width, cols)
}
