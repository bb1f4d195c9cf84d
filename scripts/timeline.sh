#!/usr/bin/env bash
# Where a run's cores wait: samples the CPU of one lakefuse run on the shared
# late-fusion workload (perf, 1,000 Hz, every thread) and prints, per 100 ms,
# how many of the 200 possible samples it took (2 cores) and the three
# outermost lakefuse functions they were in. A line well under 200 is a stretch
# where a core had nothing to do; the stage timings from the run's log follow.
#
#   scripts/timeline.sh                 N=2000000, the current build
#   N=200000 scripts/timeline.sh
#
# Needs perf (Debian: apt-get install linux-perf) and the lake bench.sh makes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
N=${N:-2000000}
source scripts/bench-lake.sh
command -v perf >/dev/null || { echo "timeline: perf is missing (apt-get install linux-perf)" >&2; exit 1; }
go build -o "$work/lakefuse" ./cmd/lakefuse
rm -rf "$lakedir/runs"
data=$(mktemp)
trap 'rm -f "$data"' EXIT
perf record -q -e cpu-clock -F 1000 -g -o "$data" -- env LAKEFUSE_SUPERVISED=1 "$work/lakefuse" run \
  --lake "file://$lakedir" bench/late_mean.yaml > /dev/null 2> "$work/timeline.err"
perf script -i "$data" -F time,ip,sym 2>/dev/null | awk '
/^ *[0-9.]+:/ { if (t) emit(); t = $1 + 0; f = ""; next }
NF >= 2 && $2 ~ /lakefuse\/(jobs|lake|fusion|eval)\./ { f = $2 }   # the outermost such frame
function emit() {
  b = int(t * 10); sub(/github.com\/lakefuse\/lakefuse\//, "", f); sub(/\[go.shape[^]]*\]/, "", f)
  if (f == "") f = "(other)"   # the runtime, the kernel, libraries called from none of them
  c[b " " f]++; tot[b]++; if (!t0 || b < t0) t0 = b
}
END { emit(); for (k in c) { split(k, a, " "); print a[1] - t0, tot[a[1]], a[2], c[k] } }' |
  sort -k1,1n -k4,4nr |
  awk '{ if ($1 != last) { if (line) print line; line = sprintf("%5.1f s %3d |", $1 / 10, $2); n = 0; last = $1 }
         if (n++ < 3) line = line sprintf(" %s %d", $3, $4) } END { print line }'
grep -o 'stage=[a-z_]* seconds=[0-9.]*' "$work/timeline.err" | tr '\n' ' '; echo
