// Package spill owns a run's memory budget: its size (from a flag, the spec, or
// the machine: 75 % of the cgroup limit where there is one, else of physical
// memory), and a byte-weighted semaphore that stages acquire before they
// allocate. Local bucket files, when the data does not fit, belong here too: it
// is the only package that touches local disk.
package spill

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/sync/semaphore"

	"github.com/lakefuse/lakefuse/internal/errkind"
)

// DefaultShare is the share of the machine's memory a run takes when nothing
// says otherwise: the rest is the Go runtime's headroom (the heap may reach
// twice the live data between collections at GOGC=100 — the budget sets
// GOMEMLIMIT instead), page cache for the Parquet reads, and other processes.
const DefaultShare = 0.75

var units = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "kib": 1 << 10,
	"m": 1e6, "mb": 1e6, "mib": 1 << 20,
	"g": 1e9, "gb": 1e9, "gib": 1 << 30,
	"t": 1e12, "tb": 1e12, "tib": 1 << 40,
}

// ParseSize reads a byte size: a number with an optional unit, decimal (KB, MB,
// GB, TB; K, M, G, T) or binary (KiB, MiB, GiB, TiB), case-insensitive, spaces
// allowed between: "512MiB", "2 GiB", "1.5G", "800000000".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !unicode.IsDigit(r) && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	}
	v, err := strconv.ParseFloat(num, 64)
	mult, ok := units[unit]
	if err != nil || !ok || v <= 0 || math.IsInf(v*mult, 0) || v*mult > math.MaxInt64/2 {
		return 0, errkind.New(errkind.Spec, fmt.Sprintf("bad size %q: want a positive number with an optional unit (512MiB, 2GiB, 1.5GB)", s))
	}
	return int64(v * mult), nil
}

// FormatSize prints a byte size in binary units: "512 MiB", "1.5 GiB".
func FormatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 3; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	s := strconv.FormatFloat(v, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + []string{"KiB", "MiB", "GiB", "TiB"}[exp]
}

// Machine is the memory a process may use here and where that figure comes
// from: the cgroup limit (v2, then v1) when one is set, else physical memory.
type Machine struct {
	Bytes  int64
	Source string // "cgroup v2 memory.max", "cgroup v1 memory.limit_in_bytes", "physical memory"
}

// Files read by Detect; tests point them elsewhere.
var (
	cgroupV2 = "/sys/fs/cgroup/memory.max"
	cgroupV1 = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
	meminfo  = "/proc/meminfo"
)

// Detect finds the machine's memory limit. It returns ok false when none can be
// read (not Linux, no /proc).
func Detect() (Machine, bool) {
	if b, err := os.ReadFile(cgroupV2); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 {
			return Machine{v, "cgroup v2 memory.max"}, true
		}
	}
	if b, err := os.ReadFile(cgroupV1); err == nil {
		// An unlimited v1 cgroup reports a huge page-rounded number.
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 && v < 1<<60 {
			return Machine{v, "cgroup v1 memory.limit_in_bytes"}, true
		}
	}
	f, err := os.Open(meminfo)
	if err != nil {
		return Machine{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			if kb, err := strconv.ParseInt(fields[1], 10, 64); err == nil && kb > 0 {
				return Machine{kb << 10, "physical memory"}, true
			}
		}
	}
	return Machine{}, false
}

// Budget is a run's memory budget: its size, where the size came from, and a
// byte-weighted semaphore that holds the bytes stages have reserved.
type Budget struct {
	Bytes  int64
	Source string // "--memory", "spec resources.memory", "75 % of cgroup v2 memory.max (8 GiB)", …
	sem    *semaphore.Weighted
}

// NewBudget resolves the budget: an explicit size (flag first, then spec) wins;
// otherwise DefaultShare of what Detect finds; otherwise 4 GiB, said so.
func NewBudget(flag, spec string) (*Budget, error) {
	for _, c := range []struct{ v, source string }{{flag, "--memory"}, {spec, "spec resources.memory"}} {
		if c.v == "" {
			continue
		}
		n, err := ParseSize(c.v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.source, err)
		}
		return newBudget(n, c.source), nil
	}
	if m, ok := Detect(); ok {
		return newBudget(int64(float64(m.Bytes)*DefaultShare), fmt.Sprintf("75 %% of %s (%s)", m.Source, FormatSize(m.Bytes))), nil
	}
	return newBudget(4<<30, "a fixed 4 GiB (no memory limit could be read)"), nil
}

func newBudget(n int64, source string) *Budget {
	return &Budget{Bytes: n, Source: source, sem: semaphore.NewWeighted(n)}
}

// String describes the budget for logs and reports.
func (b *Budget) String() string { return FormatSize(b.Bytes) + " (" + b.Source + ")" }

// Fits reports whether n bytes fit in the budget at all.
func (b *Budget) Fits(n int64) bool { return n <= b.Bytes }

// Acquire reserves n bytes (at most the whole budget), waiting until they are
// free or ctx ends.
func (b *Budget) Acquire(ctx context.Context, n int64) error {
	return b.sem.Acquire(ctx, min(n, b.Bytes))
}

// Release returns n bytes reserved by Acquire.
func (b *Budget) Release(n int64) { b.sem.Release(min(n, b.Bytes)) }
