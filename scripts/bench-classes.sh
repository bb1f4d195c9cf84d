#!/usr/bin/env bash
# Peak RSS of a many-class job (bench/classes): N entities, K classes, three
# modalities, four strategies, default bootstrap. Memory claims quote this
# script's /usr/bin/time -v figure.
#
#   scripts/bench-classes.sh            N=1600, K=100
#   N=680 K=68 scripts/bench-classes.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
N=${N:-1600}
K=${K:-100}
bash scripts/install-tools.sh
duck="$root/.tools/duckdb"
cp bench/duckdb/run.mjs "$duck/run.mjs"
work=${BENCH_DIR:-$root/.tools/bench}
lakedir="$work/classes-$N-$K"
if [ ! -f "$lakedir/classes/modality=audio/part-0.parquet" ]; then
  mkdir -p "$lakedir/classes/labels" "$lakedir/classes/modality="{text,image,audio}
  N=$N K=$K DIR="$lakedir/classes" node "$duck/run.mjs" bench/classes/gen.sql
fi
go build -o "$work/lakefuse" ./cmd/lakefuse
rm -rf "$lakedir/runs"
[ -x /usr/bin/time ] || { echo "bench-classes: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
/usr/bin/time -v "$work/lakefuse" run --lake "file://$lakedir" --run-id "classes" bench/classes/classes.yaml \
  > "$work/classes.out" 2> "$work/classes.err" || { tail -20 "$work/classes.err"; exit 1; }
grep -E "^(late-mean|stacking|vote) " "$work/classes.out" || true
rss=$(awk '/Maximum resident set size/ {print $NF}' "$work/classes.err")
wall=$(awk '/Elapsed \(wall clock\)/ {print $NF}' "$work/classes.err")
printf 'N=%d K=%d: peak RSS %.0f MiB, wall %s\n' "$N" "$K" "$(python3 -c "print($rss/1024)")" "$wall"
