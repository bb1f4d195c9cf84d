// Command floors measures what the shared late-fusion benchmark's stages cannot
// go below on this machine — each stage's floor — so that lakefuse's stage times
// (the "stage done" logs and a CPU profile of `lakefuse run`) can be read
// against them, and so that a speed target can be checked for reachability
// before anyone chases it.
//
//	go run ./scripts/floors -lake DIR/bench [-rounds 5]
//
// DIR/bench is a lake scripts/bench-lake.sh generated (labels/ and
// modality=*/ of N entities). Every floor is the least work the stage does,
// done by the same libraries lakefuse uses, with nothing of lakefuse's own:
//
//   - decode: every page of every column of the labels and modality files read,
//     decompressed and decoded by parquet-go, two row groups at a time — the
//     load and the key scan together, without aligning or copying a value;
//   - touch: writing the modality blocks (entities × classes float32 per
//     modality) into fresh memory with huge pages advised, as the load does:
//     the kernel's cost of zeroing the pages it hands out;
//   - compress: zstd at parquet-go's default level (lakefuse's writer settings)
//     of one scores file set's bytes, in 512 KiB pages: entity_id (int64) and
//     a probs vector (float32) per entity — the decoded text modality standing
//     in for the fused probabilities (both are probabilities as float32; zstd
//     leaves either at 100 % of its size);
//   - metrics: per row and classifier (the three modalities and their mean),
//     the argmax, the logarithm of the true class's probability and one
//     histogram increment per class (the ranking metrics' bins) — the least a
//     pass computing accuracy, log loss and per-class ROC AUC does.
//
// Each floor is timed `-rounds` times; the median wall time and the CPU time of
// the process over it are printed, then their sum: a run that does at least this
// work cannot take less than the sum's CPU divided by the cores.
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"golang.org/x/sync/errgroup"
)

func main() {
	dir := flag.String("lake", "", "the bench dataset folder (labels/, modality=*/)")
	rounds := flag.Int("rounds", 5, "times each floor is measured (the median is printed)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "floors: -lake is required")
		os.Exit(2)
	}
	if err := run(*dir, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "floors:", err)
		os.Exit(1)
	}
}

func run(dir string, rounds int) error {
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.parquet"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no parquet files under %s", dir)
	}
	data, err := prepare(dir)
	if err != nil {
		return err
	}
	workers := runtime.GOMAXPROCS(0)
	fmt.Printf("floors of the late-fusion workload: %d entities, %d modalities of %d classes, %d files, %d cores\n",
		data.rows, len(data.probs), data.width, len(files), workers)
	floors := []struct {
		name string
		fn   func() error
	}{
		{"decode", func() error { return decodeAll(files, workers) }},
		{"touch", func() error { return touch(data.rows*data.width, len(data.probs), workers) }},
		{"compress", func() error { return compress(data, workers) }},
		{"metrics", func() error { metrics(data, workers); return nil }},
	}
	var wall, cpu float64
	for _, f := range floors {
		w, c, err := measure(rounds, f.fn)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		fmt.Printf("%-9s wall %.3f s  cpu %.3f s  (median of %d)\n", f.name, w, c, rounds)
		wall += w
		cpu += c
	}
	fmt.Printf("%-9s wall %.3f s  cpu %.3f s  → at least %.3f s on %d cores\n", "sum", wall, cpu, cpu/float64(workers), workers)
	return nil
}

// measure runs fn rounds times and returns the median wall and CPU seconds.
func measure(rounds int, fn func() error) (float64, float64, error) {
	var walls, cpus []float64
	for range rounds {
		runtime.GC()
		c0, t0 := cpuSeconds(), time.Now()
		if err := fn(); err != nil {
			return 0, 0, err
		}
		walls = append(walls, time.Since(t0).Seconds())
		cpus = append(cpus, cpuSeconds()-c0)
	}
	return median(walls), median(cpus), nil
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// decodeAll reads and decodes every page of every column of files, one row
// group per task, workers at a time.
func decodeAll(files []string, workers int) error {
	var g errgroup.Group
	g.SetLimit(workers)
	for _, name := range files {
		f, pf, err := open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		for _, rg := range pf.RowGroups() {
			g.Go(func() error {
				for _, cc := range rg.ColumnChunks() {
					if err := eachPage(cc, func(parquet.Page) {}); err != nil {
						return fmt.Errorf("%s: %w", name, err)
					}
				}
				return nil
			})
		}
	}
	return g.Wait()
}

func open(name string) (*os.File, *parquet.File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, pf, nil
}

func eachPage(cc parquet.ColumnChunk, fn func(parquet.Page)) error {
	pages := cc.Pages()
	defer pages.Close()
	for {
		p, err := pages.ReadPage()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		fn(p)
		parquet.Release(p)
	}
}

// touch writes blocks arrays of n float32s, split between workers, in memory
// fresh from the kernel (mapped for the round and unmapped after it, huge pages
// advised as bigmem advises them): a run's blocks are memory its process has
// never touched, and the Go heap would hand a later round pages already faulted in.
func touch(n, blocks, workers int) error {
	var wg sync.WaitGroup
	for range blocks {
		m, err := syscall.Mmap(-1, 0, n*4, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			return err
		}
		_ = syscall.Madvise(m, 14) // MADV_HUGEPAGE
		b := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(m))), n)
		step := (n + workers - 1) / workers
		for lo := 0; lo < n; lo += step {
			wg.Add(1)
			go func(s []float32) {
				defer wg.Done()
				for i := range s {
					s[i] = 1
				}
			}(b[lo:min(lo+step, n)])
		}
		wg.Wait()
		if err := syscall.Munmap(m); err != nil {
			return err
		}
	}
	return nil
}

// workload is the benchmark's data, decoded untimed: each modality's
// probabilities in file order (row-major, width per row) and the labels, cut
// to the fewest rows any of them has (row order does not matter to a floor).
type workload struct {
	rows, width int
	keys        []int64
	labels      []int32
	probs       [][]float32
}

func prepare(dir string) (*workload, error) {
	w := &workload{}
	var err error
	if w.keys, w.labels, err = readLabels(filepath.Join(dir, "labels")); err != nil {
		return nil, err
	}
	mods, _ := filepath.Glob(filepath.Join(dir, "modality=*"))
	w.rows = len(w.labels)
	for _, m := range mods {
		p, err := readFloats(m)
		if err != nil {
			return nil, err
		}
		w.probs = append(w.probs, p)
	}
	if len(w.probs) == 0 {
		return nil, fmt.Errorf("no modality=* folders under %s", dir)
	}
	w.width = 10
	for _, p := range w.probs {
		w.rows = min(w.rows, len(p)/w.width)
	}
	for i := range w.probs {
		w.probs[i] = w.probs[i][:w.rows*w.width]
	}
	w.keys, w.labels = w.keys[:w.rows], w.labels[:w.rows]
	return w, nil
}

func readLabels(dir string) ([]int64, []int32, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.parquet"))
	var keys []int64
	var labels []int32
	for _, name := range files {
		f, pf, err := open(name)
		if err != nil {
			return nil, nil, err
		}
		ki, li := leafIndex(pf, "entity_id"), leafIndex(pf, "label")
		if ki < 0 || li < 0 {
			f.Close()
			return nil, nil, fmt.Errorf("%s: no entity_id or label column", name)
		}
		for _, rg := range pf.RowGroups() {
			err = eachPage(rg.ColumnChunks()[ki], func(p parquet.Page) {
				d := p.Data()
				keys = append(keys, d.Int64()...)
			})
			if err == nil {
				err = eachPage(rg.ColumnChunks()[li], func(p parquet.Page) {
					d := p.Data()
					labels = append(labels, d.Int32()...)
				})
			}
			if err != nil {
				f.Close()
				return nil, nil, err
			}
		}
		f.Close()
	}
	return keys, labels, nil
}

func readFloats(dir string) ([]float32, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.parquet"))
	var out []float32
	for _, name := range files {
		f, pf, err := open(name)
		if err != nil {
			return nil, err
		}
		pi := -1
		for i, leaf := range pf.Schema().Columns() {
			if leaf[0] == "probs" {
				pi = i
			}
		}
		if pi < 0 {
			f.Close()
			return nil, fmt.Errorf("%s: no probs column", name)
		}
		for _, rg := range pf.RowGroups() {
			if err := eachPage(rg.ColumnChunks()[pi], func(p parquet.Page) {
				d := p.Data()
				out = append(out, d.Float()...)
			}); err != nil {
				f.Close()
				return nil, err
			}
		}
		f.Close()
	}
	return out, nil
}

func leafIndex(pf *parquet.File, name string) int {
	for i, path := range pf.Schema().Columns() {
		if len(path) == 1 && path[0] == name {
			return i
		}
	}
	return -1
}

// compress zstd-compresses the scores' entity_id and probs bytes in 512 KiB
// pages (parquet-go's page buffer in lakefuse's writer), split between workers
// as the score files are.
func compress(w *workload, workers int) error {
	keys := unsafeBytes(w.keys)
	probs := unsafeBytes(w.probs[0])
	const page = 512 << 10
	var chunks [][]byte
	for _, b := range [][]byte{keys, probs} {
		for lo := 0; lo < len(b); lo += page {
			chunks = append(chunks, b[lo:min(lo+page, len(b))])
		}
	}
	var g errgroup.Group
	for k := range workers {
		g.Go(func() error {
			enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
			if err != nil {
				return err
			}
			defer enc.Close()
			var dst []byte
			for i := k; i < len(chunks); i += workers {
				dst = enc.EncodeAll(chunks[i], dst[:0])
			}
			return nil
		})
	}
	return g.Wait()
}

// metrics is the least per-row work of the evaluation: for each classifier (each
// modality and the modalities' mean) and row, the argmax, the log of the true
// class's probability and a histogram increment per class.
func metrics(w *workload, workers int) {
	k := w.width
	classifiers := len(w.probs) + 1
	var wg sync.WaitGroup
	next := make(chan int, classifiers)
	for c := range classifiers {
		next <- c
	}
	close(next)
	sink := make([]float64, workers)
	for wk := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hist := make([]uint32, k<<16)
			p := make([]float32, k)
			for c := range next {
				clear(hist)
				right, ll := 0, 0.0
				for i := range w.rows {
					if c < len(w.probs) {
						copy(p, w.probs[c][i*k:(i+1)*k])
					} else {
						for j := range p {
							s := float32(0)
							for _, m := range w.probs {
								s += m[i*k+j]
							}
							p[j] = s / float32(len(w.probs))
						}
					}
					best := 0
					for j, v := range p {
						if v > p[best] {
							best = j
						}
						hist[j<<16|int(math.Float32bits(v)>>16)]++
					}
					y := int(w.labels[i]) % k
					if best == y {
						right++
					}
					ll -= math.Log(max(float64(p[y]), 1e-15))
				}
				sink[wk] += ll + float64(right)
			}
		}()
	}
	wg.Wait()
}

func unsafeBytes[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(zero)))
}
