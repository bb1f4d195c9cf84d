#!/usr/bin/env bash
# Runs the missing-modality sweep of examples/synth/missing-sweep.yaml end to end:
# lakefuse synth writes the five datasets, the job runs on each, and lakefuse
# report draws accuracy against the missing rate (with the Bayes-optimal fused
# rate) into sweep.html; the chart alone goes to docs/synth-sweep.svg.
#
#   scripts/synth-sweep.sh [LAKE_DIR]        (default /tmp/lakefuse-sweep)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/tmp/lakefuse-sweep}
rm -rf "$dir" && mkdir -p "$dir"
go build -o "$dir/lakefuse" "$root/cmd/lakefuse"
lf="$dir/lakefuse"
lake="file://$dir/lake"
"$lf" synth --lake "$lake" "$root/examples/synth/missing-sweep.yaml"
runs=()
for i in 0 1 2 3 4; do
  "$lf" run --lake "$lake" --dataset "synth-sweep-$i" --run-id "sweep-$i" "$root/examples/synth/sweep-job.yaml" > /dev/null 2> "$dir/run-$i.log"
  runs+=("$lake/runs/sweep-$i")
done
"$lf" report --out "$dir/sweep.html" "${runs[@]}"
# The chart as a standalone SVG (for the README): the page's <svg>, with its styles.
python3 - "$dir/sweep.html" "$root/docs/synth-sweep.svg" <<'PY'
import re, sys
page = open(sys.argv[1]).read()
svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
svg = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
style = "<style>.tick{font:10px sans-serif;fill:#444;text-anchor:middle}</style><rect width='100%' height='100%' fill='#fff'/>"
svg = re.sub(r"(<svg[^>]*>)", r"\1" + style, svg, count=1)
open(sys.argv[2], "w").write(svg + "\n")
PY
echo "report: $dir/sweep.html; chart: docs/synth-sweep.svg"
