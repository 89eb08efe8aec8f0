#!/usr/bin/env bash
# tests/e2e/test_daemon.sh - hsmcad itself: its TLS certificate verifies
# with only the root, the publishing server serves the CA certificates
# named in AIA, SIGHUP is ignored, SIGTERM drains a request in flight and
# exits 0, --ephemeral removes its directory, bad invocations are refused.
. "$(dirname "$0")/lib.sh"

e2e_dns_start
e2e_hsmcad_start
[ -d "$CA_STATE" ] || fail "ephemeral state $CA_STATE missing while serving"
case "$CA_STATE" in "${TMPDIR:-/tmp}"/hsmcad-*) ;; *)
	fail "ephemeral state $CA_STATE not under TMPDIR" ;; esac
ok "--ephemeral serves from a fresh $CA_STATE"

# The TLS chain: leaf then issuing CA, for acme.names, trusted by the root.
echo | openssl s_client -connect "127.0.0.1:$ACME_PORT" \
    -servername localhost -showcerts -verify_return_error \
    -CAfile "$ROOT_PEM" >"$WORK/sclient.out" 2>&1 ||
    fail "TLS handshake with only the root trusted: $(tail -5 "$WORK/sclient.out")"
grep -q 'Verify return code: 0 (ok)' "$WORK/sclient.out" ||
    fail "TLS chain does not verify"
awk '/BEGIN CERT/,/END CERT/' "$WORK/sclient.out" >"$WORK/served.pem"
[ "$(grep -c 'BEGIN CERT' "$WORK/served.pem")" = 2 ] ||
    fail "server sends $(grep -c 'BEGIN CERT' "$WORK/served.pem") certificates, expected leaf + issuing"
e2e_check_cert "$WORK/served.pem" localhost IP:127.0.0.1
openssl x509 -in "$WORK/served.pem" -noout -checkend 0 >/dev/null ||
    fail "TLS certificate already expired"
ok "TLS certificate for localhost and 127.0.0.1 verifies with only the root"

curl -sSf --cacert "$ROOT_PEM" "https://127.0.0.1:$ACME_PORT/roots/0" \
    -o "$WORK/roots0.pem" || fail "GET /roots/0 by IP address"
cmp -s "$WORK/roots0.pem" "$BUNDLE" || fail "/roots/0 differs from $BUNDLE"
cmp -s "$ISSUING_PEM" "$CA_STATE/issuing.pem" ||
    fail "/intermediates/0 differs from the issuing certificate"
rc=0
curl -sS -o /dev/null "https://localhost:$ACME_PORT/roots/0" 2>/dev/null ||
    rc=$?
[ "$rc" = 60 ] || fail "curl without the root: exit $rc, expected 60 (untrusted)"
ok "/roots/0 and /intermediates/0 serve the CA certificates as PEM"

# The publishing server: DER, application/pkix-cert, at the AIA URL.
aia="$(openssl x509 -in "$WORK/served.pem" -noout -ext authorityInfoAccess |
    sed -n 's/.*CA Issuers - URI://p')"
[ "$aia" = "http://127.0.0.1:$PUBLISH_PORT/ca/issuing.der" ] ||
    fail "AIA caIssuers is \"$aia\""
ctype="$(curl -sSf -o "$WORK/issuing.der" -w '%{content_type}' "$aia")" ||
    fail "GET $aia"
[ "$ctype" = application/pkix-cert ] || fail "$aia: Content-Type $ctype"
openssl x509 -in "$ISSUING_PEM" -outform der -out "$WORK/issuing.want.der"
cmp -s "$WORK/issuing.der" "$WORK/issuing.want.der" ||
    fail "$aia differs from the issuing certificate"
curl -sSf -o "$WORK/root.der" "http://127.0.0.1:$PUBLISH_PORT/ca/root.der" ||
    fail "GET /ca/root.der"
openssl x509 -in "$ROOT_PEM" -outform der -out "$WORK/root.want.der"
cmp -s "$WORK/root.der" "$WORK/root.want.der" ||
    fail "/ca/root.der differs from the root certificate"
code="$(curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$PUBLISH_PORT/ca/nothing.der")"
[ "$code" = 404 ] || fail "unknown publishing path: HTTP $code"
ok "publishing server serves /ca/issuing.der (the AIA target) and /ca/root.der"

# The ACME directory over the same TLS, its URLs under the base URL.
curl -sSf --cacert "$ROOT_PEM" -D "$WORK/dir.hdr" -o "$WORK/dir.json" \
    "$DIRECTORY" || fail "GET $DIRECTORY with only the root trusted"
python3 - "$WORK/dir.json" "https://localhost:$ACME_PORT/" <<'PY' ||
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("newNonce", "newAccount", "newOrder", "revokeCert", "keyChange"):
    if not str(d.get(k, "")).startswith(sys.argv[2]):
        sys.exit("directory %s = %r" % (k, d.get(k)))
PY
    fail "directory: $(cat "$WORK/dir.json")"
grep -qi '^Replay-Nonce: ' "$WORK/dir.hdr" || fail "directory reply has no Replay-Nonce"
ok "ACME directory over TLS, URLs under https://localhost:$ACME_PORT/"

# CRLs (written by the scheduler's first round) and OCSP on the
# publishing server; the TLS certificate itself is good.
for ((i = 0; i < 100; i++)); do
	curl -sf -o "$WORK/root.crl" \
	    "http://127.0.0.1:$PUBLISH_PORT/crl/root.crl" && break
	sleep 0.1
done
openssl crl -inform DER -in "$WORK/root.crl" -CAfile "$ROOT_PEM" -noout \
    >/dev/null 2>&1 || fail "/crl/root.crl missing or does not verify"
crl_lists "$WORK/served.pem" && fail "a good certificate is on its CRL"
[ -f "$CA_STATE/publish/crl/root.crl" ] ||
    fail "no CRL written under publish.dir"
[ "$(ocsp_status "$WORK/served.pem")" = good ] ||
    fail "OCSP for the TLS certificate: $(cat "$WORK/ocsp.out")"
ok "publishing server: CRLs verify and are written to publish.dir; OCSP says good"

# SIGHUP changes nothing.
kill -HUP "$HSMCAD_PID"
sleep 0.5
kill -0 "$HSMCAD_PID" 2>/dev/null || fail "hsmcad died on SIGHUP"
curl -sSf --cacert "$ROOT_PEM" -o /dev/null \
    "https://localhost:$ACME_PORT/roots/0" || fail "no service after SIGHUP"
ok "SIGHUP is logged and ignored"

# The PIN and the TLS key stay out of core files.
grep -Eq '^Max core file size +0 +0 ' "/proc/$HSMCAD_PID/limits" ||
    fail "hsmcad may write core files: $(grep core "/proc/$HSMCAD_PID/limits")"
ok "hsmcad runs with core files off"

# SIGTERM with a request in flight (headers received, body not yet
# complete when the signal arrives): the reply must still come.
python3 - "$ACME_PORT" "$HSMCAD_PID" "$ROOT_PEM" >"$WORK/drain.out" \
    2>&1 <<'PY' || fail "drain: $(cat "$WORK/drain.out")"
import os, signal, socket, ssl, sys, time
port, pid, root = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=root)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                    server_hostname="localhost")
s.sendall(b"GET /roots/0 HTTP/1.1\r\nHost: localhost\r\n"
          b"Connection: close\r\nContent-Length: 4\r\n\r\nxy")
time.sleep(0.3)
os.kill(pid, signal.SIGTERM)
time.sleep(0.5)
s.sendall(b"zz")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
head, _, body = data.partition(b"\r\n\r\n")
if not head.startswith(b"HTTP/1.1 200"):
    sys.exit("reply to the request in flight: %r" % head[:80])
if body != open(root, "rb").read():
    sys.exit("body of the request in flight differs from the root")
PY
eph="$CA_STATE"
e2e_hsmcad_stop
grep -q 'SIGTERM: stopping' "$WORK/hsmcad.err" || fail "no stop message logged"
rc=0
curl -s -o /dev/null --cacert "$ROOT_PEM" \
    "https://localhost:$ACME_PORT/roots/0" || rc=$?
[ "$rc" = 7 ] || fail "connection after stop: curl exit $rc, expected 7 (refused)"
[ ! -e "$eph" ] || fail "--ephemeral left $eph behind"
ok "SIGTERM drains the request in flight, exits 0 and removes $eph"

# A CA made with hsmca init: the bundle is its root, and it stays.
"$HSMCA" init --state "$WORK/state" >"$WORK/init.out" ||
    fail "hsmca init: $(cat "$WORK/init.out")"
e2e_hsmcad_start --state "$WORK/state"
[ "$BUNDLE" = "$WORK/state/root.pem" ] ||
    fail "ca-bundle \"$BUNDLE\", expected $WORK/state/root.pem"
e2e_hsmcad_stop
[ -f "$WORK/state/root.pem" ] && [ -d "$WORK/state/db" ] ||
    fail "stopping hsmcad touched the state directory"
ok "hsmcad --state serves an existing CA and leaves it in place"

# Refusals: exit status and a message naming the problem; no directory
# is left behind by a failed --ephemeral start.
expect_exit() {
	local want="$1" substr="$2" rc=0
	shift 2
	timeout 60 "$HSMCAD" "$@" >"$WORK/bad.out" 2>"$WORK/bad.err" || rc=$?
	[ "$rc" = "$want" ] ||
	    fail "hsmcad $*: exit $rc, expected $want: $(cat "$WORK/bad.err")"
	grep -qF -- "$substr" "$WORK/bad.err" ||
	    fail "hsmcad $*: stderr lacks \"$substr\": $(cat "$WORK/bad.err")"
	[ ! -s "$WORK/bad.out" ] || fail "hsmcad $*: printed on stdout"
}
"$HSMCAD" --help >"$WORK/help.out" || fail "hsmcad --help exited non-zero"
grep -q -- '--ephemeral' "$WORK/help.out" || fail "--help does not list --ephemeral"
expect_exit 2 "bad option" --no-such-option
expect_exit 2 "drop --state" --ephemeral --state "$WORK/state"
expect_exit 2 "no state directory"
expect_exit 4 "no CA here" --state "$WORK/empty"
expect_exit 2 "unexpected argument" --state "$WORK/state" extra
export TMPDIR="$WORK/tmp"
mkdir -p "$TMPDIR"
expect_exit 3 "cannot be 0" --ephemeral --set acme.listen=127.0.0.1:0
expect_exit 3 "acme.names is empty" --ephemeral --set "acme.names= , "
# Both servers on one port: the second bind fails; the first server is
# stopped again and the ephemeral CA removed.
expect_exit 6 "cannot serve on 127.0.0.1:$ACME_PORT" --ephemeral \
    --set "acme.listen=127.0.0.1:$ACME_PORT" \
    --set "publish.listen=127.0.0.1:$ACME_PORT"
[ -z "$(ls -A "$TMPDIR")" ] ||
    fail "failed --ephemeral starts left $(ls "$TMPDIR")"
ok "bad invocations are refused with exit 2, 3, 4 or 6 and leave nothing"
