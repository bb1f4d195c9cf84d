#!/usr/bin/env bash
# Mutation testing (not part of CI: it takes tens of minutes): runs gremlins v0.6.0
# over the packages whose tests should catch a wrong number, and prints each
# package's efficacy (killed / (killed + lived)) and the mutants that lived.
# Equivalent mutants, with the reason they cannot be killed, are in docs/testing.md.
# To re-judge only the survivors after adding tests (minutes, not an hour):
#   go run ./scripts/mutants -report $OUT/eval.json -o /tmp/eval-next.json ./eval
# Usage: scripts/mutation.sh [package...]   (default: eval fusion lake jobs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ ! -x .tools/bin/gremlins ]; then
  GOBIN="$root/.tools/bin" go install github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0
fi
out=${OUT:-/tmp/lakefuse-mutation}
mkdir -p "$out"
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(eval fusion lake jobs)
for p in "${pkgs[@]}"; do
  extra=()
  # In jobs, only the alignment is a mutation target (the rest is wiring that the
  # end-to-end tests cover), judged by the package's fast tests: the build tag
  # mutation leaves out the mfeat runs (jobs/mfeat_test.go), a minute and a half
  # per mutant otherwise.
  [ "$p" = jobs ] && extra=(--tags mutation --exclude-files '^(run|plan|frame|output|model|spec|importcsv|cost|util|errors|doc)\.go$')
  echo "== $p" >&2
  .tools/bin/gremlins unleash --workers "${WORKERS:-1}" --timeout-coefficient "${TIMEOUT_COEFFICIENT:-30}" -o "$out/$p.json" "${extra[@]}" "./$p" > "$out/$p.log" 2>&1 || true
  grep -E "LIVED|TIMED OUT" "$out/$p.log" || true
  grep -E "^Killed|^Mutator coverage|^Test efficacy" "$out/$p.log" || tail -5 "$out/$p.log"
done
