package bucket

import "testing"

// The Iceberg spec's published values (Appendix B, "32-bit Hash Requirements",
// and the bucket transform's example bucket[16](34) = 3), as Iceberg's Java,
// Python and Rust implementations test them.
func TestIcebergSpecValues(t *testing.T) {
	for _, c := range []struct {
		name string
		got  int32
		want int32
	}{
		{"int 34", Long(34), 2017239379},
		{"long 34", Long(34), 2017239379},
		{"int 1 (also boolean true)", Long(1), 1392991556},
		{"date 2017-11-16 (17486 days)", Long(17486), -653330422},
		{"time 22:31:08 (µs)", Long(81068000000), -662762989},
		{"timestamp 2017-11-16T22:31:08 (µs)", Long(1510871468000000), -2047944441},
		{`string "iceberg"`, String("iceberg"), 1210000089},
		{"binary 00 01 02 03", int32(Murmur3([]byte{0, 1, 2, 3})), -188683207},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
	if b := Of(Long(34), 16); b != 3 {
		t.Errorf("bucket[16](34) = %d, want 3", b)
	}
}

// MurmurHash3 x86 32-bit reference values with seed 0 (SMHasher's
// verification set), covering every tail length.
func TestMurmur3Tails(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32
	}{
		{"", 0}, {"\xff\xff\xff\xff", 0x76293b50}, {"\x21\x43\x65\x87", 0xf55b516b},
		{"\x21\x43\x65", 0x7e4a8634}, {"\x21\x43", 0xa0f7b07a}, {"\x21", 0x72661cf4},
		{"\x00\x00\x00\x00", 0x2362f9de}, {"\x00\x00\x00", 0x85f0b427}, {"\x00\x00", 0x30f4c306}, {"\x00", 0x514e28b7},
	} {
		if got := Murmur3(c.in); got != c.want {
			t.Errorf("murmur3(% x) = %#x, want %#x", c.in, got, c.want)
		}
		if got := Murmur3([]byte(c.in)); got != c.want {
			t.Errorf("murmur3 of bytes % x = %#x, want %#x", c.in, got, c.want)
		}
	}
}

// Buckets are in range for negative hashes too, and spread evenly.
func TestOfRangeAndSpread(t *testing.T) {
	const n = 16
	counts := make([]int, n)
	for k := int64(-50000); k < 50000; k++ {
		b := Of(Long(k), n)
		if b < 0 || b >= n {
			t.Fatalf("key %d: bucket %d", k, b)
		}
		counts[b]++
	}
	for b, c := range counts {
		if c < 100000/n*9/10 || c > 100000/n*11/10 {
			t.Errorf("bucket %d holds %d of 100,000 keys", b, c)
		}
	}
}
