package fusion

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// sortByHash must be slices.SortStableFunc by hash: equal hashes keep their
// order, and a byte every hash shares (skipped) changes nothing, nor do hashes
// that share their high half (ordered after the radix passes).
func TestSortByHashIsStable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 255, 256, 1000, 70000} {
		// Many ties; few; full 64 bits; runs of a few hashes sharing their high
		// half, some equal (sortByHash orders such runs by insertion).
		for _, spread := range []uint64{3, 1 << 20, 0, 1} {
			hash := make([]uint64, n+10)
			for i := range hash {
				switch spread {
				case 0:
					hash[i] = rng.Uint64()
				case 1:
					hash[i] = rng.Uint64N(uint64(n/8+1))<<32 | rng.Uint64N(3)
				default:
					hash[i] = rng.Uint64N(spread)<<17 | 0xab00000000000000
				}
			}
			rows := rng.Perm(n + 10)[:n]
			want := slices.Clone(rows)
			slices.SortStableFunc(want, func(a, b int) int { return cmp.Compare(hash[a], hash[b]) })
			sortByHash(rows, hash)
			if !slices.Equal(rows, want) {
				t.Fatalf("n=%d spread=%d: radix order differs from the stable sort", n, spread)
			}
		}
	}
}

func BenchmarkTrainRowsOrder(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := 2_000_000
	hash := make([]uint64, n)
	for i := range hash {
		hash[i] = rng.Uint64()
	}
	base := make([]int, n)
	for i := range base {
		base[i] = i
	}
	rows := make([]int, n)
	b.Run("radix", func(b *testing.B) {
		for range b.N {
			copy(rows, base)
			sortByHash(rows, hash)
		}
	})
	b.Run("stable", func(b *testing.B) {
		for range b.N {
			copy(rows, base)
			slices.SortStableFunc(rows, func(x, y int) int { return cmp.Compare(hash[x], hash[y]) })
		}
	})
}
