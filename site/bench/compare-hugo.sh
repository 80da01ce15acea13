#!/usr/bin/env bash
# Benchmark of `loket site` on a generated instance, and of Hugo on the same number
# of ticket pages. Usage: site/bench/compare-hugo.sh [COUNT] [WORKDIR]
# Needs: cargo, hugo (apt-get install hugo), python3. Prints wall-clock seconds.
set -euo pipefail
COUNT=${1:-100000}
WORK=${2:-/dev/shm/loket-bench}   # tmpfs: measures the programs, not the disk
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
[ -n "${NO_BUILD:-}" ] || cargo build --release --bin loket --example gen_instance
rm -rf "$WORK" && mkdir -p "$WORK"
./target/release/examples/gen_instance --out "$WORK/inst" --count "$COUNT"
cp loket.toml "$WORK/inst/"
# The generator writes requests and accounts only; give every ticket the approval
# trail and apply events of a processed ticket, as CI would after merge.
python3 - "$WORK/inst" <<'PY'
import os, sys, re
root = sys.argv[1]
os.makedirs(f"{root}/records", exist_ok=True)
for name in os.listdir(f"{root}/requests"):
    t = name[:-5]
    sub = re.search(r'submitted = (\S+)', open(f"{root}/requests/{name}").read()).group(1)
    day = sub[:10]
    open(f"{root}/records/{t}.toml", "w").write(f'''ticket = "{t}"
outcome = "processed"
[[steps]]
step = "permohonan"
done-by = "submit"
role = "pemohon"
at = "{sub}"
[[steps]]
step = "disposisi-kadis"
done-by = "review"
role = "kepala-dinas"
login = "kadis-kominfo-kudus"
at = "{day}T08:31:00+07:00"
[[steps]]
step = "disposisi-kabid"
done-by = "review"
role = "kepala-bidang"
login = "kabid-informatika-kudus"
at = "{day}T08:52:00+07:00"
[[steps]]
step = "cek-nama"
done-by = "review"
role = "kepala-seksi"
login = "kasi-tip-kudus"
at = "{day}T09:20:00+07:00"
[[steps]]
step = "pembuatan-akun"
done-by = "apply"
role = "admin"
at = "{day}T09:41:00+07:00"
[[events]]
kind = "applied"
at = "{day}T09:41:00+07:00"
[[events]]
kind = "verified"
at = "{day}T09:42:00+07:00"
''')
PY
# At this scale the generator can give two people one NIP (rule L032): renumber.
python3 - "$WORK/inst" <<'PY'
import os, re, sys
root = sys.argv[1]
seen = set(); fixes = {}
for name in sorted(os.listdir(f"{root}/requests")):
    text = open(f"{root}/requests/{name}").read()
    nip = re.search(r'nip = "(\d{18})"', text).group(1)
    if nip in seen:
        addr = re.search(r'address = "([^"]+)"', text).group(1)
        seq = 999
        while (new := nip[:15] + f"{seq:03d}") in seen:
            seq -= 1
        seen.add(new)
        open(f"{root}/requests/{name}", "w").write(text.replace(nip, new))
        acc = f"{root}/accounts/mail/{addr}.toml"
        acc_text = open(acc).read()
        open(acc, "w").write(acc_text.replace(nip, new))
    else:
        seen.add(nip)
PY
# Wall clock, and CPU (user+sys) as the machine may be shared.
t() { /usr/bin/time -f "%e s wall, %U+%S s cpu" "$@" 2>&1 >/dev/null | tail -1; }
echo "loket check:              $(t ./target/release/loket -C "$WORK/inst" check)"
echo "loket full build:         $(t ./target/release/loket -C "$WORK/inst" site --out "$WORK/public")"
test -f "$WORK/public/index.html"   # the build really happened
echo "loket rebuild, no change: $(t ./target/release/loket -C "$WORK/inst" site --out "$WORK/public")"
# One new ticket: a copy of the first request, its account and record, renumbered.
new=$(site/bench/add-ticket.sh "$WORK/inst" 1)
echo "loket one new ticket:     $(t ./target/release/loket -C "$WORK/inst" site --out "$WORK/public")"
test -f "$WORK/public/t/$new/index.html"   # the build really happened
# The site of a commit (--rev): the instance as a git repository, one commit per new
# ticket, as CI sees it. The first --rev build is a full one (it also makes sure the
# working tree is the commit); each later one renders what git says changed.
# Packed, as a CI clone is; no automatic gc in the background of a measured build.
( cd "$WORK/inst" && printf '/state/\n' > .gitignore && git init -q && git config gc.auto 0 \
  && git add -A && git -c user.name=bench -c user.email=bench@localhost commit -qm instance \
  && git gc -q )
echo "loket --rev, full:        $(t ./target/release/loket -C "$WORK/inst" site --rev HEAD --out "$WORK/public")"
for seed in 2 3 4 5; do
  new=$(site/bench/add-ticket.sh "$WORK/inst" "$seed")
  ( cd "$WORK/inst" && git add -A && git -c user.name=bench -c user.email=bench@localhost commit -qm "$new" )
  echo "loket --rev, new ticket:  $(t ./target/release/loket -C "$WORK/inst" site --rev HEAD --out "$WORK/public")"
  test -f "$WORK/public/t/$new/index.html"
done
# Hugo: one content page per ticket with the same public fields, a ticket layout.
H="$WORK/hugo"; mkdir -p "$H/content/t" "$H/layouts/_default"
cat > "$H/config.toml" <<'TOML'
baseURL = "http://127.0.0.1/"
disableKinds = ["taxonomy", "term", "RSS", "sitemap"]
TOML
cp "$ROOT/site/bench/hugo-single.html" "$H/layouts/_default/single.html"
echo '<!DOCTYPE html><html><body>{{ range first 20 .Pages }}{{ .Title }} {{ end }}</body></html>' > "$H/layouts/_default/list.html"
python3 - "$WORK/public/api/v1/tickets" "$H/content/t" <<'PY'
import json, os, sys
src, dst = sys.argv[1], sys.argv[2]
for name in os.listdir(src):
    t = json.load(open(f"{src}/{name}"))
    fm = {"title": t["ticket"], "kind_label": t["kind_label"], "status_label": t["status_label"],
          "opd": t.get("opd", ""), "timeline": t["timeline"], "total": t.get("total")}
    open(f"{dst}/{t['ticket']}.md", "w").write(json.dumps(fm, ensure_ascii=False) + "\n")
PY
echo "hugo full build:          $(t hugo -s "$H" -d "$WORK/hugo-public") ($(ls "$H/content/t" | wc -l) pages, $(hugo version | cut -d' ' -f2))"
