# tests/e2e/lib.sh - helpers for the end-to-end tests (sourced by bash).
#
# Each test gets its own temporary directory, removed at exit, a Knot DNS
# server on loopback serving the zone e2e.test. (every name under it has
# A 127.0.0.1), and its own hsmcad on free loopback ports.  Everything it
# starts is stopped by the EXIT trap.  HSMCA and HSMCAD name the binaries
# under test.
#
#   e2e_dns_start             knotd with zone e2e.test.; sets KNOT_PORT...
#   e2e_hsmcad_start [ARGS]   hsmcad --ephemeral (or ARGS, e.g. --state D)
#                             on fresh ports; sets DIRECTORY, BUNDLE,
#                             ROOT_PEM, ISSUING_PEM, CA_STATE, HTTP01_PORT,
#                             TLSALPN01_PORT, ACME_PORT, PUBLISH_PORT
#   e2e_hsmcad_start_at T PAT [ARGS]  hsmcad at CA time T until PAT is
#                             logged; sets LOG_LINE
#   e2e_hsmcad_stop           SIGTERM, wait, require exit status 0
#   e2e_www_start DIR PORT    python3 http.server for http-01 files
#   e2e_check_cert LEAF NAME...  chain verifies to the root, SANs = NAMEs
set -euo pipefail

: "${HSMCA:?HSMCA must name the hsmca binary}"
: "${HSMCAD:?HSMCAD must name the hsmcad binary}"
E2E_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../lib/knot.sh
. "$E2E_LIB_DIR/../lib/knot.sh"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/hsmca-e2e-XXXXXX")"
ZONE=e2e.test
# Never reach the system token configuration.
export SOFTHSM2_CONF="$WORK/no-softhsm2.conf"
unset HSMCA_STATE HSMCA_PIN HSMCA_NOW
# Clients must trust our root through their own options only; keep the
# environment from pointing them anywhere else.
unset REQUESTS_CA_BUNDLE SSL_CERT_FILE CURL_CA_BUNDLE LEGO_CA_CERTIFICATES

HSMCAD_PID=
E2E_BG_PIDS=()
cleanup_hooks=()

e2e_cleanup() {
	local h p
	for h in "${cleanup_hooks[@]}"; do
		eval "$h" || true
	done
	if [ -n "$HSMCAD_PID" ]; then
		kill -TERM "$HSMCAD_PID" 2>/dev/null || true
		_e2e_wait_exit "$HSMCAD_PID" 30 || kill -KILL "$HSMCAD_PID" \
		    2>/dev/null || true
		wait "$HSMCAD_PID" 2>/dev/null || true
	fi
	for p in "${E2E_BG_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	knot_stop || true
	# An ephemeral CA left behind by a killed hsmcad.
	if [ -n "${CA_STATE:-}" ] && [[ "$CA_STATE" == */hsmcad-* ]]; then
		rm -rf "$CA_STATE"
	fi
	rm -rf "$WORK"
}
trap e2e_cleanup EXIT

ntests=0
fail() {
	echo "FAIL: $*" >&2
	if [ -f "$WORK/hsmcad.err" ]; then
		echo "--- hsmcad log (last 40 lines)" >&2
		tail -n 40 "$WORK/hsmcad.err" >&2
	fi
	exit 1
}
ok() {
	ntests=$((ntests + 1))
	echo "ok $ntests - $*"
}

# _e2e_wait_exit PID SECONDS: 0 once PID has exited, 1 on timeout.
_e2e_wait_exit() {
	local pid="$1" i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# free_ports N: N distinct free TCP ports on 127.0.0.1, one a line.  The
# sockets are bound together so the ports differ; another process could
# take one before we bind it, which then fails loudly, never silently.
free_ports() {
	python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
PY
}

# e2e_dns_start: knotd serving e2e.test. on 127.0.0.1:$KNOT_PORT, and
# test. above it: hsmcad asks this server as its resolver, and the CAA
# walk (RFC 8659 3) climbs from a name up to its TLD, so every zone on
# the way must answer (NODATA), not be refused.
e2e_dns_start() {
	mkdir -p "$WORK/knot"
	cat >"$WORK/e2e.test.zone" <<ZONE
\$ORIGIN $ZONE.
\$TTL 60
@	SOA	ns.$ZONE. hostmaster.$ZONE. 1 3600 600 86400 60
@	NS	ns.$ZONE.
@	A	127.0.0.1
ns	A	127.0.0.1
*	A	127.0.0.1
ZONE
	cat >"$WORK/test.zone" <<ZONE
\$ORIGIN test.
\$TTL 60
@	SOA	ns.$ZONE. hostmaster.$ZONE. 1 3600 600 86400 60
@	NS	ns.$ZONE.
ZONE
	knot_start "$WORK/knot" "$ZONE." "$WORK/e2e.test.zone" \
	    test. "$WORK/test.zone" || fail "knotd did not start"
}

# e2e_hsmcad_start [ARGS...]: start hsmcad (default --ephemeral) on fresh
# loopback ports, resolving through the test's knotd, and wait (at most
# 120 s) for its two output lines.
e2e_hsmcad_start() {
	local ports i args=("$@")
	[ ${#args[@]} -gt 0 ] || args=(--ephemeral)
	if [ -z "${ACME_PORT:-}" ]; then
		mapfile -t ports < <(free_ports 4)
		ACME_PORT=${ports[0]} PUBLISH_PORT=${ports[1]}
		HTTP01_PORT=${ports[2]} TLSALPN01_PORT=${ports[3]}
	fi
	HSMCAD_SETS=(
		--set "acme.listen=127.0.0.1:$ACME_PORT"
		--set "publish.listen=127.0.0.1:$PUBLISH_PORT"
		--set "ca.base_url=http://127.0.0.1:$PUBLISH_PORT"
		--set "validation.http01_port=$HTTP01_PORT"
		--set "validation.tlsalpn01_port=$TLSALPN01_PORT"
		--set "validation.dns_resolver=127.0.0.1:$KNOT_PORT"
		--set "validation.timeout_s=5"
		--set "validation.retries=0"
		--set "crl.revoke_delay_s=2"
	)
	: >"$WORK/hsmcad.out"
	"$HSMCAD" "${args[@]}" "${HSMCAD_SETS[@]}" >"$WORK/hsmcad.out" \
	    2>>"$WORK/hsmcad.err" &
	HSMCAD_PID=$!
	for ((i = 0; i < 1200; i++)); do
		grep -q '^ca-bundle: ' "$WORK/hsmcad.out" && break
		kill -0 "$HSMCAD_PID" 2>/dev/null ||
		    fail "hsmcad exited during start-up"
		sleep 0.1
	done
	grep -q '^ca-bundle: ' "$WORK/hsmcad.out" ||
	    fail "hsmcad printed no ca-bundle line within 120 s"
	DIRECTORY="$(sed -n 's/^directory: //p' "$WORK/hsmcad.out")"
	BUNDLE="$(sed -n 's/^ca-bundle: //p' "$WORK/hsmcad.out")"
	CA_STATE="$(dirname "$BUNDLE")"
	[ "$DIRECTORY" = "https://localhost:$ACME_PORT/directory" ] ||
	    fail "directory line \"$DIRECTORY\""
	# Copies that outlive an ephemeral CA's directory.
	ROOT_PEM="$WORK/root.pem"
	ISSUING_PEM="$WORK/issuing.pem"
	cp "$BUNDLE" "$ROOT_PEM"
	curl -sSf --cacert "$ROOT_PEM" -o "$ISSUING_PEM" \
	    "https://localhost:$ACME_PORT/intermediates/0" ||
	    fail "GET /intermediates/0 with only the root trusted"
}

# e2e_hsmcad_start_at TIME PATTERN [ARGS...]: start hsmcad with ARGS and
# its clock at TIME (HSMCA_NOW), on the ports of the last
# e2e_hsmcad_start, and wait (at most 60 s) for a line of its log
# matching PATTERN, which LOG_LINE gets.  Its TLS certificate is issued
# at TIME, so its start is watched in its log rather than through TLS.
e2e_hsmcad_start_at() {
	local now="$1" pattern="$2" i
	shift 2
	HSMCA_NOW=$now "$HSMCAD" "$@" "${HSMCAD_SETS[@]}" \
	    >"$WORK/hsmcad.out" 2>>"$WORK/hsmcad.err" &
	HSMCAD_PID=$!
	for ((i = 0; i < 600; i++)); do
		grep -q "$pattern" "$WORK/hsmcad.err" && break
		kill -0 "$HSMCAD_PID" 2>/dev/null || fail "hsmcad exited"
		sleep 0.1
	done
	LOG_LINE="$(grep "$pattern" "$WORK/hsmcad.err")" ||
	    fail "no \"$pattern\" in hsmcad's log within 60 s"
}

# e2e_hsmcad_stop: SIGTERM; hsmcad must exit 0 within 30 s.
e2e_hsmcad_stop() {
	local rc=0
	# It may have been signalled already (and be gone): wait decides.
	kill -TERM "$HSMCAD_PID" 2>/dev/null || true
	_e2e_wait_exit "$HSMCAD_PID" 30 || fail "hsmcad still runs 30 s after SIGTERM"
	wait "$HSMCAD_PID" || rc=$?
	HSMCAD_PID=
	[ "$rc" -eq 0 ] || fail "hsmcad exited $rc after SIGTERM"
}

# e2e_www_start DIR PORT: serve DIR over HTTP on 127.0.0.1:PORT (http-01
# files under DIR/.well-known/acme-challenge/) until the test ends.
e2e_www_start() {
	local dir="$1" port="$2" i
	mkdir -p "$dir/.well-known/acme-challenge"
	python3 -m http.server --bind 127.0.0.1 --directory "$dir" "$port" \
	    >"$WORK/www-$port.log" 2>&1 &
	E2E_BG_PIDS+=($!)
	for ((i = 0; i < 100; i++)); do
		curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
		sleep 0.1
	done
	fail "web server on port $port did not start"
}

# sans_of PEM: the certificate's DNS and IP SANs, sorted, one a line,
# as "DNS:name" / "IP:addr".
sans_of() {
	openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null |
	    tail -n +2 | tr ',' '\n' | sed 's/^ *//; s/IP Address:/IP:/' |
	    grep -v '^$' | sort
}

# e2e_check_cert LEAF NAME...: LEAF (the first certificate of the file)
# verifies against the root with the issuing CA as the only intermediate,
# and its SAN set is exactly the NAMEs (DNS names; IPs as IP:addr).
e2e_check_cert() {
	local leaf="$1" n want got
	shift
	[ -s "$leaf" ] || fail "$leaf: missing or empty"
	openssl x509 -in "$leaf" -out "$WORK/leaf.pem" ||
	    fail "$leaf: not a certificate"
	openssl verify -CAfile "$ROOT_PEM" -untrusted "$ISSUING_PEM" \
	    "$WORK/leaf.pem" >"$WORK/verify.out" 2>&1 ||
	    fail "$leaf does not verify: $(cat "$WORK/verify.out")"
	want="$(for n in "$@"; do
		case "$n" in IP:*) echo "$n" ;; *) echo "DNS:$n" ;; esac
	done | sort)"
	got="$(sans_of "$WORK/leaf.pem")"
	[ "$got" = "$want" ] ||
	    fail "$leaf: SANs \"$(echo $got)\", expected \"$(echo $want)\""
}

# ocsp_status PEM: "good", "revoked" or "unknown" as hsmcad's OCSP
# responder (the URL in the certificate's AIA) answers; the response
# must verify against the root.
ocsp_status() {
	local url
	url="$(openssl x509 -in "$1" -noout -ocsp_uri)"
	[ -n "$url" ] || fail "$1: no OCSP URL in AIA"
	cat "$ROOT_PEM" "$ISSUING_PEM" >"$WORK/cas.pem"
	openssl ocsp -issuer "$ISSUING_PEM" -cert "$1" -url "$url" \
	    -CAfile "$WORK/cas.pem" >"$WORK/ocsp.out" 2>&1 ||
	    fail "openssl ocsp $url: $(cat "$WORK/ocsp.out")"
	grep -q '^Response verify OK' "$WORK/ocsp.out" ||
	    fail "OCSP response does not verify: $(cat "$WORK/ocsp.out")"
	awk -v f="$1: " 'index($0, f) == 1 { print substr($0, length(f) + 1); exit }' \
	    "$WORK/ocsp.out"
}

# crl_lists PEM: 0 when the CRL at the certificate's CRL distribution
# point (fetched now, verified against the CA) lists its serial.
crl_lists() {
	local url serial
	url="$(openssl x509 -in "$1" -noout -ext crlDistributionPoints |
	    sed -n 's/^ *URI://p' | head -n 1)"
	[ -n "$url" ] || fail "$1: no CRL distribution point"
	curl -sSf -o "$WORK/crl.der" "$url" || fail "GET $url"
	cat "$ROOT_PEM" "$ISSUING_PEM" >"$WORK/cas.pem"
	openssl crl -inform DER -in "$WORK/crl.der" -CAfile "$WORK/cas.pem" \
	    -noout -text >"$WORK/crl.txt" 2>&1 ||
	    fail "CRL $url does not verify: $(head -n 3 "$WORK/crl.txt")"
	serial="$(openssl x509 -in "$1" -noout -serial | sed 's/^serial=//')"
	grep -qi "Serial Number: 0*$serial\$" "$WORK/crl.txt"
}

# cert_status SERIAL_HEX: "issued"/"revoked" as hsmca show reads it from
# the CA's store (read-only; hsmcad may run).
cert_status() {
	"$HSMCA" show "$1" --state "$CA_STATE" --json |
	    python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'
}

# cert_reason SERIAL_HEX: the CRLReason code of a revoked certificate.
cert_reason() {
	"$HSMCA" show "$1" --state "$CA_STATE" --json |
	    python3 -c 'import json,sys; print(json.load(sys.stdin)["revocation"]["reason"])'
}

# serial_of PEM: the serial in lower-case hex, as hsmca prints it.
serial_of() {
	openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' |
	    tr 'A-F' 'a-f'
}
