#!/usr/bin/env bash
# Times lakefuse against DuckDB on the shared late-fusion workload, side by side:
# N entities, three modalities of 10-class probabilities (~95 % coverage each).
# The runs alternate (lakefuse, DuckDB, lakefuse, …) and the medians and their ratio
# are printed, of wall time and of CPU time (user + system, every thread: the
# work each tool did, a second view where wall times are noisy). Machines here
# are shared and noisy: quote the ratio, not the seconds.
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
lf_times=() db_times=() lf_rss=() db_rss=() lf_cpu=() db_cpu=()
# /usr/bin/time's line: peak RSS (KiB), user and system CPU seconds.
rss() { awk 'END {print $1}' "$1"; }
cpu() { awk 'END {print $2 + $3}' "$1"; }
for i in $(seq 1 "$ROUNDS"); do
  rm -rf "$lakedir/runs" "$work/ref" && mkdir -p "$work/ref"
  t0=$(now)
  /usr/bin/time -f '%M %U %S' -o "$work/lakefuse.rss" "$work/lakefuse" run --lake "file://$lakedir" --run-id "bench-$i" ${MEMORY:+--memory "$MEMORY"} bench/late_mean.yaml > "$work/lakefuse.out" 2> "$work/lakefuse.err"
  t1=$(now)
  DIR="$lakedir/bench" OUT="$work/ref" /usr/bin/time -f '%M %U %S' -o "$work/duckdb.rss" node "$duck/run.mjs" bench/duckdb/ref_late_mean.sql > "$work/duckdb.out"
  t2=$(now)
  lf=$(calc "$t1 - $t0") db=$(calc "$t2 - $t1")
  lf_times+=("$lf") db_times+=("$db") lf_rss+=("$(rss "$work/lakefuse.rss")") db_rss+=("$(rss "$work/duckdb.rss")")
  lf_cpu+=("$(cpu "$work/lakefuse.rss")") db_cpu+=("$(cpu "$work/duckdb.rss")")
  printf 'round %d: lakefuse %.2f s %d MiB %.2f CPU-s, duckdb %.2f s %d MiB %.2f CPU-s (peak RSS; user + system CPU)\n' \
    "$i" "$lf" "$((${lf_rss[-1]} / 1024))" "${lf_cpu[-1]}" "$db" "$((${db_rss[-1]} / 1024))" "${db_cpu[-1]}"
done
lf_med=$(calc "st.median([$(IFS=,; echo "${lf_times[*]}")])")
db_med=$(calc "st.median([$(IFS=,; echo "${db_times[*]}")])")
echo "lakefuse: $(grep -E '^late-mean ' "$work/lakefuse.out" | awk '{print "accuracy " $3}'); duckdb: $(cat "$work/duckdb.out")"
printf 'N=%d, %d rounds: median lakefuse %.2f s, median duckdb %.2f s, ratio %.2f; peak RSS (max over rounds) lakefuse %d MiB, duckdb %d MiB\n' \
  "$N" "$ROUNDS" "$lf_med" "$db_med" "$(calc "$lf_med / $db_med")" \
  "$(( $(printf '%s\n' "${lf_rss[@]}" | sort -n | tail -1) / 1024 ))" "$(( $(printf '%s\n' "${db_rss[@]}" | sort -n | tail -1) / 1024 ))"
lf_cpu_med=$(calc "st.median([$(IFS=,; echo "${lf_cpu[*]}")])")
db_cpu_med=$(calc "st.median([$(IFS=,; echo "${db_cpu[*]}")])")
printf 'CPU (user + system, medians): lakefuse %.2f s, duckdb %.2f s, ratio %.2f\n' "$lf_cpu_med" "$db_cpu_med" "$(calc "$lf_cpu_med / $db_cpu_med")"
