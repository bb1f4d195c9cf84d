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
		for _, o := range runs[run] {
			rel := strings.TrimPrefix(o.Key, prefix+"/")
			if keep[rel] || !o.ModTime.Before(cutoff) {
				continue
			}
			if st.Claimed && !st.Committed && (!strings.HasPrefix(rel, AttemptsDir+"/") || strings.HasPrefix(rel, Join(AttemptsDir, st.Attempt)+"/")) {
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
