package bigmem

import "testing"

func TestMake(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 3 << 20} { // the last is past the huge-page threshold
		s := Floats(n)
		if len(s) != n || cap(s) != n {
			t.Fatalf("Floats(%d): len %d cap %d", n, len(s), cap(s))
		}
		for i := 0; i < n; i += 4099 {
			if s[i] != 0 {
				t.Fatalf("Floats(%d)[%d] = %v, want 0", n, i, s[i])
			}
			s[i] = 1
		}
	}
	u := Make[uint32](2, 1<<21)
	if len(u) != 2 || cap(u) != 1<<21 {
		t.Fatalf("Make: len %d cap %d", len(u), cap(u))
	}
}
