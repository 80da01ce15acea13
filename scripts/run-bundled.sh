#!/usr/bin/env bash
# The main job on the bundled Kabupaten Kudus instance, end to end, on a fresh machine
# with no servers: validate, plan, apply into the local state folder (file-based
# Dovecot/Postfix maps and an OpenSSH authorized-keys directory under ./state), verify,
# then render the public status site into ./public.
#
# It runs on a scratch copy of the instance under ./state/bundled (gitignored), as CI
# would on a fresh checkout, so the apply records it writes do not touch your tree.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin loket
root=$(pwd)
work=state/bundled
rm -rf "$work" && mkdir -p "$work"
cp -r loket.toml requests accounts records "$work"/
loket="$root/target/release/loket -C $work"

echo "== loket check"
$loket check

echo "== loket plan"
# exit 2 means "there are changes", as terraform's -detailed-exitcode
set +e
$loket plan
code=$?
set -e
[ "$code" -eq 0 ] || [ "$code" -eq 2 ] || exit "$code"

echo "== loket apply"
# No forge here: the operator's own copy, so approvals come from its records/ (CI runs
# `--approvals forge`, which trusts no file a pull request can write).
$loket apply --approvals records --run local

echo "== loket audit"
$loket audit

echo "== loket site"
$loket site --out "$root/public"
echo "site written to $root/public (open public/index.html); apply state in $work/state"
