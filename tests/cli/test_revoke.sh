# tests/cli/test_revoke.sh - hsmca revoke and revoke-intermediate: exit
# codes and messages of every refusal, state unchanged after each, the
# record and db check after the revocations that succeed.
source "$(dirname "$0")/lib.sh"

init_ca
make_csr "$WORK/a.csr" ec:P-256 "/CN=r.example.com" "DNS:r.example.com"
serials=()
for i in 0 1 2; do
	hsmca issue --state "$STATE" --csr "$WORK/a.csr" >/dev/null \
	    2>"$WORK/issue.err" || fail "issue: $(cat "$WORK/issue.err")"
	serials+=("$(sed -n 's/^issued serial \([0-9a-f]*\)$/\1/p' "$WORK/issue.err")")
done
a="${serials[0]}" b="${serials[1]}" c="${serials[2]}"

for cmd in revoke revoke-intermediate; do
	hsmca "$cmd" --help >"$WORK/help" || fail "$cmd --help"
	grep -q "^usage: hsmca $cmd" "$WORK/help" || fail "$cmd --help: $(head -1 "$WORK/help")"
	grep -q "Exit status" "$WORK/help" || fail "$cmd --help lacks exit codes"
done
ok "--help of revoke and revoke-intermediate"

out="$(hsmca revoke "$a" --reason keyCompromise --state "$STATE")" ||
    fail "revoke $a"
grep -q "^revoked serial $a at .* reason keyCompromise$" <<<"$out" ||
    fail "revoke output: $out"
hsmca show --state "$STATE" --json "$a" >"$WORK/show.json"
grep -q '"status": "revoked"' "$WORK/show.json" || fail "show: $(cat "$WORK/show.json")"
ok "revoke keyCompromise; show says revoked"

# Every refusal: its exit code, its message, nothing changed.
expect_fail 3 "alreadyRevoked" hsmca revoke "$a" --reason superseded --state "$STATE"
expect_fail 3 "irreversible" hsmca revoke "$a" --reason keyCompromise --state "$STATE"
expect_fail 4 "no certificate with serial 0a0b0c" hsmca revoke 0a0b0c --reason 1 --state "$STATE"
expect_fail 3 "badRevocationReason" hsmca revoke "$b" --reason certificateHold --state "$STATE"
expect_fail 3 "badRevocationReason" hsmca revoke "$b" --reason removeFromCRL --state "$STATE"
expect_fail 3 "badRevocationReason" hsmca revoke "$b" --reason cACompromise --state "$STATE"
expect_fail 3 "badRevocationReason" hsmca revoke "$b" --reason 7 --state "$STATE"
expect_fail 3 "not a CRLReason" hsmca revoke "$b" --reason bogus --state "$STATE"
expect_fail 3 "malformed" hsmca revoke zz --reason 1 --state "$STATE"
expect_fail 2 "--reason R is required" hsmca revoke "$b" --state "$STATE"
expect_fail 2 "expected one SERIAL" hsmca revoke --reason 1 --state "$STATE"
hsmca show --state "$STATE" --json "$b" | grep -q '"status": "issued"' ||
    fail "a refused revocation changed $b"
grep -q '"reason": 1$' "$WORK/show.json" ||
    fail "reason of $a not shown: $(cat "$WORK/show.json")"
hsmca show --state "$STATE" --json "$a" | cmp -s - "$WORK/show.json" ||
    fail "a refused second revocation changed $a"
out="$(hsmca db check --state "$STATE")" || fail "db check: $out"
ok "refusals: alreadyRevoked 3, unknown serial 4, bad reasons 3, usage 2; nothing changed"

hsmca revoke "$b" --reason 0 --state "$STATE" >/dev/null || fail "revoke by code 0"
hsmca revoke "$c:" --reason 9 --state "$STATE" >/dev/null 2>&1 &&
    fail "a trailing colon was accepted"
hsmca revoke "$c" --reason privilegeWithdrawn --state "$STATE" >/dev/null ||
    fail "operator privilegeWithdrawn"
[ "$(hsmca list --state "$STATE" --status revoked | wc -l)" -eq 3 ] ||
    fail "list --status revoked"
out="$(hsmca db check --state "$STATE")" || fail "db check: $out"
grep -q "3 records, 0 problems" <<<"$out" || fail "db check: $out"
ok "reasons by code and operator-only privilegeWithdrawn; db check clean"

# The issuing CA.
expect_fail 3 "badRevocationReason" hsmca revoke-intermediate --reason certificateHold --state "$STATE"
expect_fail 2 "--reason R is required" hsmca revoke-intermediate --state "$STATE"
out="$(hsmca revoke-intermediate --reason cACompromise --state "$STATE")" ||
    fail "revoke-intermediate"
grep -q "^revoked the issuing CA at .* reason cACompromise$" <<<"$out" ||
    fail "revoke-intermediate output: $out"
expect_fail 3 "alreadyRevoked" hsmca revoke-intermediate --reason keyCompromise --state "$STATE"
hsmca crl --root --state "$STATE" --out "$WORK/pub" 2>/dev/null || fail "crl --root"
openssl crl -inform DER -in "$WORK/pub/root.crl" -noout -text >"$WORK/root.txt"
isn="$(openssl x509 -in "$STATE/issuing.pem" -noout -serial | sed 's/^serial=//')"
grep -q "Serial Number: $isn" "$WORK/root.txt" || fail "root CRL lacks the issuing CA"
grep -q "CA Compromise" "$WORK/root.txt" || fail "root CRL lacks the reason"
ok "revoke-intermediate once, refused twice; the root CRL lists it"
