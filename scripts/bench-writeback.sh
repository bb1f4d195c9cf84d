#!/usr/bin/env bash
# Is the spill's time per entity at 50M (against 10M) the kernel writing the
# bucket files back to disk? Runs scripts/bench-scale.sh three times: with the
# kernel's writeback settings as they are, with writeback held off (dirty pages
# may fill half of memory and stay 10 minutes), and with it forced early at both
# sizes (64 MiB of dirty pages); the settings are restored on exit. Needs root
# (it writes /proc/sys/vm). docs/decisions.md, "Time per entity under a budget",
# has its numbers.
#
#   sudo scripts/bench-writeback.sh               10M and 50M, 3 rounds each
#   SMALL=2000000 LARGE=10000000 scripts/bench-writeback.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
vm=/proc/sys/vm
[ -w "$vm/dirty_ratio" ] || { echo "bench-writeback: needs root (writes $vm)" >&2; exit 1; }
bg=$(cat "$vm/dirty_background_ratio") ratio=$(cat "$vm/dirty_ratio") expire=$(cat "$vm/dirty_expire_centisecs")
# Writing a ratio clears the matching *_bytes setting, and the other way round.
restore() {
  echo "$bg" > "$vm/dirty_background_ratio"
  echo "$ratio" > "$vm/dirty_ratio"
  echo "$expire" > "$vm/dirty_expire_centisecs"
}
trap restore EXIT
for mode in as-is held-off early; do
  restore
  case $mode in
    held-off)
      echo 60 > "$vm/dirty_ratio"
      echo 50 > "$vm/dirty_background_ratio"
      echo 60000 > "$vm/dirty_expire_centisecs" ;;
    early)
      echo $((256 << 20)) > "$vm/dirty_bytes"
      echo $((64 << 20)) > "$vm/dirty_background_bytes" ;;
  esac
  echo "== writeback $mode: background_ratio=$(cat "$vm/dirty_background_ratio") ratio=$(cat "$vm/dirty_ratio")" \
    "background_bytes=$(cat "$vm/dirty_background_bytes") bytes=$(cat "$vm/dirty_bytes") expire=$(cat "$vm/dirty_expire_centisecs")"
  ROUNDS=${ROUNDS:-3} scripts/bench-scale.sh
done
