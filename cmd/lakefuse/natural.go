package main

import (
	"slices"
	"strings"
)

// naturalCompare orders strings as people read them: runs of digits by their
// value, so f2 < f10 < f100 (text order puts f10 and f100 before f2).
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := len(na) - len(nb); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			if c := da - db; c != 0 { // f01 after f1
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// naturalRange is the first and the last of names in natural order.
func naturalRange(names []string) (string, string) {
	s := slices.Clone(names)
	slices.SortFunc(s, naturalCompare)
	return s[0], s[len(s)-1]
}
