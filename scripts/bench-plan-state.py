#!/usr/bin/env python3
"""Benchmark fixture for a no-op `loket plan` (BENCHMARKS.md, apply): writes the
Dovecot passwd-file, Postfix maps and keydir files that a completed `loket apply` of
the instance DIR would leave, with one placeholder hash for every account (plan
compares tickets and status, never hashes), so it can be timed without hashing 100k
passwords. DIR/loket.toml needs the file-backed
[backends] of the bundled instance (state/mail/..., state/keys)."""
import datetime, os, sys, tomllib
root = sys.argv[1]
# A complete SHA512-CRYPT hash in form (86 symbols): loket refuses a cut one.
HASH = "{SHA512-CRYPT}$6$rounds=5000$benchsalt$" + ("ZtN0mZ1bQdL3e3p7" * 6)[:86]
# The marker loket writes first in each file it owns (src/apply/owned.rs).
def mark(what):
    return f"# managed by loket: {what}; written by `loket apply`, do not edit (docs/apply.md)\n"
cfg = tomllib.load(open(f"{root}/loket.toml", "rb"))
domains = cfg["mail"]["domains"] if "mail" in cfg and "domains" in cfg["mail"] else None
lines, boxes, doms = [], [], set()
mdir = f"{root}/accounts/mail"
for name in sorted(os.listdir(mdir)):
    a = tomllib.load(open(f"{mdir}/{name}", "rb"))
    user = a["address"]
    local, domain = user.split("@")
    doms.add(domain)
    extra = "" if a["status"] == "active" else "nologin"
    lines.append((user, f"{user}:{HASH}:5000:5000:loket {','.join(a['tickets'])}:/var/vmail/{domain}/{local}::{extra}\n"))
    if a["status"] == "active":
        boxes.append((user, f"{user} {domain}/{local}/\n"))
os.makedirs(f"{root}/state/mail", exist_ok=True)
open(f"{root}/state/mail/passwd", "w").write(mark("dovecot passwd-file") + "".join(l for _, l in sorted(lines)))
open(f"{root}/state/mail/virtual_mailboxes", "w").write(mark("postfix virtual mailbox map") + "".join(l for _, l in sorted(boxes)))
open(f"{root}/state/mail/virtual_domains", "w").write(mark("postfix virtual mailbox domain list") + "".join(f"{d}\n" for d in (domains or sorted(doms))))
sdir = f"{root}/accounts/server"
for server in sorted(os.listdir(sdir)) if os.path.isdir(sdir) else []:
    for name in sorted(os.listdir(f"{sdir}/{server}")):
        a = tomllib.load(open(f"{sdir}/{server}/{name}", "rb"))
        out = []
        for k in a.get("keys", []):
            if k["status"] != "active":
                continue
            end = k["expires"] + datetime.timedelta(days=1)
            out.append(f'expiry-time="{end:%Y%m%d}" {" ".join(k["key"].split()[:2])} loket:{k["ticket"]}\n')
        os.makedirs(f"{root}/state/keys/{a['server']}", exist_ok=True)
        open(f"{root}/state/keys/{a['server']}/.managed-by-loket", "w").write(mark("key folder, an sshd AuthorizedKeysFile per login"))
        open(f"{root}/state/keys/{a['server']}/{a['login']}", "w").write("".join(out))
