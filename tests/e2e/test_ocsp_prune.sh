#!/usr/bin/env bash
# tests/e2e/test_ocsp_prune.sh - hsmcad removes the stored OCSP responses
# of long-expired certificates: three shortlived certificates from
# `hsmca issue` get responses from `hsmca ocsp refresh`; hsmcad at the
# real time prunes nothing; restarted with its clock (HSMCA_NOW) past
# their notAfter plus ocsp.keep_expired_days it prunes them at start-up
# and logs the count, answers unauthorized for them, and every
# certificate record stays with db check clean.
. "$(dirname "$0")/lib.sh"

e2e_dns_start
CA_STATE="$WORK/state"
"$HSMCA" init --state "$CA_STATE" >"$WORK/init.out" ||
    fail "hsmca init: $(cat "$WORK/init.out")"
for i in 0 1 2; do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$WORK/k$i.pem" -subj "/CN=p$i.$ZONE" \
	    -addext "subjectAltName=DNS:p$i.$ZONE" -out "$WORK/r$i.csr" \
	    2>/dev/null || fail "openssl req"
	"$HSMCA" issue --state "$CA_STATE" --profile shortlived \
	    --csr "$WORK/r$i.csr" --out "$WORK/c$i.pem" 2>"$WORK/issue.err" ||
	    fail "hsmca issue: $(cat "$WORK/issue.err")"
done
"$HSMCA" ocsp refresh --state "$CA_STATE" >"$WORK/refresh.out" 2>&1 ||
    fail "hsmca ocsp refresh: $(cat "$WORK/refresh.out")"
grep -qx 'signed 3' "$WORK/refresh.out" ||
    fail "refresh: $(cat "$WORK/refresh.out")"
"$HSMCA" list --state "$CA_STATE" >"$WORK/before.list" || fail "hsmca list"

e2e_hsmcad_start --state "$CA_STATE"
e2e_hsmcad_stop
grep -q 'OCSP pruning' "$WORK/hsmcad.err" &&
    fail "hsmcad pruned while nothing had expired"
ok "3 certificates with OCSP responses; nothing pruned at the real time"

# shortlived is 160 hours; 7 + 30 days on the responses are due.
e2e_hsmcad_start_at $(($(date +%s) + 38 * 86400)) 'OCSP pruning removed' \
    --state "$CA_STATE"
line="$LOG_LINE"
case "$line" in
*"removed the responses of 3 certificates expired more than 30 days ago") ;;
*) fail "pruning line: $line" ;;
esac
ok "hsmcad 38 days on pruned them: ${line#*scheduler: }"

openssl ocsp -no_nonce -issuer "$CA_STATE/issuing.pem" -cert "$WORK/c0.pem" \
    -url "http://127.0.0.1:$PUBLISH_PORT/ocsp" >"$WORK/ocsp.out" 2>&1 || true
grep -q 'unauthorized (6)' "$WORK/ocsp.out" ||
    fail "OCSP for a pruned certificate: $(cat "$WORK/ocsp.out")"
e2e_hsmcad_stop
ok "a pruned certificate is answered unauthorized"

"$HSMCA" list --state "$CA_STATE" >"$WORK/after.list" || fail "hsmca list"
gone="$(sort "$WORK/after.list" | comm -23 <(sort "$WORK/before.list") -)"
[ -z "$gone" ] || fail "certificates changed by the pruning: $gone"
"$HSMCA" db check --state "$CA_STATE" >"$WORK/check.out" 2>&1 ||
    fail "hsmca db check after the pruning: $(cat "$WORK/check.out")"
ok "every certificate record stays; hsmca db check is clean"
