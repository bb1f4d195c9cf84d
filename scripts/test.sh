#!/usr/bin/env bash
# The test command (README and .ci/run): installs the tools, starts a real S3 server
# (versitygw) on a free loopback port, and runs every Go test against it, against
# file:// lakes, and with DuckDB reading the output.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-tools.sh

work=$(mktemp -d)
s3root="$work/s3"
mkdir -p "$s3root/lakefuse-test"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
export ROOT_ACCESS_KEY=lakefuse-test-key ROOT_SECRET_KEY=lakefuse-test-secret
.tools/bin/versitygw --port "127.0.0.1:$port" posix "$s3root" > "$work/versitygw.log" 2>&1 &
gw=$!
cleanup() { kill "$gw" 2>/dev/null || true; wait "$gw" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done
if ! kill -0 "$gw" 2>/dev/null; then
  echo "test.sh: versitygw did not start:" >&2
  cat "$work/versitygw.log" >&2
  exit 1
fi

# What the tests need to reach the server and DuckDB. Credentials come from the
# standard AWS environment, as in production.
export AWS_ACCESS_KEY_ID=$ROOT_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$ROOT_SECRET_KEY AWS_REGION=us-east-1
export LAKEFUSE_TEST_S3="s3://lakefuse-test?endpoint=http://127.0.0.1:$port&use_path_style=true&region=us-east-1&request_checksum_calculation=when_required&response_checksum_validation=when_required"
export LAKEFUSE_TEST_DUCKDB="$root/.tools/duckdb/query.mjs"

go vet ./...
go test -count=1 -timeout 30m "$@" ./...
