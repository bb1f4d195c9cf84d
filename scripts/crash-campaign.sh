#!/usr/bin/env bash
# The crash campaign: kills N lakefuse runs (default 50) at random moments on a
# file:// lake and on a real S3 server (versitygw), reruns each, and checks the
# commit protocol's invariants (scripts/crashcampaign/main.go). Prints tried / held
# per invariant; then N/2 sharded runs (3 shard processes, one of them killed) on
# each. Exits non-zero if any invariant failed. Usage: scripts/crash-campaign.sh [N]
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
echo "== sharded (3 shards), file://"
bin/crashcampaign -lakefuse bin/lakefuse -lake "file://$dir/sharded" -n $((N / 2)) -shards 3 || status=1
echo "== sharded (3 shards), s3:// (versitygw)"
bin/crashcampaign -lakefuse bin/lakefuse -lake "${LAKEFUSE_TEST_S3/lakefuse-test?/lakefuse-test/sharded-$RANDOM?}" -n $((N / 2)) -shards 3 || status=1
rm -rf "$dir"
exit $status
