// Package bucket is Apache Iceberg's bucket partition transform: a key's bucket
// is (murmur3_x86_32(key) & MaxInt32) mod N, with integer keys hashed as 8-byte
// little-endian longs and strings as their UTF-8 bytes (Iceberg spec, "Bucket
// Transform Details" and Appendix B). Tables that Iceberg, Spark, Trino or Athena
// bucketed by a key are therefore split the way lakefuse splits its rows: spill
// buckets and shards use the same function, so a shard can read only its own
// buckets' files.
package bucket

import "math/bits"

// Murmur3 is MurmurHash3 x86 32-bit with seed 0 of b.
func Murmur3[T []byte | string](b T) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	var h uint32
	n := len(b)
	i := 0
	for ; i+4 <= n; i += 4 {
		k := uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24
		h ^= bits.RotateLeft32(k*c1, 15) * c2
		h = bits.RotateLeft32(h, 13)*5 + 0xe6546b64
	}
	var k uint32
	switch n - i {
	case 3:
		k ^= uint32(b[i+2]) << 16
		fallthrough
	case 2:
		k ^= uint32(b[i+1]) << 8
		fallthrough
	case 1:
		k ^= uint32(b[i])
		h ^= bits.RotateLeft32(k*c1, 15) * c2
	}
	h ^= uint32(n)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// Long is Iceberg's hash of an int or long key (ints are hashed as longs).
func Long(v int64) int32 {
	u := uint64(v)
	b := [8]byte{byte(u), byte(u >> 8), byte(u >> 16), byte(u >> 24), byte(u >> 32), byte(u >> 40), byte(u >> 48), byte(u >> 56)}
	return int32(Murmur3(b[:]))
}

// String is Iceberg's hash of a string key.
func String(s string) int32 { return int32(Murmur3(s)) }

// Of is the bucket, in [0, n), of a key with Iceberg hash h.
func Of(h int32, n int) int { return int(uint32(h)&0x7fffffff) % n }
