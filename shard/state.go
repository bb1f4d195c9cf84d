package shard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/lakefuse/lakefuse/lake"
)

// StateVersion is the format of the states this lakefuse writes; a finalize
// refuses states of another format rather than misreading them.
const StateVersion = 1

// State is what a shard leaves in the run's folder once its rows are written:
// which attempt staged its files, the files, its evaluation's accumulators and
// whatever else the job merges (Job, opaque here). A state is written once
// (conditionally), so a shard's retry finds it and does not redo the work.
type State struct {
	Version    int                 `json:"version"`
	RunID      string              `json:"run_id"`
	SpecSHA256 string              `json:"spec_sha256"`
	Index      int                 `json:"index"`
	Count      int                 `json:"count"`
	Buckets    int                 `json:"buckets"`
	Source     string              `json:"source"`  // where the shard learned its identity: --shard, or an engine's variables
	Attempt    string              `json:"attempt"` // vacuum keeps this attempt's staged files (lake.ShardsDir)
	Created    time.Time           `json:"created"`
	Versions   map[string]string   `json:"versions"`
	Files      []lake.ManifestFile `json:"files"` // staged by Attempt
	// Eval is the object (relative to the run) holding the shard's evaluation,
	// eval.Evaluation.MarshalBinary: its accumulators can be large (exact
	// rankings), so they are kept out of the JSON and read one shard at a time.
	Eval EvalObject      `json:"eval"`
	Job  json.RawMessage `json:"job"`
}

// EvalObject names a shard's evaluation object, with its size and checksum.
type EvalObject struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Put writes shard st.Index's evaluation (evalState) and then its state, unless
// a state is there already; won reports whether this call's state is the one
// kept. The evaluation object is named by the attempt, so a losing attempt's
// never replaces the winner's.
func Put(ctx context.Context, l *lake.Lake, prefix string, st *State, evalState []byte) (won bool, err error) {
	st.Version = StateVersion
	sum := sha256.Sum256(evalState)
	st.Eval = EvalObject{Path: fmt.Sprintf("%s/%05d-%s.eval", statesDir, st.Index, st.Attempt), Size: int64(len(evalState)), SHA256: hex.EncodeToString(sum[:])}
	err = l.WriteObject(ctx, lake.Join(prefix, st.Eval.Path), &lake.WriteOptions{ContentType: "application/octet-stream"},
		func(w io.Writer) error { _, err := w.Write(evalState); return err })
	if err != nil {
		return false, err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return false, err
	}
	err = l.WriteObject(ctx, lake.Join(prefix, StateName(st.Index)), &lake.WriteOptions{ContentType: "application/json", IfNotExist: true},
		func(w io.Writer) error { _, err := w.Write(b); return err })
	if errors.Is(err, lake.ErrExists) {
		return false, nil
	}
	return err == nil, err
}

// Get reads shard index's state; nil when the shard has not finished.
func Get(ctx context.Context, l *lake.Lake, prefix string, index int) (*State, error) {
	b, err := l.ReadAll(ctx, lake.Join(prefix, StateName(index)))
	if errors.Is(err, lake.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decode(b, index)
}

func decode(b []byte, index int) (*State, error) {
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("shard: state of shard %d: %w", index, err)
	}
	if st.Version != StateVersion {
		return nil, fmt.Errorf("shard: state of shard %d has format version %d; this lakefuse reads %d", index, st.Version, StateVersion)
	}
	if st.Index != index {
		return nil, fmt.Errorf("shard: the state stored as shard %d's says it is shard %d's", index, st.Index)
	}
	return &st, nil
}

// ReadEval reads a state's evaluation object, checking it against the state.
func ReadEval(ctx context.Context, l *lake.Lake, prefix string, st *State) ([]byte, error) {
	b, err := l.ReadAll(ctx, lake.Join(prefix, st.Eval.Path))
	if err != nil {
		return nil, fmt.Errorf("shard: the evaluation of shard %d: %w", st.Index, err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != st.Eval.SHA256 || int64(len(b)) != st.Eval.Size {
		return nil, fmt.Errorf("shard: the evaluation of shard %d (%s) does not match its state", st.Index, st.Eval.Path)
	}
	return b, nil
}

// Finished lists the indexes of the shards whose states are present.
func Finished(ctx context.Context, l *lake.Lake, prefix string) ([]int, error) {
	objs, err := l.List(ctx, lake.Join(prefix, statesDir)+"/")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, o := range objs {
		if i, ok := IndexOf(o.Key[len(prefix)+1:]); ok {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out, nil
}

// LoadAll reads the states of shards 0 … count-1, which must all be present
// and agree on the run, the spec, the count and the bucket layout.
func LoadAll(ctx context.Context, l *lake.Lake, prefix string, count int) ([]*State, error) {
	out := make([]*State, count)
	for i := range out {
		st, err := Get(ctx, l, prefix, i)
		if err != nil {
			return nil, err
		}
		if st == nil {
			return nil, fmt.Errorf("shard: shard %d of %d has not finished (no %s)", i, count, StateName(i))
		}
		if f := out[0]; f != nil && (st.RunID != f.RunID || st.SpecSHA256 != f.SpecSHA256 || st.Count != f.Count || st.Buckets != f.Buckets) {
			return nil, fmt.Errorf("shard: shards 0 and %d ran different jobs (run %s/%s, spec %.12s/%.12s, %d/%d shards, %d/%d buckets)",
				i, f.RunID, st.RunID, f.SpecSHA256, st.SpecSHA256, f.Count, st.Count, f.Buckets, st.Buckets)
		}
		if st.Count != count {
			return nil, fmt.Errorf("shard: shard %d's state says the run has %d shards, not %d", i, st.Count, count)
		}
		out[i] = st
	}
	return out, nil
}

// Lock takes the finalize lock for attempt; false when another holds it.
func Lock(ctx context.Context, l *lake.Lake, prefix, attempt string) (bool, error) {
	b, _ := json.Marshal(map[string]any{"attempt": attempt, "at": time.Now().UTC()})
	err := l.WriteObject(ctx, lake.Join(prefix, LockName), &lake.WriteOptions{ContentType: "application/json", IfNotExist: true},
		func(w io.Writer) error { _, err := w.Write(b); return err })
	if errors.Is(err, lake.ErrExists) {
		return false, nil
	}
	return err == nil, err
}
