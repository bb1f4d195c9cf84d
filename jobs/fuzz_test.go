package jobs_test

import (
	"testing"

	"github.com/lakefuse/lakefuse/jobs"
)

// Decoding any bytes as a spec returns a valid spec or an error, never panics;
// a spec that decodes passes validation again and has a usable run id.
func FuzzParseSpec(f *testing.F) {
	f.Add([]byte(syntheticSpec))
	f.Add([]byte("name: x\ndataset: d\nmodalities: [{name: a, features: {columns: \"^f\"}}]\nstrategies: [{name: s, type: hybrid, groups: [[a]]}]\n"))
	f.Add([]byte("name: [\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		spec, err := jobs.ParseSpec(b, "fuzz.yaml")
		if err != nil {
			return
		}
		if err := spec.Validate(); err != nil {
			t.Fatalf("a parsed spec fails validation: %v", err)
		}
		if jobs.RunID(spec, "") == "" {
			t.Fatal("empty run id")
		}
	})
}
