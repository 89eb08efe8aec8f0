#!/usr/bin/env bash
# tests/e2e/test_dehydrated.sh - dehydrated 0.7, unchanged, against
# hsmcad: account registration, then http-01 with its WELLKNOWN
# directory served by a plain web server on the http-01 port.  It trusts
# hsmcad only through CURL_OPTS="--cacert BUNDLE".
. "$(dirname "$0")/lib.sh"

e2e_dns_start
e2e_hsmcad_start
WWW="$WORK/www"
DH="$WORK/dehydrated"
mkdir -p "$DH"
e2e_www_start "$WWW" "$HTTP01_PORT"

cat >"$DH/config" <<CONF
CA="$DIRECTORY"
CURL_OPTS="--cacert $BUNDLE"
BASEDIR="$DH"
WELLKNOWN="$WWW/.well-known/acme-challenge"
CHALLENGETYPE="http-01"
KEY_ALGO=secp384r1
CONTACT_EMAIL="e2e@example.org"
RENEW_DAYS=30
CONF

dh_run() {
	timeout 150 dehydrated --config "$DH/config" "$@" \
	    >"$WORK/dehydrated.out" 2>&1 ||
	    fail "dehydrated $*: $(tail -n 25 "$WORK/dehydrated.out")"
}

dh_run --register --accept-terms
[ -s "$DH/accounts/"*/registration_info.json ] ||
    fail "dehydrated stored no account registration"
ok "dehydrated --register --accept-terms"

dh_run --cron --domain d1.e2e.test --domain d2.e2e.test
e2e_check_cert "$DH/certs/d1.e2e.test/cert.pem" d1.e2e.test d2.e2e.test
openssl x509 -in "$DH/certs/d1.e2e.test/cert.pem" -noout -text |
    grep -q 'ASN1 OID: secp384r1' || fail "not a P-384 key"
cmp -s <(openssl x509 -in "$DH/certs/d1.e2e.test/chain.pem") \
    <(openssl x509 -in "$ISSUING_PEM") || fail "chain.pem is not the issuing CA"
ok "dehydrated http-01, P-384: d1, d2 issued and verified"

# A second run finds the account again (onlyReturnExisting) and renews
# on --force.
first="$(serial_of "$DH/certs/d1.e2e.test/cert.pem")"
dh_run --cron --force --domain d1.e2e.test --domain d2.e2e.test
e2e_check_cert "$DH/certs/d1.e2e.test/cert.pem" d1.e2e.test d2.e2e.test
[ "$(serial_of "$DH/certs/d1.e2e.test/cert.pem")" != "$first" ] ||
    fail "dehydrated --force kept the old certificate"
ok "dehydrated --cron --force: renewed with the same account"

e2e_hsmcad_stop
ok "hsmcad stopped cleanly"
