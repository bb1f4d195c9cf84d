package jobs

import "sort"

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
