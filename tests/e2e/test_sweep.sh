#!/usr/bin/env bash
# tests/e2e/test_sweep.sh - hsmcad removes expired ACME orders:
# `hsmca bench acme` completes 40 issuances from 4 accounts (one order,
# one authorization of three challenges each); hsmcad restarted with its
# clock (HSMCA_NOW) past the orders' lifetime plus acme.retention_days
# sweeps them at start-up and logs the counts; every certificate record
# stays and db check is clean.
. "$(dirname "$0")/lib.sh"

e2e_dns_start
"$HSMCA" init --state "$WORK/state" >"$WORK/init.out" ||
    fail "hsmca init: $(cat "$WORK/init.out")"
CA_STATE="$WORK/state"
e2e_hsmcad_start --state "$CA_STATE"
timeout 120 "$HSMCA" bench acme --directory "$DIRECTORY" \
    --ca-bundle "$BUNDLE" --orders 40 --concurrency 4 \
    --http01-port "$HTTP01_PORT" --domain "$ZONE" \
    >"$WORK/bench.out" 2>"$WORK/bench.err" ||
    fail "bench acme: $(cat "$WORK/bench.out" "$WORK/bench.err")"
grep -qx 'orders completed: 40 of 40' "$WORK/bench.out" ||
    fail "bench acme: $(cat "$WORK/bench.out")"
"$HSMCA" list --state "$CA_STATE" >"$WORK/before.list" ||
    fail "hsmca list"
grep -q 'ACME sweep' "$WORK/hsmcad.err" &&
    fail "hsmcad swept while nothing had expired"
e2e_hsmcad_stop
ok "40 orders completed; nothing swept at the real time"

# The orders expire after acme.order_lifetime_s (7 days); 8 + 30 days on
# they are due.
e2e_hsmcad_start_at $(($(date +%s) + 38 * 86400)) 'ACME sweep removed' \
    --state "$CA_STATE" --set acme.retention_days=30
line="$LOG_LINE"
case "$line" in
*"removed 200 objects (40 orders, 40 authorizations, 120 challenges) expired more than 30 days ago") ;;
*) fail "sweep line: $line" ;;
esac
e2e_hsmcad_stop
ok "hsmcad 38 days on swept them: ${line#*scheduler: }"

# The restarted hsmcad added its own TLS certificate; none went.
"$HSMCA" list --state "$CA_STATE" >"$WORK/after.list" || fail "hsmca list"
gone="$(sort "$WORK/after.list" | comm -23 <(sort "$WORK/before.list") -)"
[ -z "$gone" ] || fail "certificates changed by the sweep: $gone"
[ "$(wc -l <"$WORK/before.list")" -ge 40 ] ||
    fail "$(wc -l <"$WORK/before.list") certificates listed, expected 40 or more"
"$HSMCA" db check --state "$CA_STATE" >"$WORK/check.out" 2>&1 ||
    fail "hsmca db check after the sweep: $(cat "$WORK/check.out")"
ok "every certificate record stays; hsmca db check is clean"
