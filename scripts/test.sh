#!/usr/bin/env bash
# The test command (README and .ci/run): installs the tools, starts a real S3 server
# (versitygw) on a free loopback port, and runs every Go test against it, against
# file:// lakes, and with DuckDB reading the output.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-tools.sh

source scripts/start-s3.sh
trap stop_s3 EXIT

export LAKEFUSE_TEST_DUCKDB="$root/.tools/duckdb/query.mjs"

go vet ./...
# go test -json, summarised: failures in full, every skip listed; a skip that
# .ci/expected-skips does not list fails the run (under CI nothing skips silently).
set +e
go test -json -count=1 -timeout 30m "$@" ./... | python3 scripts/gotest-summary.py .ci/expected-skips
status=${PIPESTATUS[1]}
set -e
exit "$status"
