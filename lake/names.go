package lake

import (
	"fmt"
	"regexp"
	"strings"
)

// Names that lakefuse turns into object keys (run ids, datasets, output prefixes,
// partition values) are checked before anything is read or written, so that no
// name can escape its folder ("..", a leading "/"), hide its files from query
// engines (a leading "_" or "."), or need escaping in a URL.
var (
	segmentRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.=+-]*$`)
	valueRE   = regexp.MustCompile(`^[A-Za-z0-9_.:+%-]+$`)
	keyRE     = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
)

const (
	maxSegment = 128
	maxPath    = 512
)

// NameRule says what CheckName accepts, for messages and docs.
const NameRule = "1 to 128 characters: letters, digits and _ . = + -, starting with a letter or digit, no \"..\""

// CheckName checks one path segment, such as a run id.
func CheckName(what, s string) error {
	if len(s) == 0 || len(s) > maxSegment || !segmentRE.MatchString(s) || strings.Contains(s, "..") {
		return fmt.Errorf("%s %q: %w: want %s", what, s, ErrBadName, NameRule)
	}
	return nil
}

// CheckPath checks a relative folder such as a dataset or an output prefix: one or
// more names (CheckName) separated by "/", at most 512 characters.
func CheckPath(what, s string) error {
	if s == "" || len(s) > maxPath || strings.HasPrefix(s, "/") {
		return fmt.Errorf("%s %q: %w: want a relative folder of names separated by /, each %s", what, s, ErrBadName, NameRule)
	}
	for _, seg := range strings.Split(strings.TrimSuffix(s, "/"), "/") {
		if err := CheckName(what, seg); err != nil {
			return fmt.Errorf("%s %q: %w: want a relative folder of names separated by /, each %s", what, s, ErrBadName, NameRule)
		}
	}
	return nil
}

// CheckPartition checks a Hive partition filter: key of letters, digits and _,
// value of letters, digits and _ . : + % -, each at most 128 characters.
func CheckPartition(key, value string) error {
	if len(key) > maxSegment || !keyRE.MatchString(key) {
		return fmt.Errorf("partition key %q: %w: want letters, digits and _", key, ErrBadName)
	}
	if len(value) > maxSegment || !valueRE.MatchString(value) || strings.Contains(value, "..") {
		return fmt.Errorf("partition %s=%q: %w: want 1 to 128 letters, digits and _ . : + %% -, no \"..\"", key, value, ErrBadName)
	}
	return nil
}
