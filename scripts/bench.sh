#!/usr/bin/env bash
# Times lakefuse against DuckDB on the shared late-fusion workload, side by side:
# N entities, three modalities of 10-class probabilities (~95 % coverage each).
# The runs alternate (lakefuse, DuckDB, lakefuse, …) and the medians and their ratio
# are printed. Machines here are shared and noisy: quote the ratio, not the seconds.
#
#   scripts/bench.sh               N=2000000, 5 rounds
#   N=200000 ROUNDS=3 scripts/bench.sh
#   MEMORY=512MiB N=10000000 scripts/bench.sh    (lakefuse under a memory budget)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
N=${N:-2000000}
ROUNDS=${ROUNDS:-5}
source scripts/bench-lake.sh
go build -o "$work/lakefuse" ./cmd/lakefuse

now() { date +%s.%N; }
calc() { python3 -c "import statistics as st; print($1)"; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
lf_times=() db_times=() lf_rss=() db_rss=()
for i in $(seq 1 "$ROUNDS"); do
  rm -rf "$lakedir/runs" "$work/ref" && mkdir -p "$work/ref"
  t0=$(now)
  /usr/bin/time -f %M -o "$work/lakefuse.rss" "$work/lakefuse" run --lake "file://$lakedir" --run-id "bench-$i" ${MEMORY:+--memory "$MEMORY"} bench/late_mean.yaml > "$work/lakefuse.out" 2> "$work/lakefuse.err"
  t1=$(now)
  DIR="$lakedir/bench" OUT="$work/ref" /usr/bin/time -f %M -o "$work/duckdb.rss" node "$duck/run.mjs" bench/duckdb/ref_late_mean.sql > "$work/duckdb.out"
  t2=$(now)
  lf=$(calc "$t1 - $t0") db=$(calc "$t2 - $t1")
  lf_times+=("$lf") db_times+=("$db") lf_rss+=("$(tail -1 "$work/lakefuse.rss")") db_rss+=("$(tail -1 "$work/duckdb.rss")")
  printf 'round %d: lakefuse %.2f s %d MiB, duckdb %.2f s %d MiB (peak RSS)\n' "$i" "$lf" "$((${lf_rss[-1]} / 1024))" "$db" "$((${db_rss[-1]} / 1024))"
done
lf_med=$(calc "st.median([$(IFS=,; echo "${lf_times[*]}")])")
db_med=$(calc "st.median([$(IFS=,; echo "${db_times[*]}")])")
echo "lakefuse: $(grep -E '^late-mean ' "$work/lakefuse.out" | awk '{print "accuracy " $3}'); duckdb: $(cat "$work/duckdb.out")"
printf 'N=%d, %d rounds: median lakefuse %.2f s, median duckdb %.2f s, ratio %.2f; peak RSS (max over rounds) lakefuse %d MiB, duckdb %d MiB\n' \
  "$N" "$ROUNDS" "$lf_med" "$db_med" "$(calc "$lf_med / $db_med")" \
  "$(( $(printf '%s\n' "${lf_rss[@]}" | sort -n | tail -1) / 1024 ))" "$(( $(printf '%s\n' "${db_rss[@]}" | sort -n | tail -1) / 1024 ))"
