package jobs

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// refIndex against a Go map: the same answers for present and absent keys, over
// resets of growing and shrinking sizes, int and string keys.
func TestRefIndexMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var xi refIndex[int64]
	var xs refIndex[string]
	for _, n := range []int{0, 1, 7, 1000, 30000, 5} {
		xi.reset(n)
		xs.reset(n)
		want := map[int64]ref{}
		for j := range n {
			k := rng.Int64N(int64(2*n + 1)) // repeats: the first row is kept
			if _, ok := want[k]; ok {
				continue
			}
			want[k] = ref(j)
			for _, i := range []int{xi.slot(k)} {
				if xi.refs[i] != noRef {
					t.Fatalf("n=%d: key %d found before it was put", n, k)
				}
				xi.keys[i], xi.refs[i] = k, ref(j)
			}
			s := strconv.FormatInt(k, 36)
			i := xs.slot(s)
			xs.keys[i], xs.refs[i] = s, ref(j)
		}
		for k := int64(-3); k < int64(2*n+4); k++ {
			w, wok := want[k]
			g, gok := xi.get(k)
			gs, sok := xs.get(strconv.FormatInt(k, 36))
			if wok != gok || wok != sok || (wok && (g != w || gs != w)) {
				t.Fatalf("n=%d key %d: map (%v %v), int index (%v %v), string index (%v %v)", n, k, w, wok, g, gok, gs, sok)
			}
		}
	}
}
