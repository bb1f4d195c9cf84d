#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each (default 10m), one after another.
# Crashers are written under <package>/testdata/fuzz/<Target>/ by go test: commit
# them, fix the bug, and they run as regression tests in every `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10m}
PARALLEL=${PARALLEL:-1}
for target in ./lake:FuzzScanFile ./lake:FuzzRedactAndNames ./jobs:FuzzParseSpec ./eval:FuzzUnmarshalEvaluation; do
  pkg=${target%%:*} name=${target##*:}
  echo "fuzz: $name in $pkg for $FUZZTIME" >&2
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -parallel "$PARALLEL" "$pkg"
done
