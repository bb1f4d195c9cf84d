#!/usr/bin/env bash
# Sharded scoring on one machine against a single process, side by side, on the
# shared late-fusion workload (N entities; scripts/bench.sh generates it):
#
#   1. once: a run that fits the models, and lakefuse bucket into BUCKETS key buckets;
#   2. ROUNDS rounds, alternating: one `lakefuse score` over the bucketed copy
#      (--memory SINGLE_MEMORY), then SHARDS concurrent `score --shard i/SHARDS`
#      processes (--memory SHARD_MEMORY each), the last of which commits;
#   3. once: SHARDS concurrent shards of `lakefuse run` over the unbucketed lake,
#      where every shard reads the whole lake to fit the same models;
#   4. once: `lakefuse run` with fit.max_rows FIT_ROWS over the bucketed copy, one
#      process, then SHARDS shards (each reads its buckets and the sample's first
#      buckets).
#
# Printed: wall time (medians), CPU seconds summed over processes, peak RSS (per
# process), and the bytes read from the reports with their read amplification.
#
#   N=10000000 scripts/bench-shards.sh     (the README's figures)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
N=${N:-2000000}
ROUNDS=${ROUNDS:-3}
SHARDS=${SHARDS:-4}
BUCKETS=${BUCKETS:-16}
SINGLE_MEMORY=${SINGLE_MEMORY:-2GiB}
SHARD_MEMORY=${SHARD_MEMORY:-512MiB}
FIT_ROWS=${FIT_ROWS:-1000000}
source scripts/bench-lake.sh
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
bin="$work/lakefuse"
go build -o "$bin" ./cmd/lakefuse
lake="file://$lakedir"
spec="$work/shards-spec.yaml"
bspec="$work/shards-bucketed.yaml"
cp bench/late_mean.yaml "$spec"
sed 's/^dataset: bench$/dataset: bench_b/' bench/late_mean.yaml > "$bspec"
cspec="$work/shards-capped.yaml"
{ cat "$bspec"; echo "fit: {max_rows: $FIT_ROWS}"; } > "$cspec"
rm -rf "$lakedir/runs" "$work/shards" && mkdir -p "$work/shards"

# timed LABEL CMD...: runs CMD under /usr/bin/time; appends "LABEL wall user sys rssKiB".
timed() { local label=$1; shift; /usr/bin/time -f "$label %e %U %S %M" -a -o "$work/shards/times" "$@" > "$work/shards/$label.out" 2> "$work/shards/$label.err"; }
report() { python3 - "$lakedir/runs/$1/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
read = sum(r["cost"]["bytes_read"].values())
s = r.get("shards") or {}
acc = next(x for x in r["strategies"] if x["name"] == "late-mean")["splits"]["all"]["metrics"]["accuracy"]
print(f"bytes_read={read} amplification={s.get('read_amplification', 0):.3f} accuracy={acc!r}")
PY
}

echo "== once: fit run, and lakefuse bucket --buckets $BUCKETS"
timed fit "$bin" run --lake "$lake" --run-id fit --memory "$SINGLE_MEMORY" "$spec"
if [ ! -f "$lakedir/bench_b/_bucketing.json" ]; then
  timed bucket "$bin" bucket --lake "$lake" --buckets "$BUCKETS" --to bench_b "$spec"
fi
cat "$work/shards/times"

sharded() { # sharded CMD RUN_ID [extra args]: SHARDS concurrent processes
  local cmd=$1 id=$2; shift 2
  local t0 t1 pids=()
  t0=$(date +%s.%N)
  for i in $(seq 0 $((SHARDS - 1))); do
    timed "$id-$i" "$bin" "$cmd" --lake "$lake" --run-id "$id" --shard "$i/$SHARDS" --memory "$SHARD_MEMORY" "$@" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  t1=$(date +%s.%N)
  echo "$id wall $(python3 -c "print(f'{$t1 - $t0:.2f}')")" >> "$work/shards/walls"
}

for r in $(seq 1 "$ROUNDS"); do
  timed "single-$r" "$bin" score --lake "$lake" --run-id "single-$r" --models "$lake/runs/fit" --memory "$SINGLE_MEMORY" "$bspec"
  sharded score "sharded-$r" --models "$lake/runs/fit" "$bspec"
  echo "round $r: single $(report "single-$r"); $SHARDS shards $(report "sharded-$r")"
done
sharded run "run-sharded" "$spec"
echo "sharded run (fit in every shard, unbucketed lake): $(report run-sharded)"
timed capped-single "$bin" run --lake "$lake" --run-id capped-single --memory "$SINGLE_MEMORY" "$cspec"
sharded run "capped-sharded" "$cspec"
echo "fit.max_rows $FIT_ROWS over the bucketed copy: single $(report capped-single); $SHARDS shards $(report capped-sharded)"

python3 - "$work/shards/times" "$work/shards/walls" "$ROUNDS" "$SHARDS" <<'PY'
import statistics as st, sys, collections
times = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, wall, user, sys_, rss = line.split()
    times[label].append((float(wall), float(user) + float(sys_), int(rss) // 1024))
walls = dict(line.split(" wall ") for line in open(sys.argv[2]).read().splitlines())
rounds, shards = int(sys.argv[3]), int(sys.argv[4])
single = [times[f"single-{r}"][0] for r in range(1, rounds + 1)]
shard_wall = [float(walls[f"sharded-{r}"]) for r in range(1, rounds + 1)]
shard_cpu = [sum(times[f"sharded-{r}-{i}"][0][1] for i in range(shards)) for r in range(1, rounds + 1)]
shard_rss = max(times[f"sharded-{r}-{i}"][0][2] for r in range(1, rounds + 1) for i in range(shards))
sw, sc = st.median(x[0] for x in single), st.median(x[1] for x in single)
print(f"score, median of {rounds}: single {sw:.2f} s wall, {sc:.2f} s CPU, {max(x[2] for x in single)} MiB; "
      f"{shards} shards {st.median(shard_wall):.2f} s wall ({st.median(shard_wall) / sw:.2f}x), {st.median(shard_cpu):.2f} s CPU summed ({st.median(shard_cpu) / sc:.2f}x), {shard_rss} MiB per process at most")
run_cpu = sum(times[f"run-sharded-{i}"][0][1] for i in range(shards))
fit = times["fit"][0]
print(f"run: single (the fit run) {fit[0]:.2f} s wall, {fit[1]:.2f} s CPU; {shards} shards {float(walls['run-sharded']):.2f} s wall, {run_cpu:.2f} s CPU summed")
cs = times["capped-single"][0]
capped_cpu = sum(times[f"capped-sharded-{i}"][0][1] for i in range(shards))
print(f"run with a capped fit over the bucketed copy: single {cs[0]:.2f} s wall, {cs[1]:.2f} s CPU; {shards} shards {float(walls['capped-sharded']):.2f} s wall, {capped_cpu:.2f} s CPU summed")
if "bucket" in times:
    b = times["bucket"][0]
    print(f"lakefuse bucket (once): {b[0]:.2f} s wall, {b[1]:.2f} s CPU, {b[2]} MiB")
PY
