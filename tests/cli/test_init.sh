# tests/cli/test_init.sh - hsmca init, refusal to init twice, --help and
# usage errors of every subcommand.
source "$(dirname "$0")/lib.sh"

init_ca
for f in hsmca.conf root.pem issuing.pem token.pin softhsm2.conf; do
	[ -s "$STATE/$f" ] || fail "init did not write $f"
done
grep -q "root.pem" "$WORK/init.out" || fail "init did not say where root.pem is"
[ "$(stat -c %a "$STATE/token.pin")" = 600 ] || fail "token.pin is not 0600"
grep -qF "$(cat "$STATE/token.pin")" "$WORK/init.out" &&
    fail "init printed the PIN"
ok "init writes the CA files"

cp "$STATE/root.pem" "$WORK/root.before"
expect_fail 7 "already holds a CA" hsmca init --state "$STATE"
cmp -s "$STATE/root.pem" "$WORK/root.before" || fail "second init changed root.pem"
ok "second init refuses with exit 7 and changes nothing"

# The state directory can also come from the environment.
HSMCA_STATE="$STATE" hsmca list >/dev/null || fail "HSMCA_STATE not honoured"
ok "HSMCA_STATE"

for cmd in init issue show list export db bench; do
	out="$(hsmca "$cmd" --help)" || fail "$cmd --help exited non-zero"
	grep -q "^usage: hsmca $cmd" <<<"$out" || fail "$cmd --help: no usage line"
	grep -q "Exit status" <<<"$out" || fail "$cmd --help: no exit codes"
done
hsmca --help | grep -q "Commands:" || fail "hsmca --help"
ok "--help of every subcommand"

expect_fail 2 "unknown command" hsmca frobnicate
expect_fail 2 "usage" hsmca
expect_fail 2 "--csr FILE is required" hsmca issue --state "$STATE"
expect_fail 2 "usage" hsmca issue --state "$STATE" --bogus
expect_fail 2 "expected one SERIAL" hsmca show --state "$STATE"
expect_fail 2 "--status is issued or revoked" hsmca list --state "$STATE" --status lost
expect_fail 2 "--expiring-within" hsmca list --state "$STATE" --expiring-within -1
expect_fail 2 "expected \"check\"" hsmca db --state "$STATE" vacuum
expect_fail 2 "unknown key type" hsmca init --state "$WORK/x" --key-type dsa-1024
expect_fail 2 "no state directory" hsmca list
expect_fail 2 "--set expects KEY=VALUE" hsmca list --state "$STATE" --set nokey
expect_fail 3 "unknown configuration key" hsmca list --state "$STATE" --set ca.nope=1
expect_fail 4 "no CA here" hsmca list --state "$WORK/empty"
make_csr "$WORK/ok.csr" ec:P-256 "/CN=ok.example.com" "DNS:ok.example.com"
expect_fail 2 "HSMCA_NOW must be Unix seconds" env HSMCA_NOW=yesterday "$HSMCA" issue --state "$STATE" --csr "$WORK/ok.csr"
ok "usage errors exit 2, others their documented codes"

for kt in ec-p384 rsa-2048; do
	hsmca init --state "$WORK/$kt" --key-type "$kt" >/dev/null ||
	    fail "init --key-type $kt"
	openssl x509 -in "$WORK/$kt/issuing.pem" -noout -text |
	    grep -q "$( [ "$kt" = ec-p384 ] && echo 'NIST CURVE: P-384' || echo 'Public-Key: (2048 bit)')" ||
	    fail "issuing key of $kt"
done
ok "init --key-type ec-p384 and rsa-2048"

# A ceremony that fails half-way (the issuing certificate cannot be
# written; the store cannot be created, after the OCSP signer) leaves
# the state directory as it found it, so the same command succeeds next.
for bad in ca.issuing_cert=/nonexistent/x/issuing.pem \
    store.path=/nonexistent/x/db; do
	s="$WORK/undo-${bad%%=*}"
	expect_fail 6 "/nonexistent/x" hsmca init --state "$s" --set "$bad"
	left="$(ls -A "$s")"
	[ -z "$left" ] || fail "failed init ($bad) left: $left"
	hsmca init --state "$s" >/dev/null || fail "init after a failed init ($bad)"
done
mkdir -p "$WORK/crashed/tokens/0a1b"
expect_fail 7 "holds a token from an interrupted ceremony" \
    hsmca init --state "$WORK/crashed"
[ -d "$WORK/crashed/tokens/0a1b" ] || fail "init removed a token it did not make"
ok "a failed init undoes what it made; a crashed one's token is refused and kept"
