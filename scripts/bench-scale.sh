#!/usr/bin/env bash
# How lakefuse's time grows with N on the shared late-fusion workload, stage by
# stage: runs SMALL and LARGE entities alternately (SMALL, LARGE, SMALL, …) under
# the same memory budget and prints, per stage the run logs ("stage done"), the
# median seconds per million entities at each size and their ratio LARGE/SMALL —
# 1.00 is linear. The whole run's wall time is the "total" line. bench.sh gives
# the ratio to DuckDB; this says which stage is not linear when the total is not.
#
#   scripts/bench-scale.sh                       10M and 50M under 512MiB, 3 rounds
#   SMALL=2000000 LARGE=10000000 ROUNDS=5 scripts/bench-scale.sh
#   AFTER_DUCKDB=1 scripts/bench-scale.sh        each run right after DuckDB's job,
#                                                as bench.sh runs them
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
SMALL=${SMALL:-10000000}
LARGE=${LARGE:-50000000}
MEMORY=${MEMORY:-512MiB}
ROUNDS=${ROUNDS:-3}
[ -x /usr/bin/time ] || { echo "bench-scale: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
lakes=()
for N in "$SMALL" "$LARGE"; do
  source scripts/bench-lake.sh
  lakes+=("$lakedir")
done
go build -o "$work/lakefuse" ./cmd/lakefuse
log="$work/bench-scale.txt"
: > "$log"
for i in $(seq 1 "$ROUNDS"); do
  for s in 0 1; do
    lakedir=${lakes[$s]} n=$([ "$s" = 0 ] && echo "$SMALL" || echo "$LARGE")
    rm -rf "$lakedir/runs"
    if [ -n "${AFTER_DUCKDB:-}" ]; then
      rm -rf "$work/ref" && mkdir -p "$work/ref"
      DIR="$lakedir/bench" OUT="$work/ref" node "$duck/run.mjs" bench/duckdb/ref_late_mean.sql > /dev/null
    fi
    /usr/bin/time -f "%e %M" -o "$work/scale.time" "$work/lakefuse" run --lake "file://$lakedir" --run-id "scale-$s-$i" \
      --memory "$MEMORY" bench/late_mean.yaml > "$work/scale.out" 2> "$work/scale.err"
    read -r wall rss < <(tail -1 "$work/scale.time")
    acc=$(awk '/^late-mean /{print $3}' "$work/scale.out")
    echo "$s $n total $wall" >> "$log"
    grep -oE 'stage=[a-z_]+ seconds=[0-9.]+' "$work/scale.err" | sed -E "s/stage=([a-z_]+) seconds=/$s $n \1 /" >> "$log"
    printf 'round %d: N=%d %.2f s, peak RSS %d MiB, accuracy %s\n' "$i" "$n" "$wall" "$((rss / 1024))" "$acc"
    rm -rf "$lakedir/runs"
  done
done
python3 - "$log" <<'PY'
import statistics as st, sys
runs, order, sizes = {}, [], {}
for line in open(sys.argv[1]):
    s, n, stage, sec = line.split()
    sizes[int(s)] = int(n)
    if stage not in order:
        order.append(stage)
    runs.setdefault((stage, int(s)), []).append(float(sec))
small, large = sizes[0] / 1e6, sizes[1] / 1e6
print("%-24s %14s %14s %7s" % ("stage (median)", "s/M at %gM" % small, "s/M at %gM" % large, "ratio"))
for stage in order[1:] + order[:1]:  # "total" last
    a, b = runs.get((stage, 0)), runs.get((stage, 1))
    if not a or not b:
        continue
    pa, pb = st.median(a) / small, st.median(b) / large
    if max(st.median(a), st.median(b)) < 0.05:
        continue  # too short to say
    print("%-24s %14.3f %14.3f %7.2f" % (stage, pa, pb, pb / pa if pa else float("nan")))
PY
