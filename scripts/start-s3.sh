# Sourced by scripts that need the real S3 server: starts versitygw (built by
# install-tools.sh) on a free loopback port over a fresh folder with one bucket,
# lakefuse-test, and exports the AWS credentials and LAKEFUSE_TEST_S3 (the lake URL
# of that bucket). It sets S3_WORK (its folder) and S3_PID; stop_s3 ends it.
s3_root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
S3_WORK=$(mktemp -d)
mkdir -p "$S3_WORK/s3/lakefuse-test"
s3_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
export ROOT_ACCESS_KEY=lakefuse-test-key ROOT_SECRET_KEY=lakefuse-test-secret
"$s3_root_dir/.tools/bin/versitygw" --port "127.0.0.1:$s3_port" posix "$S3_WORK/s3" > "$S3_WORK/versitygw.log" 2>&1 &
S3_PID=$!
stop_s3() { kill "$S3_PID" 2>/dev/null || true; wait "$S3_PID" 2>/dev/null || true; rm -rf "$S3_WORK"; }
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$s3_port") 2>/dev/null; then break; fi
  sleep 0.1
done
if ! kill -0 "$S3_PID" 2>/dev/null; then
  echo "start-s3: versitygw did not start:" >&2
  cat "$S3_WORK/versitygw.log" >&2
  exit 1
fi
# Credentials come from the standard AWS environment, as in production.
export AWS_ACCESS_KEY_ID=$ROOT_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$ROOT_SECRET_KEY AWS_REGION=us-east-1
export LAKEFUSE_TEST_S3="s3://lakefuse-test?endpoint=http://127.0.0.1:$s3_port&use_path_style=true&region=us-east-1&request_checksum_calculation=when_required&response_checksum_validation=when_required"
