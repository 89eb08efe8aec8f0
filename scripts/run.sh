#!/usr/bin/env bash
# scripts/run.sh - set up (packages, build), create a CA in var/ once,
# then run hsmcad on it in the foreground.  hsmcad prints the ACME
# directory URL and the CA bundle (the root certificate) to trust;
# Ctrl-C stops it.  Running it again reuses the CA in var/.
#
# Extra arguments go to hsmcad, e.g. --set acme.listen=127.0.0.1:14001.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh" hsmca hsmcad

build="${HSMCA_BUILD_DIR:-$root/build}"
state="$root/var"

# hsmca.conf is written last by the ceremony: its presence means a CA.
if [ ! -f "$state/hsmca.conf" ]; then
	"$build/bin/hsmca" init --state "$state"
else
	echo "run: reusing the CA in $state"
fi

cat <<EOF
run: starting hsmcad; point an ACME client at the directory URL below and
run: have it trust the ca-bundle file, e.g. for http-01 on port 80:
run:   sudo REQUESTS_CA_BUNDLE=<ca-bundle> certbot certonly --standalone \\
run:       --server <directory> -d NAME
run: (hsmcad validates http-01 on port 80, tls-alpn-01 on 443; change with
run:  --set validation.http01_port=P.)  Ctrl-C stops it.
EOF
exec "$build/bin/hsmcad" --state "$state" "$@"
