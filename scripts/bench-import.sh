#!/usr/bin/env bash
# `loket import` of an office's N-account Dovecot passwd-file, then `loket check`,
# `loket adopt-files` and `loket audit`, each timed once (BENCHMARKS.md, import).
#
#   scripts/bench-import.sh [N]        (default 3000 accounts)
#
# The instance: the bundled loket.toml (file-backed Dovecot, Postfix maps and keydir
# under state/) with no requests and no accounts, as an office has it before its
# first apply. The live files under state/mail/ are generated as an office keeps
# them: no loket marker, names in the gecos, every 20th account `nologin`, one
# well-formed SHA512-CRYPT hash for all (no real password). The binary is
# $LOKET_BIN, else target/release/loket when built, else target/debug/loket (this
# script never builds release: it says which binary it timed).
set -euo pipefail
N=${1:-3000}
WORK=${BENCH_DIR:-/tmp/bench-import}
cd "$(dirname "$0")/.."
T=${CARGO_TARGET_DIR:-target}
if [ -n "${LOKET_BIN:-}" ]; then BIN=$LOKET_BIN
elif [ -x "$T/release/loket" ]; then BIN=$T/release/loket
else cargo build --quiet --bin loket; BIN=$T/debug/loket
fi

inst="$WORK/inst"
rm -rf "$WORK"
mkdir -p "$inst/requests" "$inst/accounts/mail" "$inst/accounts/server" "$inst/state/mail"
cp loket.toml "$inst/"
hash='{SHA512-CRYPT}$6$benchsaltbench12$'$(printf 'a%.0s' $(seq 1 86))
python3 - "$N" "$inst/state/mail" "$hash" <<'PY'
import sys
n, d, h = int(sys.argv[1]), sys.argv[2], sys.argv[3]
first = ["agus", "budi", "sri", "dewi", "eko", "siti", "bambang", "nanik", "puji", "teguh"]
last = ["santoso", "wibowo", "lestari", "rahayu", "handayani", "nugroho", "utami"]
with open(f"{d}/passwd", "w") as p, open(f"{d}/virtual_mailboxes", "w") as m:
    for i in range(n):
        f, l = first[i % len(first)], last[(i // len(first)) % len(last)]
        local = f"{f}.{l}{i}"
        addr = f"{local}@kuduskab.go.id"
        extra = "nologin" if i % 20 == 19 else ""
        p.write(f"{addr}:{h}:5000:5000:{f.title()} {l.title()}:/var/vmail/kuduskab.go.id/{local}::{extra}\n")
        if not extra:
            m.write(f"{addr} kuduskab.go.id/{local}/\n")
with open(f"{d}/virtual_domains", "w") as v:
    v.write("kuduskab.go.id\n")
PY

now() { date +%s.%N; }
step() {
  local name=$1; shift
  local t0 t1 rc=0
  t0=$(now)
  "$@" >"$WORK/$name.out" 2>&1 || rc=$?
  t1=$(now)
  printf '%-12s %6.2f s  (exit %s)\n' "$name" "$(echo "$t1 - $t0" | bc)" "$rc"
  if [ "$rc" != 0 ]; then head -20 "$WORK/$name.out"; exit 1; fi
}
echo "N=$N, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), binary $BIN"
step import "$BIN" -C "$inst" import --opd "Dinas Komunikasi dan Informatika" dovecot "$inst/state/mail/passwd"
step check "$BIN" -C "$inst" check
step check-warm "$BIN" -C "$inst" check
step adopt-files "$BIN" -C "$inst" adopt-files
step audit "$BIN" -C "$inst" audit
step reimport "$BIN" -C "$inst" import --opd "Dinas Komunikasi dan Informatika" dovecot "$inst/state/mail/passwd"
grep -q "nothing to import" "$WORK/reimport.out"
grep -q "No drift" "$WORK/audit.out"
echo "accounts: $(ls "$inst/accounts/mail" | wc -l); audit: $(tail -1 "$WORK/audit.out")"
