# Sourced by the benchmarks of the shared late-fusion workload (bench.sh,
# bench-shards.sh), with root and N set: installs the tools, and generates the
# workload's lake of N entities with DuckDB unless it is there. Sets duck (the
# DuckDB folder), work (BENCH_DIR, default .tools/bench) and lakedir.
bash "$root/scripts/install-tools.sh"
duck="$root/.tools/duckdb"
cp "$root/bench/duckdb/run.mjs" "$duck/run.mjs"
work=${BENCH_DIR:-$root/.tools/bench}
lakedir="$work/lake-$N"
if [ ! -f "$lakedir/bench/modality=audio/part-0.parquet" ]; then
  echo "bench: generating the workload, N=$N" >&2
  mkdir -p "$lakedir/bench/labels" "$lakedir/bench/modality="{text,image,audio}
  N=$N DIR="$lakedir/bench" node "$duck/run.mjs" "$root/bench/duckdb/gen.sql"
fi
