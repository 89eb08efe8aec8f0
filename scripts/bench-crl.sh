#!/usr/bin/env bash
# scripts/bench-crl.sh [N] [SHARDS] [KEY_TYPE] - all CRL shards over N
# revoked certificates with hsmca (signed in a SoftHSM2 token) against
# `openssl ca -gencrl` over the same N entries (file-based CA key of the
# same type), both timed; prints both times, peak RSS and the ratio.
#
# Needs GNU time as /usr/bin/time (Debian package `time`) for the peak
# RSS of openssl.  HSMCA names the hsmca binary (default build/bin/hsmca).
set -euo pipefail

N="${1:-1000000}"
SHARDS="${2:-16}"
KEY_TYPE="${3:-ec-p256}"
HSMCA="${HSMCA:-$(dirname "$0")/../build/bin/hsmca}"

if [ ! -x /usr/bin/time ]; then
	echo "bench-crl: /usr/bin/time missing: install GNU time (Debian package time)" >&2
	exit 2
fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/hsmca-bench-crl-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export SOFTHSM2_CONF="$WORK/no-softhsm2.conf"

# hsmca: populates its store, writes the same entries as index.txt,
# then times building + signing + storing every shard.
"$HSMCA" bench crl --revoked "$N" --shards "$SHARDS" --key-type "$KEY_TYPE" \
    --index "$WORK/index.txt" --dir "$WORK" >"$WORK/hsmca.out"
cat "$WORK/hsmca.out"
hs_secs="$(sed -n 's/^crl: \([0-9.]*\) s.*/\1/p' "$WORK/hsmca.out")"
hs_rss="$(sed -n 's/^peak RSS: \([0-9.]*\) MiB (crl phase).*/\1/p' "$WORK/hsmca.out")"
hs_anon="$(sed -n 's/^peak RSS: .*RssAnon \([0-9.]*\) MiB.*/\1/p' "$WORK/hsmca.out")"

# openssl ca: a CA key of the same type in a file, a minimal config.
case "$KEY_TYPE" in
ec-p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/ca.key" ;;
ec-p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$WORK/ca.key" ;;
rsa-*) openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${KEY_TYPE#rsa-}" -out "$WORK/ca.key" ;;
*) echo "bench-crl: unknown key type $KEY_TYPE" >&2; exit 2 ;;
esac 2>/dev/null
md=sha256
[ "$KEY_TYPE" = ec-p384 ] && md=sha384
openssl req -new -x509 -key "$WORK/ca.key" -subj "/O=bench/CN=bench CA" \
    -days 365 -out "$WORK/ca.pem" 2>/dev/null
echo 01 >"$WORK/crlnumber"
: >"$WORK/index.txt.attr"
cat >"$WORK/openssl.cnf" <<CNF
[ ca ]
default_ca = bench
[ bench ]
dir = $WORK
database = $WORK/index.txt
crlnumber = $WORK/crlnumber
certificate = $WORK/ca.pem
private_key = $WORK/ca.key
default_md = $md
default_crl_hours = 168
unique_subject = no
crl_extensions = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid:always
CNF
t0="$(date +%s.%N)"
/usr/bin/time -v openssl ca -config "$WORK/openssl.cnf" -gencrl -batch \
    -out "$WORK/openssl.crl" 2>"$WORK/openssl.time" >/dev/null ||
    { cat "$WORK/openssl.time" >&2; exit 1; }
t1="$(date +%s.%N)"
os_secs="$(echo "$t1 - $t0" | bc -l)"
os_rss_kb="$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/openssl.time")"
os_entries="$(openssl crl -in "$WORK/openssl.crl" -noout -text | grep -c 'Serial Number:')"
[ "$os_entries" -eq "$N" ] || { echo "openssl listed $os_entries, not $N" >&2; exit 1; }

printf 'openssl ca -gencrl: %.3f s (%d entries), peak RSS %.1f MiB\n' \
    "$os_secs" "$os_entries" "$(echo "$os_rss_kb / 1024" | bc -l)"
printf 'hsmca crl (%s shards): %.3f s, peak RSS %.1f MiB (crl phase; %.1f MiB anonymous at its end, the rest mapped store pages)\n' \
    "$SHARDS" "$hs_secs" "$hs_rss" "$hs_anon"
printf 'ratio hsmca/openssl: %.4f (goal <= 0.1)\n' \
    "$(echo "$hs_secs / $os_secs" | bc -l)"
