// Package examples embeds the example job specs so that the CLI's demo can run
// them without the source tree.
package examples

import _ "embed"

// Mfeat is examples/mfeat.yaml, the demo job.
//
//go:embed mfeat.yaml
var Mfeat []byte
