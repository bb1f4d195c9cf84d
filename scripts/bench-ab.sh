#!/usr/bin/env bash
# Compares two builds of lakefuse on the shared late-fusion workload, alternating:
# each round runs DuckDB's reference job, then build A, then DuckDB, then build B,
# so that every lakefuse run starts where scripts/bench.sh's do (right after
# DuckDB has freed its memory, the expensive case for fresh pages). Prints each
# build's median wall time, median user and system CPU and largest peak RSS.
#
#   scripts/bench-ab.sh REV_A REV_B          git revisions (e.g. HEAD~1 HEAD)
#   N=200000 ROUNDS=8 scripts/bench-ab.sh main HEAD
#   MEMORY=512MiB N=10000000 ROUNDS=3 scripts/bench-ab.sh main HEAD   (under a budget)
#   NO_DUCKDB=1 MEMORY=512MiB N=50000000 ROUNDS=3 scripts/bench-ab.sh …   A, B, A, B, …
#                                        with no DuckDB run between (a 50M round
#                                        is then ~4 minutes instead of ~9)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ $# -eq 2 ] || { echo "usage: scripts/bench-ab.sh REV_A REV_B" >&2; exit 2; }
N=${N:-2000000}
ROUNDS=${ROUNDS:-6}
source scripts/bench-lake.sh
[ -x /usr/bin/time ] || { echo "bench-ab: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
bins=()
for rev in "$1" "$2"; do
  tree=$(mktemp -d)
  git worktree add -q --detach "$tree" "$rev"
  bin="$work/lakefuse-$(git rev-parse --short "$rev")"
  (cd "$tree" && go build -o "$bin" ./cmd/lakefuse)
  git worktree remove --force "$tree"
  bins+=("$bin")
done
log="$work/bench-ab.txt"
: > "$log"
for i in $(seq 1 "$ROUNDS"); do
  for b in 0 1; do
    rm -rf "$work/ref" "$lakedir/runs" && mkdir -p "$work/ref"
    if [ -z "${NO_DUCKDB:-}" ]; then
      DIR="$lakedir/bench" OUT="$work/ref" node "$duck/run.mjs" bench/duckdb/ref_late_mean.sql > /dev/null
    fi
    /usr/bin/time -f "$b %e %M %U %S" -a -o "$log" "${bins[$b]}" run --lake "file://$lakedir" --run-id "ab-$b-$i" ${MEMORY:+--memory "$MEMORY"} bench/late_mean.yaml > /dev/null 2>&1
  done
done
rm -rf "$lakedir/runs"
python3 - "$log" "$1" "$2" <<'PY'
import statistics as st, sys
runs = {}
for line in open(sys.argv[1]):
    b, wall, rss, user, sys_ = line.split()
    runs.setdefault(int(b), []).append((float(wall), int(rss), float(user), float(sys_)))
for b, name in enumerate(sys.argv[2:4]):
    r = runs[b]
    print("%-12s median %.3f s (user %.2f s, system %.2f s), peak RSS %d MiB; rounds %s" % (
        name, st.median(x[0] for x in r), st.median(x[2] for x in r), st.median(x[3] for x in r),
        max(x[1] for x in r) // 1024, " ".join("%.2f" % x[0] for x in r)))
PY
