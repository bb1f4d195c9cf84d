package jobs

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/lakefuse/lakefuse/internal/keyhash"
	"github.com/lakefuse/lakefuse/internal/spill"
	"github.com/lakefuse/lakefuse/lake"
)

// A bucket file's batches arrive in the order row groups finished; load puts
// them back in lake order (file, then row) with every column moved alike, and
// with a hash bound keeps exactly the rows whose key hashes within it; origins
// spilled as int32 or int64 read back alike, and name each row's file and row.
// Gathered into one batch (as spillLake's writers gather), the row groups'
// rows interleave within it and are put in lake order alike.
func TestLoadPutsBatchesInLakeOrder(t *testing.T) {
	for _, origin32 := range []bool{true, false} {
		for _, gather := range []int{0, 1 << 20} {
			t.Run(fmt.Sprint("origin32=", origin32, ",gather=", gather), func(t *testing.T) { testLoadInLakeOrder(t, origin32, gather) })
		}
	}
}

func testLoadInLakeOrder(t *testing.T, origin32 bool, gather int) {
	dir, err := spill.NewDir(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	sp := &SourcePlan{Name: "m", Kind: "features", Vector: "v", Request: lake.ColumnRequest{Key: "k", Label: "y", Split: "s"}}
	// Two files of 30 rows, with an empty one between them.
	sd := &spilled{dir: dir, groups: 1, paths: [][]string{{dir.File("m")}}, intKeys: true, width: []int{2},
		fileStart: [][]int64{{0, 30, 30}}, origin32: []bool{origin32}}
	// Five batches of rows of two files, written out of order.
	type row struct {
		origin, key, label int64
		valid              uint8
		split              string
		state              uint8
		v                  [2]float32
	}
	var all []row
	for f := int64(0); f < 2; f++ {
		for r := int64(0); r < 30; r++ {
			o := 30*f + r
			all = append(all, row{origin: o, key: 1000*f + r, label: r % 3, valid: uint8(r%7/6 ^ 1), split: fmt.Sprint("s", r%2),
				state: stateHit | uint8(r%5/4), v: [2]float32{float32(o) + 0.25, -float32(r)}})
		}
	}
	spans := [][2]int{{40, 60}, {0, 10}, {30, 40}, {10, 30}, {60, 60}}
	w, err := spill.Create(sd.paths[0][0])
	if err != nil {
		t.Fatal(err)
	}
	w.Gather(gather)
	for _, s := range spans {
		rows := all[s[0]:s[1]]
		b := &spill.Batch{Rows: len(rows), Cols: []spill.Column{{Kind: spill.Int64s, I64: []int64{}}, {Kind: spill.Int64s, I64: []int64{}},
			{Kind: spill.Int64s, I64: []int64{}}, {Kind: spill.Bytes, Width: 1, U8: []uint8{}}, {Kind: spill.Strings, Str: []string{}},
			{Kind: spill.Bytes, Width: 1, U8: []uint8{}}, {Kind: spill.Float32s, Width: 2, F32: []float32{}}}}
		if origin32 {
			b.Cols[0] = spill.Column{Kind: spill.Int32s, I32: []int32{}}
		}
		for _, r := range rows {
			c := b.Cols
			if origin32 {
				c[0].I32 = append(c[0].I32, int32(r.origin))
			} else {
				c[0].I64 = append(c[0].I64, r.origin)
			}
			c[1].I64, c[2].I64 = append(c[1].I64, r.key), append(c[2].I64, r.label)
			c[3].U8, c[4].Str, c[5].U8 = append(c[3].U8, r.valid), append(c[4].Str, r.split), append(c[5].U8, r.state)
			c[6].F32 = append(c[6].F32, r.v[:]...)
		}
		if err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	check := func(maxHash uint64) {
		t.Helper()
		gs, err := sd.load(0, 0, sp, maxHash, 0)
		if err != nil {
			t.Fatal(err)
		}
		var want []row
		for _, r := range all {
			if keyhash.Int(r.key) <= maxHash {
				want = append(want, r)
			}
		}
		tab := gs.table
		if tab.Rows != len(want) || len(gs.origin) != len(want) {
			t.Fatalf("max hash %x: %d rows, want %d", maxHash, tab.Rows, len(want))
		}
		anyInvalid := false
		for i, r := range want {
			valid := tab.LabelValid == nil || tab.LabelValid[i]
			anyInvalid = anyInvalid || !valid
			if gs.origin[i] != r.origin || tab.IntKeys[i] != r.key || tab.IntLabels[i] != r.label || valid != (r.valid == 1) ||
				tab.Split[i] != r.split || gs.state[i] != r.state || !slices.Equal(gs.f32[2*i:2*i+2], r.v[:]) {
				t.Fatalf("max hash %x: row %d is origin %d key %d, want %+v", maxHash, i, gs.origin[i], tab.IntKeys[i], r)
			}
			if f, at := gs.place(i); f != 2*int(r.origin/30) || at != r.origin%30 {
				t.Fatalf("row of origin %d placed in file %d, row %d", r.origin, f, at)
			}
		}
		if slices.ContainsFunc(want, func(r row) bool { return r.valid == 0 }) != anyInvalid {
			t.Errorf("max hash %x: label validity lost", maxHash)
		}
	}
	check(math.MaxUint64)
	sd.rows = [][]int64{{int64(len(all))}} // as spillLake counts them: the group sized at once
	check(math.MaxUint64)
	hashes := make([]uint64, len(all))
	for i, r := range all {
		hashes[i] = keyhash.Int(r.key)
	}
	slices.Sort(hashes)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 5 {
		check(hashes[rng.IntN(len(hashes))])
	}
}

// removeGroup deletes one group's bucket files, of every source, and no other
// group's; a source without a file there is skipped.
func TestRemoveGroupDeletesOnlyItsFiles(t *testing.T) {
	dir, err := spill.NewDir(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	sd := &spilled{dir: dir, groups: 2, paths: [][]string{{dir.File("a0"), dir.File("a1")}, {"", dir.File("b1")}}}
	for _, p := range []string{dir.File("a0"), dir.File("a1"), dir.File("b1")} {
		if err := os.WriteFile(p, []byte("bucket"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sd.removeGroup(1)
	for p, want := range map[string]bool{dir.File("a0"): true, dir.File("a1"): false, dir.File("b1"): false} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", p, err == nil, want)
		}
	}
}

// mergeRuns orders rows that arrived as interleaved stretches of increasing
// origin exactly as sorting them would.
func TestMergeRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 200 {
		// Rows 0..n-1 cut into stretches, dealt to a few "row groups" in
		// arrival order, as routing delivers them.
		n := rng.IntN(300)
		var pieces [][]int64
		for lo := 0; lo < n; {
			hi := min(n, lo+1+rng.IntN(20))
			var p []int64
			for o := lo; o < hi; o++ {
				if rng.IntN(4) > 0 { // a group holds some of a row group's rows
					p = append(p, int64(o))
				}
			}
			pieces = append(pieces, p)
			lo = hi
		}
		for i := range pieces { // finished out of order, but not far
			if j := i + rng.IntN(3); j < len(pieces) {
				pieces[i], pieces[j] = pieces[j], pieces[i]
			}
		}
		var origin []int64
		var runs []run
		for _, p := range pieces {
			from := len(origin)
			origin = append(origin, p...)
			if len(p) > 0 {
				runs = appendRuns(runs, origin, from)
			}
		}
		idx := mergeRuns(origin, runs)
		got := slices.Clone(origin)
		if idx != nil {
			got = got[:0]
			for _, i := range idx {
				got = append(got, origin[i])
			}
		} else if len(runs) > 1 {
			t.Fatalf("trial %d: %d runs and no order", trial, len(runs))
		}
		strict := slices.IsSortedFunc(got, func(a, b int64) int { return cmp.Compare(a, b+1) }) // no origin twice
		if !strict || len(got) != len(origin) {
			t.Fatalf("trial %d: %v from %v (runs %v)", trial, got, origin, runs)
		}
	}
}
