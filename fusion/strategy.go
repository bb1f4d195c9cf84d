package fusion

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Strategy fuses the modalities of a Frame into class probabilities.
//
// Fit sees only labelled training rows (Train && Label >= 0). Predict writes
// Rows×Classes probabilities into out, each row summing to 1, for every row with at
// least one modality present; it returns an error wrapping ErrNoModality (naming the
// row) for a row with none, and ErrNotFitted when Fit was needed and not called.
// Both are deterministic, and stop with ctx.Err() when ctx is cancelled.
type Strategy interface {
	Name() string
	Fit(ctx context.Context, in *Inputs) error
	Predict(ctx context.Context, in *Inputs, out []float64) error
	// Artifact returns the fitted parameters, enough to score new data.
	Artifact() Artifact
}

// Config is a strategy as a job spec declares it.
type Config struct {
	Name       string   // unique within the job; names the output partition
	Type       string   // registered type, e.g. "late-mean", "early"
	Modalities []string // the blocks it uses; empty means all
	C          float64  // inverse L2 strength for learned parts (default 1)
	MaxIter    int      // optimiser iterations for learned parts (default 500)
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
	Modalities    []string `json:"modalities"`
	Classes       int      `json:"classes"`
	Params        any      `json:"params,omitempty"`
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
