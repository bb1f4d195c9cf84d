#!/usr/bin/env bash
# Times the README's test command (scripts/test.sh, outside CI) from an empty Go
# build cache, with the tools already installed: what a new user waits for after
# the first install. The static-binary check is left to CI (see README).
#
#   scripts/time-tests.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-tools.sh >/dev/null
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
start=$(date +%s)
GOCACHE="$cache" bash scripts/test.sh > "$cache.out" 2>&1 && rc=0 || rc=$?
end=$(date +%s)
tail -2 "$cache.out"
rm -f "$cache.out"
echo "scripts/test.sh from an empty build cache: $((end - start)) s (exit $rc)"
exit "$rc"
