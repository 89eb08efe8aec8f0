#!/usr/bin/env bash
# tests/e2e/test_uacme.sh - uacme 1.7.4, unchanged, against hsmcad:
# account creation, then http-01 through a hook script that writes the
# challenge file for a plain web server on the http-01 port.
#
# uacme has no option to trust another CA (and its insecure switch is not
# an option here): it reads the system bundle.  It runs in a private
# mount namespace where the test root is bind-mounted over that bundle,
# so the system's trust store is never changed.
. "$(dirname "$0")/lib.sh"

e2e_dns_start
e2e_hsmcad_start
WWW="$WORK/www"
UA="$WORK/uacme"
mkdir -p "$UA"
e2e_www_start "$WWW" "$HTTP01_PORT"

SYSTEM_BUNDLE=/etc/ssl/certs/ca-certificates.crt
[ -f "$SYSTEM_BUNDLE" ] || fail "$SYSTEM_BUNDLE missing (ca-certificates)"
if [ "$(id -u)" -eq 0 ]; then
	NS=(unshare --mount)
else
	NS=(unshare --map-root-user --mount)
fi

# The hook: accept http-01 only; write, then remove, the token file.
cat >"$UA/hook.sh" <<HOOK
#!/bin/sh
method="\$1" type="\$2" ident="\$3" token="\$4" auth="\$5"
[ "\$type" = http-01 ] || exit 1
f="$WWW/.well-known/acme-challenge/\$token"
case "\$method" in
begin) printf '%s' "\$auth" >"\$f" ;;
done|failed) rm -f "\$f" ;;
esac
HOOK
chmod +x "$UA/hook.sh"

# uacme_run ARGS...: uacme inside the namespace that trusts only BUNDLE.
uacme_run() {
	timeout 150 "${NS[@]}" sh -c 'mount --bind "$1" "$2" && shift 2 &&
	    exec uacme "$@"' sh "$BUNDLE" "$SYSTEM_BUNDLE" \
	    --acme-url "$DIRECTORY" --confdir "$UA/conf" --verbose --yes \
	    "$@" >"$WORK/uacme.out" 2>&1 ||
	    fail "uacme $*: $(tail -n 25 "$WORK/uacme.out")"
}

uacme_run new e2e@example.org
[ -s "$UA/conf/private/key.pem" ] || fail "uacme made no account key"
ok "uacme new: account created"

uacme_run --hook "$UA/hook.sh" issue u1.e2e.test u2.e2e.test
e2e_check_cert "$UA/conf/u1.e2e.test/cert.pem" u1.e2e.test u2.e2e.test
openssl x509 -in "$UA/conf/u1.e2e.test/cert.pem" -noout -text |
    grep -q 'Public-Key: (2048 bit)' || fail "not an RSA-2048 key"
[ -z "$(ls -A "$WWW/.well-known/acme-challenge")" ] ||
    fail "hook did not clean up its challenge files"
ok "uacme http-01 (hook), RSA-2048: u1, u2 issued and verified"

# Without the bind mount uacme must refuse hsmcad: the trust above came
# from the test root alone.
rc=0
timeout 60 uacme --acme-url "$DIRECTORY" --confdir "$UA/conf" --yes \
    --never-create new >"$WORK/uacme-untrusted.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "uacme trusted hsmcad without the test root"
grep -q 'SSL peer certificate' "$WORK/uacme-untrusted.out" ||
    fail "uacme without the root failed otherwise: $(tail -n 5 "$WORK/uacme-untrusted.out")"
ok "uacme without the test root refuses the server"

e2e_hsmcad_stop
ok "hsmcad stopped cleanly"
