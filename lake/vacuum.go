package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// VacuumItem is one object that no committed run needs.
type VacuumItem struct {
	Key    string
	Size   int64
	Reason string
}

// VacuumResult is what Vacuum found under an output prefix.
type VacuumResult struct {
	Items   []VacuumItem // what is (or, with apply, was) removable
	Pending []string     // runs whose commit was claimed but not finished: rerun the job to finish them
	Runs    int          // run folders looked at
}

// Vacuum looks at every run folder under root (an output prefix: <root>/<run_id>/)
// and finds the objects no committed manifest names and that were last modified
// more than olderThan before now:
//
//   - in a committed run, everything its manifest.json does not name but the
//     markers: staged files of attempts, debris of interrupted publishing;
//   - in a run that is not committed, the files of every attempt, except the
//     staged files and partial publication of an attempt that holds the claim
//     (finishing that commit needs them; such runs are listed as Pending).
//
// With apply it deletes them; files of committed runs that their manifest names
// are never touched.
func (l *Lake) Vacuum(ctx context.Context, root string, olderThan time.Duration, now time.Time, apply bool) (*VacuumResult, error) {
	root = strings.Trim(root, "/")
	listPrefix := ""
	if root != "" {
		listPrefix = root + "/"
	}
	objs, err := l.List(ctx, listPrefix)
	if err != nil {
		return nil, err
	}
	runs := map[string][]Object{}
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, listPrefix)
		run, _, ok := strings.Cut(rel, "/")
		if !ok {
			continue // not inside a run folder
		}
		runs[run] = append(runs[run], o)
	}
	names := make([]string, 0, len(runs))
	for r := range runs {
		names = append(names, r)
	}
	sort.Strings(names)
	res := &VacuumResult{Runs: len(names)}
	cutoff := now.Add(-olderThan)
	for _, run := range names {
		prefix := Join(root, run)
		st, err := l.Status(ctx, prefix)
		if err != nil {
			return nil, err
		}
		keep := map[string]bool{SuccessMarker: true, ClaimMarker: true, ManifestName: true}
		reason := "uncommitted attempt"
		switch {
		case st.Committed:
			b, err := l.ReadAll(ctx, Join(prefix, ManifestName))
			if err != nil {
				return nil, fmt.Errorf("lake: vacuum: committed run %q: %w", prefix, err)
			}
			var m Manifest
			if err := json.Unmarshal(b, &m); err != nil {
				return nil, fmt.Errorf("lake: vacuum: committed run %q: manifest.json: %w", prefix, err)
			}
			for _, f := range m.Files {
				keep[f.Path] = true
			}
			reason = "not in the committed manifest"
		case st.Claimed:
			res.Pending = append(res.Pending, prefix)
		}
		// An uncommitted run keeps the attempts that will publish it: the claimed
		// one and those whose files its manifest adopted, and those the states
		// of a sharded run's finished shards name.
		needed := map[string]bool{}
		if !st.Committed {
			if needed, err = l.neededAttempts(ctx, prefix, st, runs[run]); err != nil {
				return nil, err
			}
		}
		for _, o := range runs[run] {
			rel := strings.TrimPrefix(o.Key, prefix+"/")
			if keep[rel] || !o.ModTime.Before(cutoff) {
				continue
			}
			if !st.Committed && strings.HasPrefix(rel, ShardsDir+"/") {
				continue // a finished shard's state
			}
			if a, _, ok := strings.Cut(strings.TrimPrefix(rel, AttemptsDir+"/"), "/"); ok && strings.HasPrefix(rel, AttemptsDir+"/") && needed[a] {
				continue
			}
			if st.Claimed && !st.Committed && !strings.HasPrefix(rel, AttemptsDir+"/") {
				continue // needed to finish the claimed commit
			}
			if !st.Committed && (rel == SuccessMarker || rel == ClaimMarker) {
				continue
			}
			res.Items = append(res.Items, VacuumItem{Key: o.Key, Size: o.Size, Reason: reason})
		}
	}
	if apply {
		for _, it := range res.Items {
			if err := l.Delete(ctx, it.Key); err != nil && !errors.Is(err, ErrNotFound) {
				return res, err
			}
		}
	}
	return res, nil
}

// neededAttempts names the attempts an uncommitted run still needs: the one that
// claimed its commit and every attempt its staged manifest adopts files from,
// and the attempts named by the shard states under _shards/.
func (l *Lake) neededAttempts(ctx context.Context, prefix string, st RunStatus, objs []Object) (map[string]bool, error) {
	needed := map[string]bool{}
	var attempt struct {
		Attempt string `json:"attempt"`
	}
	if st.Claimed {
		needed[st.Attempt] = true
		b, err := l.ReadAll(ctx, Join(prefix, AttemptsDir, st.Attempt, ManifestName))
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		var m Manifest
		if err == nil && json.Unmarshal(b, &m) == nil {
			for _, f := range m.Files {
				if f.Attempt != "" {
					needed[f.Attempt] = true
				}
			}
		}
	}
	for _, o := range objs {
		if !strings.HasPrefix(strings.TrimPrefix(o.Key, prefix+"/"), ShardsDir+"/") || !strings.HasSuffix(o.Key, ".json") {
			continue
		}
		b, err := l.ReadAll(ctx, o.Key)
		if err != nil {
			return nil, err
		}
		attempt.Attempt = ""
		if json.Unmarshal(b, &attempt) == nil && attempt.Attempt != "" {
			needed[attempt.Attempt] = true
		}
	}
	return needed, nil
}
