#!/usr/bin/env bash
# Runs every test: installs the daemons and browser the tests need (Debian packages,
# idempotently; needs root or sudo), then the whole cargo test suite. The tests start
# their own Dovecot, Postfix, OpenSSH, slapd and HTTP servers on 127.0.0.1 high ports
# with configs under temp dirs. With CI=true a test whose server is missing fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
cargo test --all-targets --no-fail-fast
