// Command fitbench times lakefuse's model fits on a dataset that
// scripts/bench-fits.py writes, so that the script can time scikit-learn's fits
// of the same models on the same rows and compare them in one alternating run.
//
//	fitbench -data DIR [-fits unimodal,early,stacking,evidential]
//
// DIR holds meta.json ({"classes": K, "label": [...], "train": [...],
// "views": [{"name": ..., "width": ...}]}) and one <name>.f64 per view (rows ×
// width little-endian float64, row-major). Each fit prints one JSON line with
// its wall and CPU seconds (the CPU of the whole process, so of every goroutine
// the fit starts):
//
//   - unimodal:<view>: one view's logistic regression (standardised, C=1), as
//     FitUnimodal fits it;
//   - early: the early strategy over every view (one logistic regression on the
//     concatenated standardised features);
//   - stacking: everything stacking needs: the unimodal models of every view, the
//     out-of-fold models (stratified folds), the meta-model (also each stage
//     alone, as stacking/unimodal, stacking/out-of-fold, stacking/meta);
//   - evidential: the evidential strategy (one evidential classifier per view).
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/lakefuse/lakefuse/fusion"
)

type meta struct {
	Classes int     `json:"classes"`
	Label   []int32 `json:"label"`
	Train   []bool  `json:"train"`
	Views   []struct {
		Name  string `json:"name"`
		Width int    `json:"width"`
	} `json:"views"`
}

func main() {
	dir := flag.String("data", "", "dataset directory written by scripts/bench-fits.py")
	fits := flag.String("fits", "unimodal,early,stacking,evidential", "fits to time, comma-separated")
	flag.Parse()
	if err := run(*dir, strings.Split(*fits, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "fitbench:", err)
		os.Exit(1)
	}
}

func run(dir string, fits []string) error {
	f, err := load(dir)
	if err != nil {
		return err
	}
	ctx := context.Background()
	workers := runtime.GOMAXPROCS(0)
	lr := &fusion.LogRegOptions{C: 1}
	for _, fit := range fits {
		switch fit {
		case "unimodal":
			for b := range f.Blocks {
				one := *f
				one.Blocks = f.Blocks[b : b+1]
				if err := timed("unimodal:"+f.Blocks[b].Name, func() error {
					_, err := fusion.FitUnimodal(ctx, &one, lr, 1)
					return err
				}); err != nil {
					return err
				}
			}
		case "early", "evidential":
			if err := timed(fit, func() error {
				s, err := fusion.New(fusion.Config{Name: fit, Type: fit})
				if err != nil {
					return err
				}
				return s.Fit(ctx, &fusion.Inputs{Frame: f})
			}); err != nil {
				return err
			}
		case "stacking":
			// Timed as a whole, and in its three stages (stacking/…) to show
			// where the time goes.
			var in *fusion.Inputs
			var uni []*fusion.Unimodal
			stages := map[string]func() error{
				"unimodal": func() (err error) {
					uni, err = fusion.FitUnimodal(ctx, f, lr, workers)
					in = &fusion.Inputs{Frame: f, Unimodal: make([][]float32, len(f.Blocks))}
					for b, u := range uni {
						in.Unimodal[b] = make([]float32, f.Rows*f.Classes)
						u.Predict(&f.Blocks[b], in.Unimodal[b])
					}
					return err
				},
				"out-of-fold": func() (err error) {
					in.OOF, err = fusion.OutOfFold(ctx, f, uni, in.Unimodal, lr, workers)
					return err
				},
				"meta": func() error {
					s, err := fusion.New(fusion.Config{Name: fit, Type: fit})
					if err != nil {
						return err
					}
					return s.Fit(ctx, in)
				},
			}
			order := []string{"unimodal", "out-of-fold", "meta"}
			if err := timed(fit, func() error {
				for _, st := range order {
					if err := timed(fit+"/"+st, stages[st]); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown fit %q", fit)
		}
	}
	return nil
}

// timed runs fn and prints its wall and process CPU seconds as a JSON line.
func timed(name string, fn func() error) error {
	cpu0, start := cpuSeconds(), time.Now()
	if err := fn(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	wall, cpu := time.Since(start).Seconds(), cpuSeconds()-cpu0
	line, _ := json.Marshal(map[string]any{"fit": name, "wall": wall, "cpu": cpu})
	fmt.Println(string(line))
	return nil
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func load(dir string) (*fusion.Frame, error) {
	body, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, err
	}
	var m meta
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("meta.json: %w", err)
	}
	n := len(m.Label)
	f := &fusion.Frame{Rows: n, Classes: m.Classes, Label: m.Label, Train: m.Train}
	for _, v := range m.Views {
		raw, err := os.ReadFile(filepath.Join(dir, v.Name+".f64"))
		if err != nil {
			return nil, err
		}
		if len(raw) != 8*n*v.Width {
			return nil, fmt.Errorf("%s.f64: %d bytes, want %d rows × %d features", v.Name, len(raw), n, v.Width)
		}
		vals := make([]float32, n*v.Width) // as a lakefuse frame holds them
		for i := range vals {
			vals[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
		present := make([]bool, n)
		for i := range present {
			present[i] = true
		}
		f.Blocks = append(f.Blocks, fusion.Block{Name: v.Name, Kind: fusion.Features, Width: v.Width, Values: vals, Present: present})
	}
	return f, f.Validate()
}
