#!/usr/bin/env bash
# Builds the static linux binary the Dockerfile builds (same flags), into
# bin/lakefuse-linux-<arch>. Usage: scripts/build-static.sh [VERSION] [GOARCH]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=${1:-$(git describe --always --dirty 2>/dev/null || echo dev)}
arch=${2:-$(go env GOARCH)}
mkdir -p bin
CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build -trimpath \
  -ldflags "-s -w -X github.com/lakefuse/lakefuse/lake.Version=${version}" \
  -o "bin/lakefuse-linux-${arch}" ./cmd/lakefuse
echo "bin/lakefuse-linux-${arch}"
