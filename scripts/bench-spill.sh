#!/usr/bin/env bash
# The spill phase of the shared late-fusion workload under a memory budget,
# alone: runs the job and stops it once it logs "spilled", then prints the wall
# time from its start, its user and system CPU and their share of two cores'
# time, and how much the disk holding the spill directory wrote meanwhile (the
# block device's sectors written: the whole device's, so run it on an idle
# machine). Compare two sizes to see which of these grows faster than N.
#
#   scripts/bench-spill.sh                     N=10000000, MEMORY=512MiB
#   N=50000000 ROUNDS=2 scripts/bench-spill.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
N=${N:-10000000}
MEMORY=${MEMORY:-512MiB}
ROUNDS=${ROUNDS:-1}
source scripts/bench-lake.sh
go build -o "$work/lakefuse" ./cmd/lakefuse
spilldir=$(mktemp -d "${TMPDIR:-/tmp}/bench-spill.XXXXXX")
trap 'rm -rf "$spilldir"' EXIT
dev=$(basename "$(df --output=source "$spilldir" | tail -1)")
sectors() { # sectors written (field 7 of the device's stat), 0 where unknown
  if [ -r "/sys/class/block/$dev/stat" ]; then awk '{print $7}' "/sys/class/block/$dev/stat"; else echo 0; fi
}
tick=$(getconf CLK_TCK)
for i in $(seq 1 "$ROUNDS"); do
  rm -rf "$lakedir/runs"
  log="$work/spill-$N.err"
  s0=$(sectors) t0=$(date +%s.%N)
  LAKEFUSE_SUPERVISED=1 "$work/lakefuse" run --lake "file://$lakedir" --run-id "spill-$i" --memory "$MEMORY" \
    --spill-dir "$spilldir" bench/late_mean.yaml > /dev/null 2> "$log" &
  pid=$!
  until grep -q 'msg=spilled' "$log"; do
    kill -0 "$pid" 2> /dev/null || { echo "bench-spill: the run ended before it spilled (did it fit in $MEMORY?); see $log" >&2; exit 1; }
    sleep 0.2
  done
  read -r user sys < <(awk '{print $14, $15}' "/proc/$pid/stat")
  t1=$(date +%s.%N) s1=$(sectors)
  kill "$pid"; wait "$pid" 2> /dev/null || true
  python3 - "$N" "$t0" "$t1" "$user" "$sys" "$tick" "$s0" "$s1" "$(grep -o 'bytes="[^"]*"' "$log" | tail -1)" <<'PY'
import sys
n, t0, t1, user, sys_, tick, s0, s1, spilled = sys.argv[1:]
wall, u, s = float(t1) - float(t0), int(user) / int(tick), int(sys_) / int(tick)
m = int(n) / 1e6
print("N=%s: plan + spill %.1f s (%.3f s per million), user %.1f s, system %.1f s (%.3f CPU-s per million), "
      "%.0f %% of one core; spilled %s; the spill disk wrote %d MiB meanwhile" % (
      n, wall, wall / m, u, s, (u + s) / m, 100 * (u + s) / wall, spilled.split("=")[-1].strip('"'),
      (int(s1) - int(s0)) * 512 >> 20))
PY
  rm -rf "$lakedir/runs" "${spilldir:?}"/*
done
