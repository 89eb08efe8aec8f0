#!/usr/bin/env bash
# tests/e2e/test_parallel.sh - several real clients at once against one
# hsmcad: six lego processes, each with its own account, order dns-01
# certificates concurrently (TXT records through RFC 2136 to knotd), so
# accounts, orders, validations and issuance interleave in the daemon
# and its group-committed store.  Every certificate must verify with
# exactly its names, every serial must differ, and the store's
# consistency check must be clean while hsmcad still runs.  lego runs
# the two names of one order in sequence; RFC2136_SEQUENCE_INTERVAL=1
# shortens its default 60 s pause between them.
. "$(dirname "$0")/lib.sh"

N=6
e2e_dns_start
e2e_hsmcad_start

pids=()
for ((i = 1; i <= N; i++)); do
	RFC2136_NAMESERVER="127.0.0.1:$KNOT_PORT" \
	RFC2136_TSIG_KEY="$KNOT_TSIG_NAME" \
	RFC2136_TSIG_ALGORITHM="$KNOT_TSIG_ALG." \
	RFC2136_TSIG_SECRET="$KNOT_TSIG_SECRET" \
	RFC2136_PROPAGATION_TIMEOUT=30 RFC2136_POLLING_INTERVAL=1 \
	RFC2136_SEQUENCE_INTERVAL=1 \
	LEGO_CA_CERTIFICATES="$BUNDLE" timeout 150 lego \
	    --server "$DIRECTORY" --accept-tos --email "p$i@example.org" \
	    --path "$WORK/lego$i" --key-type ec256 \
	    --domains "p$i.e2e.test" --domains "q$i.e2e.test" \
	    --dns rfc2136 --dns.resolvers "127.0.0.1:$KNOT_PORT" \
	    --dns.disable-cp run >"$WORK/lego$i.out" 2>&1 &
	pids+=($!)
done
failed=0
for ((i = 1; i <= N; i++)); do
	if ! wait "${pids[i - 1]}"; then
		echo "lego $i failed: $(tail -n 10 "$WORK/lego$i.out")" >&2
		failed=1
	fi
done
[ "$failed" = 0 ] || fail "some of the $N concurrent lego runs failed"
ok "$N concurrent lego dns-01 runs finished"

serials=()
for ((i = 1; i <= N; i++)); do
	e2e_check_cert "$WORK/lego$i/certificates/p$i.e2e.test.crt" \
	    "p$i.e2e.test" "q$i.e2e.test"
	serials+=("$(serial_of "$WORK/lego$i/certificates/p$i.e2e.test.crt")")
done
[ "$(printf '%s\n' "${serials[@]}" | sort -u | wc -l)" = "$N" ] ||
    fail "serials not distinct: ${serials[*]}"
for s in "${serials[@]}"; do
	[ "$(cert_status "$s")" = issued ] || fail "$s not in the store"
done
ok "$N certificates verify with their own names, distinct serials, all stored"

"$HSMCA" db check --state "$CA_STATE" >"$WORK/check.out" 2>&1 ||
    fail "hsmca db check: $(cat "$WORK/check.out")"
ok "hsmca db check is clean"

e2e_hsmcad_stop
ok "hsmcad stopped cleanly"
