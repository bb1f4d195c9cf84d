// Package keyhash is the fixed (unseeded) hashing of entity keys that every part of
// lakefuse must agree on: bucketing, out-of-fold folds, the canonical training
// order and bootstrap weights. A process, a worker or a shard that sees a key
// computes the same hash, so partitions of the work combine exactly.
package keyhash

// Mix is the splitmix64 finaliser: a bijective scramble of 64 bits.
func Mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// Int hashes an integer key.
func Int(k int64) uint64 { return Mix(uint64(k)) }

// String hashes a string key (FNV-1a, 64 bits).
func String(k string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(k); i++ {
		h ^= uint64(k[i])
		h *= 1099511628211
	}
	return h
}
