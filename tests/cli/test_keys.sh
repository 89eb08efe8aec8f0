# tests/cli/test_keys.sh - the CA private keys cannot be read out of the
# token; the public halves can.
source "$(dirname "$0")/lib.sh"

command -v pkcs11-tool >/dev/null || fail "pkcs11-tool (opensc) missing"

# pkcs11-tool of opensc 0.23 answers --read-object --type privkey with
# "reading private keys not (yet) supported" and exits 0 without
# writing, so success here means: no key bytes came out.  The real
# guarantee is the token's: the keys are sensitive and never extractable.
check_ca() {
	local state="$1" kt="$2" pin label access
	export SOFTHSM2_CONF="$state/softhsm2.conf"
	pin="$(cat "$state/token.pin")"
	p11() {
		pkcs11-tool --module "$SOFTHSM_MODULE" --login --pin "$pin" "$@"
	}
	for label in hsmca-issuing hsmca-root; do
		rm -f "$WORK/priv.der" "$WORK/pub.der"
		if p11 --read-object --type privkey --label "$label" \
		    -o "$WORK/priv.der" >"$WORK/p11.out" 2>&1 &&
		    [ -s "$WORK/priv.der" ]; then
			fail "$kt $label private key was read out"
		fi
		[ -s "$WORK/priv.der" ] && fail "$kt $label private key bytes written"
		p11 --read-object --type pubkey --label "$label" \
		    -o "$WORK/pub.der" >"$WORK/p11.out" 2>&1 ||
		    fail "$kt $label public key: $(cat "$WORK/p11.out")"
		[ -s "$WORK/pub.der" ] || fail "$kt $label public key is empty"
		p11 --list-objects --type privkey >"$WORK/objs" 2>&1 ||
		    fail "list-objects: $(cat "$WORK/objs")"
		access="$(grep -A6 "label: *$label\$" "$WORK/objs" |
		    grep -m1 "Access:")" ||
		    fail "no Access line for $label: $(cat "$WORK/objs")"
		grep -q "never extractable" <<<"$access" || fail "$kt $label: $access"
		grep -q "sensitive" <<<"$access" || fail "$kt $label: $access"
	done
	ok "$kt: private keys stay in the token (sensitive, never extractable); public keys read"
}

init_ca
check_ca "$STATE" ec-p256
hsmca init --state "$WORK/rsa" --key-type rsa-2048 >/dev/null || fail "init rsa-2048"
check_ca "$WORK/rsa" rsa-2048
