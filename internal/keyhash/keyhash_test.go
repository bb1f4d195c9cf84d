package keyhash

import "testing"

// The hashes are part of lakefuse's contract (bucket assignment, bootstrap weights,
// training order): pin them.
func TestFixedValues(t *testing.T) {
	tests := []struct {
		got, want uint64
	}{
		{Int(0), 0},
		{String(""), 14695981039346656037},
		{String("a"), 0xaf63dc4c8601ec8c},
		{Mix(1), 0x5692161d100b05e5}, // splitmix64 finaliser, checked independently
	}
	for i, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("case %d: %#x, want %#x", i, tc.got, tc.want)
		}
	}
}
