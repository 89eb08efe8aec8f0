#!/usr/bin/env bash
# tests/e2e/test_restart.sh - a crash loses nothing a client was told:
# certbot gets a certificate from hsmcad, hsmcad is killed with SIGKILL,
# restarted on the same state directory, and certbot renew
# --force-renewal works against the same account and order history; the
# store's consistency check is clean afterwards.
. "$(dirname "$0")/lib.sh"

e2e_dns_start
"$HSMCA" init --state "$WORK/state" >"$WORK/init.out" ||
    fail "hsmca init: $(cat "$WORK/init.out")"
e2e_hsmcad_start --state "$WORK/state"
CB="$WORK/certbot"

certbot_run() {
	REQUESTS_CA_BUNDLE="$BUNDLE" timeout 150 certbot \
	    --config-dir "$CB/config" --work-dir "$CB/work" \
	    --logs-dir "$CB/logs" --non-interactive "$@" \
	    >"$WORK/certbot.out" 2>&1 ||
	    fail "certbot $1: $(tail -n 25 "$WORK/certbot.out")"
}

certbot_run certonly --standalone --preferred-challenges http \
    --http-01-port "$HTTP01_PORT" --http-01-address 127.0.0.1 \
    --server "$DIRECTORY" --agree-tos --register-unsafely-without-email \
    --cert-name r --key-type ecdsa -d r1.e2e.test
e2e_check_cert "$CB/config/live/r/cert.pem" r1.e2e.test
first="$(serial_of "$CB/config/live/r/cert.pem")"
[ "$(cert_status "$first")" = issued ] || fail "$first not in the store"
ok "certbot got r1.e2e.test from hsmcad"

kill -KILL "$HSMCAD_PID"
wait "$HSMCAD_PID" 2>/dev/null || true
HSMCAD_PID=
# The same ports: certbot's renewal configuration names the directory.
e2e_hsmcad_start --state "$WORK/state"
ok "hsmcad restarted on the same state after SIGKILL"

certbot_run renew --force-renewal --no-random-sleep-on-renew
[ -e "$CB/config/archive/r/cert2.pem" ] || fail "renew made no new certificate"
e2e_check_cert "$CB/config/live/r/cert.pem" r1.e2e.test
second="$(serial_of "$CB/config/live/r/cert.pem")"
[ "$second" != "$first" ] || fail "renewal kept serial $first"
[ "$(cert_status "$second")" = issued ] || fail "$second not in the store"
[ "$(cert_status "$first")" = issued ] || fail "$first changed by the restart"
ok "certbot renew --force-renewal after the restart: new serial $second"

e2e_hsmcad_stop
"$HSMCA" db check --state "$WORK/state" >"$WORK/check.out" 2>&1 ||
    fail "hsmca db check after the crash: $(cat "$WORK/check.out")"
ok "hsmca db check is clean"
