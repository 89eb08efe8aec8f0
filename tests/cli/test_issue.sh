# tests/cli/test_issue.sh - issuance through the CLI: the chain verifies,
# the leaf has the baseline's extensions and the profile's exact
# validity; show, export and list report it.
source "$(dirname "$0")/lib.sh"

init_ca
make_csr "$WORK/a.csr" ec:P-256 "/CN=www.example.com" \
    "DNS:www.example.com,DNS:example.com"

hsmca issue --state "$STATE" --csr "$WORK/a.csr" >"$WORK/chain.pem" \
    2>"$WORK/issue.err" || fail "issue: $(cat "$WORK/issue.err")"
serial="$(sed -n 's/^issued serial \([0-9a-f]*\)$/\1/p' "$WORK/issue.err")"
[ -n "$serial" ] || fail "no \"issued serial\" line: $(cat "$WORK/issue.err")"
[ "$(grep -c 'BEGIN CERTIFICATE' "$WORK/chain.pem")" -eq 2 ] ||
    fail "chain is not leaf + issuing CA"
openssl x509 -in "$WORK/chain.pem" -out "$WORK/leaf.pem"
[ "$(serial_of "$WORK/leaf.pem")" = "$serial" ] ||
    fail "printed serial $serial differs from the leaf's"
ok "issue prints the chain and the serial"

openssl verify -CAfile "$STATE/root.pem" -untrusted "$STATE/issuing.pem" \
    "$WORK/leaf.pem" >/dev/null || fail "chain does not verify"
ok "openssl verify accepts the chain"

text="$(openssl x509 -in "$WORK/leaf.pem" -noout -text)"
need() {
	grep -qE -- "$1" <<<"$text" || fail "leaf lacks $1"
}
need "DNS:www.example.com"
need "DNS:example.com"
need "X509v3 Key Usage: critical"
need "Digital Signature"
need "TLS Web Server Authentication"
need "X509v3 Basic Constraints: critical"
need "CA:FALSE"
need "X509v3 Authority Key Identifier"
need "CA Issuers - URI:http"
need "X509v3 CRL Distribution Points"
need "Policy: 2.23.140.1.2.1"
ok "leaf has SAN, KU, EKU, BC, AKI, AIA, CRL DP and the DV policy"

# validity_secs counts notBefore through notAfter inclusive.
validity() {
	local nb na
	nb="$(openssl x509 -in "$1" -noout -startdate | sed 's/^notBefore=//')"
	na="$(openssl x509 -in "$1" -noout -enddate | sed 's/^notAfter=//')"
	echo $(($(to_epoch "$na") - $(to_epoch "$nb") + 1))
}
[ "$(validity "$WORK/leaf.pem")" -eq $((90 * 86400)) ] ||
    fail "dv validity is $(validity "$WORK/leaf.pem") s, not 90 days"
make_csr "$WORK/s.csr" ec:P-256 "/CN=short.example.com" "DNS:short.example.com"
hsmca issue --state "$STATE" --csr "$WORK/s.csr" --profile shortlived \
    --out "$WORK/short.pem" 2>"$WORK/issue2.err" || fail "issue shortlived: $(cat "$WORK/issue2.err")"
short_serial="$(sed -n 's/^issued serial //p' "$WORK/issue2.err")"
[ "$(validity "$WORK/short.pem")" -eq $((160 * 3600)) ] ||
    fail "shortlived validity is $(validity "$WORK/short.pem") s, not 160 h"
ls "$WORK" | grep -q 'short.pem.tmp' && fail "--out left a temporary file"
ok "validity: dv 90 days, shortlived 160 hours exactly; --out writes the file"

# DER CSRs are accepted too.
openssl req -in "$WORK/a.csr" -outform DER -out "$WORK/a.der"
hsmca issue --state "$STATE" --csr "$WORK/a.der" >/dev/null 2>&1 ||
    fail "DER CSR refused"
hsmca issue --state "$STATE" --csr - <"$WORK/a.csr" 2>/dev/null |
    grep -c "BEGIN CERTIFICATE" | grep -qx 2 || fail "CSR from stdin"
ok "DER CSR; CSR from stdin"

out="$(hsmca show --state "$STATE" "$serial")"
for want in "serial:      $serial" "status:      issued" "profile:     dv" \
    "www.example.com" "crl shard:" "revocation:  none"; do
	grep -qF "$want" <<<"$out" || fail "show lacks \"$want\": $out"
done
grep -qE "not after: +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z" \
    <<<"$out" || fail "show: notAfter is not ISO 8601 UTC: $out"
json="$(hsmca show --state "$STATE" --json "$serial")"
for want in "\"serial\": \"$serial\"" '"status": "issued"' '"profile": "dv"' \
    '"revocation": null' '"www.example.com"'; do
	grep -qF "$want" <<<"$json" || fail "show --json lacks $want: $json"
done
expect_fail 4 "no certificate with serial" hsmca show --state "$STATE" 0123456789abcdef
expect_fail 3 "" hsmca show --state "$STATE" not-hex
ok "show (text, --json, unknown serial, malformed serial)"

hsmca export --state "$STATE" "$serial" >"$WORK/exported.pem"
cmp -s "$WORK/exported.pem" "$WORK/leaf.pem" || fail "export differs from issued leaf"
hsmca export --state "$STATE" --der "$serial" >"$WORK/exported.der"
openssl x509 -in "$WORK/leaf.pem" -outform DER | cmp -s - "$WORK/exported.der" ||
    fail "export --der differs"
ok "export PEM and DER"

[ "$(hsmca list --state "$STATE" | wc -l)" -eq 4 ] || fail "list: not 4 lines"
hsmca list --state "$STATE" | grep -q "^$short_serial issued .* shortlived short.example.com$" ||
    fail "list line of the shortlived certificate: $(hsmca list --state "$STATE")"
[ "$(hsmca list --state "$STATE" --name short.example.com | wc -l)" -eq 1 ] ||
    fail "list --name"
[ "$(hsmca list --state "$STATE" --status revoked | wc -l)" -eq 0 ] ||
    fail "list --status revoked"
[ "$(hsmca list --state "$STATE" --expiring-within 7 | wc -l)" -eq 1 ] ||
    fail "list --expiring-within 7 (only the 160 h one)"
[ "$(hsmca list --state "$STATE" --expiring-within 91 | wc -l)" -eq 4 ] ||
    fail "list --expiring-within 91"
json="$(hsmca list --state "$STATE" --json)"
[ "$(grep -c '"serial"' <<<"$json")" -eq 4 ] || fail "list --json: $json"
[ "${json:0:1}" = "[" ] || fail "list --json is not an array"
[ "$(hsmca list --state "$STATE" --json --name nobody.example)" = "[]" ] ||
    fail "list --json of nothing is not []"
ok "list filters and --json"

out="$(hsmca db check --state "$STATE")" || fail "db check: $out"
grep -q "^4 records, 0 problems$" <<<"$out" || fail "db check: $out"
ok "db check is clean"

# A dangling index entry (a name pointing at a serial that is not
# stored), written behind hsmca's back with mdb_load: db check must see it.
command -v mdb_load >/dev/null || fail "mdb_load (lmdb-utils) missing"
printf 'VERSION=3\nformat=print\ntype=btree\ndupsort=1\nHEADER=END\n ghost.example.com\n \\01\\02\\03\\04\\05\\06\\07\\08\nDATA=END\n' |
    mdb_load -s certs_by_name "$STATE/db" 2>"$WORK/mdb.err" ||
    fail "mdb_load: $(cat "$WORK/mdb.err")"
expect_fail 6 "1 problems found in the store" hsmca db check --state "$STATE"
grep -q "^4 records, 1 problems$" "$WORK/out" || fail "db check: $(cat "$WORK/out")"
grep -q "ghost.example.com" "$WORK/out" || fail "db check does not name the entry"
ok "db check reports a dangling index entry and exits 6"
