#!/usr/bin/env bash
# tests/e2e/test_lego.sh - lego, unchanged, against hsmcad: http-01 with
# an EC P-256 key, tls-alpn-01 with RSA-2048, and dns-01 through RFC 2136
# updates to the test's knotd (TSIG) for a wildcard and its base name.
# lego trusts hsmcad only through LEGO_CA_CERTIFICATES.
. "$(dirname "$0")/lib.sh"

e2e_dns_start
e2e_hsmcad_start
LEGO="$WORK/lego"

lego_run() {
	LEGO_CA_CERTIFICATES="$BUNDLE" timeout 150 lego \
	    --server "$DIRECTORY" --accept-tos --email "e2e@example.org" \
	    --path "$LEGO" "$@" >"$WORK/lego.out" 2>&1 ||
	    fail "lego $*: $(tail -n 25 "$WORK/lego.out")"
}

lego_run --key-type ec256 --domains l1.e2e.test --domains l2.e2e.test \
    --http --http.port "127.0.0.1:$HTTP01_PORT" run
e2e_check_cert "$LEGO/certificates/l1.e2e.test.crt" l1.e2e.test l2.e2e.test
openssl x509 -in "$LEGO/certificates/l1.e2e.test.crt" -noout -text |
    grep -q 'ASN1 OID: prime256v1' || fail "http-01: not a P-256 key"
ok "lego http-01, ec256: l1, l2 issued and verified"

lego_run --key-type rsa2048 --domains l3.e2e.test \
    --tls --tls.port "127.0.0.1:$TLSALPN01_PORT" run
e2e_check_cert "$LEGO/certificates/l3.e2e.test.crt" l3.e2e.test
openssl x509 -in "$LEGO/certificates/l3.e2e.test.crt" -noout -text |
    grep -q 'Public-Key: (2048 bit)' || fail "tls-alpn-01: not RSA-2048"
ok "lego tls-alpn-01, rsa2048: l3 issued and verified"

# dns-01: lego writes the TXT records into knotd with RFC 2136 + TSIG
# and finds the zone through the same server hsmcad asks.  Its
# propagation check would ask the zone's NS on port 53, which a loopback
# test server on a free port cannot be: --dns.disable-cp skips it (knotd
# answers from the updated zone at once).
RFC2136_NAMESERVER="127.0.0.1:$KNOT_PORT" \
RFC2136_TSIG_KEY="$KNOT_TSIG_NAME" \
RFC2136_TSIG_ALGORITHM="$KNOT_TSIG_ALG." \
RFC2136_TSIG_SECRET="$KNOT_TSIG_SECRET" \
RFC2136_PROPAGATION_TIMEOUT=30 RFC2136_POLLING_INTERVAL=1 \
RFC2136_SEQUENCE_INTERVAL=1 \
    lego_run --key-type ec256 --domains '*.w.e2e.test' \
    --domains w.e2e.test --dns rfc2136 \
    --dns.resolvers "127.0.0.1:$KNOT_PORT" --dns.disable-cp run
e2e_check_cert "$LEGO/certificates/_.w.e2e.test.crt" '*.w.e2e.test' \
    w.e2e.test
ok "lego dns-01 (rfc2136): *.w.e2e.test and w.e2e.test issued and verified"

e2e_hsmcad_stop
ok "hsmcad stopped cleanly"
