package fusion

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Strategy fuses the modalities of a Frame into class probabilities.
//
// Fit sees only labelled training rows (Train && Label >= 0), in canonical order.
// Predict writes Rows×Classes probabilities into out, each row summing to 1, for
// every row with at least one of the strategy's modalities present; it returns an
// error wrapping ErrNoModality (naming the row) for a row with none, and
// ErrNotFitted when neither Fit nor Restore ran. Each row's prediction depends only
// on that row and the fitted parameters. Fit and Predict are deterministic and stop
// with ctx.Err() when ctx is cancelled.
type Strategy interface {
	Name() string
	Fit(ctx context.Context, in *Inputs) error
	Predict(ctx context.Context, in *Inputs, out []float64) error
	// Artifact returns the fitted parameters, enough to score new data.
	Artifact() Artifact
	// Restore sets the fitted parameters from an artifact's params, as if Fit had run.
	Restore(params json.RawMessage) error
}

// UncertaintyPredictor is implemented by strategies that also say how uncertain
// each prediction is (a mass in [0, 1], 1 = no evidence).
type UncertaintyPredictor interface {
	PredictUncertainty(ctx context.Context, in *Inputs, probs, uncertainty []float64) error
}

// WarmFitter is implemented by strategies whose fit can start from another fitted
// instance of the same config — the full fit, when a strategy is refitted on
// part of the rows (the report's out-of-fold figures): the fit then ends sooner,
// at the same optimum within its tolerance. from of another kind or shape is
// ignored (a cold start).
type WarmFitter interface {
	FitFrom(ctx context.Context, in *Inputs, from Strategy) error
}

// Config is a strategy as a job spec declares it. Options that a type does not use
// are ignored by it (the spec rejects them).
type Config struct {
	Name       string   `json:"name"`                 // unique within the job; names the output partition
	Type       string   `json:"type"`                 // registered type, e.g. "late-mean", "early"
	Modalities []string `json:"modalities,omitempty"` // the blocks it uses; empty means all
	C          float64  `json:"c,omitempty"`          // inverse L2 strength for learned parts (default 1)
	MaxIter    int      `json:"max_iter,omitempty"`   // optimiser iterations for learned parts (default 500)

	Calibration  string             `json:"calibration,omitempty"`   // late types: none, temperature, platt
	Weights      map[string]float64 `json:"weights,omitempty"`       // late-weighted: fixed weights; empty = learned
	TieRule      string             `json:"tie_rule,omitempty"`      // vote: lowest (default) or mean
	Normalize    string             `json:"normalize,omitempty"`     // early: standard (default) or l2
	BlockWeights map[string]float64 `json:"block_weights,omitempty"` // early: per-block feature weights
	Groups       [][]string         `json:"groups,omitempty"`        // hybrid: modalities fused early, per group
	Combine      string             `json:"combine,omitempty"`       // hybrid: the late rule over groups and the rest
	Lambda       float64            `json:"lambda,omitempty"`        // evidential: KL regulariser weight (default 1)
}

// Factory builds an unfitted strategy from its config.
type Factory func(cfg Config) (Strategy, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register makes a strategy type available to New. It panics on a duplicate type,
// which is a programming error caught at init.
func Register(typ string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[typ]; dup {
		panic("fusion: strategy type registered twice: " + typ)
	}
	registry[typ] = f
}

// Types lists the registered strategy types, sorted.
func Types() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// New builds an unfitted strategy.
func New(cfg Config) (Strategy, error) {
	registryMu.RLock()
	f, ok := registry[cfg.Type]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q (registered: %v)", ErrUnknownStrategy, cfg.Type, Types())
	}
	return f(cfg)
}

// ArtifactVersion is the format version of model artifacts.
const ArtifactVersion = 1

// Artifact is a fitted strategy as JSON: self-describing enough to score new data.
type Artifact struct {
	FormatVersion int      `json:"format_version"`
	Strategy      string   `json:"strategy"`
	Type          string   `json:"type"`
	Config        Config   `json:"config"`
	Modalities    []string `json:"modalities"`
	Classes       int      `json:"classes"`
	Params        any      `json:"params,omitempty"`
}

// Load rebuilds a fitted strategy from an artifact (its Params as JSON).
func Load(a Artifact, params json.RawMessage) (Strategy, error) {
	if a.FormatVersion != ArtifactVersion {
		return nil, fmt.Errorf("%w: strategy %q: artifact format %d, this lakefuse reads %d", ErrArtifact, a.Strategy, a.FormatVersion, ArtifactVersion)
	}
	s, err := New(a.Config)
	if err != nil {
		return nil, err
	}
	if err := s.Restore(params); err != nil {
		return nil, fmt.Errorf("%w: strategy %q: %v", ErrArtifact, a.Strategy, err)
	}
	return s, nil
}

// artifact fills in the common fields.
func artifact(cfg Config, modalities []string, classes int, params any) Artifact {
	return Artifact{FormatVersion: ArtifactVersion, Strategy: cfg.Name, Type: cfg.Type, Config: cfg,
		Modalities: modalities, Classes: classes, Params: params}
}

// restore decodes params into dst, rejecting unknown fields.
func restore(params json.RawMessage, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(params))
	dec.DisallowUnknownFields()
	return dec.Decode(dst)
}

// selectBlocks resolves a strategy's modality list to block indexes.
func selectBlocks(f *Frame, names []string) ([]int, error) {
	if len(names) == 0 {
		idx := make([]int, len(f.Blocks))
		for i := range idx {
			idx[i] = i
		}
		return idx, nil
	}
	var idx []int
	for _, n := range names {
		found := -1
		for i, b := range f.Blocks {
			if b.Name == n {
				found = i
			}
		}
		if found < 0 {
			return nil, fmt.Errorf("%w: no modality %q in the frame", ErrShape, n)
		}
		idx = append(idx, found)
	}
	return idx, nil
}

func blockNames(f *Frame, idx []int) []string {
	out := make([]string, len(idx))
	for i, b := range idx {
		out[i] = f.Blocks[b].Name
	}
	return out
}

func noModality(row int) error { return fmt.Errorf("%w (row %d)", ErrNoModality, row) }

// rowChunk is how many rows a worker of forRows takes at a time.
const rowChunk = 1 << 16

// forRows runs fn over [0, rows) in chunks, on GOMAXPROCS workers. Each row is
// computed independently, so the result does not depend on the scheduling; the
// first error (in any chunk) is returned, and ctx is checked between chunks.
func forRows(ctx context.Context, rows int, fn func(lo, hi int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for lo := 0; lo < rows; lo += rowChunk {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			return fn(lo, min(lo+rowChunk, rows))
		})
	}
	return g.Wait()
}
