#!/usr/bin/env bash
# The kill test of issue 12 (item 8) at full scale: `loket apply` of ACCOUNTS new
# mail accounts (default 1000) SIGKILLed at random, TRIALS times (default 20), each
# trial finished by a re-run that must leave every ticket processed, the passwd-file
# and map whole, no temp file, `plan` and `audit` clean (tests/apply_kill.rs; CI runs
# the same test at 300 accounts x 8 trials). A debug build, so the LOKET_FAULT kill
# points exist. Prints the test's summary: runs and kills per kind, kill points,
# tickets left live but unrecorded by a kill and finished by the re-run, elapsed time.
#
#   scripts/kill-test.sh [ACCOUNTS] [TRIALS]    (log: target/kill-test.log)
set -euo pipefail
cd "$(dirname "$0")/.."
accounts=${1:-1000}
trials=${2:-20}
log=target/kill-test.log
start=$(date +%s)
LOKET_KILL_ACCOUNTS=$accounts LOKET_KILL_TRIALS=$trials \
  cargo test --test apply_kill -- --nocapture --test-threads 1 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
echo "kill test: $accounts accounts x $trials trials, exit $status, $(( $(date +%s) - start ))s wall ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$log"
exit "$status"
