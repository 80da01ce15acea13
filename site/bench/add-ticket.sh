#!/usr/bin/env bash
# Adds one new ticket to a generated instance: a copy of its first mail-create request
# with its account and record, under a fresh ticket number, address and NIP.
# Usage: site/bench/add-ticket.sh INSTANCE [SEED]   (prints the new ticket number)
# Each SEED below 961 gives its own ticket number.
set -euo pipefail
INST=$1
SEED=${2:-1}
first=$(find "$INST/requests" -name '*.toml' -exec grep -q 'kind = "mail-create"' {} \; -printf '%f\n' -quit)
old=${first%.toml}
new=KDS-$(python3 -c "
import sys
A='23456789ABCDEFGHJKMNPQRSTUVWXYZ'; seed=int(sys.argv[1]); v=[7,3,1,4,1,5,(seed//31)%31,seed%31,9]
s=sum((i+1)*x for i,x in enumerate(v)); c=(-s*pow(10,-1,31))%31
print(''.join(A[x] for x in v[:5])+'-'+''.join(A[x] for x in v[5:]+[c]))" "$SEED")
addr=$(grep -o '[a-z0-9._-]*@kuduskab.go.id' "$INST/requests/$first" | head -1)
nip=$(grep -o '[0-9]\{18\}' "$INST/requests/$first" | head -1)
newnip="${nip:0:15}$(printf '%03d' $((997 - SEED)))"   # another person: another NIP (L032)
newaddr="bench.new$SEED@kuduskab.go.id"
sed -e "s/$old/$new/" -e "s/$addr/$newaddr/" -e "s/$nip/$newnip/" "$INST/requests/$first" > "$INST/requests/$new.toml"
sed -e "s/$old/$new/" -e "s/$addr/$newaddr/" -e "s/$nip/$newnip/" "$INST/accounts/mail/$addr.toml" > "$INST/accounts/mail/$newaddr.toml"
sed -e "s/$old/$new/" "$INST/records/$old.toml" > "$INST/records/$new.toml"
echo "$new"
