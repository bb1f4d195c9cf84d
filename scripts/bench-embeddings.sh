#!/usr/bin/env bash
# The feature-level workload under a memory budget: N entities × three
# modalities × D-dim float32 embeddings (bench/embeddings), early, late-mean and
# stacking, with --memory (default 2GiB). Prints accuracy, wall time and the
# peak RSS from /usr/bin/time -v.
#
#   scripts/bench-embeddings.sh                  N=1000000 D=256 MEMORY=2GiB
#   N=100000 scripts/bench-embeddings.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
N=${N:-1000000}
D=${D:-256}
MEMORY=${MEMORY:-2GiB}
bash scripts/install-tools.sh
duck="$root/.tools/duckdb"
cp bench/duckdb/run.mjs "$duck/run.mjs"
work=${BENCH_DIR:-$root/.tools/bench}
lakedir="$work/emb-$N-$D"
if [ ! -f "$lakedir/emb/modality=audio/part-0.parquet" ]; then
  echo "bench-embeddings: generating the workload, N=$N D=$D" >&2
  mkdir -p "$lakedir/emb/labels" "$lakedir/emb/modality="{text,image,audio}
  N=$N D=$D DIR="$lakedir/emb" node "$duck/run.mjs" bench/embeddings/gen.sql
fi
go build -o "$work/lakefuse" ./cmd/lakefuse
rm -rf "$lakedir/runs"
[ -x /usr/bin/time ] || { echo "bench-embeddings: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
/usr/bin/time -v "$work/lakefuse" run --lake "file://$lakedir" --run-id emb --memory "$MEMORY" bench/embeddings/embeddings.yaml \
  > "$work/emb.out" 2> "$work/emb.err" || { tail -20 "$work/emb.err"; exit 1; }
grep -E "^(early|late-mean|stacking|unimodal\.[a-z]+) " "$work/emb.out" || true
grep -E 'msg=memory|fitted on' "$work/emb.err" | sed 's/^time=[^ ]* //' || true
rss=$(awk '/Maximum resident set size/ {print $NF}' "$work/emb.err")
wall=$(awk '/Elapsed \(wall clock\)/ {print $NF}' "$work/emb.err")
printf 'N=%d D=%d --memory %s: peak RSS %.0f MiB, wall %s\n' "$N" "$D" "$MEMORY" "$(python3 -c "print($rss/1024)")" "$wall"
