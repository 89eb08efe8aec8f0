#!/usr/bin/env bash
# tests/e2e/test_certbot.sh - certbot 2.1, unchanged, against hsmcad:
# http-01 with its standalone server, an ECDSA and an RSA certificate,
# revocation with reason keyCompromise, then renew --force-renewal.
# certbot trusts hsmcad only through REQUESTS_CA_BUNDLE.
. "$(dirname "$0")/lib.sh"

e2e_dns_start
e2e_hsmcad_start
CB="$WORK/certbot"

certbot_run() {
	REQUESTS_CA_BUNDLE="$BUNDLE" timeout 150 certbot \
	    --config-dir "$CB/config" --work-dir "$CB/work" \
	    --logs-dir "$CB/logs" --non-interactive "$@" \
	    >"$WORK/certbot.out" 2>&1 ||
	    fail "certbot $1: $(tail -n 25 "$WORK/certbot.out")"
}

certonly() {
	certbot_run certonly --standalone --preferred-challenges http \
	    --http-01-port "$HTTP01_PORT" --http-01-address 127.0.0.1 \
	    --server "$DIRECTORY" --agree-tos \
	    --register-unsafely-without-email "$@"
}

certonly --cert-name ec --key-type ecdsa --elliptic-curve secp256r1 \
    -d c1.e2e.test -d c2.e2e.test
e2e_check_cert "$CB/config/live/ec/cert.pem" c1.e2e.test c2.e2e.test
e2e_check_cert "$CB/config/live/ec/fullchain.pem" c1.e2e.test c2.e2e.test
openssl x509 -in "$CB/config/live/ec/cert.pem" -noout -text |
    grep -q 'ASN1 OID: prime256v1' || fail "ec: not a P-256 key"
cmp -s <(openssl x509 -in "$CB/config/live/ec/chain.pem") \
    <(openssl x509 -in "$ISSUING_PEM") ||
    fail "ec: chain.pem is not the issuing CA"
ok "certbot certonly --key-type ecdsa: c1, c2 issued and verified"

certonly --cert-name rsa --key-type rsa --rsa-key-size 2048 \
    -d c3.e2e.test
e2e_check_cert "$CB/config/live/rsa/cert.pem" c3.e2e.test
openssl x509 -in "$CB/config/live/rsa/cert.pem" -noout -text |
    grep -q 'Public-Key: (2048 bit)' || fail "rsa: not an RSA-2048 key"
ok "certbot certonly --key-type rsa: c3 issued and verified"

ec_serial="$(serial_of "$CB/config/live/ec/cert.pem")"
rsa_serial="$(serial_of "$CB/config/live/rsa/cert.pem")"
[ "$(cert_status "$ec_serial")" = issued ] || fail "ec: not issued in the store"
certbot_run revoke --cert-path "$CB/config/live/ec/cert.pem" \
    --reason keycompromise --server "$DIRECTORY" --no-delete-after-revoke
[ "$(cert_status "$ec_serial")" = revoked ] ||
    fail "ec: $ec_serial not revoked in the store after certbot revoke"
[ "$(cert_reason "$ec_serial")" = 1 ] ||
    fail "ec: revocation reason $(cert_reason "$ec_serial"), expected 1 (keyCompromise)"
[ "$(cert_status "$rsa_serial")" = issued ] ||
    fail "rsa: revoking ec changed $rsa_serial"
[ "$(ocsp_status "$CB/config/live/ec/cert.pem")" = revoked ] ||
    fail "ec: OCSP does not say revoked: $(cat "$WORK/ocsp.out")"
grep -q 'Reason: keyCompromise' "$WORK/ocsp.out" ||
    fail "ec: OCSP reason is not keyCompromise: $(cat "$WORK/ocsp.out")"
[ "$(ocsp_status "$CB/config/live/rsa/cert.pem")" = good ] ||
    fail "rsa: OCSP does not say good"
# crl.revoke_delay_s is 2 here: the next CRL lists it within seconds
# (the default, 60, would take 30 s and fail this).
for ((i = 0; i < 50; i++)); do
	crl_lists "$CB/config/live/ec/cert.pem" && break
	sleep 0.2
done
crl_lists "$CB/config/live/ec/cert.pem" || fail "ec: not on its CRL after 10 s"
grep -A4 -i "Serial Number: 0*$(openssl x509 -in "$CB/config/live/ec/cert.pem" \
    -noout -serial | sed 's/^serial=//')\$" "$WORK/crl.txt" |
    grep -q "Key Compromise" || fail "ec: CRL entry without reason keyCompromise: $(cat "$WORK/crl.txt")"
ok "certbot revoke --reason keycompromise: revoked in the store, OCSP and CRL"

certbot_run renew --force-renewal --no-random-sleep-on-renew
for name in ec rsa; do
	[ -e "$CB/config/archive/$name/cert2.pem" ] ||
	    fail "$name: renew --force-renewal made no second certificate"
done
e2e_check_cert "$CB/config/live/ec/cert.pem" c1.e2e.test c2.e2e.test
e2e_check_cert "$CB/config/live/rsa/cert.pem" c3.e2e.test
[ "$(serial_of "$CB/config/live/ec/cert.pem")" != "$ec_serial" ] ||
    fail "ec: live certificate unchanged by renew"
[ "$(serial_of "$CB/config/live/rsa/cert.pem")" != "$rsa_serial" ] ||
    fail "rsa: live certificate unchanged by renew"
[ "$(cert_status "$(serial_of "$CB/config/live/ec/cert.pem")")" = issued ] ||
    fail "renewed ec certificate not in the store"
ok "certbot renew --force-renewal: both lineages renewed and verified"

e2e_hsmcad_stop
ok "hsmcad stopped cleanly"
