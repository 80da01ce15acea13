#!/usr/bin/env bash
# `loket apply` of N new mail accounts against its floor (BENCHMARKS.md, apply):
# the floor is the same N SHA512-CRYPT hashes on all cores and nothing else
# (examples/hash_floor.rs). Each round runs the floor, then the apply on a fresh
# copy of the instance, back to back, and prints both times, the ratio and the load
# average before each.
#
#   scripts/bench-apply.sh [N] [ROUNDS]       (default 10000 accounts, 3 rounds)
#
# The instance: `gen_instance --count N --approved` (N mail-create requests with approved
# records, N/10 server grants) plus the bundled loket.toml's [backends] section
# (file-backed Dovecot, Postfix maps and keydir under state/), with no state: every
# account and key is new. Approvals from records/ (no forge). Release build.
set -euo pipefail
N=${1:-10000}
ROUNDS=${2:-3}
WORK=${BENCH_DIR:-/tmp/bench-apply}
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin loket --example gen_instance --example hash_floor
BIN=${CARGO_TARGET_DIR:-target}/release

base="$WORK/base-$N"
if [ ! -f "$base/loket.toml" ]; then
  rm -rf "$base"
  "$BIN/examples/gen_instance" --out "$base" --count "$N" --approved >/dev/null
  # The preset may already carry a [backends] section; a second one is a duplicate key.
  grep -q '^\[backends\]' "$base/loket.toml" ||
    sed -n '/^\[backends\]/,/^\[\[servers/p' loket.toml | sed '$d' >>"$base/loket.toml"
  "$BIN/loket" -C "$base" check >/dev/null
fi

load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
echo "N=$N, $(nproc) cores, $ROUNDS rounds"
for r in $(seq 1 "$ROUNDS"); do
  run="$WORK/run"
  rm -rf "$run"
  cp -a "$base" "$run"
  sync
  l1=$(load)
  floor=$("$BIN/examples/hash_floor" "$N" | sed -n 's/.*: \([0-9.]*\) s.*/\1/p')
  l2=$(load)
  t0=$(now)
  rc=0
  "$BIN/loket" -C "$run" apply --approvals records --run "bench-$r" >"$WORK/apply-$r.log" 2>&1 || rc=$?
  t1=$(now)
  apply=$(echo "$t1 - $t0" | bc -l)
  created=$(grep -c '^ *ok create .*in the passwd-file' "$WORK/apply-$r.log" || true)
  if [ "$rc" -ne 0 ]; then
    echo "round $r: apply exited $rc (see $WORK/apply-$r.log)" >&2
    exit 1
  fi
  printf 'round %d: floor %.2f s (load %s), apply %.2f s (load %s), %s mail accounts verified, ratio %.2f\n' \
    "$r" "$floor" "$l1" "$apply" "$l2" "$created" "$(echo "$apply / $floor" | bc -l)"
done
