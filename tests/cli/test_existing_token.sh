# tests/cli/test_existing_token.sh - hsmca init --module/--token-uri on a
# token made beforehand (as with a real HSM): the PIN comes from
# HSMCA_PIN or hsm.pin_file and never lands in a file or on screen.
source "$(dirname "$0")/lib.sh"

command -v softhsm2-util >/dev/null || fail "softhsm2-util (softhsm2) missing"
mkdir -p "$WORK/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$WORK" >"$WORK/softhsm2.conf"
export SOFTHSM2_CONF="$WORK/softhsm2.conf"
pin=31415926
softhsm2-util --init-token --free --label ext --so-pin 27182818 \
    --pin "$pin" >/dev/null || fail "softhsm2-util --init-token"

expect_fail 2 "--token-uri needs --module" \
    hsmca init --state "$STATE" --token-uri pkcs11:token=ext
expect_fail 5 "no PIN" hsmca init --state "$STATE" \
    --module "$SOFTHSM_MODULE" --token-uri pkcs11:token=ext
HSMCA_PIN=0000 expect_fail 5 "refused the PIN" hsmca init --state "$STATE" \
    --module "$SOFTHSM_MODULE" --token-uri pkcs11:token=ext
ok "init on an existing token without or with a wrong PIN"

# A ceremony failing after key generation destroys the key pairs it
# made, so a real HSM is not left with orphans whose labels block the
# next run.
command -v pkcs11-tool >/dev/null || fail "pkcs11-tool (opensc) missing"
HSMCA_PIN="$pin" expect_fail 6 "/nonexistent/x" hsmca init --state "$STATE" \
    --module "$SOFTHSM_MODULE" --token-uri pkcs11:token=ext \
    --set ca.issuing_cert=/nonexistent/x/issuing.pem
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label ext --login \
    --pin "$pin" --list-objects >"$WORK/objs" 2>&1 ||
    fail "pkcs11-tool --list-objects: $(cat "$WORK/objs")"
grep -q "label: *hsmca-" "$WORK/objs" &&
    fail "failed init left objects: $(grep label "$WORK/objs")"
ok "a failed init on an existing token destroys the keys it generated"

HSMCA_PIN="$pin" hsmca init --state "$STATE" --module "$SOFTHSM_MODULE" \
    --token-uri pkcs11:token=ext >"$WORK/init.out" 2>&1 ||
    fail "init: $(cat "$WORK/init.out")"
grep -q "root.pem" "$WORK/init.out" || fail "init did not say where the CA is"
grep -rqF "$pin" "$WORK/init.out" "$STATE/hsmca.conf" && fail "PIN written out"
[ -e "$STATE/token.pin" ] && fail "init wrote a PIN file for a token it did not make"
grep -q "^token_uri = pkcs11:token=ext$" "$STATE/hsmca.conf" || fail "token_uri not kept"
ok "init on an existing token; PIN neither printed nor stored"

make_csr "$WORK/a.csr" ec:P-256 "/CN=ext.example.com" "DNS:ext.example.com"
HSMCA_PIN="$pin" hsmca issue --state "$STATE" --csr "$WORK/a.csr" \
    >"$WORK/chain.pem" 2>/dev/null || fail "issue with HSMCA_PIN"
openssl verify -CAfile "$STATE/root.pem" -untrusted "$STATE/issuing.pem" \
    "$WORK/chain.pem" >/dev/null || fail "chain from the existing token"
expect_fail 5 "no PIN" hsmca issue --state "$STATE" --csr "$WORK/a.csr"
(umask 077 && printf '%s\n' "$pin" >"$WORK/pin")
hsmca issue --state "$STATE" --csr "$WORK/a.csr" \
    --set "hsm.pin_file=$WORK/pin" >/dev/null 2>&1 || fail "issue with hsm.pin_file"
ok "issue with HSMCA_PIN, with hsm.pin_file, refused without a PIN"
