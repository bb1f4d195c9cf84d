#!/usr/bin/env bash
# The crash campaign: kills N lakefuse runs (default 50) at random moments on a
# file:// lake and on a real S3 server (versitygw), reruns each, and checks the
# commit protocol's invariants (scripts/crashcampaign/main.go). Prints tried / held
# per invariant; exits non-zero if any failed. Usage: scripts/crash-campaign.sh [N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
N=${1:-50}
bash scripts/install-tools.sh
go build -o bin/lakefuse ./cmd/lakefuse
go build -o bin/crashcampaign ./scripts/crashcampaign
source scripts/start-s3.sh
trap stop_s3 EXIT
dir=$(mktemp -d)
status=0
echo "== file://"
bin/crashcampaign -lakefuse bin/lakefuse -lake "file://$dir/lake" -n "$N" || status=1
echo "== s3:// (versitygw)"
bucket_url=${LAKEFUSE_TEST_S3/lakefuse-test?/lakefuse-test/campaign-$RANDOM?}
bin/crashcampaign -lakefuse bin/lakefuse -lake "$bucket_url" -n "$N" || status=1
rm -rf "$dir"
exit $status
