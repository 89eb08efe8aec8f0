# tests/lib/knot.sh - run a throw-away Knot DNS server for tests (bash).
#
# Usage (source this file, then):
#
#   knot_start DIR ZONE ZONEFILE [ZONE ZONEFILE]...
#       Start knotd as the current user on 127.0.0.1:<free port>, UDP and
#       TCP, with every run-time file (config, pid, control socket,
#       journal, timers, log, a copy of each zone file) inside DIR, which
#       must exist and belong to the caller.  Each ZONE is served from a
#       copy of its ZONEFILE; knotd may rewrite the copy, never the
#       original.  RFC 2136 dynamic updates are allowed to every zone when
#       signed with a fresh TSIG key.  Returns once knotd answers an SOA
#       query for the first zone.  Exports:
#         KNOT_PORT         the UDP/TCP port (address is 127.0.0.1)
#         KNOT_PID          knotd's process id
#         KNOT_TSIG_NAME    TSIG key name (e.g. for lego's rfc2136 provider:
#         KNOT_TSIG_ALG       RFC2136_NAMESERVER=127.0.0.1:$KNOT_PORT
#         KNOT_TSIG_SECRET    RFC2136_TSIG_KEY=$KNOT_TSIG_NAME
#                             RFC2136_TSIG_ALGORITHM=$KNOT_TSIG_ALG.
#                             RFC2136_TSIG_SECRET=$KNOT_TSIG_SECRET)
#         KNOT_DIR          DIR
#       KNOT_TSIG_ALG is "hmac-sha256"; KNOT_TSIG_SECRET is base64.
#       lego (rfc2136 provider) against it, as run with pebble:
#         RFC2136_NAMESERVER=127.0.0.1:$KNOT_PORT \
#         RFC2136_TSIG_KEY=$KNOT_TSIG_NAME \
#         RFC2136_TSIG_ALGORITHM=$KNOT_TSIG_ALG. \
#         RFC2136_TSIG_SECRET=$KNOT_TSIG_SECRET \
#         RFC2136_PROPAGATION_TIMEOUT=10 RFC2136_POLLING_INTERVAL=1 \
#         RFC2136_SEQUENCE_INTERVAL=1 \
#         lego ... --dns rfc2136 --dns.disable-cp \
#             --dns.resolvers 127.0.0.1:$KNOT_PORT -d x.test run
#       (--dns.disable-cp: the zone's NS records point at port 53, which
#       lego's propagation check would ask; SEQUENCE_INTERVAL: lego waits
#       60 s between a name and its wildcard otherwise.)
#       With KNOT_DNSSEC=1 set before the call, knotd signs every zone
#       (its default policy: ECDSA P-256, keys made on the spot) and
#       knot_start also exports
#         KNOT_TA_FILE      DIR/ta.keys: the key-signing DNSKEYs of the
#                           zones, one per line in zone-file syntax - a
#                           trust anchor file for unbound / libunbound.
#       On failure it prints knotd's log to stderr and returns 1.
#
#   knot_stop
#       Stop the server started by knot_start (SIGTERM to $KNOT_PID, then
#       wait up to 5 s, then SIGKILL).  Safe to call twice; call it from
#       your EXIT trap.
#
#   knot_update CMD...
#       Send one RFC 2136 update with knsupdate, signed with the TSIG key;
#       each argument is one knsupdate line, e.g.
#         knot_update "add _acme-challenge.a.test. 60 TXT \"x\""
#
# Ports: knotd cannot bind port 0 and report it, so knot_start picks a
# random port in 20000-59999 that `ss` shows free for UDP and TCP, starts
# knotd and probes it with kdig; if the probe fails (another process took
# the port meanwhile), it stops knotd and tries another port, at most
# 8 times.  Everything is bounded: readiness waits at most 10 s per try.
#
# Needs: knotd, knotc, kdig, knsupdate (knot, knot-dnsutils), ss, openssl.

KNOT_TSIG_ALG=hmac-sha256

# Write DIR/knot.conf for port $1; the zones are in KNOT_ZONES_ (pairs).
_knot_conf() {
	local port="$1" dir="$KNOT_DIR" i
	cat >"$dir/knot.conf" <<CONF
server:
    rundir: "$dir"
    pidfile: "$dir/knot.pid"
    listen: 127.0.0.1@$port
    udp-workers: 2
    tcp-workers: 2
    background-workers: 1
database:
    storage: "$dir/db"
control:
    listen: "$dir/knot.sock"
log:
  - target: "$dir/knot.log"
    any: info
key:
  - id: $KNOT_TSIG_NAME
    algorithm: $KNOT_TSIG_ALG
    secret: $KNOT_TSIG_SECRET
acl:
  - id: tsig_update
    key: $KNOT_TSIG_NAME
    action: update
template:
  - id: default
    storage: "$dir/zones"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
    semantic-checks: off
    acl: tsig_update
    dnssec-signing: $([ "${KNOT_DNSSEC:-0}" = 1 ] && echo on || echo off)
zone:
CONF
	for ((i = 0; i < ${#KNOT_ZONES_[@]}; i += 2)); do
		printf '  - domain: %s\n    file: "%s"\n' \
		    "${KNOT_ZONES_[i]}" "$dir/zones/${KNOT_ZONES_[i]%.}.zone" \
		    >>"$dir/knot.conf"
	done
}

# Write the zones' KSKs (DNSKEY flags 257) served on port $1 to
# $KNOT_DIR/ta.keys; wait up to 5 s for each zone to be signed.
_knot_ta() {
	local port="$1" i zone keys tries
	KNOT_TA_FILE="$KNOT_DIR/ta.keys"
	: >"$KNOT_TA_FILE"
	for ((i = 0; i < ${#KNOT_ZONES_[@]}; i += 2)); do
		zone="${KNOT_ZONES_[i]%.}."
		for ((tries = 0; tries < 50; tries++)); do
			keys="$(kdig +short +time=1 +retry=0 @127.0.0.1 \
			    -p "$port" DNSKEY "$zone" 2>/dev/null | grep '^257 ')"
			[ -n "$keys" ] && break
			sleep 0.1
		done
		[ -n "$keys" ] || return 1
		while read -r line; do
			echo "$zone 3600 IN DNSKEY $line" >>"$KNOT_TA_FILE"
		done <<<"$keys"
	done
}

# Is TCP or UDP port $1 in use on any address?
_knot_port_busy() {
	[ -n "$(ss -Hlntu "sport = :$1" 2>/dev/null)" ]
}

knot_start() {
	local dir="$1" try port i ready zone
	shift
	if [ $# -lt 2 ] || [ $(($# % 2)) -ne 0 ]; then
		echo "knot_start: usage: knot_start DIR ZONE ZONEFILE..." >&2
		return 1
	fi
	KNOT_DIR="$(cd "$dir" && pwd)" || return 1
	KNOT_ZONES_=("$@")
	KNOT_TSIG_NAME="hsmca-test-key."
	KNOT_TSIG_SECRET="$(openssl rand -base64 32)" || return 1
	mkdir -p "$KNOT_DIR/db" "$KNOT_DIR/zones" || return 1
	for ((i = 0; i < ${#KNOT_ZONES_[@]}; i += 2)); do
		zone="${KNOT_ZONES_[i]}"
		cp "${KNOT_ZONES_[i + 1]}" "$KNOT_DIR/zones/${zone%.}.zone" ||
		    return 1
	done
	for try in 1 2 3 4 5 6 7 8; do
		port=$((20000 + RANDOM % 40000))
		_knot_port_busy "$port" && continue
		_knot_conf "$port"
		knotd -c "$KNOT_DIR/knot.conf" >>"$KNOT_DIR/knotd.out" 2>&1 &
		KNOT_PID=$!
		ready=0
		# 100 probes of 0.1 s: at most ~10 s per try.
		for ((i = 0; i < 100; i++)); do
			if ! kill -0 "$KNOT_PID" 2>/dev/null; then
				break
			fi
			if kdig +short +time=1 +retry=0 @127.0.0.1 -p "$port" \
			    SOA "${KNOT_ZONES_[0]}" 2>/dev/null | grep -q .; then
				ready=1
				break
			fi
			sleep 0.1
		done
		if [ "$ready" = 1 ] && [ "${KNOT_DNSSEC:-0}" = 1 ]; then
			_knot_ta "$port" || ready=0
		fi
		if [ "$ready" = 1 ]; then
			KNOT_PORT="$port"
			export KNOT_PORT KNOT_PID KNOT_TSIG_NAME KNOT_TSIG_ALG \
			    KNOT_TSIG_SECRET KNOT_DIR
			[ "${KNOT_DNSSEC:-0}" = 1 ] && export KNOT_TA_FILE
			return 0
		fi
		knot_stop
	done
	echo "knot_start: knotd did not come up; log:" >&2
	cat "$KNOT_DIR/knot.log" "$KNOT_DIR/knotd.out" >&2 2>/dev/null
	return 1
}

knot_stop() {
	local i
	[ -n "${KNOT_PID:-}" ] || return 0
	kill -TERM "$KNOT_PID" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$KNOT_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$KNOT_PID" 2>/dev/null
	wait "$KNOT_PID" 2>/dev/null
	KNOT_PID=
	return 0
}

knot_update() {
	local line
	{
		echo "server 127.0.0.1 $KNOT_PORT"
		echo "key $KNOT_TSIG_ALG:$KNOT_TSIG_NAME $KNOT_TSIG_SECRET"
		for line in "$@"; do
			echo "$line"
		done
		echo "send"
	} | knsupdate
}
