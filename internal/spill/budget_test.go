package spill

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lakefuse/lakefuse/internal/errkind"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"512MiB": 512 << 20, "2 GiB": 2 << 30, "1.5G": 1_500_000_000, "800000000": 800_000_000,
		"64kib": 64 << 10, "3TB": 3_000_000_000_000, "1b": 1, "10 mb": 10_000_000, "1.5GiB": 3 << 29,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1G", "1.2.3G", "5 parsecs", "GiB", "1e400", "99999999999TiB"} {
		if _, err := ParseSize(in); err == nil || errkind.Of(err) != errkind.Spec {
			t.Errorf("ParseSize(%q): %v, want a spec error", in, err)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1 KiB", 1536: "1.5 KiB", 512 << 20: "512 MiB", 3 << 29: "1.5 GiB", 5 << 40: "5 TiB",
	} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// Detect prefers cgroup v2, then v1 (ignoring v1's "unlimited"), then
// physical memory.
func TestDetect(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old := [3]string{cgroupV2, cgroupV1, meminfo}
	t.Cleanup(func() { cgroupV2, cgroupV1, meminfo = old[0], old[1], old[2] })
	meminfo = write("meminfo", "MemFree:  100 kB\nMemTotal:       24576000 kB\n")
	cgroupV1 = write("v1", "9223372036854771712\n")
	cgroupV2 = write("v2", "max\n")
	if m, ok := Detect(); !ok || m.Bytes != 24576000<<10 || m.Source != "physical memory" {
		t.Errorf("no limits: %+v %v", m, ok)
	}
	cgroupV1 = write("v1", "2147483648\n")
	if m, ok := Detect(); !ok || m.Bytes != 2<<30 || !strings.Contains(m.Source, "v1") {
		t.Errorf("v1 limit: %+v %v", m, ok)
	}
	cgroupV2 = write("v2", "1073741824\n")
	if m, ok := Detect(); !ok || m.Bytes != 1<<30 || !strings.Contains(m.Source, "v2") {
		t.Errorf("v2 limit: %+v %v", m, ok)
	}
	b, err := NewBudget("", "")
	if err != nil || b.Bytes != 3<<28 || !strings.Contains(b.String(), "75 % of cgroup v2") {
		t.Errorf("default budget: %v, %v", b, err)
	}
	cgroupV2, cgroupV1, meminfo = filepath.Join(dir, "none"), filepath.Join(dir, "none"), filepath.Join(dir, "none")
	if _, ok := Detect(); ok {
		t.Error("detected a limit from nothing")
	}
}

// The flag beats the spec; a bad size names where it came from.
func TestNewBudget(t *testing.T) {
	b, err := NewBudget("1GiB", "2GiB")
	if err != nil || b.Bytes != 1<<30 || b.Source != "--memory" {
		t.Errorf("flag and spec: %v, %v", b, err)
	}
	b, err = NewBudget("", "2GiB")
	if err != nil || b.Bytes != 2<<30 || b.Source != "spec resources.memory" {
		t.Errorf("spec: %v, %v", b, err)
	}
	if _, err := NewBudget("", "lots"); err == nil || !strings.Contains(err.Error(), "spec resources.memory") {
		t.Errorf("bad spec size: %v", err)
	}
}

// Acquire waits for released bytes; a request larger than the budget takes all
// of it rather than waiting forever.
func TestBudgetSemaphore(t *testing.T) {
	b := newBudget(100, "test")
	ctx := context.Background()
	if err := b.Acquire(ctx, 70); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := b.Acquire(short, 40); err == nil {
		t.Fatal("acquired 40 of the 30 bytes left")
	}
	b.Release(70)
	if err := b.Acquire(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	b.Release(1000)
	if !b.Fits(100) || b.Fits(101) {
		t.Error("Fits")
	}
}
