#!/usr/bin/env bash
# Installs what the tests and benchmarks need beyond Go, into .tools/ (git-ignored):
#   .tools/bin/versitygw        a real S3-compatible server (Apache-2.0), built from source
#   .tools/duckdb/              DuckDB for Node (its npm package ships the engine)
#   chromium                    Debian's package, system-wide, to render report.html
# Idempotent: a second run only checks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools/bin" "$tools/duckdb"

VERSITYGW_VERSION=v1.8.0
DUCKDB_NODE_VERSION=1.5.6-r.1

if [ ! -x "$tools/bin/versitygw" ]; then
  echo "install-tools: building versitygw $VERSITYGW_VERSION (a few minutes on a cold cache)" >&2
  GOBIN="$tools/bin" go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
fi

# Headless Chromium renders report.html in the tests (Debian's package).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-tools: installing chromium (Debian package)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2
  else
    echo "install-tools: chromium is missing and cannot be installed here (needs root and apt-get); the report rendering test will skip" >&2
  fi
fi

# terraform checks the deployment files' formatting. No registry this project can
# reach serves it (its Go module cannot be go-installed: replace directives), so it
# must come with the machine image; under CI its test fails when it is missing.
if ! command -v terraform >/dev/null 2>&1; then
  echo "install-tools: terraform is not on PATH; TestTerraformFmt fails under CI without it" >&2
fi

if [ ! -d "$tools/duckdb/node_modules/@duckdb/node-api" ]; then
  echo "install-tools: installing @duckdb/node-api $DUCKDB_NODE_VERSION" >&2
  npm install --silent --no-audit --no-fund --prefix "$tools/duckdb" "@duckdb/node-api@$DUCKDB_NODE_VERSION" >&2
fi
# Scripts that import the package must sit beside its node_modules.
cp "$root/scripts/duckdb-query.mjs" "$tools/duckdb/query.mjs"
