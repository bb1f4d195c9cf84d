// Package shard is what makes one lakefuse job N tasks of a batch engine's array
// job: which task this is (Identity, from a flag or the engine's environment),
// which key buckets it owns (Layout), and the per-shard state each task leaves
// in the run's folder for the task that finishes last, which merges the states
// and commits the run (Finalize in package jobs). There is no coordinator: the
// engine starts the tasks, the lake's conditional writes order them.
package shard

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lakefuse/lakefuse/internal/errkind"
	"github.com/lakefuse/lakefuse/lake"
)

// Identity is one shard of a run: Index in [0, Count).
type Identity struct {
	Index, Count int
	Source       string // where it came from: "--shard", an environment variable
}

func (id Identity) String() string { return fmt.Sprintf("%d/%d", id.Index, id.Count) }

// Parse reads "INDEX/COUNT" (the --shard flag).
func Parse(s string) (Identity, error) {
	i, c, ok := strings.Cut(s, "/")
	if !ok {
		return Identity{}, errkind.E(errkind.Spec, fmt.Errorf("shard %q: want INDEX/COUNT, such as 0/4", s))
	}
	index, err1 := strconv.Atoi(i)
	count, err2 := strconv.Atoi(c)
	if err1 != nil || err2 != nil {
		return Identity{}, errkind.E(errkind.Spec, fmt.Errorf("shard %q: want INDEX/COUNT, such as 0/4", s))
	}
	return check(Identity{Index: index, Count: count, Source: "--shard"})
}

// MaxCount is the most shards a run may have: every shard reads every other's
// state object once, at the end.
const MaxCount = 10000

func check(id Identity) (Identity, error) {
	if id.Count < 1 || id.Count > MaxCount || id.Index < 0 || id.Index >= id.Count {
		return Identity{}, errkind.E(errkind.Spec, fmt.Errorf("shard %d/%d (from %s): want 0 <= INDEX < COUNT <= %d", id.Index, id.Count, id.Source, MaxCount))
	}
	return id, nil
}

// The environment variables the batch engines set on each task of an array job.
const (
	EnvCount        = "LAKEFUSE_SHARDS"           // the shard count, where the engine does not say it
	EnvAWSBatch     = "AWS_BATCH_JOB_ARRAY_INDEX" // AWS Batch array jobs (no size variable)
	EnvK8sIndex     = "JOB_COMPLETION_INDEX"      // Kubernetes Indexed Jobs (no size variable)
	EnvCloudRun     = "CLOUD_RUN_TASK_INDEX"      // Cloud Run jobs
	EnvCloudRunSize = "CLOUD_RUN_TASK_COUNT"
)

// FromEnv reads the shard identity from a batch engine's environment; ok is
// false when no engine variable is set, or the count is 1 (a job of one task —
// Cloud Run sets its variables on every job — runs as an ordinary run). The count comes
// from CLOUD_RUN_TASK_COUNT on Cloud Run, else from LAKEFUSE_SHARDS, else from
// specCount (the spec's resources.shards); an index without a count is an error,
// since guessing it would split the keys wrongly.
func FromEnv(getenv func(string) string, specCount int) (id Identity, ok bool, err error) {
	for _, name := range []string{EnvAWSBatch, EnvK8sIndex, EnvCloudRun} {
		v := getenv(name)
		if v == "" {
			continue
		}
		index, err := strconv.Atoi(v)
		if err != nil {
			return Identity{}, false, errkind.E(errkind.Spec, fmt.Errorf("shard: %s=%q is not an index", name, v))
		}
		id = Identity{Index: index, Source: name}
		countFrom := ""
		switch {
		case name == EnvCloudRun && getenv(EnvCloudRunSize) != "":
			countFrom = EnvCloudRunSize
		case getenv(EnvCount) != "":
			countFrom = EnvCount
		}
		switch {
		case countFrom != "":
			if id.Count, err = strconv.Atoi(getenv(countFrom)); err != nil {
				return Identity{}, false, errkind.E(errkind.Spec, fmt.Errorf("shard: %s=%q is not a count", countFrom, getenv(countFrom)))
			}
			id.Source += " and " + countFrom
		case specCount > 0:
			id.Count = specCount
			id.Source += " and resources.shards"
		default:
			return Identity{}, false, errkind.E(errkind.Spec, fmt.Errorf("shard: %s=%s is set but the shard count is not: set %s or the spec's resources.shards", name, v, EnvCount))
		}
		id, err = check(id)
		return id, err == nil && id.Count > 1, err
	}
	return Identity{}, false, nil
}

// Layout is how a sharded run's keys are owned: a key's bucket is Iceberg's
// bucket transform over Buckets buckets (internal/bucket), and shard i owns the
// buckets b with b mod Count = i. Buckets is fixed for the run and recorded in
// every shard's state: shards that disagree on it cannot be merged.
type Layout struct {
	Buckets, Count int
}

// Owner is the shard that owns bucket b.
func (l Layout) Owner(b int) int { return b % l.Count }

// Groups returns the number of spill groups, at least want, that keeps each
// group inside one bucket: a multiple of Buckets (a group g then holds bucket
// g mod Buckets only, since Iceberg buckets are the hash mod Buckets).
func (l Layout) Groups(want int) int {
	return l.Buckets * max(1, (want+l.Buckets-1)/l.Buckets)
}

// OwnsGroup reports whether shard index owns spill group g of a Groups(…) split.
func (l Layout) OwnsGroup(g, index int) bool { return l.Owner(g%l.Buckets) == index }

// The objects of a sharded run, relative to its prefix.
const (
	statesDir = lake.ShardsDir
	// LockName is taken (written if absent) by the shard that finds every state
	// present and finalizes the run; a retried shard and `lakefuse finalize`
	// finalize whether or not it is held, which the commit protocol makes safe.
	LockName = statesDir + "/_finalize"
)

// StateName is where shard index leaves its state.
func StateName(index int) string { return fmt.Sprintf("%s/%05d.json", statesDir, index) }

// IndexOf returns the shard index of a state object's name relative to the run prefix.
func IndexOf(rel string) (int, bool) {
	name, ok := strings.CutPrefix(rel, statesDir+"/")
	if !ok {
		return 0, false
	}
	name, ok = strings.CutSuffix(name, ".json")
	if !ok || len(name) != 5 {
		return 0, false
	}
	i, err := strconv.Atoi(name)
	return i, err == nil
}
