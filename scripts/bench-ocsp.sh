#!/usr/bin/env bash
# scripts/bench-ocsp.sh [RUNS] [SECONDS] [CONNECTIONS] - `hsmca bench
# ocsp` RUNS times (default 3); prints each run, then the medians of
# both rates and of the ratio, with the load average before and after.
#
# hsmca's responder and `openssl ocsp` (the peer) are each driven by
# wrk with keep-alive; both servers and wrk share the machine's cores,
# so measure on a quiet machine.  HSMCA names the hsmca binary (default
# build/bin/hsmca).
set -euo pipefail

RUNS="${1:-3}"
SECS="${2:-5}"
CONNS="${3:-32}"
HSMCA="${HSMCA:-$(dirname "$0")/../build/bin/hsmca}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/hsmca-bench-ocsp-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), cores: $(nproc)"
for i in $(seq 1 "$RUNS"); do
	TMPDIR="$WORK" "$HSMCA" bench ocsp --seconds "$SECS" \
	    --connections "$CONNS" >"$WORK/run$i.out"
	sed "s/^/run $i: /" "$WORK/run$i.out"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
ours="$(cat "$WORK"/run*.out | sed -n 's/^hsmca: \([0-9.]*\) responses.*/\1/p' | median)"
peer="$(cat "$WORK"/run*.out | sed -n 's/^openssl ocsp: \([0-9.]*\) responses.*/\1/p' | median)"
ratio="$(cat "$WORK"/run*.out | sed -n 's/^ratio: \([0-9.]*\)$/\1/p' | median)"
echo "median of $RUNS: hsmca $ours responses/s, openssl ocsp $peer responses/s, ratio $ratio"
