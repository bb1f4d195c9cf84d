package main

import (
	"slices"
	"testing"
)

func TestNaturalOrder(t *testing.T) {
	got := []string{"f10", "f2", "f100", "f1", "label", "f01", "f9x", "f9", "e5"}
	slices.SortFunc(got, naturalCompare)
	want := []string{"e5", "f1", "f01", "f2", "f9", "f9x", "f10", "f100", "label"}
	if !slices.Equal(got, want) {
		t.Errorf("natural order %v, want %v", got, want)
	}
	if lo, hi := naturalRange([]string{"f0", "f10", "f215", "f99", "f100"}); lo != "f0" || hi != "f215" {
		t.Errorf("range %s…%s, want f0…f215", lo, hi)
	}
}
