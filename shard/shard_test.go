package shard

import (
	"testing"

	"github.com/lakefuse/lakefuse/internal/bucket"
	"github.com/lakefuse/lakefuse/internal/errkind"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]Identity{"0/1": {0, 1, "--shard"}, "3/8": {3, 8, "--shard"}, "9999/10000": {9999, 10000, "--shard"}} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("%q: %+v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "3", "8/8", "-1/4", "1/0", "a/4", "1/b", "0/10001"} {
		if _, err := Parse(in); errkind.Of(err) != errkind.Spec {
			t.Errorf("%q: %v, want a spec error", in, err)
		}
	}
}

func TestFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, c := range []struct {
		name      string
		getenv    func(string) string
		specCount int
		want      Identity
		ok        bool
		err       bool
	}{
		{"nothing", env(), 0, Identity{}, false, false},
		{"batch with LAKEFUSE_SHARDS", env(EnvAWSBatch, "2", EnvCount, "4"), 0, Identity{2, 4, EnvAWSBatch + " and " + EnvCount}, true, false},
		{"batch with the spec's count", env(EnvAWSBatch, "2"), 5, Identity{2, 5, EnvAWSBatch + " and resources.shards"}, true, false},
		{"batch without a count", env(EnvAWSBatch, "2"), 0, Identity{}, false, true},
		{"kubernetes", env(EnvK8sIndex, "0", EnvCount, "3"), 0, Identity{0, 3, EnvK8sIndex + " and " + EnvCount}, true, false},
		{"cloud run", env(EnvCloudRun, "6", EnvCloudRunSize, "8", EnvCount, "99"), 0, Identity{6, 8, EnvCloudRun + " and " + EnvCloudRunSize}, true, false},
		{"cloud run of one task", env(EnvCloudRun, "0", EnvCloudRunSize, "1"), 0, Identity{0, 1, EnvCloudRun + " and " + EnvCloudRunSize}, false, false},
		{"index past the count", env(EnvK8sIndex, "3", EnvCount, "3"), 0, Identity{}, false, true},
		{"not a number", env(EnvAWSBatch, "x", EnvCount, "3"), 0, Identity{}, false, true},
		{"bad count", env(EnvAWSBatch, "1", EnvCount, "three"), 0, Identity{}, false, true},
	} {
		got, ok, err := FromEnv(c.getenv, c.specCount)
		if (err != nil) != c.err || ok != c.ok || (ok && got != c.want) {
			t.Errorf("%s: %+v %v %v", c.name, got, ok, err)
		}
		if err != nil && errkind.Of(err) != errkind.Spec {
			t.Errorf("%s: %v is not a spec error", c.name, err)
		}
	}
}

// A spill group of Layout.Groups lies inside one Iceberg bucket, so owning a
// group is owning its keys' bucket; every bucket has one owner.
func TestLayoutGroupsFollowBuckets(t *testing.T) {
	for _, l := range []Layout{{1, 1}, {3, 3}, {8, 8}, {16, 3}} {
		for _, want := range []int{1, 5, 16, 17} {
			g := l.Groups(want)
			if g < want || g%l.Buckets != 0 || (g > l.Buckets && g-l.Buckets >= want) { // the smallest such multiple
				t.Fatalf("%+v: Groups(%d) = %d", l, want, g)
			}
			for k := int64(-500); k < 500; k++ {
				h := bucket.Long(k)
				group, b := bucket.Of(h, g), bucket.Of(h, l.Buckets)
				owners := 0
				for i := 0; i < l.Count; i++ {
					if l.OwnsGroup(group, i) {
						owners++
						if l.Owner(b) != i {
							t.Fatalf("%+v: key %d: group %d is shard %d's, its bucket %d shard %d's", l, k, group, i, b, l.Owner(b))
						}
					}
				}
				if owners != 1 {
					t.Fatalf("%+v: group %d has %d owners", l, group, owners)
				}
			}
		}
	}
}

func TestStateNames(t *testing.T) {
	for _, i := range []int{0, 7, 9999} {
		if got, ok := IndexOf(StateName(i)); !ok || got != i {
			t.Errorf("IndexOf(StateName(%d)) = %d, %v", i, got, ok)
		}
	}
	for _, rel := range []string{LockName, "_shards/1.json", "_shards/00001.txt", "other/00001.json"} {
		if _, ok := IndexOf(rel); ok {
			t.Errorf("%q taken for a state", rel)
		}
	}
}
