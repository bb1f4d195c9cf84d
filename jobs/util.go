package jobs

import (
	"fmt"
	"sort"
)

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// pick gathers rows idx of a row-major slice of w values per row.
func pick[T any](s []T, idx []int, w int) []T {
	out := make([]T, len(idx)*w)
	for j, i := range idx {
		copy(out[j*w:(j+1)*w], s[i*w:(i+1)*w])
	}
	return out
}

// Plural is n with the noun's singular or plural form: "1 problem", "2 problems".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
