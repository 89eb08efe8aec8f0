# tests/cli/test_bad_input.sh - every refused request exits with its
# documented code and a precise message, and stores nothing.
source "$(dirname "$0")/lib.sh"

init_ca
make_csr "$WORK/good.csr" ec:P-256 "/CN=good.example.com" "DNS:good.example.com"
hsmca issue --state "$STATE" --csr "$WORK/good.csr" >/dev/null 2>&1 ||
    fail "a good CSR was refused"
hsmca list --state "$STATE" >"$WORK/list.before"

# refused CODE SUBSTRING FILE [issue args...]: issuance of FILE fails as
# documented and the store is unchanged.
refused() {
	local code="$1" substr="$2" csr="$3"
	shift 3
	expect_fail "$code" "$substr" hsmca issue --state "$STATE" --csr "$csr" "$@"
	sed "s/^/#   exit $code: /" "$WORK/err"
	hsmca list --state "$STATE" >"$WORK/list.after"
	cmp -s "$WORK/list.before" "$WORK/list.after" ||
	    fail "store changed after refused $csr $*"
}

# Inputs that are not a CSR at all.
printf -- '-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgQ1NS!!\n-----END CERTIFICATE REQUEST-----\n' \
    >"$WORK/garbled.pem"
refused 3 "hsmca: badCSR: RFC 7468: CSR PEM is garbled" "$WORK/garbled.pem"
printf '\x30\x82\x01\x00\x02\x01\x00\x30\x00garbage' >"$WORK/garbled.der"
refused 3 "hsmca: badCSR: RFC 2986 4: CSR is not a DER CertificationRequest" "$WORK/garbled.der"
: >"$WORK/empty.csr"
refused 3 "hsmca: badCSR: CSR is empty" "$WORK/empty.csr"
ok "garbled PEM, garbled DER, empty file"

# A signature that does not verify: flip a bit near the end of the DER.
openssl req -in "$WORK/good.csr" -outform DER -out "$WORK/good.der"
perl -e 'local $/; my $d = <STDIN>; substr($d, -3, 1) ^= "\x01"; print $d' \
    <"$WORK/good.der" >"$WORK/badsig.der"
openssl req -in "$WORK/badsig.der" -inform DER -noout 2>/dev/null ||
    fail "flipped CSR no longer parses; the test would not test the signature"
refused 3 "CSR signature does not verify with its own public key" "$WORK/badsig.der"
ok "CSR with a bad signature"

make_csr "$WORK/rsa1024.csr" rsa:1024 "/CN=weak.example.com" "DNS:weak.example.com"
refused 3 "hsmca: badPublicKey: CA/B BR 6.1.5: RSA modulus of 1024 bits" "$WORK/rsa1024.csr"
make_csr "$WORK/p521.csr" ec:secp521r1 "/CN=p521.example.com" "DNS:p521.example.com"
refused 3 "hsmca: badPublicKey: CA/B BR 6.1.5: EC curve secp521r1 is not allowed" "$WORK/p521.csr"
ok "RSA 1024 and secp521r1 keys refused"

sans="DNS:n0.example.com"
for i in $(seq 1 100); do sans="$sans,DNS:n$i.example.com"; done
make_csr "$WORK/many.csr" ec:P-256 "/CN=n0.example.com" "$sans"
refused 3 "too many names: more than 100" "$WORK/many.csr"
ok "101 names refused"

long="$(printf 'a%.0s' $(seq 1 64))"
n=0
while IFS='|' read -r name rule; do
	n=$((n + 1))
	make_csr "$WORK/name$n.csr" ec:P-256 "/CN=ok.example.com" \
	    "DNS:ok.example.com,DNS:$name"
	refused 3 "hsmca: rejectedIdentifier: \"$name\": $rule" "$WORK/name$n.csr"
done <<NAMES
a_b.example.com|CA/B BR 7.1.2.7.12: underscore
a..example.com|RFC 1035 2.3.1: empty label
$long.example.com|RFC 1035 2.3.4: label longer than 63
example.com.|CA/B BR 7.1.2.7.12: no trailing dot
bücher.example|RFC 5890 2.3.2.1: raw UTF-8
NAMES
ok "invalid names refused, each named in the message"

refused 4 "unknown profile \"nope\"" "$WORK/good.csr" --profile nope
ok "unknown profile"

# Token and key problems: the CSR is fine, the CA cannot sign.
refused 5 "hsmca: hsm: cannot load PKCS#11 module /nonexistent.so" "$WORK/good.csr" \
    --set hsm.module=/nonexistent.so
refused 4 "hsmca: hsm: no token matches pkcs11:token=nope" "$WORK/good.csr" \
    --set hsm.token_uri=pkcs11:token=nope
HSMCA_PIN=0000 refused 5 "hsmca: hsm: token refused the PIN" "$WORK/good.csr"
grep -q "0000" "$WORK/err" && fail "wrong PIN printed"
refused 4 "no private key in the token matches pkcs11:token=hsmca;object=nope" \
    "$WORK/good.csr" --set 'ca.issuing_key=pkcs11:token=hsmca;object=nope'
ok "missing module, missing token, wrong PIN, missing key"

out="$(hsmca db check --state "$STATE")" || fail "db check: $out"
grep -q "^1 records, 0 problems$" <<<"$out" || fail "db check: $out"
ok "store holds only the one good certificate"
