#!/usr/bin/env bash
# tests/e2e/test_acme_tiny.sh - acme-tiny 5.0, unchanged, against hsmcad:
# an RSA account key, a CSR made with openssl, http-01 files written to
# --acme-dir and served by a plain web server.  acme-tiny fetches a
# fresh nonce with GET newNonce (204) before every request.  It trusts
# hsmcad only through SSL_CERT_FILE.  Its own pre-check would resolve
# the names with the system resolver, which knows nothing of e2e.test:
# --disable-check.
. "$(dirname "$0")/lib.sh"

e2e_dns_start
e2e_hsmcad_start
WWW="$WORK/www"
AT="$WORK/acme-tiny"
mkdir -p "$AT"
e2e_www_start "$WWW" "$HTTP01_PORT"

openssl genrsa -out "$AT/account.key" 2048 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$AT/domain.key" -subj /CN=t1.e2e.test \
    -addext "subjectAltName=DNS:t1.e2e.test,DNS:t2.e2e.test" \
    -out "$AT/domain.csr" 2>/dev/null

SSL_CERT_FILE="$BUNDLE" timeout 150 acme-tiny \
    --account-key "$AT/account.key" --csr "$AT/domain.csr" \
    --acme-dir "$WWW/.well-known/acme-challenge" --disable-check \
    --directory-url "$DIRECTORY" --contact mailto:e2e@example.org \
    >"$AT/chain.pem" 2>"$WORK/acme-tiny.err" ||
    fail "acme-tiny: $(tail -n 25 "$WORK/acme-tiny.err")"
e2e_check_cert "$AT/chain.pem" t1.e2e.test t2.e2e.test
[ "$(grep -c 'BEGIN CERT' "$AT/chain.pem")" = 2 ] ||
    fail "acme-tiny chain holds $(grep -c 'BEGIN CERT' "$AT/chain.pem") certificates, expected leaf + issuing"
cmp -s <(openssl x509 -in "$AT/chain.pem" -noout -pubkey) \
    <(openssl pkey -in "$AT/domain.key" -pubout) ||
    fail "certificate key differs from the CSR's"
ok "acme-tiny http-01 (RSA account key): t1, t2 issued and verified"

e2e_hsmcad_stop
ok "hsmcad stopped cleanly"
